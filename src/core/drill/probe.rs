//! A drill's probes evaluated against the fleet as the snapshot shows it, and what the
//! drill saw at the moment of injection: each gives a verdict with its reason.

use super::plan::Resolved;
use super::runbook::Probe;
use crate::core::ids::{HostId, JobId};
use crate::core::inventory::CopyState;
use crate::core::recovery::{RecoveryState, StepKind};
use crate::core::snapshot::{JobView, Snapshot};
use crate::core::time::Ts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the fleet looked like when the fault was made, to judge what came after.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtFault {
    pub at: Ts,
    /// Each job's host and epoch (every job: the stop conditions watch the others).
    pub jobs: BTreeMap<JobId, (HostId, u64)>,
    /// Each target job's last reported step.
    pub steps: BTreeMap<JobId, u64>,
}

impl AtFault {
    pub fn take(snap: &Snapshot, targets: &Resolved) -> AtFault {
        AtFault {
            at: snap.now,
            jobs: snap
                .jobs
                .iter()
                .map(|j| (j.id.clone(), (j.placement.host.clone(), j.epoch.0)))
                .collect(),
            steps: snap
                .jobs
                .iter()
                .filter(|j| targets.jobs.contains(&j.id))
                .filter_map(|j| j.last_step.map(|s| (j.id.clone(), s)))
                .collect(),
        }
    }
}

/// A probe's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub ok: bool,
    pub why: String,
}

impl Verdict {
    fn pass(why: impl Into<String>) -> Verdict {
        Verdict {
            ok: true,
            why: why.into(),
        }
    }
    fn fail(why: impl Into<String>) -> Verdict {
        Verdict {
            ok: false,
            why: why.into(),
        }
    }
}

/// What a probe needs besides the snapshot.
pub struct Context<'a> {
    pub targets: &'a Resolved,
    pub at_fault: Option<&'a AtFault>,
    /// When Lifeboat first noticed the fault (the drill tracks it across snapshots).
    pub detected: Option<Ts>,
    /// The restore test's outcome, once it ran.
    pub restore: Option<&'a Result<String, String>>,
    /// What each target job's failover stage step said since injection.
    pub staged: Option<&'a BTreeMap<JobId, String>>,
    pub caps: crate::core::engine::Capabilities,
}

pub fn steady(state: RecoveryState) -> bool {
    matches!(state, RecoveryState::Running | RecoveryState::Resolved)
}

fn job<'s>(snap: &'s Snapshot, id: &JobId) -> Option<&'s JobView> {
    snap.jobs.iter().find(|j| &j.id == id)
}

/// Every target job must pass `f`; the first that does not says why.
fn each_job(
    snap: &Snapshot,
    cx: &Context<'_>,
    f: impl Fn(&JobView) -> Result<String, String>,
) -> Verdict {
    let mut said = Vec::new();
    for id in &cx.targets.jobs {
        let Some(j) = job(snap, id) else {
            return Verdict::fail(format!("{id} is no longer in the fleet"));
        };
        match f(j) {
            Ok(why) => said.push(why),
            Err(why) => return Verdict::fail(why),
        }
    }
    Verdict::pass(said.join("; "))
}

/// Evaluates `probe` now.
pub fn evaluate(probe: &Probe, snap: &Snapshot, cx: &Context<'_>) -> Verdict {
    let now = snap.now;
    let at_fault = |id: &JobId| cx.at_fault.and_then(|a| a.jobs.get(id));
    match probe {
        Probe::Readiness => {
            each_job(
                snap,
                cx,
                |j| match crate::core::readiness_snapshot::from_snapshot(snap, &j.id, cx.caps) {
                    Some(r) if r.would_succeed => Ok(format!("{}: {}", j.id, r.reason)),
                    Some(r) => Err(format!(
                        "{}: a failover would not succeed: {}",
                        j.id, r.reason
                    )),
                    None => Err(format!("{}: no readiness to judge", j.id)),
                },
            )
        }
        Probe::CheckpointFresh { max_age } => each_job(snap, cx, |j| match &j.newest_verified {
            Some(c) if now.since(c.created) <= *max_age => Ok(format!(
                "{}: newest verified checkpoint {} is {}s old",
                j.id,
                c.id,
                now.since(c.created).as_secs()
            )),
            Some(c) => Err(format!(
                "{}: newest verified checkpoint {} is {}s old (limit {}s)",
                j.id,
                c.id,
                now.since(c.created).as_secs(),
                max_age.as_secs()
            )),
            None => Err(format!("{}: no verified checkpoint yet", j.id)),
        }),
        Probe::HeartbeatAdvancing { within } => each_job(snap, cx, |j| match j.progress_at {
            Some(at) if now.since(at) <= *within => Ok(format!(
                "{}: step {} {}s ago",
                j.id,
                j.last_step.unwrap_or(0),
                now.since(at).as_secs()
            )),
            Some(at) => Err(format!(
                "{}: no progress for {}s (limit {}s)",
                j.id,
                now.since(at).as_secs(),
                within.as_secs()
            )),
            None => Err(format!("{}: no heartbeat seen yet", j.id)),
        }),
        Probe::StoresReachable => match snap.stores.iter().find(|s| s.failing()) {
            Some(s) => Verdict::fail(format!("store {} is failing", s.store)),
            None if snap.stores.is_empty() => Verdict::pass("no stores configured"),
            None => Verdict::pass(format!(
                "{} answering",
                snap.stores
                    .iter()
                    .map(|s| s.store.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        Probe::JobRunning => each_job(snap, cx, |j| {
            if steady(j.state) {
                Ok(format!("{} runs on {}", j.id, j.placement))
            } else {
                Err(format!("{} is {}", j.id, j.state.as_str()))
            }
        }),
        Probe::JobMoved => each_job(snap, cx, |j| match at_fault(&j.id) {
            None => Err("nothing was injected yet".into()),
            Some((host, _)) if steady(j.state) && &j.placement.host != host => Ok(format!(
                "{} moved from {host} to {}",
                j.id, j.placement.host
            )),
            Some((host, _)) => Err(format!(
                "{} is {} on {} (was on {host})",
                j.id,
                j.state.as_str(),
                j.placement.host
            )),
        }),
        Probe::FailoverFinished => each_job(snap, cx, |j| match at_fault(&j.id) {
            None => Err("nothing was injected yet".into()),
            Some((_, epoch)) if j.epoch.0 > *epoch && steady(j.state) => Ok(format!(
                "{} runs as epoch {} on {}",
                j.id, j.epoch.0, j.placement
            )),
            Some(_) => Err(format!("{} is {}", j.id, j.state.as_str())),
        }),
        Probe::FaultDetected => match (cx.at_fault, cx.detected) {
            (None, _) => Verdict::fail("nothing was injected yet"),
            (Some(a), Some(d)) => Verdict::pass(format!(
                "noticed {:.1}s after injection",
                d.since(a.at).as_secs_f64()
            )),
            (Some(_), None) => Verdict::fail("not noticed yet"),
        },
        Probe::NoFailover => {
            let Some(a) = cx.at_fault else {
                return Verdict::fail("nothing was injected yet");
            };
            match snap.jobs.iter().find(|j| {
                j.state == RecoveryState::FailingOver
                    || a.jobs.get(&j.id).is_some_and(|(_, e)| j.epoch.0 > *e)
            }) {
                Some(j) => Verdict::fail(format!("{} failed over ({})", j.id, j.state.as_str())),
                None => Verdict::pass("no job failed over"),
            }
        }
        Probe::AutomationFrozen => match &snap.automation.frozen {
            Some(why) => Verdict::pass(format!("automation frozen: {why}")),
            None => Verdict::fail("automation is not frozen"),
        },
        Probe::HostsHealthy => {
            for id in &cx.targets.hosts {
                match snap.hosts.iter().find(|h| &h.id == id) {
                    Some(h) if h.reach == crate::core::detector::Reach::Healthy => {}
                    Some(h) => {
                        return Verdict::fail(format!("{id} is {}: {}", h.reach.as_str(), h.reason))
                    }
                    None => return Verdict::fail(format!("{id} is no longer in the fleet")),
                }
            }
            Verdict::pass("every target host is healthy")
        }
        Probe::CopiesVerified => each_job(snap, cx, |j| {
            let newest = snap
                .inventory
                .checkpoints
                .iter()
                .filter(|c| c.job == j.id.as_str())
                .max_by_key(|c| c.step);
            match newest {
                // No stores to keep copies in (the simulator's fleet): the job's own
                // verified checkpoint is all there is to judge.
                None if snap.inventory.stores.is_empty() => match &j.newest_verified {
                    Some(c) => Ok(format!(
                        "{}: {} verified (no checkpoint stores configured)",
                        j.id, c.id
                    )),
                    None => Err(format!("{}: no verified checkpoint", j.id)),
                },
                None => Err(format!("{}: no checkpoint catalogued", j.id)),
                Some(c) => match c.copies.iter().find(|cp| cp.state != CopyState::Verified) {
                    Some(cp) => Err(format!(
                        "{}: {} copy in {} is {:?}",
                        j.id, c.id, cp.store, cp.state
                    )),
                    None => Ok(format!(
                        "{}: {} verified in {} stores",
                        j.id,
                        c.id,
                        c.copies.len()
                    )),
                },
            }
        }),
        Probe::FailoverUnderway => each_job(snap, cx, |j| {
            let fenced = j.steps.iter().any(|s| s.step == StepKind::Fence && s.ok);
            match j.step {
                Some(k @ (StepKind::Stage | StepKind::Launch | StepKind::Verify))
                    if j.state == RecoveryState::FailingOver && fenced =>
                {
                    Ok(format!("{}: failing over, {} under way", j.id, k.as_str()))
                }
                Some(k) => Err(format!(
                    "{} is {}, {} under way",
                    j.id,
                    j.state.as_str(),
                    k.as_str()
                )),
                None => Err(format!("{} is {}", j.id, j.state.as_str())),
            }
        }),
        Probe::FailedOverOnce => each_job(snap, cx, |j| match at_fault(&j.id) {
            None => Err("nothing was injected yet".into()),
            Some((_, e)) if j.epoch.0 == e + 1 && steady(j.state) => Ok(format!(
                "{} runs as epoch {} on {}: one failover since epoch {e}",
                j.id, j.epoch.0, j.placement
            )),
            Some((_, e)) if j.epoch.0 > e + 1 => Err(format!(
                "{} runs as epoch {}: {} failovers since epoch {e}, where one was due",
                j.id,
                j.epoch.0,
                j.epoch.0 - e
            )),
            Some((_, e)) => Err(format!(
                "{} is {} at epoch {} (epoch {e} at injection)",
                j.id,
                j.state.as_str(),
                j.epoch.0
            )),
        }),
        Probe::RestoredFromStore => {
            each_job(snap, cx, |j| match cx.staged.and_then(|s| s.get(&j.id)) {
                Some(d) if d.contains(RESTORED) => Ok(format!("{}: {d}", j.id)),
                Some(d) => Err(format!(
                    "{}: its failover staged {d}, not from a store",
                    j.id
                )),
                None => Err(format!(
                    "{}: no failover staged a checkpoint since injection",
                    j.id
                )),
            })
        }
        Probe::RestoreVerified => match cx.restore {
            Some(Ok(detail)) => Verdict::pass(detail.clone()),
            Some(Err(why)) => Verdict::fail(why.clone()),
            None => Verdict::fail("the restore test has not run"),
        },
    }
}

/// How a failover's stage step says it fetched the checkpoint from a store.
pub const RESTORED: &str = " restored from ";

/// How a copy repaired from a good one is described (its `detail`).
pub const REPAIRED: &str = "repaired from ";

/// Whether Lifeboat shows the fault: a target job or host left its steady state, a store
/// fails, or a copy of a target job's checkpoint was found bad (or was repaired since
/// `since`: a scrub may find and repair it between two snapshots).
pub fn noticed(snap: &Snapshot, targets: &Resolved, since: Ts) -> bool {
    snap.stores.iter().any(|s| s.failing())
        || snap.inventory.checkpoints.iter().any(|c| {
            targets.jobs.iter().any(|j| j.as_str() == c.job)
                && c.copies.iter().any(|cp| {
                    cp.state == CopyState::Bad
                        || (cp.detail.starts_with(REPAIRED)
                            && cp.checked.is_some_and(|t| t >= since))
                })
        })
        || snap
            .jobs
            .iter()
            .any(|j| targets.jobs.contains(&j.id) && !steady(j.state))
        || snap.hosts.iter().any(|h| {
            targets.hosts.contains(&h.id) && h.reach != crate::core::detector::Reach::Healthy
        })
}
