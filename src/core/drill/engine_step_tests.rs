//! The guided drill: it holds before each step until the operator steps (Enter) or lets it
//! run to the end, confirms a manual step by stepping, and still judges its stop
//! conditions while it holds.

use super::engine::{Drill, Effect, Input, Status};
use super::engine_tests::{carry, fresh, gpu_drill, runbook, secs};
use super::plan;
use super::runbook::*;
use crate::core::harness::Harness;

/// Carries out `effects` (and what they lead to) at once.
fn settle(hs: &mut Harness, drill: &mut Drill, mut effects: Vec<Effect>) {
    while let Some(e) = effects.pop() {
        let result = carry(hs, e);
        effects.extend(drill.on(Input::Done(result), hs.now));
    }
}

/// One second of simulated time, then the drill sees the fleet.
fn tick(hs: &mut Harness, drill: &mut Drill) {
    hs.run_for(secs(1));
    let snap = hs.core.snapshot();
    let effects = drill.on(Input::Snapshot(&snap), hs.now);
    settle(hs, drill, effects);
}

fn guided(steps: Vec<StepAction>, stops: Vec<StopCondition>) -> (Harness, Drill) {
    let hs = fresh();
    let rb = runbook(steps, stops, Expectations::default());
    let targets = plan::resolve(&rb, &hs.core.snapshot()).unwrap();
    (hs, Drill::new(rb, targets).stepping())
}

#[test]
fn a_guided_drill_holds_before_every_step_until_the_operator_steps() {
    let (mut hs, mut drill) = guided(gpu_drill(), Vec::new());
    tick(&mut hs, &mut drill);
    assert_eq!(drill.held(), Some(0), "it holds before the first step");
    assert!(drill.steps.is_empty());
    for _ in 0..5 {
        tick(&mut hs, &mut drill);
    }
    assert!(drill.steps.is_empty(), "time alone never starts a step");

    let e = drill.on(Input::Step, hs.now);
    settle(&mut hs, &mut drill, e);
    assert_eq!(drill.steps.len(), 1, "one step ran: {:?}", drill.steps);
    assert_eq!(drill.steps[0].ok, Some(true));
    assert_eq!(drill.held(), Some(1), "and it holds before the injection");
    assert_eq!(hs.fake("a").lost_gpu, None, "nothing injected yet");

    let e = drill.on(Input::Step, hs.now);
    settle(&mut hs, &mut drill, e);
    assert_eq!(hs.fake("a").lost_gpu, Some(0), "the injection ran");
    assert!(drill.measures.injected_at.is_some());
    assert_eq!(drill.held(), Some(2));

    // Stepping into an observe step: it begins, and ends once its probe holds.
    let e = drill.on(Input::Step, hs.now);
    settle(&mut hs, &mut drill, e);
    assert_eq!(drill.held(), None, "the observe step is under way");
    for _ in 0..30 {
        if drill.held().is_some() {
            break;
        }
        tick(&mut hs, &mut drill);
    }
    assert_eq!(drill.held(), Some(3), "{:#?}", drill.steps);
    assert!(
        drill.measures.detection_s.is_some(),
        "measured while it held"
    );

    // A step while one runs is not queued.
    let e = drill.on(Input::Step, hs.now);
    settle(&mut hs, &mut drill, e);
    assert_eq!(drill.held(), None);
    assert!(drill.on(Input::Step, hs.now).is_empty());
    assert_eq!(drill.steps.len(), 4);

    // The rest runs to the end without holding.
    let e = drill.on(Input::RunToEnd, hs.now);
    settle(&mut hs, &mut drill, e);
    for _ in 0..120 {
        if drill.finished() {
            break;
        }
        tick(&mut hs, &mut drill);
    }
    assert_eq!(drill.status, Some(Status::Passed), "{}", drill.why);
    assert_eq!(drill.steps.len(), 5);
    assert_eq!(drill.rollbacks.len(), 1);
    assert_eq!(hs.fake("a").lost_gpu, None, "rolled back");
}

#[test]
fn run_to_end_from_the_first_hold_runs_like_a_headless_run() {
    let (mut hs, mut drill) = guided(gpu_drill(), Vec::new());
    tick(&mut hs, &mut drill);
    assert_eq!(drill.held(), Some(0));
    let e = drill.on(Input::RunToEnd, hs.now);
    settle(&mut hs, &mut drill, e);
    for _ in 0..120 {
        if drill.finished() {
            break;
        }
        assert_eq!(drill.held(), None, "it never holds again");
        tick(&mut hs, &mut drill);
    }
    assert_eq!(drill.status, Some(Status::Passed), "{}", drill.why);
}

#[test]
fn stepping_confirms_a_manual_step_and_run_to_end_does_not() {
    let steps = vec![
        StepAction::Manual {
            prompt: "page the on-call".into(),
        },
        StepAction::Manual {
            prompt: "tell the team".into(),
        },
    ];
    let (mut hs, mut drill) = guided(steps, Vec::new());
    tick(&mut hs, &mut drill);
    let e = drill.on(Input::Step, hs.now);
    assert!(matches!(e.as_slice(), [Effect::Ask { .. }]), "{e:?}");
    assert_eq!(drill.asking(), Some(0));
    // Run to the end lifts the holds but a manual step still needs its human.
    assert!(drill.on(Input::RunToEnd, hs.now).is_empty());
    assert_eq!(drill.asking(), Some(0));
    let e = drill.on(Input::Step, hs.now);
    assert!(matches!(e.as_slice(), [Effect::Ask { .. }]), "{e:?}");
    assert_eq!(drill.steps[0].output, "confirmed");
    assert_eq!(drill.asking(), Some(1), "no hold before the next one");
    let e = drill.on(Input::Confirm, hs.now);
    settle(&mut hs, &mut drill, e);
    assert!(drill.finished());
    assert_eq!(drill.status, Some(Status::Passed), "{}", drill.why);
}

#[test]
fn a_stop_condition_fires_while_the_drill_holds_and_the_rollbacks_run() {
    let steps = vec![
        StepAction::Inject {
            fault: Fault::HostDown,
            duration: secs(300),
        },
        StepAction::Observe {
            until: Probe::JobMoved,
            deadline: secs(600),
        },
    ];
    let (mut hs, mut drill) = guided(steps, vec![StopCondition::RtoExceeds { limit: secs(3) }]);
    // No second look can tell more: the host waits out its reconnect attempts, so the
    // recovery runs past the stop condition's limit.
    hs.no_looks = true;
    tick(&mut hs, &mut drill);
    let e = drill.on(Input::Step, hs.now);
    settle(&mut hs, &mut drill, e);
    assert_eq!(drill.held(), Some(1), "held after the injection");
    for _ in 0..10 {
        if drill.finished() {
            break;
        }
        tick(&mut hs, &mut drill);
    }
    assert_eq!(drill.status, Some(Status::Aborted));
    assert!(drill.why.contains("rto-exceeds 3s"), "{}", drill.why);
    assert_eq!(drill.rollbacks.len(), 1);
    assert!(hs.fake("a").up, "the rollback brought the host back");
    assert_eq!(drill.held(), None);
}

#[test]
fn an_abort_while_it_holds_runs_the_rollbacks() {
    let (mut hs, mut drill) = guided(gpu_drill(), Vec::new());
    tick(&mut hs, &mut drill);
    let e = drill.on(Input::Abort("operator".into()), hs.now);
    settle(&mut hs, &mut drill, e);
    assert!(drill.finished());
    assert_eq!(drill.status, Some(Status::Aborted));
    assert_eq!(drill.rollbacks.len(), 1);
    assert!(drill.steps.is_empty(), "no step began");
}
