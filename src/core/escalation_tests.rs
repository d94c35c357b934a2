//! Scenario tests of escalation under simulated time: one incident is one page (plus a
//! resolution), an escalated job waits for a human, and a first start is a launch.

use super::event::EventKind;
use super::harness::*;
use super::ids::Target;
use super::io::{Command, Input, Severity};
use super::policy::Policy;
use super::recovery::RecoveryState as S;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn command(hs: &mut Harness, operator: &str, command: Command) {
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local(
            operator,
            0,
            crate::core::identity::Role::Operator,
        ),
        command,
    });
}

fn pages(hs: &Harness, severity: Severity) -> Vec<String> {
    hs.notified
        .iter()
        .filter(|(_, s, _)| *s == severity)
        .map(|(_, _, m)| m.clone())
        .collect()
}

/// `train` on GPU 0 of a two-GPU host with its restart budget spent, then GPU 0 falls off
/// the bus while the job's process stays up: the case that used to flap ESCALATING →
/// RESOLVED → RUNNING → INTERRUPTION_DETECTED and page every couple of seconds.
fn escalated_with_budget_spent() -> Harness {
    let mut fleet = small_fleet();
    fleet.hosts[0].gpus = 2;
    let mut hs = Harness::new(fleet, Policy::default());
    hs.run_for(secs(5));
    for round in 0..3 {
        hs.fake("a").procs.clear();
        hs.run_for(secs(3));
        assert_eq!(hs.state("train"), S::Running, "round {round}");
    }
    hs.notified.clear();
    hs.events.clear();
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(1));
    assert_eq!(hs.state("train"), S::Escalating);
    hs
}

#[test]
fn a_spent_restart_budget_pages_once_and_stays_escalated_for_a_minute() {
    let mut hs = escalated_with_budget_spent();
    hs.run_for(secs(60));
    let critical = pages(&hs, Severity::Critical);
    assert_eq!(critical.len(), 1, "{:#?}", hs.notified);
    assert!(critical[0].contains("restart budget spent"), "{critical:?}");
    assert_eq!(hs.notified.len(), 1, "{:#?}", hs.notified);
    assert_eq!(hs.states("train"), ["INTERRUPTION_DETECTED", "ESCALATING"]);
    assert_eq!(hs.count("escalated"), 1);
    let snap = hs.core.snapshot();
    let esc = snap.jobs[0].escalation.as_ref().expect("open escalation");
    assert!(esc.acknowledged.is_none());
    // Later probes are evidence on the incident, each said once.
    assert!(
        esc.evidence
            .iter()
            .any(|(_, w)| w.contains("GPU 0 has a fatal fault")),
        "{:?}",
        esc.evidence
    );
    assert!(esc.evidence.len() <= 2, "{:?}", esc.evidence);
}

#[test]
fn acknowledge_is_journaled_and_the_job_stays_escalated_while_its_gpu_is_dead() {
    let mut hs = escalated_with_budget_spent();
    command(&mut hs, "alice", Command::Acknowledge { job: j("train") });
    assert!(hs.events.iter().any(|e| matches!(&e.kind,
        EventKind::CommandAccepted {
            operator, command, ..
        }
            if operator == "alice" && command == "acknowledge train")));
    hs.run_for(secs(30));
    assert_eq!(hs.state("train"), S::Escalating);
    let snap = hs.core.snapshot();
    let esc = snap.jobs[0].escalation.as_ref().expect("open escalation");
    assert_eq!(
        esc.acknowledged.as_ref().map(|(w, _)| w.as_str()),
        Some("alice")
    );
    // A second acknowledge is refused with who already has it.
    command(&mut hs, "bob", Command::Acknowledge { job: j("train") });
    assert!(hs.events.iter().any(|e| matches!(&e.kind,
        EventKind::CommandRejected { operator, reason, .. }
            if operator == "bob" && reason.contains("already acknowledged by alice"))));
    // The GPU comes back: the acknowledged incident closes with one resolution.
    hs.fake("a").lost_gpu = None;
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(pages(&hs, Severity::Critical).len(), 1);
    let info = pages(&hs, Severity::Info);
    assert_eq!(info.len(), 1, "{:#?}", hs.notified);
    assert!(info[0].starts_with("train resolved:"), "{info:?}");
}

#[test]
fn acknowledge_is_refused_for_a_job_that_is_not_escalated() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    command(&mut hs, "alice", Command::Acknowledge { job: j("train") });
    assert!(hs.events.iter().any(|e| matches!(&e.kind,
        EventKind::CommandRejected { reason, .. }
            if reason.contains("only an ESCALATING job waits for a human"))));
}

#[test]
fn resume_after_escalation_resets_the_budget_and_closes_with_one_resolution() {
    let mut hs = escalated_with_budget_spent();
    hs.run_for(secs(20));
    command(
        &mut hs,
        "alice",
        Command::Resume {
            job: Some(j("train")),
        },
    );
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(
        hs.core.durable().jobs[&j("train")].placement,
        Target::new(h("b"), Some(0))
    );
    assert_eq!(pages(&hs, Severity::Critical).len(), 1);
    assert!(
        pages(&hs, Severity::Warning).is_empty(),
        "{:#?}",
        hs.notified
    );
    let info = pages(&hs, Severity::Info);
    assert_eq!(info.len(), 1, "{:#?}", hs.notified);
    assert!(
        info[0].contains("resolved: failed over to b:gpu0"),
        "{info:?}"
    );
    assert!(hs.core.snapshot().jobs[0].escalation.is_none());
}

#[test]
fn manual_failover_of_an_escalated_job_closes_it_and_cancel_closes_with_failed() {
    let mut hs = escalated_with_budget_spent();
    let seen = hs.core.snapshot().epoch;
    let to_b = Command::Failover {
        job: j("train"),
        target: Some(Target::new(h("b"), Some(0))),
        seen,
        strategy: None,
    };
    command(&mut hs, "alice", to_b);
    hs.run_for(secs(3));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.notified.len(), 2, "{:#?}", hs.notified);

    let mut hs = escalated_with_budget_spent();
    let seen = hs.core.snapshot().epoch;
    command(
        &mut hs,
        "alice",
        Command::Cancel {
            job: j("train"),
            seen,
        },
    );
    assert_eq!(hs.state("train"), S::Failed);
    let info = pages(&hs, Severity::Info);
    assert_eq!(info.len(), 1, "{:#?}", hs.notified);
    assert!(info[0].contains("cancelled by alice"), "{info:?}");
}

#[test]
fn a_first_start_is_a_launch_not_an_incident() {
    let mut hs = Harness::unstarted(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.running_on("train"), ["a"]);
    assert!(hs.notified.is_empty(), "{:#?}", hs.notified);
    let states = hs.states("train");
    assert!(
        !states.iter().any(|s| s == "INTERRUPTION_DETECTED"),
        "{states:?}"
    );
    let notify = hs.events.iter().find_map(|e| match &e.kind {
        EventKind::FailoverStep { step, detail, .. } if step == "notify" => Some(detail.clone()),
        _ => None,
    });
    assert!(notify.is_some_and(|d| d.contains("first start")));
    // No failover counted against the restart budget.
    assert_eq!(hs.core.snapshot().jobs[0].failovers_in_window, 0);
}

#[test]
fn a_standby_gpu_with_unknown_readings_is_passed_over() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.fake("b").unreadable_gpu = Some(0);
    hs.run_for(secs(5));
    let b = hs
        .core
        .snapshot()
        .hosts
        .into_iter()
        .find(|v| v.id == h("b"));
    let b = b.expect("host b");
    assert_eq!(b.badge, "degraded");
    assert!(
        matches!(&b.gpus[0].health, super::gpu::GpuHealth::Unknown(r)
            if r[0].contains("temperature.gpu read [Unknown Error]")),
        "{:?}",
        b.gpus[0].health
    );
    // The readiness check agrees with what the core would do.
    let snap = hs.core.snapshot();
    let ready = super::readiness_snapshot::from_snapshot(&snap, &j("train"), Default::default());
    let row = ready
        .iter()
        .flat_map(|r| r.strategies.iter())
        .find(|r| r.target == Some(Target::new(h("b"), Some(0))))
        .cloned()
        .expect("a row for b:gpu0");
    assert!(!row.ready, "{row:?}");
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(3));
    // Not b:gpu0, whose GPU cannot be read: the CPU standby takes the job.
    assert_eq!(hs.running_on("train"), ["cpu"]);
    assert!(hs.events.iter().any(|e| matches!(&e.kind,
        EventKind::FailoverStep { strategy, ok: false, detail, .. }
            if strategy == "warm-standby" && detail.contains("readings are unknown"))));
}
