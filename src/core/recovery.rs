//! The per-job recovery record (seed 000's state machine) and the failover run it holds.
//! Everything here is durable: it is what a restarted console resumes from.

use super::fleet::StrategyKind;
use super::ids::{Epoch, OpId, Target};
use super::io::CheckpointRef;
use super::time::Ts;
use serde::{Deserialize, Serialize};

/// Seed 000's states: `RUNNING → INTERRUPTION_DETECTED → RECONNECTING → FAILING_OVER →
/// ESCALATING → RESOLVED | FAILED`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecoveryState {
    Running,
    InterruptionDetected,
    Reconnecting,
    FailingOver,
    Escalating,
    Resolved,
    Failed,
}

impl RecoveryState {
    pub const PIPELINE: [RecoveryState; 7] = [
        RecoveryState::Running,
        RecoveryState::InterruptionDetected,
        RecoveryState::Reconnecting,
        RecoveryState::FailingOver,
        RecoveryState::Escalating,
        RecoveryState::Resolved,
        RecoveryState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryState::Running => "RUNNING",
            RecoveryState::InterruptionDetected => "INTERRUPTION_DETECTED",
            RecoveryState::Reconnecting => "RECONNECTING",
            RecoveryState::FailingOver => "FAILING_OVER",
            RecoveryState::Escalating => "ESCALATING",
            RecoveryState::Resolved => "RESOLVED",
            RecoveryState::Failed => "FAILED",
        }
    }
}

/// One step of a failover, in order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    SelectTarget,
    Provision,
    Fence,
    Stage,
    Launch,
    Verify,
    Notify,
    /// A workspace synced to the GPU a job returns to from a CPU standby.
    Sync,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::SelectTarget => "select_target",
            StepKind::Provision => "provision",
            StepKind::Fence => "fence",
            StepKind::Stage => "stage",
            StepKind::Launch => "launch",
            StepKind::Verify => "verify",
            StepKind::Notify => "notify",
            StepKind::Sync => "sync",
        }
    }
}

/// A finished (or skipped) step, with its duration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub strategy: String,
    pub step: StepKind,
    pub target: Option<Target>,
    pub ms: u64,
    pub ok: bool,
    pub detail: String,
}

/// What an outstanding op is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingKind {
    Reconnect,
    Step(StepKind),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub op: OpId,
    pub kind: PendingKind,
    pub started: Ts,
    pub deadline: Ts,
}

/// A failover in progress: where it is in the strategy chain and its steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailoverRun {
    pub started_at: Ts,
    /// The chain being walked; a manual failover to a named target walks `[manual]`.
    pub chain: Vec<StrategyKind>,
    pub manual_target: Option<Target>,
    pub planned: bool,
    pub strategy_idx: usize,
    /// Candidates of the current strategy; `None` until selected.
    pub candidates: Option<Vec<Target>>,
    pub cand_idx: usize,
    pub target: Option<Target>,
    pub step: StepKind,
    pub step_started: Ts,
    /// The old copy was stopped or its epoch revoked.
    pub fenced: bool,
    pub checkpoint: Option<CheckpointRef>,
    pub steps: Vec<StepRecord>,
    /// Back from a CPU standby to a GPU (planned, not asked by an operator).
    #[serde(default)]
    pub returning: bool,
    /// The job's very first start: a launch, not a recovery (nobody is paged).
    #[serde(default)]
    pub first_start: bool,
}

impl FailoverRun {
    pub fn strategy_name(&self) -> String {
        if self.manual_target.is_some() {
            return if self.returning {
                "return"
            } else if self.planned {
                "switchover"
            } else {
                "manual"
            }
            .to_string();
        }
        self.chain
            .get(self.strategy_idx)
            .map_or("none", |s| s.as_str())
            .to_string()
    }
}

/// An interruption being handled, from detection until RUNNING again (or FAILED).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub detected_at: Ts,
    /// When the first sign of trouble was seen (for the detection part of the RTO).
    pub evidence_at: Ts,
    pub cause: String,
    pub hard: bool,
    /// Reconnect attempts made so far.
    pub attempt: u32,
    pub next_attempt_at: Option<Ts>,
    pub pending: Option<Pending>,
    pub failover: Option<FailoverRun>,
    /// Set once the incident was handed to humans: paged once, then only added to.
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// Hard only because looks from elsewhere found the host lost: held by the partition
    /// guard, it goes on as soft evidence (reconnect first) after the thaw.
    #[serde(default)]
    pub lost: bool,
}

impl Incident {
    /// An incident opened at `detected_at` by `cause`, first observable at `evidence_at`:
    /// no reconnect attempt, step or failover yet, not handed to humans.
    pub fn opened(detected_at: Ts, evidence_at: Ts, cause: String, hard: bool) -> Self {
        Self {
            detected_at,
            evidence_at,
            cause,
            hard,
            attempt: 0,
            next_attempt_at: None,
            pending: None,
            failover: None,
            escalation: None,
            lost: false,
        }
    }
}

/// An incident handed to humans. One page went out when it opened; what is learnt later
/// is added here instead of paging again, and the job stays ESCALATING until a human acts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub at: Ts,
    pub reason: String,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<(String, Ts)>,
    /// Later evidence, oldest first (bounded: see [`Escalation::note`]).
    pub evidence: Vec<(Ts, String)>,
}

impl Escalation {
    /// At most this many pieces of later evidence are kept.
    pub const MAX_EVIDENCE: usize = 20;

    /// Adds `what` unless it repeats the newest piece; true if it was added.
    pub fn note(&mut self, at: Ts, what: &str) -> bool {
        if self.reason == what || self.evidence.last().is_some_and(|(_, w)| w == what) {
            return false;
        }
        self.evidence.push((at, what.to_string()));
        let excess = self.evidence.len().saturating_sub(Self::MAX_EVIDENCE);
        self.evidence.drain(..excess);
        true
    }
}

/// Everything durable about one job's recovery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecovery {
    pub state: RecoveryState,
    pub reason: String,
    /// Where the job runs now.
    pub placement: Target,
    /// The job's current epoch: copies launched under an older one are stale.
    pub epoch: Epoch,
    /// Who paused automation for this job, if anyone.
    pub paused: Option<String>,
    /// Snapshot epoch of the last state change (a confirm against an older one is refused).
    pub changed_at: u64,
    pub incident: Option<Incident>,
    /// When recent automatic failovers started (for the restart budget).
    pub history: Vec<Ts>,
    pub checkpoints: Vec<CheckpointRef>,
    pub last_step: Option<u64>,
    pub progress_at: Option<Ts>,
    /// When each recent epoch was revoked: a checkpoint its copy made before then is
    /// good, one made after is a fenced copy's and is never restored from.
    #[serde(default)]
    pub revoked: Vec<(Epoch, Ts)>,
    /// A return from a CPU standby that failed waits until then before it is tried again.
    #[serde(default)]
    pub return_hold_until: Option<Ts>,
    /// When the last failover put the job where it is.
    #[serde(default)]
    pub placed_at: Option<Ts>,
    /// The last probe that saw the current epoch's copy running where the job is placed:
    /// a fault found later happened after it, so the recovery time is counted from it.
    #[serde(default)]
    pub seen_at: Option<Ts>,
}

impl JobRecovery {
    pub fn new(placement: Target) -> Self {
        Self {
            state: RecoveryState::Running,
            reason: "waiting for the first probe".into(),
            placement,
            epoch: Epoch(1),
            paused: None,
            changed_at: 0,
            incident: None,
            history: Vec::new(),
            checkpoints: Vec::new(),
            last_step: None,
            progress_at: None,
            revoked: Vec::new(),
            return_hold_until: None,
            placed_at: None,
            seen_at: None,
        }
    }

    /// Revokes the current epoch at `now` and moves to the next.
    pub fn revoke(&mut self, now: Ts) {
        self.revoked.push((self.epoch, now));
        let excess = self.revoked.len().saturating_sub(32);
        self.revoked.drain(..excess);
        self.epoch = self.epoch.next();
    }

    /// When `epoch` stopped being current, if it is known.
    pub fn revoked_at(&self, epoch: Epoch) -> Option<Ts> {
        self.revoked
            .iter()
            .find(|(e, _)| *e == epoch)
            .map(|(_, t)| *t)
    }

    /// The newest checkpoint whose hash was checked.
    pub fn newest_verified(&self) -> Option<&CheckpointRef> {
        self.checkpoints
            .iter()
            .filter(|c| c.verified)
            .max_by_key(|c| (c.step, c.created))
    }

    /// Never seen running and never moved: starting it is its first launch.
    pub fn never_ran(&self) -> bool {
        self.progress_at.is_none() && self.history.is_empty() && self.epoch.0 == 1
    }

    pub fn pending(&self) -> Option<&Pending> {
        self.incident.as_ref().and_then(|i| i.pending.as_ref())
    }
}

impl JobRecovery {
    /// Whether the two records differ in more than what every probe refreshes (when the
    /// job was last seen and last made progress). Those readings are journaled with the
    /// next real change, or every few seconds (see `core::durable`), not on every probe.
    pub fn differs_beyond_progress(&self, other: &JobRecovery) -> bool {
        // Destructured in full: a field added later is compared unless it is listed here.
        let JobRecovery {
            state,
            reason,
            placement,
            epoch,
            paused,
            changed_at,
            incident,
            history,
            checkpoints,
            last_step: _,
            progress_at,
            revoked,
            return_hold_until,
            placed_at,
            seen_at: _,
        } = self;
        *state != other.state
            || *reason != other.reason
            || *placement != other.placement
            || *epoch != other.epoch
            || *paused != other.paused
            || *changed_at != other.changed_at
            || *incident != other.incident
            || *history != other.history
            || *checkpoints != other.checkpoints
            // Seen progressing at all is part of the record: `never_ran` reads it.
            || progress_at.is_some() != other.progress_at.is_some()
            || *revoked != other.revoked
            || *return_hold_until != other.return_hold_until
            || *placed_at != other.placed_at
    }
}
