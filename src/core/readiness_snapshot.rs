//! Readiness from what the console already knows: the snapshot's host health, last GPU
//! readings, job placements and newest verified checkpoint. Free disk, other processes on
//! a GPU and the job's `cpu_launch` are not in the snapshot; those checks say where to
//! look instead.

use super::detector::Reach;
use super::engine::Capabilities;
use super::fleet::StrategyKind;
use super::gpu::GpuHealth;
use super::ids::JobId;
use super::inventory::CopyState;
use super::readiness::{
    assess, CheckpointFact, Facts, GpuFact, GpuUser, HostFacts, Readiness, Subject,
};
use super::recovery::RecoveryState;
use super::snapshot::{HostView, JobView, Snapshot};

/// The readiness of `job` as the snapshot shows it; `None` if the job is not in it.
pub fn from_snapshot(snap: &Snapshot, job: &JobId, caps: Capabilities) -> Option<Readiness> {
    let j = snap.jobs.iter().find(|x| &x.id == job)?;
    let subject = Subject {
        job: j.id.clone(),
        placement: j.placement.clone(),
        chain: j
            .strategies
            .iter()
            .filter_map(|s| StrategyKind::parse(s))
            .collect(),
        standbys: j
            .standbys
            .iter()
            .map(|t| {
                let role = snap.hosts.iter().find(|h| h.id == t.host).map(|h| h.role);
                (t.clone(), role)
            })
            .collect(),
        cpu_launch: None,
        caps,
    };
    let facts = Facts {
        hosts: snap
            .hosts
            .iter()
            .map(|h| (h.id.clone(), host(snap, h)))
            .collect(),
        checkpoint: checkpoint(snap, j),
        checkpoint_note: None,
        unchecked: format!(
            "not checked here (run lifeboat failover {} --dry-run)",
            j.id
        ),
    };
    Some(assess(&subject, &facts))
}

fn host(snap: &Snapshot, h: &HostView) -> HostFacts {
    // The same bar the core's own target choice sets.
    let reach = if h.reach != Reach::Healthy {
        Err(format!("{} is {} ({})", h.id, h.reach.as_str(), h.reason))
    } else if h.last_ok.is_none() {
        Err(format!("{} has not answered a probe yet", h.id))
    } else if h.damped {
        Err(format!("{} is flapping (damped)", h.id))
    } else {
        Ok(())
    };
    let gpus = if h.gpus.is_empty() && !h.fatal.is_empty() {
        Err(h.fatal.join("; "))
    } else {
        Ok(h.gpus
            .iter()
            .enumerate()
            .map(|(i, g)| GpuFact {
                index: g.sample.index.unwrap_or(i as u32),
                fatal: match &g.health {
                    GpuHealth::Fatal(r) => Some(r.join("; ")),
                    // The core does not place a job on a GPU it cannot read.
                    GpuHealth::Unknown(r) => Some(format!("readings unknown: {}", r.join("; "))),
                    _ => None,
                },
            })
            .collect())
    };
    // A job placed here, or a failover moving one here, holds its GPU.
    let users = snap
        .jobs
        .iter()
        .filter(|j| j.state != RecoveryState::Failed)
        .flat_map(|j| {
            let incoming = (j.state == RecoveryState::FailingOver)
                .then(|| j.steps.last().and_then(|s| s.target.clone()))
                .flatten();
            [Some(j.placement.clone()), incoming]
                .into_iter()
                .flatten()
                .filter(|t| t.host == h.id)
                .map(|t| GpuUser {
                    gpu: t.gpu,
                    who: format!("job {}", j.id),
                    job: Some(j.id.clone()),
                })
        })
        .collect();
    HostFacts {
        reach,
        gpus,
        users,
        apps_checked: false,
        free_bytes: None,
    }
}

fn checkpoint(snap: &Snapshot, j: &JobView) -> Option<CheckpointFact> {
    let c = j.newest_verified.as_ref()?;
    let stores: Vec<String> = snap
        .inventory
        .checkpoints
        .iter()
        .find(|e| e.job == j.id.as_str() && e.id == c.id)
        .map(|e| {
            e.copies
                .iter()
                .filter(|k| k.state == CopyState::Verified)
                .map(|k| k.store.clone())
                .collect()
        })
        .filter(|s: &Vec<String>| !s.is_empty())
        .unwrap_or_else(|| vec![c.location.clone()]);
    Some(CheckpointFact {
        id: c.id.clone(),
        step: c.step,
        bytes: c.bytes,
        stores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fleet::{Fleet, Role};
    use crate::core::harness::{h, host as hspec, j, job, Harness};
    use crate::core::policy::Policy;
    use crate::core::readiness::CheckState;
    use std::time::Duration;

    fn fleet() -> Fleet {
        use StrategyKind::*;
        Fleet {
            hosts: vec![
                hspec("a", Role::Primary, 1),
                hspec("b", Role::Standby, 2),
                hspec("c", Role::Primary, 1),
            ],
            jobs: vec![
                job(
                    "one",
                    "a",
                    &[("b", Some(0)), ("b", Some(1))],
                    &[RestartInPlace, WarmStandby, Escalate],
                ),
                job("two", "b", &[], &[RestartInPlace, Escalate]),
            ],
        }
    }

    #[test]
    fn the_snapshot_gives_health_gpus_and_placements_but_not_disk() {
        let mut hs = Harness::new(fleet(), Policy::default());
        hs.run_for(Duration::from_secs(5));
        let mut snap = hs.core.snapshot();
        let ready = |snap: &Snapshot| match from_snapshot(snap, &j("one"), Capabilities::default())
        {
            Some(r) => r,
            None => panic!("job one is in the snapshot"),
        };
        let r = ready(&snap);
        assert_eq!(r.first_ready, Some(StrategyKind::RestartInPlace), "{r:#?}");
        // Job two runs on b:gpu0, so only b:gpu1 can take job one.
        let warm: Vec<(String, bool)> = r.strategies[1..3]
            .iter()
            .map(|x| {
                (
                    x.target.as_ref().map(|t| t.to_string()).unwrap_or_default(),
                    x.ready,
                )
            })
            .collect();
        assert_eq!(
            warm,
            [("b:gpu0".to_string(), false), ("b:gpu1".to_string(), true)]
        );
        assert!(r.strategies[1]
            .checks
            .iter()
            .any(|c| c.detail.ends_with("is busy: job two")));
        let disk = r.strategies[0]
            .checks
            .iter()
            .find(|c| c.name == "disk")
            .map(|c| (c.state, c.detail.clone()));
        assert_eq!(
            disk,
            Some((
                CheckState::Unchecked,
                "not checked here (run lifeboat failover one --dry-run)".to_string()
            ))
        );
        // a is failed: restart in place is out, the standby is next, and a is named.
        for x in &mut snap.hosts {
            if x.id == h("a") {
                x.reach = Reach::Failed;
                x.reason = "3 probes missed".into();
            }
        }
        let r = ready(&snap);
        assert_eq!(r.first_ready, Some(StrategyKind::WarmStandby));
        assert_eq!(
            r.strategies[0].checks[0].detail,
            "a is failed (3 probes missed)"
        );
        assert!(from_snapshot(&snap, &j("nope"), Capabilities::default()).is_none());
    }
}
