//! The shipped runbooks: every one parses, one per scenario named by it, none forgotten,
//! and each says what its scenario needs.

use crate::config::runbook::{shipped, SHIPPED_DIR};
use crate::core::drill::runbook::*;
use std::path::Path;
use std::time::Duration;

fn by_name(name: &str) -> Runbook {
    shipped()
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no shipped runbook {name}"))
}

fn checks(r: &Runbook) -> Vec<&Probe> {
    r.steps
        .iter()
        .filter_map(|s| match &s.action {
            StepAction::Observe { until, .. } => Some(until),
            StepAction::Verify { check } => Some(check),
            _ => None,
        })
        .collect()
}

fn faults(r: &Runbook) -> Vec<Fault> {
    r.steps
        .iter()
        .filter_map(|s| match s.action {
            StepAction::Inject { fault, .. } => Some(fault),
            _ => None,
        })
        .collect()
}

#[test]
fn every_shipped_runbook_parses_and_is_named_by_its_scenario() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(SHIPPED_DIR);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = crate::config::runbook::parse_runbook(&text, &path) {
            panic!("{e}");
        }
    }
    let all = shipped();
    let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
    let mut scenarios: Vec<&str> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
    scenarios.sort_unstable();
    assert_eq!(
        names, scenarios,
        "one shipped runbook per scenario, by name"
    );
    for r in &all {
        assert_eq!(r.scenario.as_str(), r.name);
        assert_eq!(
            r.source,
            Path::new(SHIPPED_DIR).join(format!("{}.toml", r.name))
        );
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, all.len(), "a file in {SHIPPED_DIR} is not built in");
}

#[test]
fn expectations_fit_the_deadlines_they_are_observed_by() {
    for r in shipped() {
        let faults = faults(&r);
        assert_eq!(
            faults.is_empty(),
            r.scenario == Scenario::RestoreTest,
            "{}",
            r.name
        );
        if !faults.is_empty() {
            assert!(r.rollbacks.contains(&Rollback::ClearFaults), "{}", r.name);
            assert!(
                r.expect.detection.is_some(),
                "{} measures detection",
                r.name
            );
        }
        for s in &r.steps {
            if let StepAction::Observe {
                until: Probe::FaultDetected,
                deadline,
            } = s.action
            {
                let d = r.expect.detection.unwrap();
                assert!(
                    d <= deadline,
                    "{}: detection {d:?} past its deadline",
                    r.name
                );
            }
        }
        for stop in &r.stop_conditions {
            if let (StopCondition::RtoExceeds { limit }, Some(rto)) = (stop, r.expect.rto) {
                assert!(
                    rto < *limit,
                    "{}: the stop would abort a passing drill",
                    r.name
                );
            }
        }
    }
}

#[test]
fn job_crash_recovers_within_a_warm_standby_fleet_s_times() {
    let r = by_name("job-crash");
    assert!(r.expect.detection.unwrap() <= Duration::from_secs(15));
    assert!(r.expect.rto.unwrap() <= Duration::from_secs(90));
    assert_eq!(faults(&r), vec![Fault::JobCrash]);
}

#[test]
fn a_partition_freezes_automation_and_moves_nothing() {
    let r = by_name("network-partition");
    assert_eq!(r.targets.hosts, HostSelector::HalfFleet);
    assert!(r.blast_radius.max_hosts >= 2);
    assert_eq!(faults(&r), vec![Fault::Partition]);
    let c = checks(&r);
    assert!(c.contains(&&Probe::NoFailover) && c.contains(&&Probe::AutomationFrozen));
    assert!(!c.contains(&&Probe::JobMoved) && !c.contains(&&Probe::FailoverFinished));
    assert!(r.rollbacks.contains(&Rollback::ResumeAutomation));
}

#[test]
fn the_restore_test_disrupts_nothing() {
    let r = by_name("restore-test");
    assert!(faults(&r).is_empty());
    assert!(matches!(r.steps[0].action, StepAction::Diagnose { .. }));
    assert!(checks(&r).contains(&&Probe::RestoreVerified));
    assert_eq!(r.rollbacks, vec![Rollback::RemoveScratch]);
    assert_eq!(r.expect, Expectations::default());
}

#[test]
fn each_scenario_injects_its_fault_and_checks_its_recovery() {
    let cases = [
        (
            "checkpoint-corruption",
            Fault::CorruptCopy,
            Probe::CopiesVerified,
        ),
        ("fleet-loss", Fault::FleetLoss, Probe::JobMoved),
        ("gpu-failure", Fault::GpuLost, Probe::JobMoved),
        ("host-down", Fault::HostDown, Probe::JobMoved),
        ("host-unreachable", Fault::HostHang, Probe::JobMoved),
        ("spot-preemption", Fault::SpotPreemption, Probe::JobMoved),
        ("job-hang", Fault::JobHang, Probe::JobRunning),
    ];
    for (name, fault, probe) in cases {
        let r = by_name(name);
        assert_eq!(faults(&r), vec![fault], "{name}");
        assert!(checks(&r).contains(&&probe), "{name}");
    }
    // The job crashes, and the supervisor is killed once its failover is past the fence:
    // the next one finishes it, once.
    let s = by_name("supervisor-loss");
    assert_eq!(faults(&s), vec![Fault::JobCrash, Fault::SupervisorKill]);
    let c = checks(&s);
    assert!(c.contains(&&Probe::FailoverUnderway) && c.contains(&&Probe::FailedOverOnce));
    // The NAS goes, then the job crashes while it is gone: restored from S3, and the
    // NAS gets what it missed when it returns.
    let n = by_name("nas-lost");
    assert_eq!(faults(&n), vec![Fault::NasLost, Fault::JobCrash]);
    let c = checks(&n);
    assert!(c.contains(&&Probe::FailoverFinished) && c.contains(&&Probe::CopiesVerified));
    let c = by_name("checkpoint-corruption");
    assert!(c.steps.iter().any(|s| matches!(
        s.action,
        StepAction::Observe {
            until: Probe::CopiesVerified,
            ..
        }
    )));
    let f = by_name("fleet-loss");
    assert!(f.steps.iter().any(|s| matches!(
        s.action,
        StepAction::Observe {
            until: Probe::JobMoved,
            ..
        }
    )));
}
