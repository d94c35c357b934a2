//! A drill that outlives its supervisor: the supervisor-kill step keeps the engine as it
//! stands once the step passed, the next supervisor reads it back and goes on. The
//! recovery is measured from the fault that struck the job, not from the kill.

use super::engine::{Drill, Effect, Input, Status};
use super::engine_tests::{carry, fresh, runbook, secs};
use super::plan;
use super::runbook::*;
use crate::core::harness::Harness;

fn steps() -> Vec<StepAction> {
    vec![
        StepAction::Inject {
            fault: Fault::GpuLost,
            duration: secs(300),
        },
        StepAction::Observe {
            until: Probe::FaultDetected,
            deadline: secs(30),
        },
        StepAction::Inject {
            fault: Fault::SupervisorKill,
            duration: secs(300),
        },
        StepAction::Observe {
            until: Probe::FailoverFinished,
            deadline: secs(120),
        },
        StepAction::Verify {
            check: Probe::FailedOverOnce,
        },
        StepAction::Manual {
            prompt: "look".into(),
        },
    ]
}

/// What a supervisor-kill step leaves for the next supervisor: the engine a step on,
/// through JSON, given its runbook back.
fn across_a_restart(drill: &Drill, said: &str, now: crate::core::time::Ts) -> (Drill, Vec<Effect>) {
    let mut after = drill.clone();
    let _ = after.on(Input::Done(Ok(said.into())), now);
    let json = serde_json::to_string(&after).unwrap();
    let back: Drill = serde_json::from_str(&json).unwrap();
    back.resume(drill.runbook().clone(), now)
}

/// Drives `drill` for `limit` seconds; a supervisor kill swaps it for its read-back self.
fn drive(hs: &mut Harness, mut drill: Drill, limit: u64) -> (Drill, bool) {
    let mut killed = false;
    let snap = hs.core.snapshot();
    let mut effects = drill.on(Input::Snapshot(&snap), hs.now);
    for _ in 0..limit {
        while let Some(e) = effects.pop() {
            if let Effect::Inject {
                fault: Fault::SupervisorKill,
                ..
            } = e
            {
                let (next, more) = across_a_restart(&drill, "killed", hs.now);
                drill = next;
                effects.extend(more);
                killed = true;
                continue;
            }
            if let Effect::Ask { .. } = e {
                effects.extend(drill.on(Input::Confirm, hs.now));
                continue;
            }
            let result = carry(hs, e);
            effects.extend(drill.on(Input::Done(result), hs.now));
        }
        if drill.finished() {
            break;
        }
        hs.run_for(secs(1));
        let snap = hs.core.snapshot();
        effects.extend(drill.on(Input::Snapshot(&snap), hs.now));
    }
    (drill, killed)
}

#[test]
fn a_drill_goes_on_after_its_supervisor_kill_and_measures_from_the_fault() {
    let hs = &mut fresh();
    let rb = runbook(steps(), Vec::new(), Expectations::default());
    let targets = plan::resolve(&rb, &hs.core.snapshot()).unwrap();
    let (drill, killed) = drive(hs, Drill::new(rb, targets), 180);
    assert!(killed);
    assert_eq!(
        drill.status,
        Some(Status::Passed),
        "{}: {:#?}",
        drill.why,
        drill.steps
    );
    assert_eq!(drill.steps.len(), 6);
    assert_eq!(drill.steps[2].output, "killed");
    assert!(
        drill.steps[4].output.contains("one failover"),
        "{:?}",
        drill.steps[4]
    );
    let m = &drill.measures;
    assert_eq!(m.struck_at, m.injected_at, "the kill struck no job: {m:?}");
    assert!(m.rto_s.is_some() && m.detection_s.is_some(), "{m:?}");
    assert_eq!(
        drill.rollbacks.len(),
        1,
        "rolled back once, after the restart"
    );
}

#[test]
fn a_step_cut_short_by_the_restart_fails_and_a_question_is_asked_again() {
    let hs = fresh();
    let rb = runbook(steps(), Vec::new(), Expectations::default());
    let targets = plan::resolve(&rb, &hs.core.snapshot()).unwrap();
    let mut drill = Drill::new(rb.clone(), targets.clone());
    let snap = hs.core.snapshot();
    let e = drill.on(Input::Snapshot(&snap), hs.now);
    assert!(matches!(e[..], [Effect::Inject { .. }]));
    // The record read back while the injection was out: nobody knows how it ended.
    let back: Drill = serde_json::from_str(&serde_json::to_string(&drill).unwrap()).unwrap();
    let (drill2, effects) = back.resume(rb.clone(), hs.now);
    assert_eq!(drill2.status, Some(Status::Failed));
    assert!(
        drill2.steps[0].output.contains("restarted"),
        "{:?}",
        drill2.steps
    );
    assert!(matches!(effects[..], [Effect::Rollback { .. }]));

    // A manual step waiting for its answer is asked again.
    let manual = runbook(
        vec![StepAction::Manual {
            prompt: "confirm".into(),
        }],
        Vec::new(),
        Expectations::default(),
    );
    let mut drill = Drill::new(manual.clone(), targets);
    let e = drill.on(Input::Snapshot(&snap), hs.now);
    assert!(matches!(e[..], [Effect::Ask { .. }]));
    let back: Drill = serde_json::from_str(&serde_json::to_string(&drill).unwrap()).unwrap();
    let (mut drill3, effects) = back.resume(manual, hs.now);
    assert!(matches!(&effects[..], [Effect::Ask { prompt }] if prompt == "confirm"));
    let e = drill3.on(Input::Confirm, hs.now);
    assert!(matches!(e[..], [Effect::Rollback { .. }]));
}
