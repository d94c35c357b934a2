//! What a drill shows people: its plan before anything happens (targets, blast radius,
//! preconditions ✓/✗, every step), and a `diagnose` step's view of the fleet.

use crate::core::drill::plan::Resolved;
use crate::core::drill::probe::Verdict;
use crate::core::drill::runbook::{Diagnose, Probe, Runbook, StepAction};
use crate::core::snapshot::Snapshot;
use std::fmt::Write;

fn list<T: ToString>(v: &[T]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// One line per step: what it will do.
pub fn step_line(action: &StepAction) -> String {
    match action {
        StepAction::Diagnose { show } => format!("show the fleet's {}", show.as_str()),
        StepAction::Inject { fault, duration } => format!(
            "inject {} (undoes itself after {}s)",
            fault.as_str(),
            duration.as_secs()
        ),
        StepAction::Observe { until, deadline } => {
            format!(
                "wait until {} (deadline {}s)",
                probe_text(until),
                deadline.as_secs()
            )
        }
        StepAction::Verify { check } => format!("check {}", probe_text(check)),
        StepAction::Manual { prompt } => format!("operator: {prompt}"),
    }
}

pub fn probe_text(p: &Probe) -> String {
    match p {
        Probe::CheckpointFresh { max_age } => {
            format!("{} (≤ {}s)", p.name(), max_age.as_secs())
        }
        Probe::HeartbeatAdvancing { within } => format!("{} (≤ {}s)", p.name(), within.as_secs()),
        _ => p.name().to_string(),
    }
}

/// The plan as the operator confirms it.
pub fn plan(runbook: &Runbook, targets: &Resolved, pre: &[(Probe, Verdict)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "drill {} v{} — {} ({})",
        runbook.name,
        runbook.version,
        runbook.title,
        runbook.scenario.as_str()
    );
    let _ = writeln!(
        s,
        "targets: jobs {}; hosts {}",
        list(&targets.jobs),
        list(&targets.hosts)
    );
    let _ = writeln!(
        s,
        "blast radius: at most {} hosts, {} jobs (targets: {} hosts, {} jobs)",
        runbook.blast_radius.max_hosts,
        runbook.blast_radius.max_jobs,
        targets.hosts.len(),
        targets.jobs.len()
    );
    let _ = writeln!(s, "preconditions:");
    if pre.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for (p, v) in pre {
        let mark = if v.ok { "✓" } else { "✗" };
        let _ = writeln!(s, "  {mark} {}: {}", probe_text(p), v.why);
    }
    let _ = writeln!(s, "steps:");
    for (i, step) in runbook.steps.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {}. [{}] {} — {}",
            i + 1,
            step.action.kind(),
            step.title,
            step_line(&step.action)
        );
    }
    let _ = writeln!(
        s,
        "rollbacks (always run): {}",
        list(
            &runbook
                .rollbacks
                .iter()
                .map(|r| r.as_str().to_string())
                .collect::<Vec<_>>()
        )
    );
    s
}

/// A `diagnose` step's output: the targets as the fleet shows them now.
pub fn diagnose(what: Diagnose, snap: &Snapshot, targets: &Resolved) -> String {
    let mut s = String::new();
    let jobs = snap.jobs.iter().filter(|j| targets.jobs.contains(&j.id));
    match what {
        Diagnose::Status => {
            for j in jobs {
                let _ = writeln!(
                    s,
                    "{} {} on {} (epoch {}), step {}",
                    j.id,
                    j.state.as_str(),
                    j.placement,
                    j.epoch.0,
                    j.last_step.map_or("unknown".into(), |v| v.to_string())
                );
            }
            for h in snap.hosts.iter().filter(|h| targets.hosts.contains(&h.id)) {
                let _ = writeln!(s, "{} {} — {}", h.id, h.reach.as_str(), h.reason);
            }
        }
        Diagnose::Readiness => {
            for j in jobs {
                match crate::core::readiness_snapshot::from_snapshot(snap, &j.id, snap.caps) {
                    Some(r) => {
                        let _ = writeln!(s, "{}: {}", j.id, r.reason);
                    }
                    None => {
                        let _ = writeln!(s, "{}: no readiness to judge", j.id);
                    }
                }
            }
        }
        Diagnose::Checkpoints => {
            for j in jobs {
                match &j.newest_verified {
                    Some(c) => {
                        let _ = writeln!(
                            s,
                            "{}: newest verified {} (step {}, {} bytes)",
                            j.id, c.id, c.step, c.bytes
                        );
                    }
                    None => {
                        let _ = writeln!(s, "{}: no verified checkpoint", j.id);
                    }
                }
            }
        }
    }
    s.trim_end().to_string()
}
