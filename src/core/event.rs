//! Facts the core announces, for the journal, the event stream and notices.

use super::ids::{Epoch, HostId, JobId, Target};
use super::time::Ts;
use serde::{Deserialize, Serialize};

/// One announced fact, stamped with the time it was decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub ts: Ts,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A host's health badge changed.
    HealthChanged {
        host: HostId,
        from: String,
        to: String,
        reason: String,
    },
    /// A job's recovery state changed.
    RecoveryState {
        job: JobId,
        from: String,
        to: String,
        reason: String,
    },
    /// A failover step finished (or was skipped).
    FailoverStep {
        job: JobId,
        strategy: String,
        step: String,
        target: Option<Target>,
        ms: u64,
        ok: bool,
        detail: String,
    },
    /// A failover ended; the breakdown of its recovery time.
    FailoverFinished {
        job: JobId,
        ok: bool,
        target: Option<Target>,
        epoch: Epoch,
        rto_ms: u64,
        detect_ms: u64,
        breakdown: Vec<(String, u64)>,
    },
    /// A job was handed to humans.
    Escalated {
        job: JobId,
        reason: String,
    },
    /// Something the core chose not to do, and why.
    Decision {
        job: Option<JobId>,
        reason: String,
    },
    /// Automatic failover was frozen or thawed, globally or for one job.
    AutomationChanged {
        job: Option<JobId>,
        active: bool,
        reason: String,
    },
    /// `role` and `origin` say who asked and from where (absent in older journals).
    CommandAccepted {
        operator: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<super::identity::Role>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<super::identity::Origin>,
        command: String,
    },
    CommandRejected {
        operator: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<super::identity::Role>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<super::identity::Origin>,
        command: String,
        reason: String,
    },
    CheckpointRecorded {
        job: JobId,
        id: String,
        step: u64,
    },
    /// A checkpoint store started failing (`ok: false`, with the kind) or works again.
    StoreHealthChanged {
        store: String,
        ok: bool,
        fault: Option<super::store_health::StoreFault>,
        detail: String,
    },
}

impl EventKind {
    /// The `kind` tag as it appears in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::HealthChanged { .. } => "health_changed",
            EventKind::RecoveryState { .. } => "recovery_state",
            EventKind::FailoverStep { .. } => "failover_step",
            EventKind::FailoverFinished { .. } => "failover_finished",
            EventKind::Escalated { .. } => "escalated",
            EventKind::Decision { .. } => "decision",
            EventKind::AutomationChanged { .. } => "automation_changed",
            EventKind::CommandAccepted { .. } => "command_accepted",
            EventKind::CommandRejected { .. } => "command_rejected",
            EventKind::CheckpointRecorded { .. } => "checkpoint_recorded",
            EventKind::StoreHealthChanged { .. } => "store_health_changed",
        }
    }

    pub fn job(&self) -> Option<&JobId> {
        match self {
            EventKind::RecoveryState { job, .. }
            | EventKind::FailoverStep { job, .. }
            | EventKind::FailoverFinished { job, .. }
            | EventKind::Escalated { job, .. }
            | EventKind::CheckpointRecorded { job, .. } => Some(job),
            EventKind::Decision { job, .. } | EventKind::AutomationChanged { job, .. } => {
                job.as_ref()
            }
            _ => None,
        }
    }
}
