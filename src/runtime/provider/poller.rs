//! The provider poller: asks each provider for its instances every few seconds, judges the
//! answers with the pure `ProviderVerdict`, and feeds changed host evidence to the supervisor.
//!
//! A failed poll (API down, refused key, garbage, timeout) is logged and is no evidence at
//! all: an outage of the provider's API must never fail hosts. Failures back off
//! (doubling from the poll interval, at most `MAX_BACKOFF`) and the verdict's counters stand
//! still meanwhile, so "two polls in a row" always means two answers in a row. Evidence is
//! sent with a blocking send (the verdict hands out changes only, so none may be dropped).

use super::{Provider, ProviderError};
use crate::core::fleet::Fleet;
use crate::core::ids::HostId;
use crate::core::io::{Channel, ChannelStatus, Input};
use crate::core::provider_verdict::ProviderVerdict;
use crate::runtime::supervisor::Feed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

/// How often each provider is asked when none is configured.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(15);
/// The longest wait between polls of a failing provider.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Starts polling `providers` every `every` until `shutdown` turns true (or its sender is
/// dropped). Each provider's instances are mapped to fleet hosts through
/// `HostSpec.provider`; a provider no host refers to is not polled.
pub fn spawn(
    providers: Vec<Arc<dyn Provider>>,
    fleet: Fleet,
    feed: mpsc::Sender<Feed>,
    every: Duration,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let every = every.max(Duration::from_millis(10));
    tokio::spawn(async move {
        for host in &fleet.hosts {
            if let Some(r) = &host.provider {
                if !providers.iter().any(|p| p.name() == r.provider) {
                    tracing::warn!(
                        host = %host.id,
                        "host names provider \"{}\", which is not configured; no provider evidence for it",
                        r.provider
                    );
                }
            }
        }
        let mut tasks = JoinSet::new();
        for provider in providers {
            let hosts = hosts_of(&fleet, provider.name());
            if hosts.is_empty() {
                tracing::info!(
                    provider = provider.name(),
                    "no host refers to this provider; not polling it"
                );
                continue;
            }
            let poll = poll_provider(provider, hosts, feed.clone(), every, shutdown.clone());
            tasks.spawn(poll);
        }
        while tasks.join_next().await.is_some() {}
    })
}

/// `(instance id, host)` for every host mapped to an instance of provider `name`.
fn hosts_of(fleet: &Fleet, name: &str) -> Vec<(String, HostId)> {
    fleet
        .hosts
        .iter()
        .filter_map(|h| {
            let r = h.provider.as_ref().filter(|r| r.provider == name)?;
            Some((r.instance.clone(), h.id.clone()))
        })
        .collect()
}

/// The wait before the next poll after `failures` failed polls in a row.
fn next_wait(every: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return every;
    }
    let factor = 1u32 << failures.min(16);
    every.saturating_mul(factor).min(MAX_BACKOFF.max(every))
}

/// Resolves once shutdown is asked for, or nobody can ask any more.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn poll_provider(
    provider: Arc<dyn Provider>,
    hosts: Vec<(String, HostId)>,
    feed: mpsc::Sender<Feed>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = provider.name().to_string();
    let mut watched: Vec<String> = hosts.iter().map(|(i, _)| i.clone()).collect();
    watched.sort();
    watched.dedup();
    let deadline = every.max(Duration::from_secs(30)).saturating_mul(2);
    let mut verdict = ProviderVerdict::new();
    let mut failures: u32 = 0;
    loop {
        let answer = tokio::select! {
            a = tokio::time::timeout(deadline, provider.instances()) => a,
            () = stopped(&mut shutdown) => return,
        };
        match answer {
            Ok(Ok(listing)) => {
                if failures > 0 {
                    tracing::info!(
                        provider = %name,
                        "provider API answers again after {failures} failed poll(s)"
                    );
                }
                failures = 0;
                for (instance, status) in verdict.handle_listing(&listing, &watched) {
                    for (_, host) in hosts.iter().filter(|(i, _)| *i == instance) {
                        if !report(&feed, &mut shutdown, host, status.clone()).await {
                            return;
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                failures = failures.saturating_add(1);
                log_failure(&name, failures, &e);
            }
            Err(_) => {
                failures = failures.saturating_add(1);
                tracing::warn!(
                    provider = %name,
                    failures,
                    "provider poll gave no answer within {}; no host evidence taken from it",
                    humantime::format_duration(deadline)
                );
            }
        }
        tokio::select! {
            () = tokio::time::sleep(next_wait(every, failures)) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

fn log_failure(name: &str, failures: u32, e: &ProviderError) {
    tracing::warn!(
        provider = %name,
        failures,
        "provider poll failed; no host evidence taken from it: {e}"
    );
}

/// Sends one piece of evidence; false when the supervisor is gone or shutdown was asked.
async fn report(
    feed: &mpsc::Sender<Feed>,
    shutdown: &mut watch::Receiver<bool>,
    host: &HostId,
    status: ChannelStatus,
) -> bool {
    tracing::debug!(host = %host, "provider evidence: {status:?}");
    let input = Input::ChannelReported {
        host: host.clone(),
        channel: Channel::Provider,
        status,
    };
    tokio::select! {
        sent = feed.send(Feed::Input(input)) => sent.is_ok(),
        () = stopped(shutdown) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fleet::{HostSpec, ProviderRef, Role};
    use crate::runtime::provider::InstanceStatus;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A provider that answers from a script, then repeats its last answer.
    struct Scripted {
        answers: Mutex<VecDeque<Result<Vec<InstanceStatus>, String>>>,
        calls: Mutex<u32>,
    }

    #[async_trait::async_trait]
    impl Provider for Scripted {
        fn name(&self) -> &str {
            "vast"
        }
        async fn instances(&self) -> Result<Vec<InstanceStatus>, ProviderError> {
            *self.calls.lock().unwrap() += 1;
            let mut a = self.answers.lock().unwrap();
            let next = if a.len() > 1 {
                a.pop_front()
            } else {
                a.front().cloned()
            };
            next.unwrap_or_else(|| Ok(vec![]))
                .map_err(|detail| ProviderError::Unreachable {
                    provider: "vast".into(),
                    what: "GET /api/v1/instances/".into(),
                    detail,
                })
        }
    }

    fn inst(actual: &str) -> Vec<InstanceStatus> {
        vec![InstanceStatus {
            id: "42".into(),
            actual: actual.into(),
            intended: "running".into(),
            message: None,
        }]
    }

    fn fleet() -> Fleet {
        let host = |id: &str, provider: Option<ProviderRef>| HostSpec {
            id: HostId::new(id),
            address: "127.0.0.1".into(),
            port: 22,
            user: None,
            role: Role::Primary,
            gpus: 1,
            ssh_key: None,
            ssh: Default::default(),
            provider,
            access: Default::default(),
        };
        let r = |p: &str, i: &str| ProviderRef {
            provider: p.into(),
            instance: i.into(),
        };
        Fleet {
            hosts: vec![
                host("gpu-a", Some(r("vast", "42"))),
                host("gpu-b", Some(r("vast", "43"))),
                host("gpu-c", Some(r("other", "42"))),
                host("local", None),
            ],
            jobs: vec![],
        }
    }

    fn start(
        answers: Vec<Result<Vec<InstanceStatus>, String>>,
    ) -> (
        Arc<Scripted>,
        mpsc::Receiver<Feed>,
        watch::Sender<bool>,
        JoinHandle<()>,
    ) {
        let p = Arc::new(Scripted {
            answers: Mutex::new(answers.into()),
            calls: Mutex::new(0),
        });
        let (tx, rx) = mpsc::channel(16);
        let (stop_tx, stop_rx) = watch::channel(false);
        let h = spawn(
            vec![p.clone()],
            fleet(),
            tx,
            Duration::from_secs(15),
            stop_rx,
        );
        (p, rx, stop_tx, h)
    }

    fn evidence(f: Feed) -> (String, ChannelStatus) {
        match f {
            Feed::Input(Input::ChannelReported {
                host,
                channel: Channel::Provider,
                status,
            }) => (host.0, status),
            other => panic!("unexpected feed {other:?}"),
        }
    }

    #[test]
    fn hosts_map_by_provider_name() {
        let got = hosts_of(&fleet(), "vast");
        assert_eq!(
            got,
            vec![
                ("42".to_string(), HostId::new("gpu-a")),
                ("43".to_string(), HostId::new("gpu-b"))
            ]
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let e = Duration::from_secs(15);
        assert_eq!(next_wait(e, 0), e);
        assert_eq!(next_wait(e, 1), Duration::from_secs(30));
        assert_eq!(next_wait(e, 3), Duration::from_secs(120));
        assert_eq!(next_wait(e, 40), MAX_BACKOFF);
        let long = Duration::from_secs(600);
        assert_eq!(next_wait(long, 2), long, "never shorter than the interval");
    }

    #[tokio::test(start_paused = true)]
    async fn exit_then_gone_reaches_the_right_host_and_errors_send_nothing() {
        let (_p, mut rx, stop, h) = start(vec![
            Ok(inst("running")),
            Err("connection refused".into()),
            Ok(inst("exited")),
            Err("connection refused".into()),
            Ok(inst("exited")),
        ]);
        let (host, s) = evidence(rx.recv().await.unwrap());
        assert_eq!((host.as_str(), s), ("gpu-a", ChannelStatus::Up));
        // gpu-b's instance 43 is not listed: soft, then hard after the second answer.
        let (host, s) = evidence(rx.recv().await.unwrap());
        assert_eq!(host, "gpu-b");
        assert!(matches!(s, ChannelStatus::Down(_)), "{s:?}");
        let (host, s) = evidence(rx.recv().await.unwrap());
        assert_eq!(host, "gpu-a");
        assert!(matches!(s, ChannelStatus::Down(_)), "{s:?}");
        let (host, s) = evidence(rx.recv().await.unwrap());
        assert_eq!(host, "gpu-b");
        assert!(matches!(s, ChannelStatus::Gone(_)), "{s:?}");
        let (host, s) = evidence(rx.recv().await.unwrap());
        assert_eq!(host, "gpu-a");
        assert!(
            matches!(s, ChannelStatus::Gone(ref w) if w.contains("twice")),
            "{s:?}"
        );
        stop.send(true).unwrap();
        h.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_outage_backs_off_and_sends_no_evidence() {
        let (p, mut rx, stop, h) = start(vec![Err("HTTP 502".into())]);
        tokio::time::sleep(Duration::from_secs(30 + 60 + 120 + 240 + 1)).await;
        assert_eq!(
            *p.calls.lock().unwrap(),
            5,
            "polls at 0, 30, 90, 210, 450 s"
        );
        assert!(rx.try_recv().is_err(), "no host evidence from failed polls");
        stop.send(true).unwrap();
        h.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_or_a_dropped_sender_stops_it() {
        let (_p, _rx, stop, h) = start(vec![Ok(inst("running"))]);
        drop(stop);
        tokio::time::timeout(Duration::from_secs(1), h)
            .await
            .unwrap()
            .unwrap();
    }
}
