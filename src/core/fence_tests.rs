//! Scenario tests of what a fence proves and what a core learns at start: an old copy
//! that outlived SIGKILL is not "stopped", a copy under a newer epoch is followed rather
//! than fenced, a first start resumes from what the stores hold, and the recovery time
//! counts from the last good sight.

use super::event::EventKind;
use super::harness::*;
use super::ids::{Epoch, Target};
use super::io::Input;
use super::policy::Policy;
use super::recovery::RecoveryState as S;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn fence_steps(hs: &Harness) -> Vec<(bool, String)> {
    hs.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FailoverStep {
                step, ok, detail, ..
            } if step == "fence" => Some((*ok, detail.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn an_old_copy_that_outlived_sigkill_is_not_called_stopped_and_its_epoch_is_revoked() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    hs.fake("a").unkillable = true;
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(5));
    let fences = fence_steps(&hs);
    assert_eq!(fences.len(), 1, "{fences:?}");
    let (ok, detail) = &fences[0];
    assert!(!ok, "a fence with survivors is a failed step: {detail}");
    assert!(
        detail.contains("NOT stopped") && detail.contains("pid 4242") && detail.contains("revoked"),
        "{detail}"
    );
    // Not fenced, so treated as a host that did not answer: the old epoch is revoked and
    // the job goes on elsewhere.
    let rec = &hs.core.durable().jobs[&j("train")];
    assert!(rec.revoked_at(Epoch(1)).is_some());
    assert_eq!(hs.state("train"), S::Running);
    assert_ne!(rec.placement.host, h("a"));
}

#[test]
fn a_fresh_core_follows_a_live_copy_under_a_newer_epoch_instead_of_fencing_it() {
    // Another Lifeboat moved the job to b under e2; this one starts with no state.
    let mut hs = Harness::new_unstarted(small_fleet(), Policy::default());
    hs.fake("a").procs.clear();
    hs.fake("b").procs.push((j("train"), Epoch(2), 500));
    hs.input(Input::Tick);
    hs.run_for(secs(5));
    let rec = &hs.core.durable().jobs[&j("train")];
    assert_eq!(rec.epoch, Epoch(2));
    assert_eq!(rec.placement, Target::new(h("b"), Some(0)));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.running_on("train"), ["b"], "nothing launched on a");
    assert_eq!(hs.count("failover_started"), 0);
    assert!(
        hs.events.iter().all(
            |e| !matches!(&e.kind, EventKind::Decision { reason, .. } if reason.contains("stale"))
        ),
        "the newer copy was called stale"
    );
}

#[test]
fn a_newer_copy_seen_while_our_own_failover_launches_is_refused_not_fenced() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    hs.hold_steps = true;
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(1));
    // Fence (of a) answers; the stage step is held while another supervisor's copy appears.
    let held = hs.take_held();
    assert!(!held.is_empty());
    for e in held {
        if matches!(e, super::io::Effect::Fence { .. }) {
            hs.input(Input::StepFinished {
                op: e.op(),
                result: Ok(super::io::StepOutput::Fenced),
            });
        }
    }
    hs.fake("c").procs.push((j("train"), Epoch(9), 1));
    hs.run_for(secs(2));
    assert_eq!(
        hs.state("train"),
        S::Escalating,
        "{:?} {:?}",
        hs.states("train"),
        hs.core.durable().jobs[&j("train")].reason
    );
    let rec = &hs.core.durable().jobs[&j("train")];
    assert!(rec.reason.contains("another supervisor"), "{}", rec.reason);
    assert!(hs.fake("c").procs.iter().any(|(_, e, _)| *e == Epoch(9)));
}

#[test]
fn the_recovery_time_counts_from_the_last_probe_that_saw_the_job_running() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    let seen = hs.core.durable().jobs[&j("train")].seen_at.expect("seen");
    hs.fake("a").procs.clear();
    hs.run_for(secs(5));
    let (rto, detect) = hs
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FailoverFinished {
                rto_ms, detect_ms, ..
            } => Some((*rto_ms, *detect_ms)),
            _ => None,
        })
        .expect("a failover finished");
    let detected = hs
        .events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::RecoveryState { to, .. } if to == "INTERRUPTION_DETECTED"))
        .map(|e| e.ts)
        .expect("detected");
    assert_eq!(detect, detected.since(seen).as_millis() as u64);
    assert!(detect > 0, "noticing took time and is shown");
    assert!(rto >= detect);
}

fn stores_configured() -> Harness {
    let mut hs = Harness::new_unstarted(small_fleet(), Policy::default());
    hs.core.caps.stores = true;
    hs.fake("a").procs.clear();
    hs.input(Input::Tick);
    hs
}

fn checkpoint(step: u64) -> super::io::CheckpointRef {
    super::io::CheckpointRef {
        id: format!("step-{step}"),
        step,
        created: super::time::Ts(1_600_000_000_000),
        bytes: 10,
        sha256: "ab".repeat(32),
        location: format!("/ckpt/step-{step}"),
        verified: true,
    }
}

#[test]
fn a_first_start_waits_for_the_stores_and_resumes_from_what_they_hold() {
    let mut hs = stores_configured();
    hs.run_for(secs(5));
    assert!(
        hs.running_on("train").is_empty(),
        "started before the stores were read"
    );
    let reason = hs.core.durable().jobs[&j("train")].reason.clone();
    assert!(reason.contains("checkpoint stores"), "{reason}");
    hs.input(Input::CheckpointSeen {
        job: j("train"),
        epoch: Epoch(3),
        checkpoint: checkpoint(500),
    });
    hs.input(Input::StoresRead {
        unadopted: Vec::new(),
    });
    hs.run_for(secs(3));
    assert_eq!(hs.running_on("train"), ["a"]);
    let staged = hs.events.iter().any(|e| {
        matches!(&e.kind, EventKind::FailoverStep { step, detail, .. } if step == "stage" && detail.contains("step-500"))
    });
    assert!(staged, "the first start did not resume from step 500");
}

#[test]
fn a_first_start_over_checkpoints_nobody_adopted_waits_for_a_human() {
    let mut hs = stores_configured();
    hs.run_for(secs(2));
    hs.input(Input::StoresRead {
        unadopted: vec![(j("train"), 900)],
    });
    hs.run_for(secs(5));
    assert!(
        hs.running_on("train").is_empty(),
        "started from step 0 over step 900"
    );
    assert_eq!(hs.state("train"), S::Escalating);
    let reason = hs.core.durable().jobs[&j("train")].reason.clone();
    assert!(
        reason.contains("step 900") && reason.contains("adopt"),
        "{reason}"
    );
}

#[test]
fn a_live_copy_elsewhere_wins_over_checkpoints_nobody_adopted() {
    // A fresh Lifeboat: the stores hold checkpoints it did not record, and the job runs
    // on b under e2. Seeing b's copy is the answer, not a page about the checkpoints.
    let mut hs = Harness::new_unstarted(small_fleet(), Policy::default());
    hs.core.caps.stores = true;
    hs.fake("a").procs.clear();
    hs.fake("b").procs.push((j("train"), Epoch(2), 500));
    hs.input(Input::StoresRead {
        unadopted: vec![(j("train"), 50)],
    });
    hs.input(Input::Tick);
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running, "{:?}", hs.states("train"));
    let rec = &hs.core.durable().jobs[&j("train")];
    assert_eq!(rec.epoch, Epoch(2));
    assert_eq!(rec.placement.host, h("b"));
    assert_eq!(hs.count("escalated"), 0);
}
