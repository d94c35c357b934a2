//! The text of confirmation dialogs: what a move does, why a target may not take the job,
//! and the small look-ups they need (a job by id, an age).

use crate::core::ids::{JobId, Target};
use crate::core::snapshot::{JobView, Snapshot};
use crate::core::time::{human, Ts};

/// Why each target may not take the job, as the snapshot sees it (the core decides), and
/// whether that rules it out: a busy, failed, suspect or fenced target is refused before
/// the operator types anything; a flapping one is only a warning.
pub(super) fn fitness(snap: &Snapshot, choices: &[Option<Target>]) -> Vec<(String, bool)> {
    choices
        .iter()
        .map(|c| {
            let Some(t) = c else {
                return (String::new(), false);
            };
            let Some(h) = snap.hosts.iter().find(|h| h.id == t.host) else {
                return ("not in the fleet".into(), true);
            };
            let busy = snap
                .jobs
                .iter()
                .find(|j| t.gpu.is_some() && &j.placement == t)
                .map(|j| format!("busy with {}", j.id));
            match h.badge.as_str() {
                "failed" | "suspect" | "fenced" => (format!("{} is {}", h.id, h.badge), true),
                _ if busy.is_some() => (busy.unwrap_or_default(), true),
                _ if h.damped => (format!("{} is flapping", h.id), false),
                _ => (String::new(), false),
            }
        })
        .collect()
}

pub(super) fn job<'a>(snap: &'a Snapshot, id: &JobId) -> Option<&'a JobView> {
    snap.jobs.iter().find(|j| &j.id == id)
}

fn age(now: Ts, then: Ts) -> String {
    human(now.since(then))
}

/// The lines that say what a failover or switchover to `target` does.
pub(super) fn move_lines(
    snap: &Snapshot,
    j: &JobView,
    target: Option<&Target>,
    planned: bool,
) -> Vec<String> {
    let to = target.map_or_else(
        || format!("down its chain: {}", j.strategies.join(" → ")),
        |t| t.to_string(),
    );
    let mut out = vec![format!("{} moves from {} to {}.", j.id, j.placement, to)];
    out.push(if planned {
        "The copy running now is stopped first (fenced), then the job restarts on the target."
            .into()
    } else {
        "The copy running now is stopped or, if its host is silent, its epoch is revoked.".into()
    });
    match &j.newest_verified {
        Some(c) => {
            let prefix: String = c.sha256.chars().take(12).collect();
            out.push(format!(
                "It resumes from checkpoint {} (step {}, {} old, SHA-256 {prefix}…).",
                c.id,
                c.step,
                age(snap.now, c.created)
            ));
            let lost = j.last_step.map(|s| s.saturating_sub(c.step)).unwrap_or(0);
            out.push(format!("Progress since then is lost: about {lost} steps, {}.", age(snap.now, c.created)));
        }
        None => out.push("No verified checkpoint exists: the job restarts FROM SCRATCH and all progress is lost.".into()),
    }
    out.push(format!(
        "New epoch {}; this is journaled with your name.",
        crate::core::ids::Epoch(j.epoch.0 + 1)
    ));
    out
}
