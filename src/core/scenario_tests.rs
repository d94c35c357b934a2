//! Scenario tests of the whole core under simulated time (see `harness`).

use super::event::EventKind;
use super::fleet::{Role, StrategyKind};
use super::harness::*;
use super::ids::Target;
use super::io::{Command, Effect, Input};
use super::policy::{DetectionProfile, Policy};
use super::recovery::RecoveryState as S;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn fresh() -> Harness {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running);
    hs
}

#[test]
fn hard_fault_fails_over_within_one_probe_interval() {
    let mut hs = fresh();
    let fault_at = hs.now;
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(1));
    let detected = hs
        .events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::RecoveryState { to, .. } if to == "INTERRUPTION_DETECTED"))
        .map(|e| e.ts)
        .expect("interruption detected");
    assert!(
        detected.since(fault_at) <= secs(1),
        "detected after {:?}",
        detected.since(fault_at)
    );
    hs.run_for(secs(2));
    assert_eq!(
        hs.states("train"),
        [
            "INTERRUPTION_DETECTED",
            "FAILING_OVER",
            "RESOLVED",
            "RUNNING"
        ]
    );
    let place = &hs.core.durable().jobs[&j("train")].placement;
    assert_eq!(place, &Target::new(h("b"), Some(0)));
    assert_eq!(hs.running_on("train"), ["b"]);
    let steps: Vec<String> = hs
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FailoverStep { step, ok: true, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            "select_target",
            "fence",
            "stage",
            "launch",
            "verify",
            "notify"
        ]
    );
}

#[test]
fn isolated_single_probe_misses_never_fail_over() {
    for profile in [DetectionProfile::lan(), DetectionProfile::cloud()] {
        let policy = Policy {
            detection: profile.clone(),
            ..Policy::default()
        };
        let mut hs = Harness::new(small_fleet(), policy);
        hs.run_for(profile.probe_interval * 3);
        for _ in 0..1000 {
            hs.fake("a").up = false;
            hs.run_for(profile.probe_interval);
            hs.fake("a").up = true;
            hs.run_for(profile.probe_interval * profile.recover_after);
        }
        assert_eq!(hs.count("failover_step"), 0, "profile {}", profile.name);
        assert!(!hs.states("train").iter().any(|s| s == "FAILING_OVER"));
        assert_eq!(hs.state("train"), S::Running);
        let damped = hs
            .core
            .snapshot()
            .hosts
            .iter()
            .any(|v| v.id == h("a") && v.damped);
        // Under `lan` a single miss makes the host suspect, so it flaps and gets damped;
        // under `cloud` one miss is not even suspect.
        assert_eq!(damped, profile.suspect_after == 1, "{}", profile.name);
    }
}

#[test]
fn reconnect_succeeds_on_attempt_three_and_job_returns_to_running() {
    let mut hs = fresh();
    // No second look can tell more (no peer to ask): misses alone, soft evidence.
    hs.no_looks = true;
    hs.fake("a").up = false;
    hs.run_for(secs(3));
    assert_eq!(hs.state("train"), S::Reconnecting);
    // Attempts at +1 s and +3 s fail; the host is back for the one at +7 s.
    hs.run_for(secs(5));
    hs.fake("a").up = true;
    hs.run_for(secs(3));
    assert_eq!(
        hs.states("train"),
        [
            "INTERRUPTION_DETECTED",
            "RECONNECTING",
            "RESOLVED",
            "RUNNING"
        ]
    );
    let resolved = hs.events.iter().find_map(|e| match &e.kind {
        EventKind::RecoveryState { to, reason, .. } if to == "RESOLVED" => Some(reason.clone()),
        _ => None,
    });
    assert!(resolved.is_some_and(|r| r.contains("attempt 3")));
    assert_eq!(hs.running_on("train"), ["a"]);
    assert_eq!(hs.count("failover_step"), 0);
}

#[test]
fn reconnect_exhausted_fails_over() {
    let mut hs = fresh();
    hs.no_looks = true;
    hs.fake("a").up = false;
    hs.run_for(secs(3 + 31 + 2));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(
        hs.states("train"),
        [
            "INTERRUPTION_DETECTED",
            "RECONNECTING",
            "FAILING_OVER",
            "RESOLVED",
            "RUNNING"
        ]
    );
    let fence = hs.events.iter().find_map(|e| match &e.kind {
        EventKind::FailoverStep { step, detail, .. } if step == "fence" => Some(detail.clone()),
        _ => None,
    });
    assert!(fence.is_some_and(|d| d.contains("revoked")));
    // The old host comes back with its stale copy: it is fenced, one copy remains.
    hs.fake("a").up = true;
    hs.run_for(secs(5));
    assert_eq!(hs.running_on("train"), ["b"]);
}

#[test]
fn chain_falls_through_to_escalation_when_every_standby_is_down() {
    let mut hs = fresh();
    hs.fake("b").up = false;
    hs.fake("cpu").up = false;
    hs.run_for(secs(4));
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(2));
    assert_eq!(hs.state("train"), S::Escalating);
    assert_eq!(hs.count("escalated"), 1);
    let skipped: Vec<String> = hs
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FailoverStep {
                strategy,
                ok: false,
                ..
            } => Some(strategy.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, ["restart-in-place", "warm-standby", "cpu-standby"]);
    assert!(
        hs.running_on("train").is_empty(),
        "the job on the dead GPU was fenced"
    );
}

#[test]
fn restart_budget_exhausted_escalates() {
    let mut hs = fresh();
    for round in 0..3 {
        hs.fake("a").procs.clear();
        hs.run_for(secs(3));
        assert_eq!(hs.state("train"), S::Running, "round {round}");
    }
    assert_eq!(hs.count("failover_finished"), 3);
    hs.fake("a").procs.clear();
    hs.run_for(secs(3));
    assert_eq!(hs.state("train"), S::Escalating);
    let reason = &hs.core.durable().jobs[&j("train")].reason;
    assert!(reason.contains("restart budget spent"), "{reason}");
}

#[test]
fn stale_probe_result_after_failover_is_ignored() {
    let mut hs = fresh();
    hs.hold_probes_of = Some(h("a"));
    let healthy_a = hs.report(&h("a"));
    hs.run_for(secs(90));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.core.durable().jobs[&j("train")].placement.host, h("b"));
    let mut stale: Vec<_> = hs.take_held().iter().map(Effect::op).collect();
    // The newest probe is still the live one; every earlier one was superseded.
    stale.pop();
    assert!(stale.len() > 5);
    let before = hs.events.len();
    for op in stale {
        hs.late_answer(op, "a", healthy_a.clone());
    }
    assert_eq!(hs.events.len(), before, "late answers changed nothing");
    assert_eq!(hs.core.durable().jobs[&j("train")].placement.host, h("b"));
}

#[test]
fn double_manual_failover_is_rejected() {
    let mut hs = fresh();
    hs.hold_steps = true;
    let seen = hs.core.snapshot().epoch;
    let cmd = Command::Failover {
        job: j("train"),
        target: None,
        seen,
        strategy: None,
    };
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local(
            "alice",
            0,
            crate::core::identity::Role::Operator,
        ),
        command: cmd.clone(),
    });
    assert_eq!(hs.state("train"), S::FailingOver);
    let seen = hs.core.snapshot().epoch;
    let cmd = Command::Failover {
        job: j("train"),
        target: None,
        seen,
        strategy: None,
    };
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local("bob", 0, crate::core::identity::Role::Operator),
        command: cmd,
    });
    let rejected = hs.events.iter().find_map(|e| match &e.kind {
        EventKind::CommandRejected {
            operator, reason, ..
        } if operator == "bob" => Some(reason.clone()),
        _ => None,
    });
    assert!(rejected.is_some_and(|r| r.contains("already in progress")));
    hs.hold_steps = false;
    hs.release();
    hs.run_for(secs(2));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.count("failover_finished"), 1);
    assert_eq!(hs.running_on("train").len(), 1);
}

#[test]
fn confirm_against_an_old_epoch_is_rejected() {
    let mut hs = fresh();
    let seen = hs.core.snapshot().epoch;
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(2));
    let cmd = Command::Failover {
        job: j("train"),
        target: Some(Target::new(h("c"), Some(0))),
        seen,
        strategy: None,
    };
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local(
            "alice",
            0,
            crate::core::identity::Role::Operator,
        ),
        command: cmd,
    });
    let rejected = hs.events.iter().find_map(|e| match &e.kind {
        EventKind::CommandRejected { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(rejected.is_some_and(|r| r.contains("changed since you looked")));
    assert_eq!(hs.core.durable().jobs[&j("train")].placement.host, h("b"));
}

#[test]
fn partition_guard_freezes_automation_when_half_the_fleet_goes_suspect() {
    let mut hs = fresh();
    for n in ["a", "b"] {
        hs.fake(n).up = false;
    }
    hs.run_for(secs(40));
    let snap = hs.core.snapshot();
    assert!(snap
        .automation
        .frozen
        .as_deref()
        .is_some_and(|f| f.contains("2 of 4 hosts")));
    assert_eq!(hs.state("train"), S::InterruptionDetected);
    assert!(hs.core.durable().jobs[&j("train")]
        .reason
        .contains("frozen"));
    assert_eq!(hs.count("failover_step"), 0);
    // The network heals: automation thaws and the job, still alive, is resolved.
    for n in ["a", "b"] {
        hs.fake(n).up = true;
    }
    hs.run_for(secs(5));
    assert!(hs.core.snapshot().automation.frozen.is_none());
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.running_on("train"), ["a"]);
}

#[test]
fn paused_job_is_held_until_resumed() {
    let mut hs = fresh();
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local(
            "alice",
            0,
            crate::core::identity::Role::Operator,
        ),
        command: Command::Pause {
            job: Some(j("train")),
        },
    });
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(3));
    assert_eq!(hs.state("train"), S::InterruptionDetected);
    assert!(hs.core.snapshot().jobs[0]
        .why
        .contains("paused for train by alice"));
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local(
            "alice",
            0,
            crate::core::identity::Role::Operator,
        ),
        command: Command::Resume {
            job: Some(j("train")),
        },
    });
    hs.run_for(secs(2));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.running_on("train"), ["b"]);
}

#[test]
fn manual_failover_to_cpu_standby_and_cancel() {
    let mut hs = fresh();
    let seen = hs.core.snapshot().epoch;
    let t = Target::new(h("cpu"), None);
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local("op", 0, crate::core::identity::Role::Operator),
        command: Command::Switchover {
            job: j("train"),
            target: t.clone(),
            seen,
        },
    });
    hs.run_for(secs(1));
    assert_eq!(hs.core.durable().jobs[&j("train")].placement, t);
    assert_eq!(hs.running_on("train"), ["cpu"]);
    // Cancel while a failover is held mid-way: FAILED, and the epoch moves on.
    hs.hold_steps = true;
    let seen = hs.core.snapshot().epoch;
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local("op", 0, crate::core::identity::Role::Operator),
        command: Command::Failover {
            job: j("train"),
            target: None,
            seen,
            strategy: None,
        },
    });
    let seen = hs.core.snapshot().epoch;
    let before = hs.core.durable().jobs[&j("train")].epoch;
    hs.input(Input::Command {
        by: crate::core::identity::Identity::local("op", 0, crate::core::identity::Role::Operator),
        command: Command::Cancel {
            job: j("train"),
            seen,
        },
    });
    assert_eq!(hs.state("train"), S::Failed);
    assert!(hs.core.durable().jobs[&j("train")].epoch > before);
}

#[test]
fn restart_in_place_when_only_the_job_died() {
    let mut hs = fresh();
    hs.fake("a").procs.clear();
    hs.run_for(secs(2));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.core.durable().jobs[&j("train")].placement.host, h("a"));
    assert_eq!(hs.running_on("train"), ["a"]);
}

#[test]
fn failover_resumes_after_restore_from_durable_state() {
    let mut hs = fresh();
    hs.hold_steps = true;
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(2));
    hs.release(); // fence
    hs.hold_steps = true;
    assert_eq!(hs.state("train"), S::FailingOver);
    let saved = serde_json::to_string(hs.core.durable()).expect("serialise");
    // The console dies here; a new one starts from the saved state.
    let durable = serde_json::from_str(&saved).expect("parse");
    let mut fresh_core = super::engine::Core::restore(
        small_fleet(),
        Policy::default(),
        Default::default(),
        durable,
        hs.now,
    );
    std::mem::swap(&mut hs.core, &mut fresh_core);
    hs.held.clear();
    hs.hold_steps = false;
    hs.run_for(secs(3));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.running_on("train"), ["b"]);
    assert_eq!(hs.count("failover_finished"), 1);
}

#[test]
fn cpu_host_without_gpus_is_healthy() {
    let mut hs = fresh();
    let snap = hs.core.snapshot();
    let cpu = snap
        .hosts
        .iter()
        .find(|v| v.id == h("cpu"))
        .expect("cpu host");
    assert_eq!(cpu.badge, "healthy");
    assert_eq!(cpu.role, Role::CpuStandby);
    hs.run_for(secs(1));
    let _ = StrategyKind::Escalate;
}

#[test]
fn two_jobs_never_take_the_same_standby() {
    use StrategyKind::*;
    let mut fleet = small_fleet();
    fleet.hosts[0].gpus = 2;
    let mut second = job(
        "eval",
        "a",
        &[("b", Some(0)), ("c", Some(0))],
        &[WarmStandby, Escalate],
    );
    second.gpu = Some(1);
    fleet.jobs.push(second);
    let mut hs = Harness::new(fleet, Policy::default());
    hs.run_for(secs(3));
    hs.fake("a").up = false;
    hs.run_for(secs(45));
    let d = hs.core.durable();
    let (p1, p2) = (
        &d.jobs[&j("train")].placement,
        &d.jobs[&j("eval")].placement,
    );
    assert_eq!(
        (hs.state("train"), hs.state("eval")),
        (S::Running, S::Running)
    );
    assert_ne!(p1, p2, "both jobs landed on {p1}");
}

#[test]
fn step_progress_shows_in_the_snapshot_and_late_reports_are_dropped() {
    let mut hs = fresh();
    hs.hold_steps = true;
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(2));
    let op = hs.core.durable().jobs[&j("train")]
        .pending()
        .map(|p| p.op)
        .expect("a step in flight");
    hs.input(Input::StepProgress {
        op,
        done: 100,
        total: 1000,
    });
    hs.now = hs.now.plus(secs(1));
    hs.input(Input::StepProgress {
        op,
        done: 300,
        total: 1000,
    });
    let task = hs.core.snapshot().jobs[0].task.clone().expect("task");
    let p = task.progress.expect("progress");
    assert_eq!((p.done, p.total), (300, 1000));
    assert!(task.eta_ms.is_some());
    // Once the step is answered, its progress is gone, and a late report changes nothing.
    hs.hold_steps = false;
    hs.release();
    hs.input(Input::StepProgress {
        op,
        done: 900,
        total: 1000,
    });
    let snap = hs.core.snapshot();
    assert!(snap.jobs[0]
        .task
        .as_ref()
        .is_none_or(|t| t.progress.is_none()));
}

#[test]
fn an_old_epochs_checkpoint_counts_only_if_made_before_its_epoch_was_revoked() {
    let mut hs = fresh();
    let old = hs.core.durable().jobs[&j("train")].epoch;
    let seen = |id: &str, created: super::time::Ts| Input::CheckpointSeen {
        job: j("train"),
        epoch: old,
        checkpoint: super::io::CheckpointRef {
            id: id.into(),
            step: 100,
            created,
            bytes: 1,
            sha256: String::new(),
            location: String::new(),
            verified: true,
        },
    };
    let before = super::time::Ts(hs.now.0 - 10_000);
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(3));
    assert_eq!(hs.running_on("train"), ["b"]);
    let revoked = hs.now;
    // Made 10 s before the failover: pulled late, but good.
    hs.input(seen("made-before", before));
    // Made after the revocation by a copy that kept running: never restored from.
    hs.input(seen("made-after", super::time::Ts(revoked.0 + 1_000)));
    let ids: Vec<String> = hs.core.durable().jobs[&j("train")]
        .checkpoints
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(ids, ["made-before"]);
}

/// The job driven onto the CPU standby: its host and the GPU standby both gone.
fn on_cpu_standby(workspace: bool) -> Harness {
    let mut fleet = small_fleet();
    if workspace {
        fleet.jobs[0].workspace = Some(super::workspace::WorkspaceSync {
            path: "/w".into(),
            every: secs(60),
            exclude: Vec::new(),
        });
    }
    let mut hs = Harness::new(fleet, Policy::default());
    hs.run_for(secs(5));
    hs.fake("b").lost_gpu = Some(0);
    // Long enough apart that the partition guard does not take them for one event.
    hs.run_for(secs(30));
    hs.fake("a").up = false;
    hs.fake("a").procs.clear();
    hs.run_for(secs(120));
    assert_eq!(
        hs.running_on("train"),
        ["cpu"],
        "{:#?}",
        hs.events
            .iter()
            .map(|e| format!("{:?}", e.kind))
            .collect::<Vec<_>>()
    );
    hs
}

#[test]
fn a_job_on_the_cpu_standby_returns_home_once_its_gpu_host_is_back_for_a_while() {
    let mut hs = on_cpu_standby(true);
    hs.fake("a").up = true;
    // Not at the first good probe: the host must stay up for `return_after` (60 s).
    hs.run_for(secs(30));
    assert_eq!(hs.running_on("train"), ["cpu"]);
    hs.run_for(secs(60));
    assert_eq!(hs.running_on("train"), ["a"]);
    let place = &hs.core.durable().jobs[&j("train")].placement;
    assert_eq!(place, &Target::new(h("a"), Some(0)));
    let steps: Vec<(String, String)> = hs
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FailoverStep {
                strategy,
                step,
                ok: true,
                ..
            } if strategy == "return" => Some((strategy.clone(), step.clone())),
            _ => None,
        })
        .map(|(_, s)| (String::new(), s))
        .collect();
    let names: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "sync",
            "select_target",
            "fence",
            "stage",
            "launch",
            "verify",
            "notify"
        ]
    );
}

#[test]
fn a_failed_workspace_sync_leaves_the_job_on_the_cpu_standby_and_tries_later() {
    let mut hs = on_cpu_standby(true);
    hs.fake("a").up = true;
    // The sync is held, then answered with a failure (the target dropped out meanwhile).
    hs.hold_steps = true;
    hs.run_for(secs(65));
    let held = hs.take_held();
    hs.hold_steps = false;
    let sync = held
        .iter()
        .find(|e| matches!(e, Effect::SyncWorkspace { .. }))
        .expect("a sync was asked for");
    hs.input(Input::StepFinished {
        op: sync.op(),
        result: Err("a: connection reset".into()),
    });
    assert_eq!(hs.running_on("train"), ["cpu"]);
    assert_eq!(hs.state("train"), S::Running);
    assert!(hs.events.iter().any(|e| matches!(&e.kind,
        EventKind::FailoverStep { step, ok: false, detail, .. }
            if step == "sync" && detail.contains("stays on the CPU standby"))));
    // It goes back once the hold is over.
    hs.run_for(secs(120));
    assert_eq!(hs.running_on("train"), ["a"]);
}

#[test]
fn return_after_off_keeps_the_job_on_the_cpu_standby() {
    let mut fleet = small_fleet();
    fleet.jobs[0].workspace = None;
    let policy = Policy {
        recovery: super::policy::RecoveryPolicy {
            return_after: None,
            ..Default::default()
        },
        ..Policy::default()
    };
    let mut hs = Harness::new(fleet, policy);
    hs.run_for(secs(5));
    hs.fake("b").lost_gpu = Some(0);
    // Long enough apart that the partition guard does not take them for one event.
    hs.run_for(secs(30));
    hs.fake("a").up = false;
    hs.fake("a").procs.clear();
    hs.run_for(secs(120));
    assert_eq!(hs.running_on("train"), ["cpu"]);
    hs.fake("a").up = true;
    hs.run_for(secs(300));
    assert_eq!(hs.running_on("train"), ["cpu"]);
}

#[test]
fn a_failover_by_one_strategy_runs_that_strategy_alone() {
    use crate::core::fleet::StrategyKind;
    let mut hs = fresh();
    let alice =
        crate::core::identity::Identity::local("alice", 0, crate::core::identity::Role::Operator);
    let seen = hs.core.snapshot().epoch;
    hs.input(Input::Command {
        by: alice.clone(),
        command: Command::Failover {
            job: j("train"),
            target: None,
            seen,
            strategy: Some(StrategyKind::Provision),
        },
    });
    let rejected = hs.events.iter().find_map(|e| match &e.kind {
        EventKind::CommandRejected { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        rejected
            .as_deref()
            .is_some_and(|r| r.contains("not in train's strategy chain")),
        "{rejected:?}"
    );
    // Warm standby b is first in the chain and fit; naming cpu-standby skips it.
    hs.input(Input::Command {
        by: alice,
        command: Command::Failover {
            job: j("train"),
            target: None,
            seen,
            strategy: Some(StrategyKind::CpuStandby),
        },
    });
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running);
    assert_eq!(hs.core.durable().jobs[&j("train")].placement.host, h("cpu"));
    assert_eq!(hs.count("failover_finished"), 1);
}

#[test]
fn a_watch_hint_probes_the_host_at_once_and_the_crash_is_seen_without_waiting_for_the_interval() {
    let mut hs = fresh();
    hs.run_for(Duration::from_millis(100));
    hs.fake("a").procs.clear();
    let at = hs.now;
    hs.input(Input::ProbeSoon { host: h("a") });
    assert_eq!(hs.now, at, "no time passed");
    assert_eq!(
        hs.states("train").first().map(String::as_str),
        Some("INTERRUPTION_DETECTED")
    );
    // A hint while a probe is out: the next probe follows its answer at once.
    let mut hs = fresh();
    hs.hold_probes_of = Some(h("b"));
    hs.run_for(secs(1));
    assert_eq!(hs.held.len(), 1, "one probe of b in flight");
    hs.input(Input::ProbeSoon { host: h("b") });
    assert_eq!(hs.held.len(), 1, "never two probes of a host at once");
    hs.release();
    hs.input(Input::Tick);
    assert_eq!(
        hs.held.len(),
        1,
        "probed again as soon as the first was answered"
    );
}
