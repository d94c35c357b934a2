//! The faults the simulated demo fleet can suffer: a screen may ask for one by name.

use serde::{Deserialize, Serialize};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The job's GPU falls off the bus (Xid 79).
    GpuLost,
    /// Uncorrectable ECC error on the job's GPU (Xid 48).
    UncorrectableEcc,
    /// The host refuses connections.
    HostUnreachable,
    /// The host accepts nothing and answers nothing: probes time out.
    HostHung,
    /// The job's process dies.
    JobCrash,
    /// The job's process lives but makes no progress.
    JobHang,
    /// The provider announces a spot preemption; the host goes down shortly after.
    SpotPreemption,
    /// Random single-probe misses for a while.
    FlakyLink,
    /// The host (and its GPUs) is repaired.
    Heal,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::GpuLost,
        FaultKind::UncorrectableEcc,
        FaultKind::HostUnreachable,
        FaultKind::HostHung,
        FaultKind::JobCrash,
        FaultKind::JobHang,
        FaultKind::SpotPreemption,
        FaultKind::FlakyLink,
        FaultKind::Heal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::GpuLost => "gpu-lost",
            FaultKind::UncorrectableEcc => "uncorrectable-ecc",
            FaultKind::HostUnreachable => "host-unreachable",
            FaultKind::HostHung => "host-hung",
            FaultKind::JobCrash => "job-crash",
            FaultKind::JobHang => "job-hang",
            FaultKind::SpotPreemption => "spot-preemption",
            FaultKind::FlakyLink => "flaky-link",
            FaultKind::Heal => "heal",
        }
    }
}
