//! A disaster-recovery runbook as Lifeboat runs it: what it targets and how far it may
//! reach, the steady state it needs first, the method (diagnose, inject, observe, verify,
//! manual), what aborts it, what always undoes it, and what it expects to measure. Parsed
//! and checked from TOML by `config::runbook`; decided on by `core::drill`.

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// One runbook, checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Runbook {
    /// The file's stem (`job-crash` for `job-crash.toml`); `lifeboat drill run NAME`.
    pub name: String,
    pub title: String,
    pub description: String,
    pub scenario: Scenario,
    pub version: u32,
    /// Where it was read from, and the SHA-256 (hex) of its text, for the report.
    pub source: PathBuf,
    pub hash: String,
    pub targets: Targets,
    pub blast_radius: BlastRadius,
    pub preconditions: Vec<Probe>,
    pub steps: Vec<Step>,
    pub stop_conditions: Vec<StopCondition>,
    pub rollbacks: Vec<Rollback>,
    pub expect: Expectations,
}

/// An empty runbook: what a drill read back from its in-flight record holds until
/// `Drill::resume` gives it its own again.
impl Default for Runbook {
    fn default() -> Runbook {
        Runbook {
            name: String::new(),
            title: String::new(),
            description: String::new(),
            scenario: Scenario::JobCrash,
            version: 0,
            source: PathBuf::new(),
            hash: String::new(),
            targets: Targets {
                jobs: JobSelector::AnyRunning,
                hosts: HostSelector::None,
            },
            blast_radius: BlastRadius {
                max_hosts: 0,
                max_jobs: 0,
            },
            preconditions: Vec::new(),
            steps: Vec::new(),
            stop_conditions: Vec::new(),
            rollbacks: Vec::new(),
            expect: Expectations::default(),
        }
    }
}

/// The disaster a runbook rehearses (seed 002's scenarios, and the restore test).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    GpuFailure,
    JobCrash,
    JobHang,
    HostUnreachable,
    HostDown,
    SpotPreemption,
    NetworkPartition,
    SupervisorLoss,
    NasLost,
    CheckpointCorruption,
    FleetLoss,
    RestoreTest,
}

impl Scenario {
    pub const ALL: [Scenario; 12] = [
        Scenario::GpuFailure,
        Scenario::JobCrash,
        Scenario::JobHang,
        Scenario::HostUnreachable,
        Scenario::HostDown,
        Scenario::SpotPreemption,
        Scenario::NetworkPartition,
        Scenario::SupervisorLoss,
        Scenario::NasLost,
        Scenario::CheckpointCorruption,
        Scenario::FleetLoss,
        Scenario::RestoreTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::GpuFailure => "gpu-failure",
            Scenario::JobCrash => "job-crash",
            Scenario::JobHang => "job-hang",
            Scenario::HostUnreachable => "host-unreachable",
            Scenario::HostDown => "host-down",
            Scenario::SpotPreemption => "spot-preemption",
            Scenario::NetworkPartition => "network-partition",
            Scenario::SupervisorLoss => "supervisor-loss",
            Scenario::NasLost => "nas-lost",
            Scenario::CheckpointCorruption => "checkpoint-corruption",
            Scenario::FleetLoss => "fleet-loss",
            Scenario::RestoreTest => "restore-test",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Which jobs a drill acts on; their hosts follow from them (and from `hosts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub jobs: JobSelector,
    pub hosts: HostSelector,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "select", content = "names")]
pub enum JobSelector {
    /// These jobs, by name.
    Named(Vec<String>),
    /// The first running job (by name), so a shipped runbook fits any fleet.
    AnyRunning,
    /// Every job of the fleet.
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "select", content = "names")]
pub enum HostSelector {
    /// The hosts the targeted jobs run on.
    OfJobs,
    /// These hosts, by name.
    Named(Vec<String>),
    /// Half the fleet, rounded up, the targeted jobs' hosts first (a partition).
    HalfFleet,
    /// No host is touched (a store or the supervisor is the target).
    None,
}

/// How far a drill may reach; resolved targets beyond it refuse the drill.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlastRadius {
    pub max_hosts: u32,
    pub max_jobs: u32,
}

/// A steady-state check: a precondition, an `observe … until`, a `verify`, or (for stop
/// conditions) the thing that must not happen.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "probe")]
pub enum Probe {
    /// A failover of each target job would pass its readiness checks now.
    Readiness,
    /// Each target job's newest verified checkpoint is younger than `max_age`.
    CheckpointFresh {
        #[serde(with = "secs")]
        max_age: Duration,
    },
    /// Each target job's heartbeat (its step) advanced within the last `within`.
    HeartbeatAdvancing {
        #[serde(with = "secs")]
        within: Duration,
    },
    /// Every configured store answers.
    StoresReachable,
    /// Each target job is RUNNING (anywhere) with its recovery RESOLVED.
    JobRunning,
    /// Each target job runs on a host other than the one it ran on at injection.
    JobMoved,
    /// A failover of each target job finished, well, since injection.
    FailoverFinished,
    /// Lifeboat noticed the fault: a target host or job left healthy since injection.
    FaultDetected,
    /// No failover of any job started since injection.
    NoFailover,
    /// Automation is frozen (the partition guard holds).
    AutomationFrozen,
    /// Every target host is healthy again.
    HostsHealthy,
    /// Every copy of each target job's newest checkpoint is verified in every store.
    CopiesVerified,
    /// The restore test's scratch copy matched its manifest's SHA-256.
    RestoreVerified,
    /// A failover of each target job is under way past its fence (staging, launching
    /// or verifying): the moment a supervisor loss hurts most.
    FailoverUnderway,
    /// Each target job runs one epoch past the one it had at injection: one failover,
    /// not two (a failover redone after a restart would have fenced again).
    FailedOverOnce,
    /// Each target job's failover since injection restored its checkpoint from a store
    /// (the NAS or S3), not from a copy already on the target host.
    RestoredFromStore,
}

impl Probe {
    /// Every probe's name, in declaration order.
    pub const NAMES: [&'static str; 16] = [
        "readiness",
        "checkpoint-fresh",
        "heartbeat-advancing",
        "stores-reachable",
        "job-running",
        "job-moved",
        "failover-finished",
        "fault-detected",
        "no-failover",
        "automation-frozen",
        "hosts-healthy",
        "copies-verified",
        "restore-verified",
        "failover-underway",
        "failed-over-once",
        "restored-from-store",
    ];

    /// Whether the probe is measured against an injection ("since injection", "the host
    /// it ran on at injection"), so a fault must be injected before it is checked.
    pub fn needs_injection(&self) -> bool {
        matches!(
            self,
            Probe::JobMoved
                | Probe::FailoverFinished
                | Probe::FaultDetected
                | Probe::NoFailover
                | Probe::AutomationFrozen
                | Probe::FailoverUnderway
                | Probe::FailedOverOnce
                | Probe::RestoredFromStore
        )
    }

    /// The name a runbook uses (`probe = "job-running"`).
    pub fn name(&self) -> &'static str {
        match self {
            Probe::Readiness => "readiness",
            Probe::CheckpointFresh { .. } => "checkpoint-fresh",
            Probe::HeartbeatAdvancing { .. } => "heartbeat-advancing",
            Probe::StoresReachable => "stores-reachable",
            Probe::JobRunning => "job-running",
            Probe::JobMoved => "job-moved",
            Probe::FailoverFinished => "failover-finished",
            Probe::FaultDetected => "fault-detected",
            Probe::NoFailover => "no-failover",
            Probe::AutomationFrozen => "automation-frozen",
            Probe::HostsHealthy => "hosts-healthy",
            Probe::CopiesVerified => "copies-verified",
            Probe::RestoreVerified => "restore-verified",
            Probe::FailoverUnderway => "failover-underway",
            Probe::FailedOverOnce => "failed-over-once",
            Probe::RestoredFromStore => "restored-from-store",
        }
    }
}

/// One step of the method.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// What the operator sees ("Kill the job's process").
    pub title: String,
    pub action: StepAction,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum StepAction {
    /// Shows something and passes: the fleet's state, a job's readiness, its checkpoints.
    Diagnose { show: Diagnose },
    /// Makes a fault happen; it undoes itself after `duration` even if Lifeboat dies.
    Inject {
        fault: Fault,
        #[serde(with = "secs")]
        duration: Duration,
    },
    /// Waits until the probe holds, failing the drill past the deadline.
    Observe {
        until: Probe,
        #[serde(with = "secs")]
        deadline: Duration,
    },
    /// Checks the probe once; the drill fails if it does not hold.
    Verify { check: Probe },
    /// The operator does or confirms something (headless `--yes` confirms it).
    Manual { prompt: String },
}

impl StepAction {
    pub fn kind(&self) -> &'static str {
        match self {
            StepAction::Diagnose { .. } => "diagnose",
            StepAction::Inject { .. } => "inject",
            StepAction::Observe { .. } => "observe",
            StepAction::Verify { .. } => "verify",
            StepAction::Manual { .. } => "manual",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Diagnose {
    Status,
    Readiness,
    Checkpoints,
}

impl Diagnose {
    pub const ALL: [Diagnose; 3] = [Diagnose::Status, Diagnose::Readiness, Diagnose::Checkpoints];

    pub fn as_str(self) -> &'static str {
        match self {
            Diagnose::Status => "status",
            Diagnose::Readiness => "readiness",
            Diagnose::Checkpoints => "checkpoints",
        }
    }

    pub fn parse(s: &str) -> Option<Diagnose> {
        Diagnose::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A fault a drill makes. On a real fleet each is made on the host over SSH (or planted
/// as a marker Lifeboat's own probe reports, labelled injected) with a dead-man timer on
/// the host; on the demo fleet the simulator makes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The job's GPU reports Xid 79 (fallen off the bus): a planted marker.
    GpuLost,
    /// The job's process (and its children) is killed.
    JobCrash,
    /// The job's processes are stopped (SIGSTOP): alive, no progress.
    JobHang,
    /// The host's SSH port stops answering (a hang, not a refusal).
    HostHang,
    /// The host's SSH port refuses connections.
    HostDown,
    /// The provider announces a spot preemption of the job's host.
    SpotPreemption,
    /// The target hosts (half the fleet) become unreachable at once.
    Partition,
    /// The supervisor is killed in the middle of a failover and started again.
    SupervisorKill,
    /// The NAS store becomes unavailable.
    NasLost,
    /// One byte is flipped in one copy of the job's newest checkpoint.
    CorruptCopy,
    /// Every host of the job goes down.
    FleetLoss,
}

impl Fault {
    pub const ALL: [Fault; 11] = [
        Fault::GpuLost,
        Fault::JobCrash,
        Fault::JobHang,
        Fault::HostHang,
        Fault::HostDown,
        Fault::SpotPreemption,
        Fault::Partition,
        Fault::SupervisorKill,
        Fault::NasLost,
        Fault::CorruptCopy,
        Fault::FleetLoss,
    ];

    /// The name a runbook uses (`fault = "job-crash"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::GpuLost => "gpu-lost",
            Fault::JobCrash => "job-crash",
            Fault::JobHang => "job-hang",
            Fault::HostHang => "host-hang",
            Fault::HostDown => "host-down",
            Fault::SpotPreemption => "spot-preemption",
            Fault::Partition => "partition",
            Fault::SupervisorKill => "supervisor-kill",
            Fault::NasLost => "nas-lost",
            Fault::CorruptCopy => "corrupt-copy",
            Fault::FleetLoss => "fleet-loss",
        }
    }

    pub fn parse(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the fault strikes the jobs (RTO and RPO count from the last such one); a
    /// supervisor kill strikes Lifeboat, and the job's recovery still counts from the
    /// fault that started it.
    pub fn strikes_jobs(self) -> bool {
        self != Fault::SupervisorKill
    }
}

/// What aborts a drill while it runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "when")]
pub enum StopCondition {
    /// A job outside the targets leaves RUNNING or starts a failover.
    OtherJobInterrupted,
    /// A host outside the targets fails.
    OtherHostFailed,
    /// The time since injection passes `limit` without the job running again.
    RtoExceeds {
        #[serde(with = "secs")]
        limit: Duration,
    },
}

impl StopCondition {
    /// Every condition's name (`when = "…"`).
    pub const NAMES: [&'static str; 3] =
        ["other-job-interrupted", "other-host-failed", "rto-exceeds"];

    pub fn name(&self) -> &'static str {
        match self {
            StopCondition::OtherJobInterrupted => "other-job-interrupted",
            StopCondition::OtherHostFailed => "other-host-failed",
            StopCondition::RtoExceeds { .. } => "rto-exceeds",
        }
    }
}

/// What always runs at the end: on success, failure, abort, Ctrl-C, and after a crash.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rollback {
    /// Undo every fault this drill injected (its dead-man timers are cancelled too).
    ClearFaults,
    /// Resume automation the drill or the partition guard paused.
    ResumeAutomation,
    /// Remove the restore test's scratch copy from the standby.
    RemoveScratch,
}

impl Rollback {
    pub const ALL: [Rollback; 3] = [
        Rollback::ClearFaults,
        Rollback::ResumeAutomation,
        Rollback::RemoveScratch,
    ];

    /// The name a runbook uses (`action = "clear-faults"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rollback::ClearFaults => "clear-faults",
            Rollback::ResumeAutomation => "resume-automation",
            Rollback::RemoveScratch => "remove-scratch",
        }
    }

    pub fn parse(s: &str) -> Option<Rollback> {
        Rollback::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What the drill must measure to pass.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Expectations {
    /// From injection to Lifeboat noticing.
    #[serde(with = "opt_secs")]
    pub detection: Option<Duration>,
    /// From injection to the job running again.
    #[serde(with = "opt_secs")]
    pub rto: Option<Duration>,
    /// Steps lost: the step at the fault against the step restored.
    pub rpo_steps: Option<u64>,
    /// Seconds of training lost: the fault's time against the restored checkpoint's.
    #[serde(with = "opt_secs")]
    pub rpo: Option<Duration>,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

mod opt_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}
