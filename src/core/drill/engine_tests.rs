//! The drill engine driven over the core's deterministic harness: a real core deciding on
//! a scripted fleet, the drill fed its snapshots and carrying out its own effects on the
//! fake hosts. Passing, missing an expectation, a stop condition, an abort, the blast
//! radius and a failing precondition.

use super::engine::{Drill, Effect, Input, Status};
use super::plan::{self, PlanError};
use super::runbook::*;
use crate::core::harness::*;
use crate::core::policy::Policy;
use std::time::Duration;

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) fn runbook(
    steps: Vec<StepAction>,
    stops: Vec<StopCondition>,
    expect: Expectations,
) -> Runbook {
    Runbook {
        name: "t".into(),
        title: "test".into(),
        description: String::new(),
        scenario: Scenario::GpuFailure,
        version: 1,
        source: "t.toml".into(),
        hash: "00".into(),
        targets: Targets {
            jobs: JobSelector::AnyRunning,
            hosts: HostSelector::OfJobs,
        },
        blast_radius: BlastRadius {
            max_hosts: 1,
            max_jobs: 1,
        },
        preconditions: vec![Probe::JobRunning],
        steps: steps
            .into_iter()
            .map(|action| Step {
                title: action.kind().into(),
                action,
            })
            .collect(),
        stop_conditions: stops,
        rollbacks: vec![Rollback::ClearFaults],
        expect,
    }
}

pub(super) fn gpu_drill() -> Vec<StepAction> {
    vec![
        StepAction::Diagnose {
            show: Diagnose::Status,
        },
        StepAction::Inject {
            fault: Fault::GpuLost,
            duration: secs(300),
        },
        StepAction::Observe {
            until: Probe::FaultDetected,
            deadline: secs(30),
        },
        StepAction::Observe {
            until: Probe::JobMoved,
            deadline: secs(60),
        },
        StepAction::Verify {
            check: Probe::JobRunning,
        },
    ]
}

pub(super) fn fresh() -> Harness {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    hs
}

/// Carries an effect out on the fake fleet at once.
pub(super) fn carry(hs: &mut Harness, e: Effect) -> Result<String, String> {
    match e {
        Effect::Inject {
            fault: Fault::GpuLost,
            ..
        } => {
            hs.fake("a").lost_gpu = Some(0);
            Ok("gpu 0 of a lost".to_string())
        }
        Effect::Inject {
            fault: Fault::HostDown,
            ..
        } => {
            hs.fake("a").up = false;
            Ok("a down".to_string())
        }
        Effect::Rollback { action } => {
            hs.fake("a").lost_gpu = None;
            hs.fake("a").up = true;
            Ok(format!("{action:?} done"))
        }
        other => Ok(format!("{other:?}")),
    }
}

/// Runs the drill to its end (or `limit` of simulated time): effects are carried out on
/// the fake fleet at once; `abort_at` aborts after that many seconds.
fn drive(hs: &mut Harness, drill: &mut Drill, limit: u64, abort_at: Option<u64>) -> Vec<String> {
    let mut done = Vec::new();
    let snap = hs.core.snapshot();
    let mut effects = drill.on(Input::Snapshot(&snap), hs.now);
    for t in 0..limit {
        while let Some(e) = effects.pop() {
            let result = carry(hs, e);
            done.push(format!("{e:?}", e = result));
            effects.extend(drill.on(Input::Done(result), hs.now));
        }
        if drill.finished() {
            break;
        }
        if abort_at == Some(t) {
            effects.extend(drill.on(Input::Abort("operator".into()), hs.now));
            continue;
        }
        let seen = hs.events.len();
        hs.run_for(secs(1));
        for e in &hs.events[seen..] {
            drill.on(Input::Event(e), hs.now);
        }
        let snap = hs.core.snapshot();
        effects.extend(drill.on(Input::Snapshot(&snap), hs.now));
    }
    done
}

#[test]
fn a_gpu_failure_drill_passes_with_its_measures_and_rolls_back() {
    let mut hs = fresh();
    let rb = runbook(
        gpu_drill(),
        vec![StopCondition::OtherHostFailed],
        Expectations {
            detection: Some(secs(5)),
            rto: Some(secs(60)),
            ..Expectations::default()
        },
    );
    let snap = hs.core.snapshot();
    let targets = plan::resolve(&rb, &snap).unwrap();
    assert_eq!(targets.jobs, vec![j("train")]);
    assert_eq!(targets.hosts, vec![h("a")]);
    let pre = Drill::preconditions(&rb, &targets, &snap);
    assert!(pre.iter().all(|(_, v)| v.ok), "{pre:?}");
    let mut drill = Drill::new(rb, targets);
    drive(&mut hs, &mut drill, 120, None);
    assert!(drill.finished());
    assert_eq!(
        drill.status,
        Some(Status::Passed),
        "{}: {:#?}",
        drill.why,
        drill.steps
    );
    let m = &drill.measures;
    assert!(m.detection_s.is_some_and(|d| d <= 5.0), "{m:?}");
    assert!(
        m.rto_s.is_some_and(|r| r >= m.detection_s.unwrap_or(0.0)),
        "{m:?}"
    );
    // The RTO's phases from the failover journal (the fake hosts take no time for the
    // steps, which the breakdown leaves out), and the stage step's restore.
    assert_eq!(
        m.phases.first().map(|p| p.step.as_str()),
        Some("detect"),
        "{m:?}"
    );
    assert!(m.restore_s.is_some(), "{m:?}");
    assert_eq!(drill.steps.len(), 5);
    assert!(drill.steps.iter().all(|s| s.ok == Some(true)));
    assert!(
        drill.steps[3].output.contains("moved from a to b"),
        "{:?}",
        drill.steps[3]
    );
    assert_eq!(drill.rollbacks.len(), 1);
    assert!(drill.rollbacks[0].1.is_ok());
    assert!(drill.expectations().iter().all(|e| e.met));
    assert_eq!(hs.fake("a").lost_gpu, None, "the rollback undid the fault");
}

#[test]
fn a_missed_expectation_fails_a_drill_whose_steps_passed() {
    let mut hs = fresh();
    let rb = runbook(
        gpu_drill(),
        Vec::new(),
        Expectations {
            rpo_steps: Some(0),
            rto: Some(Duration::from_millis(1)),
            ..Expectations::default()
        },
    );
    let targets = plan::resolve(&rb, &hs.core.snapshot()).unwrap();
    let mut drill = Drill::new(rb, targets);
    drive(&mut hs, &mut drill, 120, None);
    assert_eq!(drill.status, Some(Status::Failed));
    assert!(drill.why.contains("rto_s"), "{}", drill.why);
    assert_eq!(drill.rollbacks.len(), 1);
}

#[test]
fn a_stop_condition_aborts_the_drill_and_the_rollbacks_still_run() {
    let mut hs = fresh();
    // No second look can tell more: the host waits out its reconnect attempts, so the
    // recovery runs past the stop condition's limit.
    hs.no_looks = true;
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
    let rb = runbook(
        steps,
        vec![StopCondition::RtoExceeds { limit: secs(5) }],
        Expectations::default(),
    );
    let targets = plan::resolve(&rb, &hs.core.snapshot()).unwrap();
    let mut drill = Drill::new(rb, targets);
    drive(&mut hs, &mut drill, 60, None);
    assert_eq!(drill.status, Some(Status::Aborted));
    assert!(drill.why.contains("rto-exceeds 5s"), "{}", drill.why);
    assert!(drill
        .stops
        .iter()
        .any(|(n, v)| n == "rto-exceeds 5s" && !v.ok));
    assert_eq!(drill.rollbacks.len(), 1);
    assert!(hs.fake("a").up, "the rollback brought the host back");
}

#[test]
fn an_abort_ends_the_step_under_way_and_runs_the_rollbacks() {
    let mut hs = fresh();
    let rb = runbook(gpu_drill(), Vec::new(), Expectations::default());
    let targets = plan::resolve(&rb, &hs.core.snapshot()).unwrap();
    let mut drill = Drill::new(rb, targets);
    drive(&mut hs, &mut drill, 60, Some(0));
    assert_eq!(drill.status, Some(Status::Aborted));
    assert_eq!(drill.why, "operator");
    let last = drill.steps.last().unwrap();
    assert_eq!(last.ok, Some(false));
    assert_eq!(drill.rollbacks.len(), 1);
    assert_eq!(hs.fake("a").lost_gpu, None);
    // Nothing more happens after the end.
    let snap = hs.core.snapshot();
    assert!(drill.on(Input::Snapshot(&snap), hs.now).is_empty());
}

#[test]
fn targets_beyond_the_blast_radius_refuse_the_drill() {
    let hs = fresh();
    let mut rb = runbook(gpu_drill(), Vec::new(), Expectations::default());
    rb.targets.hosts = HostSelector::HalfFleet;
    let e = plan::resolve(&rb, &hs.core.snapshot()).unwrap_err();
    assert!(
        matches!(
            e,
            PlanError::BlastRadius {
                what: "hosts",
                max: 1,
                count: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("a, b"), "{e}");
    rb.targets.hosts = HostSelector::Named(vec!["nope".into()]);
    assert!(matches!(
        plan::resolve(&rb, &hs.core.snapshot()),
        Err(PlanError::NoSuchHost(..))
    ));
}

#[test]
fn a_failing_precondition_says_why() {
    let hs = fresh();
    let mut rb = runbook(gpu_drill(), Vec::new(), Expectations::default());
    rb.preconditions = vec![
        Probe::JobRunning,
        Probe::CheckpointFresh { max_age: secs(600) },
    ];
    let snap = hs.core.snapshot();
    let targets = plan::resolve(&rb, &snap).unwrap();
    let pre = Drill::preconditions(&rb, &targets, &snap);
    assert!(pre[0].1.ok, "{pre:?}");
    assert!(!pre[1].1.ok);
    assert!(pre[1].1.why.contains("no verified checkpoint"), "{pre:?}");
}
