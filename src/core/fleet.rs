//! The fleet model: hosts, their roles and GPUs, and the jobs that run on them.

use super::ids::{HostId, JobId, Target};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a host is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs jobs.
    Primary,
    /// A GPU host kept ready to take over.
    Standby,
    /// A cheap CPU VM holding a synced workspace (seed 003).
    CpuStandby,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Standby => "standby",
            Role::CpuStandby => "cpu-standby",
        }
    }
}

/// One machine Lifeboat watches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostSpec {
    pub id: HostId,
    /// DNS name or IP address.
    pub address: String,
    pub port: u16,
    pub user: Option<String>,
    pub role: Role,
    /// How many GPUs the host should report; fewer is fatal evidence.
    pub gpus: u32,
    /// Path to an SSH private key (never the key itself); the SSH agent otherwise.
    pub ssh_key: Option<PathBuf>,
    #[serde(default)]
    pub ssh: SshOptions,
    /// Provider name and instance id, when the host is rented.
    pub provider: Option<ProviderRef>,
    /// How to reach it: SSH options, or the machine Lifeboat runs on.
    #[serde(default)]
    pub access: Access,
}

/// How a host is reached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Access {
    /// Over SSH (the default).
    #[default]
    Ssh,
    /// The machine Lifeboat runs on: plain processes, no SSH.
    Local,
    /// The demo's simulator.
    Simulated,
}

/// What to do with a host key that is not in known_hosts yet.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Refuse the host (the default): add its key to known_hosts first.
    #[default]
    Strict,
    /// Trust the first key seen and append it to known_hosts; a changed key is still refused.
    AcceptNew,
}

/// SSH settings of one host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SshOptions {
    /// known_hosts file (default `~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    pub host_key_policy: HostKeyPolicy,
    /// Name of the environment variable holding the key's passphrase, if it has one.
    pub key_passphrase_env: Option<String>,
    /// Another host of the fleet to jump through (a bastion).
    pub proxy_jump: Option<super::ids::HostId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRef {
    pub provider: String,
    pub instance: String,
}

/// Recovery strategies, tried in the job's configured order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    RestartInPlace,
    WarmStandby,
    CpuStandby,
    Provision,
    RegionalVolume,
    Escalate,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 6] = [
        StrategyKind::RestartInPlace,
        StrategyKind::WarmStandby,
        StrategyKind::CpuStandby,
        StrategyKind::Provision,
        StrategyKind::RegionalVolume,
        StrategyKind::Escalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::RestartInPlace => "restart-in-place",
            StrategyKind::WarmStandby => "warm-standby",
            StrategyKind::CpuStandby => "cpu-standby",
            StrategyKind::Provision => "provision",
            StrategyKind::RegionalVolume => "regional-volume",
            StrategyKind::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The default chain when a job names none.
    pub fn default_chain() -> Vec<StrategyKind> {
        vec![
            StrategyKind::RestartInPlace,
            StrategyKind::WarmStandby,
            StrategyKind::CpuStandby,
            StrategyKind::Escalate,
        ]
    }
}

/// How a job proves it is making progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum HeartbeatSource {
    /// A file holding `<step> <unix-seconds>`, rewritten by the job.
    File { path: PathBuf },
    /// Any file whose modification time advances.
    Mtime { path: PathBuf },
    /// No heartbeat: only the process is watched.
    None,
}

/// One long-running job Lifeboat keeps alive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub id: JobId,
    pub host: HostId,
    pub gpu: Option<u32>,
    pub workdir: PathBuf,
    /// Shell command that starts the job; `{checkpoint}` is replaced by the restored path.
    pub launch: String,
    /// Command run on a CPU standby instead of `launch` (seed 003), if any.
    pub cpu_launch: Option<String>,
    /// Shell command that stops the job; SIGTERM then SIGKILL when absent.
    pub stop: Option<String>,
    pub heartbeat: HeartbeatSource,
    /// What tells the launch that a new run is ready (see [`Readiness`]).
    #[serde(default)]
    pub ready: Readiness,
    pub checkpoint_dir: PathBuf,
    /// Ordered failover targets.
    pub standbys: Vec<Target>,
    /// Ordered strategy chain.
    pub strategies: Vec<StrategyKind>,
    /// Environment for the job's process (never secrets: those stay in the host's env).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// A checkpoint (a folder in `checkpoint_dir`) is complete when this file exists inside
    /// it; a single-file checkpoint `x.pt` when `x.pt.<marker>` exists beside it. Without
    /// it, a checkpoint is complete when its size and mtime hold still for two listings.
    #[serde(default)]
    pub checkpoint_marker: Option<String>,
    /// Keep the newest verified checkpoint staged on the first standby's host.
    #[serde(default)]
    pub prestage: bool,
    /// This job's retention policy, overriding the stores' (see `StorageConfig::policy_for`).
    #[serde(default)]
    pub retention: Option<super::retention::Retention>,
    /// The workspace kept synced on the job's CPU standby (seed 003), if any.
    #[serde(default)]
    pub workspace: Option<super::workspace::WorkspaceSync>,
}

/// When a launched run counts as started. The launch waits for the signal the job gives
/// (at most [`READY_WAIT_S`] seconds, the run must stay alive meanwhile), instead of a
/// fixed wait.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// No signal: alive 0.2 s after it was started.
    #[default]
    Alive,
    /// Its heartbeat moved after the launch (the first step after it resumed).
    Heartbeat,
    /// This file (on the host) appeared; it is removed before the launch.
    File { path: PathBuf },
}

/// The longest a launch waits for a job's readiness signal before it reports the run
/// started without it (the verify step and the probes go on watching it).
pub const READY_WAIT_S: u32 = 20;

impl JobSpec {
    pub fn home(&self) -> Target {
        Target::new(self.host.clone(), self.gpu)
    }
}

/// Every host and job, as configured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub hosts: Vec<HostSpec>,
    pub jobs: Vec<JobSpec>,
}

impl Fleet {
    pub fn host(&self, id: &HostId) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| &h.id == id)
    }

    pub fn job(&self, id: &JobId) -> Option<&JobSpec> {
        self.jobs.iter().find(|j| &j.id == id)
    }
}
