//! A runbook's targets resolved against the fleet as it is now, and the blast radius
//! checked, before anything happens: what the operator confirms is exactly what is hit.

use super::runbook::{HostSelector, JobSelector, Runbook};
use crate::core::ids::{HostId, JobId};
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::Snapshot;
use serde::{Deserialize, Serialize};

/// The jobs and hosts a drill acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub jobs: Vec<JobId>,
    pub hosts: Vec<HostId>,
}

/// Why a drill cannot start on this fleet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the runbook names job \"{0}\", which the fleet does not have; jobs: {1}")]
    NoSuchJob(String, String),
    #[error("the runbook names host \"{0}\", which the fleet does not have; hosts: {1}")]
    NoSuchHost(String, String),
    #[error("no job is running to drill on (every job is recovering, paused or failed)")]
    NothingRunning,
    #[error("the blast radius allows {max} {what}, and the targets are {count}: {names}; narrow [targets] or raise [blast_radius] max_{what}")]
    BlastRadius {
        what: &'static str,
        max: u32,
        count: usize,
        names: String,
    },
}

fn steady(state: RecoveryState) -> bool {
    matches!(state, RecoveryState::Running | RecoveryState::Resolved)
}

/// Resolves `runbook`'s targets on `snap` and checks them against its blast radius.
pub fn resolve(runbook: &Runbook, snap: &Snapshot) -> Result<Resolved, PlanError> {
    let job_names = || {
        snap.jobs
            .iter()
            .map(|j| j.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let jobs: Vec<JobId> = match &runbook.targets.jobs {
        JobSelector::Named(names) => names
            .iter()
            .map(|n| {
                snap.jobs
                    .iter()
                    .find(|j| j.id.as_str() == n)
                    .map(|j| j.id.clone())
                    .ok_or_else(|| PlanError::NoSuchJob(n.clone(), job_names()))
            })
            .collect::<Result<_, _>>()?,
        JobSelector::AnyRunning => {
            let mut running: Vec<&JobId> = snap
                .jobs
                .iter()
                .filter(|j| steady(j.state) && j.paused_by.is_none())
                .map(|j| &j.id)
                .collect();
            running.sort();
            vec![running
                .first()
                .ok_or(PlanError::NothingRunning)?
                .to_owned()
                .clone()]
        }
        JobSelector::All => snap.jobs.iter().map(|j| j.id.clone()).collect(),
    };
    let of_jobs = || -> Vec<HostId> {
        let mut h: Vec<HostId> = jobs
            .iter()
            .filter_map(|id| snap.jobs.iter().find(|j| &j.id == id))
            .map(|j| j.placement.host.clone())
            .collect();
        h.sort();
        h.dedup();
        h
    };
    let hosts = match &runbook.targets.hosts {
        HostSelector::OfJobs => of_jobs(),
        HostSelector::None => Vec::new(),
        HostSelector::Named(names) => names
            .iter()
            .map(|n| {
                snap.hosts
                    .iter()
                    .find(|h| h.id.as_str() == n)
                    .map(|h| h.id.clone())
                    .ok_or_else(|| {
                        let all: Vec<String> =
                            snap.hosts.iter().map(|h| h.id.to_string()).collect();
                        PlanError::NoSuchHost(n.clone(), all.join(", "))
                    })
            })
            .collect::<Result<_, _>>()?,
        HostSelector::HalfFleet => {
            let want = snap.hosts.len().div_ceil(2);
            let mut h = of_jobs();
            let mut rest: Vec<HostId> = snap
                .hosts
                .iter()
                .map(|h| h.id.clone())
                .filter(|id| !h.contains(id))
                .collect();
            rest.sort();
            h.extend(rest);
            h.truncate(want);
            h
        }
    };
    let names = |v: &[String]| v.join(", ");
    let radius = runbook.blast_radius;
    if jobs.len() > radius.max_jobs as usize {
        return Err(PlanError::BlastRadius {
            what: "jobs",
            max: radius.max_jobs,
            count: jobs.len(),
            names: names(&jobs.iter().map(|j| j.to_string()).collect::<Vec<_>>()),
        });
    }
    if hosts.len() > radius.max_hosts as usize {
        return Err(PlanError::BlastRadius {
            what: "hosts",
            max: radius.max_hosts,
            count: hosts.len(),
            names: names(&hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()),
        });
    }
    Ok(Resolved { jobs, hosts })
}
