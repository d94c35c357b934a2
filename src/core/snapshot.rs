//! The immutable picture every view, API and `status --json` reads, stamped with an epoch.

use super::detector::Reach;
use super::engine::Core;
use super::fleet::Role;
use super::gpu::{GpuHealth, GpuSample};
use super::ids::{Epoch, HostId, JobId, Target};
use super::io::CheckpointRef;
use super::progress::Progress;
use super::recovery::{Escalation, PendingKind, RecoveryState, StepKind, StepRecord};
use super::time::{human, Ts};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Bumped on every change; a confirmed command carries the epoch its operator saw.
    pub epoch: u64,
    pub now: Ts,
    pub profile: String,
    pub automation: Automation,
    pub hosts: Vec<HostView>,
    pub jobs: Vec<JobView>,
    /// Checkpoints in the stores and the replication work in flight (runtime-filled).
    #[serde(default)]
    pub inventory: super::inventory::Inventory,
    /// What the runtime can do beyond SSH (renting machines), for readiness views.
    #[serde(default)]
    pub caps: super::engine::Capabilities,
    /// Each checkpoint store's health: last good write, last error and its kind, copies
    /// waiting for it.
    #[serde(default)]
    pub stores: Vec<super::store_health::StoreHealth>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Automation {
    pub paused_by: Option<String>,
    pub frozen: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostView {
    pub id: HostId,
    pub address: String,
    pub role: Role,
    /// healthy, degraded, suspect, failed (or unknown before the first probe).
    pub badge: String,
    pub reach: Reach,
    pub reason: String,
    pub misses: u32,
    pub successes: u32,
    pub damped: bool,
    pub penalty: f64,
    pub last_ok: Option<Ts>,
    pub latency_ms: Option<u64>,
    /// GPUs the host should have.
    pub expected_gpus: u32,
    pub gpus: Vec<GpuView>,
    pub fatal: Vec<String>,
    pub degraded: Vec<String>,
    /// Second channels (provider, agent): what each said last, and when.
    pub channels: Vec<ChannelView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub channel: String,
    pub status: String,
    pub at: Ts,
}

/// Work in flight for a job (a reconnect probe or a failover step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub what: String,
    pub started: Ts,
    pub deadline: Ts,
    /// Bytes moved so far, when the work moves bytes.
    pub progress: Option<Progress>,
    /// Time left at the current rate.
    pub eta_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuView {
    pub sample: GpuSample,
    pub health: GpuHealth,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: JobId,
    pub state: RecoveryState,
    pub reason: String,
    /// Why it is, or is not, failing over, in plain words.
    pub why: String,
    pub placement: Target,
    pub epoch: Epoch,
    pub paused_by: Option<String>,
    pub changed_at: u64,
    pub reconnect_attempt: u32,
    /// How many reconnect attempts the policy allows.
    pub reconnect_attempts: u32,
    pub next_attempt_at: Option<Ts>,
    /// When the current incident was detected, and when its first evidence was seen.
    pub detected_at: Option<Ts>,
    pub evidence_at: Option<Ts>,
    pub strategy: Option<String>,
    pub step: Option<StepKind>,
    pub steps: Vec<StepRecord>,
    pub failovers_in_window: u32,
    pub restart_budget: u32,
    pub last_step: Option<u64>,
    pub progress_at: Option<Ts>,
    pub newest_verified: Option<CheckpointRef>,
    /// Known checkpoints, oldest first.
    pub checkpoints: Vec<CheckpointRef>,
    pub task: Option<TaskView>,
    /// From the config: where the job belongs, where it may go, and how.
    pub home: Target,
    pub standbys: Vec<Target>,
    pub strategies: Vec<String>,
    /// The incident handed to humans, while it is open.
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// Where a failover would go first if it started now (for jobs in trouble only).
    #[serde(default)]
    pub next_target: Option<Target>,
}

impl Core {
    pub fn snapshot(&self) -> Snapshot {
        let now = self.now;
        let p = &self.policy.detection;
        let hosts = self
            .fleet
            .hosts
            .iter()
            .filter_map(|h| {
                let w = self.hosts.get(&h.id)?;
                let gpus = w
                    .samples
                    .iter()
                    .map(|s| GpuView {
                        sample: s.clone(),
                        health: s
                            .index
                            .and_then(|i| w.gpu_health.get(&i))
                            .cloned()
                            .unwrap_or(GpuHealth::Healthy),
                    })
                    .collect();
                Some(HostView {
                    id: h.id.clone(),
                    address: h.address.clone(),
                    role: h.role,
                    badge: w.badge.clone(),
                    reach: w.detector.state,
                    reason: w.detector.reason.clone(),
                    misses: w.detector.misses,
                    successes: w.detector.successes,
                    damped: w.detector.damped,
                    penalty: w.detector.penalty_at(now, p),
                    last_ok: w.detector.last_ok,
                    latency_ms: w.latency.map(|d| d.as_millis() as u64),
                    gpus,
                    expected_gpus: h.gpus,
                    fatal: w.assessment.fatal.clone(),
                    degraded: w.assessment.degraded.clone(),
                    channels: w
                        .detector
                        .channels
                        .iter()
                        .map(|(name, (status, at))| ChannelView {
                            channel: name.clone(),
                            status: status.describe(),
                            at: *at,
                        })
                        .collect(),
                })
            })
            .collect();
        let jobs = self
            .d
            .jobs
            .iter()
            .map(|(id, r)| {
                let inc = r.incident.as_ref();
                let run = inc.and_then(|i| i.failover.as_ref());
                let window = self.policy.recovery.budget_window;
                let spec = self.job_spec(id);
                JobView {
                    id: id.clone(),
                    state: r.state,
                    reason: r.reason.clone(),
                    why: self.why(id),
                    placement: r.placement.clone(),
                    epoch: r.epoch,
                    paused_by: r.paused.clone(),
                    changed_at: r.changed_at,
                    reconnect_attempt: inc.map_or(0, |i| i.attempt),
                    reconnect_attempts: self.policy.recovery.reconnect_backoff.len() as u32,
                    detected_at: inc.map(|i| i.detected_at),
                    evidence_at: inc.map(|i| i.evidence_at),
                    next_attempt_at: inc.and_then(|i| i.next_attempt_at),
                    strategy: run.map(|f| f.strategy_name()),
                    step: run.map(|f| f.step),
                    steps: run.map(|f| f.steps.clone()).unwrap_or_default(),
                    failovers_in_window: r
                        .history
                        .iter()
                        .filter(|t| now.since(**t) < window)
                        .count() as u32,
                    restart_budget: self.policy.recovery.restart_budget,
                    last_step: r.last_step,
                    progress_at: r.progress_at,
                    newest_verified: r.newest_verified().cloned(),
                    checkpoints: r.checkpoints.clone(),
                    task: inc.and_then(|i| i.pending.as_ref()).map(|p| TaskView {
                        what: match p.kind {
                            PendingKind::Reconnect => {
                                format!("reconnect attempt {}", inc.map_or(0, |i| i.attempt))
                            }
                            PendingKind::Step(s) => format!(
                                "{} {}",
                                run.map(|f| f.strategy_name()).unwrap_or_default(),
                                s.as_str()
                            ),
                        },
                        started: p.started,
                        deadline: p.deadline,
                        progress: self.progress.get(&p.op).cloned(),
                        eta_ms: self
                            .progress
                            .get(&p.op)
                            .and_then(|g| g.eta())
                            .map(|d| d.as_millis() as u64),
                    }),
                    home: spec.map_or_else(|| r.placement.clone(), |s| s.home()),
                    standbys: spec.map(|s| s.standbys.clone()).unwrap_or_default(),
                    strategies: spec
                        .map(|s| {
                            s.strategies
                                .iter()
                                .map(|k| k.as_str().to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    escalation: inc.and_then(|i| i.escalation.clone()),
                    next_target: matches!(
                        r.state,
                        RecoveryState::Reconnecting | RecoveryState::InterruptionDetected
                    )
                    .then(|| self.would_pick(id))
                    .flatten(),
                }
            })
            .collect();
        Snapshot {
            epoch: self.d.epoch,
            now,
            profile: p.name.clone(),
            automation: Automation {
                paused_by: self.d.paused.clone(),
                frozen: self.frozen.clone(),
            },
            hosts,
            jobs,
            inventory: Default::default(),
            caps: self.caps,
            stores: self.stores.all().to_vec(),
        }
    }

    /// Why a job is, or is not, failing over right now.
    fn why(&self, job: &JobId) -> String {
        let Some(r) = self.d.jobs.get(job) else {
            return String::new();
        };
        if r.state != RecoveryState::Running {
            return r.reason.clone();
        }
        let host = &r.placement.host;
        let Some(w) = self.hosts.get(host) else {
            return r.reason.clone();
        };
        let p = &self.policy.detection;
        let d = &w.detector;
        let paused = r.paused.as_ref().or(self.d.paused.as_ref());
        let mut why = match d.state {
            Reach::Healthy if d.misses > 0 => format!(
                "not failing over: {host} missed {} probe(s); suspect at {}, failed at {} with a second channel or {} without",
                d.misses, p.suspect_after, p.fail_after, p.fail_ceiling
            ),
            Reach::Healthy => match r.progress_at {
                Some(t) => format!("healthy: last progress {} ago on {}", human(self.now.since(t)), r.placement),
                None => format!("healthy: running on {}", r.placement),
            },
            _ => format!("not failing over yet: {host} {} ({})", d.state.as_str(), d.reason),
        };
        if let Some(who) = paused {
            why.push_str(&format!("; automation paused by {who}"));
        }
        if let Some(f) = &self.frozen {
            why.push_str(&format!("; {f}"));
        }
        why
    }
}
