//! The workspace syncer in the live runtime: every job with a `workspace`, while it is
//! RUNNING on a GPU host, has its workspace synced from there to each CPU standby in its
//! standby list, every `every`. Outcomes go to the log and, when something changed or
//! went wrong, to the console as `workspace` notices.

use super::{sync_guarded, Shells, SyncReport, WorkspaceError};
use crate::core::fleet::{Fleet, JobSpec, Role};
use crate::core::ids::{Epoch, HostId};
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::Snapshot;
use crate::runtime::notice::Notice;
use crate::runtime::supervisor::Feed;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How soon a job that is not running on a GPU host is looked at again.
const RECHECK: Duration = Duration::from_secs(5);

/// Starts one loop per job with a workspace; they end when `stop` turns true.
pub fn spawn(
    shells: Shells,
    fleet: Fleet,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    feed: mpsc::Sender<Feed>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let fleet = Arc::new(fleet);
    let loops: Vec<_> = fleet
        .jobs
        .iter()
        .filter(|j| j.workspace.is_some())
        .map(|j| {
            tokio::spawn(job_loop(
                shells.clone(),
                fleet.clone(),
                j.clone(),
                snapshots.clone(),
                feed.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::spawn(async move {
        for l in loops {
            let _ = l.await;
        }
    })
}

/// Where the job runs now, if it is RUNNING on a GPU host: `(host, epoch)`.
fn running_on_gpu(snap: &Snapshot, fleet: &Fleet, job: &JobSpec) -> Option<(HostId, Epoch)> {
    let view = snap.jobs.iter().find(|v| v.id == job.id)?;
    let host = fleet.host(&view.placement.host)?;
    (view.state == RecoveryState::Running && host.role != Role::CpuStandby)
        .then(|| (host.id.clone(), view.epoch))
}

async fn job_loop(
    shells: Shells,
    fleet: Arc<Fleet>,
    job: JobSpec,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    feed: mpsc::Sender<Feed>,
    mut stop: watch::Receiver<bool>,
) {
    let every = job.workspace.as_ref().map_or(RECHECK, |w| w.every);
    // Per standby: the last outcome told (None: nothing told yet).
    let mut told: BTreeMap<HostId, Option<String>> = BTreeMap::new();
    let mut next = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let snap = snapshots.borrow().clone();
        let Some((from, epoch)) = running_on_gpu(&snap, &fleet, &job) else {
            next = Instant::now() + RECHECK;
            continue;
        };
        let Some(src) = fleet.host(&from) else {
            next = Instant::now() + RECHECK;
            continue;
        };
        let standbys = job.standbys.iter().filter_map(|t| fleet.host(&t.host));
        for dst in standbys.filter(|h| h.role == Role::CpuStandby && h.id != from) {
            // Nothing lands on the standby once the job has moved (it may be starting there).
            let snaps = snapshots.clone();
            let (f, j, at) = (fleet.clone(), job.clone(), from.clone());
            let proceed = move || {
                running_on_gpu(&snaps.borrow(), &f, &j).is_some_and(|(h, e)| h == at && e == epoch)
            };
            let outcome = tokio::select! {
                r = sync_guarded(&shells, src, dst, &job, &proceed) => r,
                _ = stop.changed() => return,
            };
            let last = told.entry(dst.id.clone()).or_default();
            if let Some(n) = outcome_notice(&job, &src.id, &dst.id, &outcome, last) {
                if feed.send(Feed::Notice(n)).await.is_err() {
                    return;
                }
            }
        }
        next = Instant::now() + every;
    }
}

/// Logs one outcome; returns the notice to show, if it is news: the first sync, one that
/// changed something, the first failure (or a different one), and recovery after one.
fn outcome_notice(
    job: &JobSpec,
    from: &HostId,
    to: &HostId,
    outcome: &Result<SyncReport, WorkspaceError>,
    last: &mut Option<String>,
) -> Option<Notice> {
    let (what, detail, news) = match outcome {
        Ok(r) => {
            tracing::info!(job = %job.id, %from, %to, files = r.files, bytes = r.bytes, deleted = r.deleted, ms = r.ms, "workspace synced");
            for n in &r.notes {
                tracing::warn!(job = %job.id, "workspace sync: {n}");
            }
            let changed = r.files > 0 || r.deleted > 0;
            // A refused link is told when first seen, not on every pass.
            let seen = format!("synced {}", r.refused.join("\n"));
            let news = changed || last.as_deref() != Some(seen.trim_end());
            *last = Some(seen.trim_end().to_string());
            ("synced", describe(r), news)
        }
        Err(WorkspaceError::Superseded) => {
            tracing::info!(job = %job.id, %from, %to, "workspace sync stopped: the job moved");
            return None;
        }
        Err(e) => {
            tracing::warn!(job = %job.id, %from, %to, "workspace sync failed: {e}");
            let detail = e.to_string();
            let news = last.as_deref() != Some(detail.as_str());
            *last = Some(detail.clone());
            ("sync_failed", detail, news)
        }
    };
    news.then(|| Notice::Workspace {
        ts: crate::runtime::replica::now(),
        what: what.into(),
        job: job.id.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        detail,
    })
}

/// `3 files (1.2 MiB) sent, 1 removed in 840 ms`.
pub fn describe(r: &SyncReport) -> String {
    let mib = r.bytes as f64 / (1 << 20) as f64;
    let mut s = format!(
        "{} file{} ({mib:.1} MiB) sent, {} removed in {} ms",
        r.files,
        if r.files == 1 { "" } else { "s" },
        r.deleted,
        r.ms
    );
    if !r.notes.is_empty() {
        s.push_str(&format!("; {}", r.notes.join("; ")));
    }
    if !r.refused.is_empty() {
        let named: Vec<&str> = r.refused.iter().take(5).map(String::as_str).collect();
        s.push_str(&format!(
            "; refused {} symbolic link{} (never synced, remove or replace with the real file): {}",
            r.refused.len(),
            if r.refused.len() == 1 { "" } else { "s" },
            named.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobSpec {
        crate::core::harness::job("train", "a", &[("cpu", None)], &[])
    }

    #[test]
    fn only_news_is_told() {
        let (a, c) = (HostId::new("a"), HostId::new("cpu"));
        let mut last = None;
        let idle = Ok(SyncReport::default());
        let busy = Ok(SyncReport {
            files: 2,
            bytes: 3 << 20,
            ..SyncReport::default()
        });
        let lost = Err(WorkspaceError::Stalled {
            host: "a".into(),
            path: "/w".into(),
            secs: 60,
        });
        let seen: Vec<Option<String>> = [&idle, &idle, &busy, &lost, &lost, &idle]
            .into_iter()
            .map(|o| match outcome_notice(&job(), &a, &c, o, &mut last) {
                Some(Notice::Workspace { what, .. }) => Some(what.into_owned()),
                _ => None,
            })
            .collect();
        let seen: Vec<Option<&str>> = seen.iter().map(Option::as_deref).collect();
        assert_eq!(
            seen,
            [
                Some("synced"),
                None,
                Some("synced"),
                Some("sync_failed"),
                None,
                Some("synced")
            ]
        );
        assert!(
            outcome_notice(&job(), &a, &c, &Err(WorkspaceError::Superseded), &mut last).is_none()
        );
    }

    #[test]
    fn reports_read_as_a_line() {
        let r = SyncReport {
            files: 1,
            bytes: 1 << 20,
            deleted: 2,
            ms: 5,
            notes: vec!["x".into()],
            refused: Vec::new(),
        };
        assert_eq!(describe(&r), "1 file (1.0 MiB) sent, 2 removed in 5 ms; x");
        let r = SyncReport {
            refused: vec!["a:/w/latest -> /etc/shadow".into()],
            ..r
        };
        assert!(
            describe(&r).ends_with(
                "; refused 1 symbolic link (never synced, remove or replace with the real file): a:/w/latest -> /etc/shadow"
            ),
            "{}",
            describe(&r)
        );
    }
}
