//! The "what is failing and what happens next" line and the needs-a-human list, from
//! fixed snapshots.

use super::*;
use crate::core::harness::{h, small_fleet, Harness};
use crate::core::ids::Target;
use crate::core::policy::Policy;
use crate::core::progress::Progress;
use crate::core::recovery::{Escalation, StepRecord};
use crate::core::snapshot::TaskView;

fn running() -> Snapshot {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(Duration::from_secs(5));
    hs.core.snapshot()
}

fn task(snap: &Snapshot, deadline_s: u64) -> TaskView {
    TaskView {
        what: String::new(),
        started: snap.now,
        deadline: snap.now.plus(Duration::from_secs(deadline_s)),
        progress: None,
        eta_ms: None,
    }
}

fn picked(target: Target) -> StepRecord {
    StepRecord {
        strategy: "warm-standby".into(),
        step: StepKind::SelectTarget,
        target: Some(target),
        ms: 0,
        ok: true,
        detail: String::new(),
    }
}

#[test]
fn nothing_failing_says_nothing() {
    assert_eq!(next_step(&running()), None);
    assert!(needs_human(&running()).is_empty());
}

#[test]
fn reconnect_counts_down_to_the_failover_and_names_the_target() {
    let mut snap = running();
    let now = snap.now;
    let job = &mut snap.jobs[0];
    job.state = RecoveryState::Reconnecting;
    job.reconnect_attempt = 4;
    job.reconnect_attempts = 5;
    job.next_attempt_at = Some(now.plus(Duration::from_millis(12_300)));
    job.next_target = Some(Target::new(h("b"), Some(0)));
    assert_eq!(
        next_step(&snap).as_deref(),
        Some("train: reconnect 4/5 → try 5/5 in 13s, then fail over to b:gpu0")
    );
    let job = &mut snap.jobs[0];
    job.reconnect_attempt = 2;
    job.next_attempt_at = Some(now.plus(Duration::from_secs(4)));
    assert_eq!(
        next_step(&snap).as_deref(),
        Some("train: reconnect 2/5 → try 3/5 in 4s")
    );
    let t = task(&snap, 10);
    let job = &mut snap.jobs[0];
    job.reconnect_attempt = 5;
    job.next_attempt_at = None;
    job.next_target = None;
    job.task = Some(t);
    assert_eq!(
        next_step(&snap).as_deref(),
        Some("train: reconnect 5/5 in flight → if it fails, escalate (no standby fits now)")
    );
}

#[test]
fn the_core_names_where_a_reconnecting_job_would_go() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(Duration::from_secs(5));
    // No second look can tell more (no peer to ask): the job waits out reconnects.
    hs.no_looks = true;
    hs.fake("a").up = false;
    hs.run_for(Duration::from_secs(4));
    let snap = hs.core.snapshot();
    assert_eq!(snap.jobs[0].state, RecoveryState::Reconnecting);
    assert_eq!(snap.jobs[0].next_target, Some(Target::new(h("b"), Some(0))));
    let line = next_step(&snap).unwrap_or_default();
    assert!(line.starts_with("train: reconnect "), "{line}");
}

#[test]
fn fencing_and_staging_say_what_runs_and_what_comes_next() {
    let mut snap = running();
    let b = Target::new(h("b"), Some(0));
    let job = &mut snap.jobs[0];
    job.state = RecoveryState::FailingOver;
    job.strategy = Some("warm-standby".into());
    job.steps = vec![picked(b.clone())];
    job.step = Some(StepKind::Fence);
    let t = task(&snap, 25);
    snap.jobs[0].task = Some(t);
    assert_eq!(
        next_step(&snap).as_deref(),
        Some("train: fencing the old copy on a (gives up in 25s) → then stage on b:gpu0")
    );
    snap.jobs[0].step = Some(StepKind::Stage);
    let mut t = task(&snap, 600);
    let mut p = Progress::start(snap.now, 4_000);
    p.update(snap.now, 1_000, 4_000);
    t.progress = Some(p);
    t.eta_ms = Some(30_000);
    snap.jobs[0].task = Some(t);
    assert_eq!(
        next_step(&snap).as_deref(),
        Some("train: staging no checkpoint on b:gpu0 25% (1000 of 4000 bytes, ~30.0s left) → then launch")
    );
}

#[test]
fn escalated_jobs_are_listed_for_humans_and_left_out_of_the_next_step_line() {
    let mut snap = running();
    let at = snap.now;
    let job = &mut snap.jobs[0];
    job.state = RecoveryState::Escalating;
    job.escalation = Some(Escalation {
        at,
        reason: "restart budget spent".into(),
        acknowledged: None,
        evidence: vec![(at, "train seen running again on a".into())],
    });
    snap.now = at.plus(Duration::from_secs(90));
    assert_eq!(next_step(&snap), None);
    let humans = needs_human(&snap);
    assert_eq!(humans.len(), 1);
    assert_eq!(
        needs_human_line(humans[0], snap.now),
        "train: restart budget spent (1m30s ago, 1 later finding(s))"
    );
    if let Some(e) = snap.jobs[0].escalation.as_mut() {
        e.acknowledged = Some(("alice".into(), at));
    }
    assert_eq!(
        needs_human_line(&snap.jobs[0], snap.now),
        "train, acknowledged by alice: restart budget spent (1m30s ago, 1 later finding(s))"
    );
}
