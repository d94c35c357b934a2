//! The core's vocabulary with the outside: inputs it is handed, effects it asks for,
//! operator commands, and what probes and effects report back.

use super::gpu::GpuReadout;
use super::ids::{Epoch, HostId, JobId, OpId, Target};
use super::time::Ts;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A fact handed to the core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Time passed; a deadline may be due.
    Tick,
    /// A probe of a host came back (or failed).
    ProbeFinished {
        op: OpId,
        host: HostId,
        result: Result<ProbeReport, ProbeError>,
    },
    /// A second channel (provider API, on-host agent) said something about a host.
    ChannelReported {
        host: HostId,
        channel: Channel,
        status: ChannelStatus,
    },
    /// Something on the host changed that the next probe should see now, not at its
    /// interval: a watch over the host's connection saw a job's process end. Only a
    /// hint: what the probe then finds is what counts.
    ProbeSoon { host: HostId },
    /// A running step moved `done` of `total` bytes (only the latest report matters).
    StepProgress { op: OpId, done: u64, total: u64 },
    /// A failover step's effect finished.
    StepFinished {
        op: OpId,
        result: Result<StepOutput, String>,
    },
    /// A complete checkpoint of a job was seen.
    CheckpointSeen {
        job: JobId,
        /// The epoch of the copy that wrote it; older than the job's means fenced.
        epoch: Epoch,
        checkpoint: CheckpointRef,
    },
    /// An operator asked for something.
    /// Carries who asked: the core refuses a role that may not do it, and names them.
    Command {
        by: super::identity::Identity,
        command: Command,
    },
    /// The checkpoint stores were read once since start: every checkpoint in them this
    /// Lifeboat may restore from was reported (`CheckpointSeen`) before this. `unadopted`
    /// is, per job, the newest step of checkpoints found there that it did not record
    /// and cannot authenticate: they wait for an operator to adopt them.
    StoresRead { unadopted: Vec<(JobId, u64)> },
    /// What a checkpoint store did lately (the replicator's results, reduced per store).
    StoreReported(super::store_health::StoreReport),
}

/// What one probe round trip learned about a host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub gpu: GpuReadout,
    /// Xid codes from the kernel log since the last probe.
    pub xids: Vec<u32>,
    /// Job processes found on the host, whatever their epoch.
    pub jobs: Vec<JobObservation>,
    pub boot_id: Option<String>,
    pub latency: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobObservation {
    pub job: JobId,
    /// The epoch the process was launched under.
    pub epoch: Epoch,
    pub gpu: Option<u32>,
    pub running: bool,
    /// Last step counter from the heartbeat, and when the job wrote it.
    pub step: Option<u64>,
    pub heartbeat_at: Option<Ts>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeError {
    /// No answer within the deadline.
    Timeout,
    /// Connection refused, reset, no route.
    Unreachable(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Timeout => f.write_str("probe timed out"),
            ProbeError::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Provider,
    Agent,
    /// Lifeboat's own TCP connect to the host's SSH port: refused, silent, or a banner.
    Port,
    /// Another fleet host's view: the host probed through that peer's connection.
    Peer,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Provider => "provider",
            Channel::Agent => "agent",
            Channel::Port => "port",
            Channel::Peer => "peer",
        }
    }
}

/// Where a look at a lost host is taken from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vantage {
    /// Lifeboat's machine: a TCP connect to the SSH port and its banner.
    Here,
    /// A fleet host that answers: the host is probed through its connection.
    Peer(HostId),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelStatus {
    /// The channel sees the host alive.
    Up,
    /// The channel reached the host; what it saw there (a peer's probe of its jobs).
    Reached(String),
    /// The channel could not look (no peer to ask, no direct route): it says nothing.
    Unknown(String),
    /// Soft: the channel cannot see the host either (corroborates missed probes).
    Down(String),
    /// Hard: the provider says the instance exited, was preempted or is about to be.
    Gone(String),
}

impl ChannelStatus {
    /// In a reason people read: `up`, `down: refused` …
    pub fn describe(&self) -> String {
        match self {
            ChannelStatus::Up => "up".into(),
            ChannelStatus::Reached(what) => format!("up: {what}"),
            ChannelStatus::Down(why) => format!("down: {why}"),
            ChannelStatus::Gone(why) => format!("gone: {why}"),
            ChannelStatus::Unknown(why) => format!("unknown: {why}"),
        }
    }
}

/// What a finished step reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepOutput {
    /// Fence: the old copy was stopped.
    Fenced,
    /// Fence: the old host did not answer; its epoch is revoked instead.
    FenceUnreachable,
    /// Fence: as `FenceUnreachable`, and its instance was stopped through its provider (or
    /// that failed); `note` says which.
    FenceUnreachableNoted {
        note: String,
    },
    /// Fence: the host answered, but processes of an older copy outlived SIGKILL
    /// (`alive`: pid, state, name each; `note`: what the provider did, if anything). Not
    /// fenced: the epoch is revoked as for an unreachable host.
    FenceSurvivors {
        alive: Vec<String>,
        note: Option<String>,
    },
    Staged {
        bytes: u64,
        /// The store the checkpoint was restored from; `None` when it was already on
        /// the target and only verified there.
        #[serde(default)]
        from: Option<String>,
        /// Already there and trusted unread: unchanged since Lifeboat verified it there.
        #[serde(default)]
        sealed: bool,
    },
    Launched,
    /// Verify: the job runs under the expected epoch.
    Running,
    /// Verify: it does not.
    NotRunning(String),
    /// Provision: a rented machine answered SSH; it joins the fleet as `host`.
    Provisioned {
        target: Target,
        host: Box<super::fleet::HostSpec>,
    },
    /// A workspace was synced: what moved.
    Synced {
        files: u64,
        bytes: u64,
    },
    Notified,
    /// A provider instance was destroyed.
    Destroyed,
}

/// A checkpoint the core may restore from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    pub id: String,
    pub step: u64,
    pub created: Ts,
    pub bytes: u64,
    pub sha256: String,
    /// Where the verified copy lives (a path or URL the executors understand).
    pub location: String,
    pub verified: bool,
}

/// How long a fence waits for a host that may be alive to answer (journals written
/// before the field had it).
pub const FENCE_REACH: Duration = Duration::from_secs(4);

fn fence_reach() -> Duration {
    FENCE_REACH
}

/// Work the core asks the runtime to do. Every effect names the op its answer must carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    Probe {
        op: OpId,
        host: HostId,
        timeout: Duration,
    },
    /// A second look at a host that missed a probe, from `from`; answered by
    /// `ChannelReported` (`Port` from here, `Peer` from a peer).
    Look {
        op: OpId,
        host: HostId,
        from: Vantage,
        timeout: Duration,
    },
    /// Stop every copy of `job` on `host` launched under an epoch older than `epoch`.
    Fence {
        op: OpId,
        job: JobId,
        host: HostId,
        epoch: Epoch,
        timeout: Duration,
        /// How long the fence waits for the host to answer at all before it revokes the
        /// epoch instead: short when two channels already found the host lost.
        #[serde(default = "fence_reach")]
        reach: Duration,
    },
    /// Put the checkpoint where `target` can read it.
    Stage {
        op: OpId,
        job: JobId,
        target: Target,
        checkpoint: Option<CheckpointRef>,
        timeout: Duration,
    },
    /// Start the job on `target` under `epoch`; launching the same epoch twice starts one process.
    Launch {
        op: OpId,
        job: JobId,
        target: Target,
        epoch: Epoch,
        checkpoint: Option<CheckpointRef>,
        cpu: bool,
        timeout: Duration,
    },
    Verify {
        op: OpId,
        job: JobId,
        target: Target,
        epoch: Epoch,
        timeout: Duration,
    },
    /// Destroys the provider instance behind `host` (a failed machine a rented one replaced).
    DestroyInstance {
        op: OpId,
        host: HostId,
        timeout: Duration,
    },
    /// Copies `job`'s workspace from one host to another (before a return to a GPU).
    SyncWorkspace {
        op: OpId,
        job: JobId,
        from: HostId,
        to: HostId,
        timeout: Duration,
    },
    Provision {
        op: OpId,
        job: JobId,
        regional_volume: bool,
        timeout: Duration,
    },
    Notify {
        op: OpId,
        job: Option<JobId>,
        severity: Severity,
        message: String,
        timeout: Duration,
    },
}

impl Effect {
    pub fn op(&self) -> OpId {
        match self {
            Effect::Probe { op, .. }
            | Effect::Look { op, .. }
            | Effect::Fence { op, .. }
            | Effect::Stage { op, .. }
            | Effect::Launch { op, .. }
            | Effect::Verify { op, .. }
            | Effect::Provision { op, .. }
            | Effect::SyncWorkspace { op, .. }
            | Effect::DestroyInstance { op, .. }
            | Effect::Notify { op, .. } => *op,
        }
    }

    pub fn timeout(&self) -> Duration {
        match self {
            Effect::Probe { timeout, .. }
            | Effect::Look { timeout, .. }
            | Effect::Fence { timeout, .. }
            | Effect::Stage { timeout, .. }
            | Effect::Launch { timeout, .. }
            | Effect::Verify { timeout, .. }
            | Effect::Provision { timeout, .. }
            | Effect::SyncWorkspace { timeout, .. }
            | Effect::DestroyInstance { timeout, .. }
            | Effect::Notify { timeout, .. } => *timeout,
        }
    }

    /// Probes and looks are routine and not journaled; every other effect is intent
    /// worth recording.
    pub fn is_routine(&self) -> bool {
        matches!(self, Effect::Probe { .. } | Effect::Look { .. })
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// An operator's request. Job commands carry the snapshot epoch the operator saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Fail over now, to `target` or down the job's chain (only its `strategy` step
    /// when one is named: a rented machine, a regional volume).
    Failover {
        job: JobId,
        target: Option<Target>,
        seen: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strategy: Option<super::fleet::StrategyKind>,
    },
    /// Planned move of a healthy job to `target`.
    Switchover {
        job: JobId,
        target: Target,
        seen: u64,
    },
    Pause {
        job: Option<JobId>,
    },
    Resume {
        job: Option<JobId>,
    },
    Cancel {
        job: JobId,
        seen: u64,
    },
    /// An operator takes an escalated incident (it stays ESCALATING unless the job runs).
    Acknowledge {
        job: JobId,
    },
}

impl Command {
    /// The least role that may give this command: every one of them acts on the fleet.
    pub fn needs(&self) -> super::identity::Role {
        super::identity::Role::Operator
    }
}
