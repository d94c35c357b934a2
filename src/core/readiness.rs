//! Failover readiness: for each strategy in a job's chain, whether it could take the job
//! now, and why not. Pure: the facts (probes, free disk, the newest verified checkpoint)
//! are gathered elsewhere — by `lifeboat failover JOB --dry-run`, or from the console's
//! snapshot — and nothing here changes anything.

use super::engine::Capabilities;
use super::fleet::{Fleet, JobSpec, Role, StrategyKind};
use super::ids::{HostId, JobId, Target};
use super::readiness_checks::{check, checkpoint_check, host_checks, launch_check, Gpu};
use serde::{Deserialize, Serialize};

pub use super::readiness_checks::bytes;
use std::collections::BTreeMap;

/// Room left over on top of the checkpoint (logs, the next checkpoint being written).
pub const DISK_MARGIN: u64 = 1 << 30;

/// The job being checked: its chain, where it runs now, and where it may go.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub job: JobId,
    /// Where it runs now (restart-in-place goes here; the chain never picks it again).
    pub placement: Target,
    pub chain: Vec<StrategyKind>,
    /// Configured standbys in order, each with its host's role (`None`: not in the fleet).
    pub standbys: Vec<(Target, Option<Role>)>,
    /// Whether the job has a `cpu_launch`; `None` where that is not known.
    pub cpu_launch: Option<bool>,
    pub caps: Capabilities,
}

impl Subject {
    /// The job as configured, running at `placement`.
    pub fn from_fleet(fleet: &Fleet, job: &JobSpec, placement: Target, caps: Capabilities) -> Self {
        Self {
            job: job.id.clone(),
            placement,
            chain: job.strategies.clone(),
            standbys: job
                .standbys
                .iter()
                .map(|t| (t.clone(), fleet.host(&t.host).map(|h| h.role)))
                .collect(),
            cpu_launch: Some(job.cpu_launch.is_some()),
            caps,
        }
    }
}

/// One GPU a host reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuFact {
    pub index: u32,
    /// Why it cannot run a job, when it cannot.
    pub fatal: Option<String>,
}

/// Something using a GPU: a Lifeboat job or another process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuUser {
    /// `None`: on a GPU that could not be told (counts against every GPU of the host).
    pub gpu: Option<u32>,
    /// In words: `job llama-70b`, `pid 4121 python3`.
    pub who: String,
    /// The Lifeboat job, when it is one.
    pub job: Option<JobId>,
}

/// What is known about one host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostFacts {
    /// `Ok` when the host answers; otherwise why not, naming it.
    pub reach: Result<(), String>,
    /// The GPUs it reported, or why its GPUs could not be read.
    pub gpus: Result<Vec<GpuFact>, String>,
    pub users: Vec<GpuUser>,
    /// Whether `users` includes processes outside Lifeboat (nvidia-smi's compute apps).
    pub apps_checked: bool,
    /// Free bytes where the checkpoint would land; `None` when not checked here.
    pub free_bytes: Option<Result<u64, String>>,
}

impl HostFacts {
    /// A host that could not be reached: nothing else is known.
    pub fn unreachable(why: String) -> Self {
        Self {
            reach: Err(why),
            gpus: Ok(Vec::new()),
            users: Vec::new(),
            apps_checked: false,
            free_bytes: None,
        }
    }
}

/// The checkpoint a failover would restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointFact {
    pub id: String,
    pub step: u64,
    pub bytes: u64,
    /// Stores holding a verified copy.
    pub stores: Vec<String>,
}

/// Everything gathered for one job.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub hosts: BTreeMap<HostId, HostFacts>,
    /// The newest verified checkpoint, if any.
    pub checkpoint: Option<CheckpointFact>,
    /// Why no checkpoint could be looked up (no store, no catalogue), if that is why.
    pub checkpoint_note: Option<String>,
    /// What a check not made here says instead.
    pub unchecked: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Pass,
    /// Passes, but the operator should know (e.g. restarting from scratch).
    Warn,
    Fail,
    /// Not checked from where this ran.
    Unchecked,
}

impl CheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Pass => "ok",
            CheckState::Warn => "warn",
            CheckState::Fail => "FAIL",
            CheckState::Unchecked => "n/a",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    /// Not failed (a warning or an unchecked item does not block).
    pub ok: bool,
    pub state: CheckState,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyReadiness {
    pub strategy: StrategyKind,
    pub target: Option<Target>,
    pub ready: bool,
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub job: JobId,
    /// A strategy before `escalate` is ready.
    pub would_succeed: bool,
    pub first_ready: Option<StrategyKind>,
    /// Where that strategy would move the job (none for provision).
    pub first_target: Option<Target>,
    /// The verdict in one line, for the operator.
    pub reason: String,
    pub strategies: Vec<StrategyReadiness>,
}

/// Walks `s`'s chain up to `escalate`, checking every candidate against `facts`.
pub fn assess(s: &Subject, facts: &Facts) -> Readiness {
    let mut rows = Vec::new();
    for &kind in &s.chain {
        if kind == StrategyKind::Escalate {
            rows.push(StrategyReadiness {
                strategy: kind,
                target: None,
                ready: false,
                checks: vec![check(
                    "escalate",
                    CheckState::Warn,
                    "the chain stops here: a human is paged and nothing moves",
                )],
            });
            break;
        }
        rows.extend(strategy_rows(s, facts, kind));
    }
    let first = rows
        .iter()
        .take_while(|r| r.strategy != StrategyKind::Escalate)
        .find(|r| r.ready);
    let reason = verdict(s, facts, &rows, first);
    Readiness {
        job: s.job.clone(),
        would_succeed: first.is_some(),
        first_ready: first.map(|r| r.strategy),
        first_target: first.and_then(|r| r.target.clone()),
        reason,
        strategies: rows,
    }
}

fn strategy_rows(s: &Subject, facts: &Facts, kind: StrategyKind) -> Vec<StrategyReadiness> {
    let row = |target: Option<Target>, checks: Vec<Check>| StrategyReadiness {
        strategy: kind,
        target,
        ready: checks.iter().all(|c| c.ok),
        checks,
    };
    let standbys = |cpu: bool| -> Vec<Target> {
        s.standbys
            .iter()
            .filter(|(t, role)| (*role == Some(Role::CpuStandby)) == cpu && *t != s.placement)
            .map(|(t, _)| t.clone())
            .collect()
    };
    match kind {
        StrategyKind::RestartInPlace => {
            let t = s.placement.clone();
            let checks = host_checks(s, facts, &t, Gpu::Own);
            vec![row(Some(t), checks)]
        }
        StrategyKind::WarmStandby | StrategyKind::CpuStandby => {
            let cpu = kind == StrategyKind::CpuStandby;
            let cands = standbys(cpu);
            if cands.is_empty() {
                let what = if cpu { "CPU standby" } else { "warm standby" };
                // Configured, but it is where the job runs now: it cannot take over from itself.
                let own = s.standbys.iter().find(|(t, role)| {
                    (*role == Some(Role::CpuStandby)) == cpu && *t == s.placement
                });
                let detail = match own {
                    Some((t, _)) => format!(
                        "the only {what} of {}, {t}, is where it runs now: add another to the job's standbys",
                        s.job
                    ),
                    None => format!(
                        "no {what} configured for {}: add one to the job's standbys",
                        s.job
                    ),
                };
                return vec![row(None, vec![check("standby", CheckState::Fail, detail)])];
            }
            cands
                .into_iter()
                .map(|t| {
                    let gpu = if cpu { Gpu::None } else { Gpu::Free };
                    let mut checks = host_checks(s, facts, &t, gpu);
                    if cpu {
                        checks.push(launch_check(s, facts));
                    }
                    row(Some(t), checks)
                })
                .collect()
        }
        StrategyKind::Provision | StrategyKind::RegionalVolume => {
            let able = if kind == StrategyKind::Provision {
                s.caps.provision
            } else {
                s.caps.regional_volume
            };
            let provider = if able {
                check(
                    "provider",
                    CheckState::Pass,
                    "a provider can do this (not called in a dry run)",
                )
            } else {
                check(
                    "provider",
                    CheckState::Fail,
                    format!(
                        "no provider able to {} is configured: this step would be skipped",
                        kind.as_str()
                    ),
                )
            };
            vec![row(None, vec![provider, checkpoint_check(s, facts)])]
        }
        StrategyKind::Escalate => Vec::new(),
    }
}

fn verdict(
    s: &Subject,
    facts: &Facts,
    rows: &[StrategyReadiness],
    first: Option<&StrategyReadiness>,
) -> String {
    if let Some(r) = first {
        let to = r
            .target
            .as_ref()
            .map_or_else(|| "a new host".to_string(), |t| t.to_string());
        let from = match &facts.checkpoint {
            Some(c) => format!("from {} (step {})", c.id, c.step),
            None => "from scratch: no verified checkpoint".to_string(),
        };
        let mut why = format!(
            "{} would move {} to {to}, {from}",
            r.strategy.as_str(),
            s.job
        );
        let unchecked = r
            .checks
            .iter()
            .filter(|c| c.state == CheckState::Unchecked)
            .count();
        if unchecked > 0 {
            why.push_str(&format!("; {unchecked} check(s) not made here"));
        }
        return why;
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.strategy != StrategyKind::Escalate)
        .filter_map(|r| {
            let c = r.checks.iter().find(|c| !c.ok)?;
            Some(format!("{}: {}", r.strategy.as_str(), c.detail))
        })
        .collect();
    if failed.is_empty() {
        return format!(
            "{}'s chain has no strategy before escalate: a failure pages a human",
            s.job
        );
    }
    format!("nothing before escalate is ready — {}", failed.join("; "))
}

#[cfg(test)]
#[path = "readiness_tests.rs"]
mod tests;
