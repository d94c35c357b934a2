//! What is failing and what happens next, in one line, and which jobs need a human: pure
//! functions of a [`Snapshot`], shared by the console, `lifeboat status` and the stream.

use super::recovery::{RecoveryState, StepKind};
use super::snapshot::{JobView, Snapshot};
use super::time::{human, Ts};
use std::time::Duration;

/// Jobs whose incident is with humans, those nobody has acknowledged first.
pub fn needs_human(snap: &Snapshot) -> Vec<&JobView> {
    let mut v: Vec<&JobView> = snap
        .jobs
        .iter()
        .filter(|j| j.state == RecoveryState::Escalating)
        .collect();
    v.sort_by_key(|j| {
        let acked = j
            .escalation
            .as_ref()
            .is_some_and(|e| e.acknowledged.is_some());
        (acked, j.escalation.as_ref().map(|e| e.at))
    });
    v
}

/// One line for one job that waits for a human: who, why, since when, and who has it.
pub fn needs_human_line(j: &JobView, now: Ts) -> String {
    let Some(e) = &j.escalation else {
        return format!("{}: {}", j.id, j.reason);
    };
    let since = human(now.since(e.at));
    let more = match e.evidence.len() {
        0 => String::new(),
        n => format!(", {n} later finding(s)"),
    };
    match &e.acknowledged {
        Some((who, _)) => format!(
            "{}, acknowledged by {who}: {} ({since} ago{more})",
            j.id, e.reason
        ),
        None => format!("{}: {} ({since} ago{more})", j.id, e.reason),
    }
}

/// The most pressing thing that is failing, other than jobs waiting for a human, and
/// what happens next, e.g. `llm: reconnect 4/5 → try 5/5 in 13s, then fail over to
/// spare-1:gpu0`. `None` when nothing is failing.
pub fn next_step(snap: &Snapshot) -> Option<String> {
    let mut lines: Vec<(u8, String)> = snap
        .jobs
        .iter()
        .filter_map(|j| job_next(j, snap.now))
        .collect();
    if lines.is_empty() {
        lines = snap
            .hosts
            .iter()
            .filter(|h| matches!(h.badge.as_str(), "failed" | "suspect"))
            .map(|h| (9, format!("{}: {} ({})", h.id, h.badge, h.reason)))
            .collect();
    }
    lines.sort_by_key(|(rank, _)| *rank);
    let mut it = lines.into_iter();
    let (_, first) = it.next()?;
    let rest = it.count();
    Some(if rest > 0 {
        format!("{first} (+{rest} more)")
    } else {
        first
    })
}

/// A countdown in whole seconds (rounded up) under a minute, else as [`human`] says it.
fn secs_until(now: Ts, at: Ts) -> String {
    let ms = at.0.saturating_sub(now.0);
    if ms < 60_000 {
        format!("{}s", ms.div_ceil(1000))
    } else {
        human(Duration::from_millis(ms))
    }
}

/// What happens next to one job, ranked (lower is more pressing).
fn job_next(j: &JobView, now: Ts) -> Option<(u8, String)> {
    let id = &j.id;
    let then = match &j.next_target {
        Some(t) => format!("fail over to {t}"),
        None => "escalate (no standby fits now)".to_string(),
    };
    match j.state {
        RecoveryState::FailingOver => Some((1, format!("{id}: {}", failing_over(j, now)))),
        RecoveryState::Reconnecting => {
            let (n, m) = (j.reconnect_attempt, j.reconnect_attempts);
            let line = match (&j.task, j.next_attempt_at) {
                (Some(_), _) if n >= m => {
                    format!("{id}: reconnect {n}/{m} in flight → if it fails, {then}")
                }
                (Some(_), _) => format!("{id}: reconnect {n}/{m} in flight"),
                (None, Some(at)) => format!(
                    "{id}: reconnect {n}/{m} → try {}/{m} in {}{}",
                    n + 1,
                    secs_until(now, at),
                    if n + 1 >= m {
                        format!(", then {then}")
                    } else {
                        String::new()
                    }
                ),
                (None, None) => format!("{id}: reconnecting → then {then}"),
            };
            Some((2, line))
        }
        RecoveryState::InterruptionDetected => Some((3, format!("{id}: {}", j.reason))),
        RecoveryState::Failed => Some((
            5,
            format!(
                "{id}: FAILED ({}) → nothing automatic until an operator acts",
                j.reason
            ),
        )),
        RecoveryState::Running | RecoveryState::Resolved | RecoveryState::Escalating => None,
    }
}

fn failing_over(j: &JobView, now: Ts) -> String {
    let target = j
        .steps
        .iter()
        .rev()
        .find(|s| s.step == StepKind::SelectTarget && s.ok)
        .and_then(|s| s.target.clone());
    let to = target.map_or("a new instance".to_string(), |t| t.to_string());
    let gives_up = j
        .task
        .as_ref()
        .map(|t| format!(" (gives up in {})", secs_until(now, t.deadline)))
        .unwrap_or_default();
    match j.step {
        Some(StepKind::Fence) => format!(
            "fencing the old copy on {}{gives_up} → then stage on {to}",
            j.placement.host
        ),
        Some(StepKind::Stage) => {
            let ck = j
                .newest_verified
                .as_ref()
                .map_or("no checkpoint".to_string(), |c| c.id.clone());
            let moved = j
                .task
                .as_ref()
                .and_then(|t| t.progress.as_ref().map(|p| (p.done, p.total, t.eta_ms)))
                .map(|(done, total, eta)| {
                    let pct = (done * 100).checked_div(total).unwrap_or(0);
                    let left = eta
                        .map(|ms| format!(", ~{} left", human(Duration::from_millis(ms))))
                        .unwrap_or_default();
                    format!(" {pct}% ({done} of {total} bytes{left})")
                })
                .unwrap_or_default();
            format!("staging {ck} on {to}{moved} → then launch")
        }
        Some(StepKind::Provision) => format!("renting a new instance{gives_up}"),
        Some(StepKind::Launch) => format!("launching on {to} under {}{gives_up}", j.epoch),
        Some(StepKind::Verify) => format!("checking {to} runs it{gives_up}"),
        Some(StepKind::Notify) => format!("running on {to}; telling people"),
        Some(StepKind::SelectTarget | StepKind::Sync) | None => {
            format!(
                "choosing where to fail over ({})",
                j.strategy.clone().unwrap_or_default()
            )
        }
    }
}

#[cfg(test)]
#[path = "outlook_tests.rs"]
mod tests;
