//! Notices a job's exit when it happens, not at the next probe: on every healthy host a
//! job runs on, one long-lived command over the host's own SSH connection watches the
//! runs' session leaders (builtins only, ten looks a second) and prints a line when the
//! set of live runs changes. Each change asks the core to probe that host at once
//! ([`Input::ProbeSoon`]); the probe's reading is what counts, and the periodic probe
//! stays the safety net when a watch is not running or its connection is lost.

use super::shell::Shell;
use super::supervisor::Feed;
use crate::core::detector::Reach;
use crate::core::fleet::{Access, Fleet, HostSpec};
use crate::core::ids::HostId;
use crate::core::io::Input;
use crate::core::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The watch prints at least every 2 s; silence for this long means it is gone.
const STALL: Duration = Duration::from_secs(10);
/// How soon a watch that ended is started again (while its host is still wanted).
const AGAIN: Duration = Duration::from_secs(1);

/// The command each watch runs: POSIX `sh` on one line. `@@runs` lists the live runs
/// (`job/eN.pid`) whenever they change, `@@tick` says it is alive; a failed write (the
/// connection went) ends it. A `sleep` without fractions (POSIX only asks for whole
/// seconds) makes it look once a second instead of spinning.
pub fn command() -> String {
    [
        super::scripts::RUN_DIR,
        super::scripts::UP,
        "prev=x; i=0",
        r#"while :; do cur=""; for f in "$LB"/*/e*.pid; do [ -f "$f" ] || continue; p=""; read -r p <"$f" 2>/dev/null; [ -n "$p" ] && up "$p" && cur="$cur ${f#"$LB"/}"; done; if [ "$cur" != "$prev" ]; then echo "@@runs$cur" || exit 0; prev="$cur"; i=0; fi; i=$((i+1)); if [ $i -ge 20 ]; then echo "@@tick" || exit 0; i=0; fi; sleep 0.1 2>/dev/null || sleep 1; done"#,
    ]
    .join("; ")
}

/// The hosts worth watching now: reachable, with a job placed on them.
fn wanted(snap: &Snapshot) -> Vec<HostId> {
    let mut out: Vec<HostId> = snap
        .jobs
        .iter()
        .map(|j| j.placement.host.clone())
        .filter(|h| {
            snap.hosts
                .iter()
                .any(|v| &v.id == h && v.reach == Reach::Healthy && v.last_ok.is_some())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A running watch and how to end it.
struct Watching {
    cancel: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Watching {
    /// Ends the watch cleanly: its stream is dropped, which closes the channel, so the
    /// command on the host ends at its next line (an aborted task would leave it
    /// blocked on a channel nobody reads).
    async fn end(self) {
        let _ = self.cancel.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
    }
}

/// Keeps one watch on each wanted host until `stop`.
pub fn spawn(
    ssh: Arc<dyn Shell>,
    local: Arc<dyn Shell>,
    fleet: Fleet,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    feed: mpsc::Sender<Feed>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut watching: BTreeMap<HostId, Watching> = BTreeMap::new();
        loop {
            let want = wanted(&snapshots.borrow_and_update());
            let gone: Vec<HostId> = watching
                .iter()
                .filter(|(h, w)| !want.contains(h) || w.task.is_finished())
                .map(|(h, _)| h.clone())
                .collect();
            for h in gone {
                if let Some(w) = watching.remove(&h) {
                    w.end().await;
                }
            }
            for h in want {
                let Some(spec) = fleet.hosts.iter().find(|s| s.id == h) else {
                    continue;
                };
                if watching.contains_key(&h) || spec.access == Access::Simulated {
                    continue;
                }
                let shell = match spec.access {
                    Access::Local => local.clone(),
                    _ => ssh.clone(),
                };
                let (cancel, cancelled) = watch::channel(false);
                let task = tokio::spawn(watch_host(shell, spec.clone(), feed.clone(), cancelled));
                watching.insert(h, Watching { cancel, task });
            }
            tokio::select! {
                changed = snapshots.changed() => if changed.is_err() { break },
                _ = stop.changed() => break,
            }
        }
        for (_, w) in watching {
            w.end().await;
        }
    })
}

/// One host's watch, started again after it ends, until `cancelled`.
async fn watch_host(
    shell: Arc<dyn Shell>,
    host: HostSpec,
    feed: mpsc::Sender<Feed>,
    mut cancelled: watch::Receiver<bool>,
) {
    let command = command();
    loop {
        let (tx, mut rx) = mpsc::channel(16);
        let run = shell.read_stream(&host, &command, tx, STALL);
        tokio::pin!(run);
        let mut text = String::new();
        let mut baseline = true;
        loop {
            let chunk = tokio::select! {
                r = &mut run => {
                    if let Err(e) = r {
                        tracing::debug!(host = %host.id, "exit watch ended: {e}");
                    }
                    break;
                }
                _ = cancelled.changed() => {
                    drop(rx);
                    let _ = run.await;
                    return;
                }
                c = rx.recv() => c,
            };
            let Some(Ok(bytes)) = chunk else {
                continue;
            };
            text.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(n) = text.find('\n') {
                let line: String = text.drain(..=n).collect();
                if !line.starts_with("@@runs") {
                    continue;
                }
                // The first listing is where the watch starts from, not a change.
                if std::mem::take(&mut baseline) {
                    continue;
                }
                tracing::debug!(host = %host.id, "runs changed: {}", line.trim_end());
                let hint = Input::ProbeSoon {
                    host: host.id.clone(),
                };
                if feed.send(Feed::Input(hint)).await.is_err() {
                    return;
                }
            }
            if text.len() > 64 * 1024 {
                text.clear();
            }
        }
        tokio::select! {
            () = tokio::time::sleep(AGAIN) => {}
            _ = cancelled.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the watch under `shell` for a while against a run folder.
    fn watch_under(shell: &[&str]) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let runs = dir.path().join("job");
        std::fs::create_dir_all(&runs).unwrap_or_else(|e| panic!("{e}"));
        let mut job = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(runs.join("e1.pid"), job.id().to_string()).unwrap_or_else(|e| panic!("{e}"));
        let mut w = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(command())
            .env("LIFEBOAT_RUN_DIR", dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let out = w.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let next = || {
            rx.recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{shell:?}: {e}"))
        };
        assert_eq!(next(), "@@runs job/e1.pid", "{shell:?}");
        let _ = job.kill();
        let _ = job.wait();
        assert_eq!(next(), "@@runs", "{shell:?}: the exit is seen");
        assert_eq!(next(), "@@tick", "{shell:?}");
        let _ = w.kill();
        let _ = w.wait();
    }

    #[test]
    fn the_watch_reports_a_runs_exit_under_dash_and_busybox() {
        watch_under(&["dash"]);
        watch_under(&["busybox", "sh"]);
    }
}
