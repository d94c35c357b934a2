//! Runtime tests under tokio's paused clock: deadlines turn hung calls into timeouts,
//! shutdown cancels in-flight work, and every event reaches the journal and the queue.

use super::notice::Notice;
use super::supervisor::{spawn, Feed, RuntimeParts};
use super::transport::LogNotifier;
use crate::core::engine::Capabilities;
use crate::core::ids::JobId;
use crate::core::io::{Command, Input};
use crate::core::policy::Policy;
use crate::core::recovery::RecoveryState;
use crate::sim::demo::demo_fleet;
use crate::sim::transport::{Shared, SimTiming, SimTransport};
use crate::sim::world::{Condition, SimWorld};
use std::sync::Arc;
use std::time::Duration;

fn parts(dir: &std::path::Path, shared: Arc<Shared>) -> RuntimeParts {
    RuntimeParts {
        fleet: demo_fleet(),
        policy: Policy::default(),
        caps: Capabilities::default(),
        transport: Arc::new(SimTransport {
            shared,
            timing: SimTiming::instant(),
        }),
        notifier: Arc::new(LogNotifier),
        journal: dir.join("journal.db"),
        concurrency: 8,
        renting: None,
    }
}

fn world(dir: &std::path::Path) -> Arc<Shared> {
    let root = dir.join("sim");
    std::fs::create_dir_all(&root).unwrap();
    Shared::new(
        SimWorld::new(&demo_fleet(), crate::sim::transport::now_ms()),
        root,
        1,
    )
}

async fn drain(rx: &mut tokio::sync::mpsc::Receiver<Notice>, out: &mut Vec<Notice>) {
    while let Ok(n) = rx.try_recv() {
        out.push(n);
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_host_times_out_and_its_job_fails_over() {
    let dir = tempfile::tempdir().unwrap();
    let shared = world(dir.path());
    let mut h = spawn(parts(dir.path(), shared.clone())).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    shared
        .mutate(|w| w.hosts.get_mut("gpu-c").unwrap().condition = Condition::Hung)
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        drain(&mut h.notices, &mut seen).await;
    }
    let snap = h.snapshots.borrow().clone();
    let job = snap
        .jobs
        .iter()
        .find(|j| j.id == JobId::new("diffusion"))
        .unwrap();
    assert_eq!(job.state, RecoveryState::Running, "{}", job.reason);
    assert_ne!(job.placement.host.as_str(), "gpu-c");
    let reasons: Vec<String> = seen.iter().map(Notice::to_text).collect();
    assert!(
        reasons.iter().any(|r| r.contains("probe timed out")),
        "{reasons:#?}"
    );
    h.stop().await.unwrap();
    // Everything the queue carried is in the journal too.
    let j = super::journal::Journal::open(&dir.path().join("journal.db")).unwrap();
    let rows = j.recent_events(100_000).unwrap();
    assert!(
        rows.len() >= seen.len(),
        "journal {} < queue {}",
        rows.len(),
        seen.len()
    );
    assert!(
        j.open_intents().unwrap().is_empty(),
        "every intent was closed"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_work_that_would_never_finish() {
    let dir = tempfile::tempdir().unwrap();
    let shared = world(dir.path());
    for h in ["gpu-a", "gpu-b", "gpu-c"] {
        shared
            .mutate(|w| w.hosts.get_mut(h).unwrap().condition = Condition::Hung)
            .unwrap();
    }
    let h = spawn(parts(dir.path(), shared)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Probes of hung hosts are pending forever inside the transport; stop must not wait.
    tokio::time::timeout(Duration::from_secs(1), h.stop())
        .await
        .expect("stopped promptly")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn operator_commands_go_through_the_feed_and_are_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let shared = world(dir.path());
    let mut h = spawn(parts(dir.path(), shared.clone())).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = h.snapshots.borrow().epoch;
    let cmd = Command::Failover {
        job: JobId::new("rl-selfplay"),
        target: None,
        seen,
        strategy: None,
    };
    h.feed
        .send(Feed::Input(Input::Command {
            by: crate::core::identity::Identity::local(
                "alice",
                0,
                crate::core::identity::Role::Operator,
            ),
            command: cmd,
        }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut notices = Vec::new();
    drain(&mut h.notices, &mut notices).await;
    assert!(notices.iter().any(|n| n.kind() == "command_accepted"));
    let snap = h.snapshots.borrow().clone();
    let job = snap
        .jobs
        .iter()
        .find(|j| j.id == JobId::new("rl-selfplay"))
        .unwrap();
    assert_eq!(job.state, RecoveryState::Running);
    let text: Vec<String> = notices.iter().map(Notice::to_text).collect();
    assert_eq!(job.epoch.0, 2, "{text:#?}");
    let copies = shared.read(|w| w.running("rl-selfplay")).unwrap();
    assert_eq!(copies.len(), 1, "{copies:?}");
    h.stop().await.unwrap();
    let j = super::journal::Journal::open(&dir.path().join("journal.db")).unwrap();
    let accepted = j
        .recent_events(10_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "command_accepted")
        .count();
    assert_eq!(accepted, 1);
}

#[tokio::test(start_paused = true)]
async fn the_state_is_read_from_an_older_whole_record_and_kept_as_one_row_per_job() {
    use crate::core::engine::Durable;
    use crate::core::ids::Epoch;
    use crate::core::recovery::JobRecovery;
    use crate::core::time::Ts;
    let dir = tempfile::tempdir().unwrap();
    let shared = world(dir.path());
    let fleet = demo_fleet();
    // A journal from before jobs had rows of their own: every record in the header.
    let mut old = Durable {
        epoch: 40,
        next_op: 500,
        paused: Some("alice: maintenance".into()),
        ..Durable::default()
    };
    for j in &fleet.jobs {
        old.jobs.insert(j.id.clone(), JobRecovery::new(j.home()));
    }
    let marked = JobId::new("rl-selfplay");
    let mark = (Epoch(0), Ts(7));
    old.jobs.get_mut(&marked).unwrap().revoked.push(mark);
    let path = dir.path().join("journal.db");
    super::journal::Journal::open(&path)
        .unwrap()
        .save("core", 1, &old)
        .unwrap();

    for run in 0..2 {
        let h = spawn(parts(dir.path(), shared.clone())).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let snap = h.snapshots.borrow().clone();
        assert_eq!(
            snap.automation.paused_by.as_deref(),
            Some("alice: maintenance"),
            "run {run}"
        );
        h.stop().await.unwrap();
        let j = super::journal::Journal::open(&path).unwrap();
        let header: Durable = j.load("core").unwrap().unwrap();
        assert!(
            header.jobs.is_empty(),
            "run {run}: the header holds no records"
        );
        assert!(header.next_op >= 500, "run {run}: op ids never go back");
        let rows: Vec<(String, JobRecovery)> = j.load_prefixed("core.job/", "job").unwrap();
        let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), fleet.jobs.len(), "run {run}: {names:?}");
        let rec = &rows.iter().find(|(n, _)| n == "rl-selfplay").unwrap().1;
        assert!(rec.revoked.contains(&mark), "run {run}: {:?}", rec.revoked);
    }
}
