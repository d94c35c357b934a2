//! `Core`: owns detection and recovery for the whole fleet. The contract, in the style of
//! quinn-proto's `Connection`: the caller hands in time and facts with [`Core::handle`],
//! then drains [`Core::poll_effect`] and [`Core::poll_event`], and calls `handle(now,
//! Input::Tick)` again no later than [`Core::poll_deadline`]. The core never does IO and
//! never reads a clock, so the same code runs the demo, the real fleet and the tests.

use super::detector::{HostDetector, Reach};
use super::event::{Event, EventKind};
use super::fleet::{Fleet, HostSpec, Role};
use super::gpu::{self, GpuAssessment, GpuSample};
use super::ids::{HostId, JobId, OpId, Target};
use super::io::{Effect, Input, JobObservation, ProbeError};
use super::policy::Policy;
use super::recovery::{JobRecovery, RecoveryState};
use super::time::Ts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// What the runtime can do beyond SSH (decides whether `provision` and
/// `regional-volume` strategies are possible at all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub provision: bool,
    pub regional_volume: bool,
    /// Checkpoint stores are configured: a job's first start waits until they were read
    /// once, so it resumes from what they hold instead of from step 0.
    #[serde(default)]
    pub stores: bool,
}

pub use super::durable::{Durable, DurableChange, Seen};

/// What the core knows of one host right now (rebuilt from probes after a restart).
#[derive(Clone, Debug, Default)]
pub(super) struct HostWatch {
    pub detector: HostDetector,
    pub next_probe_at: Ts,
    pub probe_op: Option<(OpId, Ts)>,
    pub samples: Vec<GpuSample>,
    pub assessment: GpuAssessment,
    pub fatal_gpus: BTreeSet<u32>,
    /// Health per GPU index, for every GPU ever seen (a lost one keeps its last sample).
    pub gpu_health: BTreeMap<u32, gpu::GpuHealth>,
    pub gpu_host_fatal: Option<String>,
    pub latency: Option<Duration>,
    pub last_report_at: Option<Ts>,
    /// Since when every probe has answered (None after a miss).
    pub up_since: Option<Ts>,
    pub boot_id: Option<String>,
    pub observations: Vec<JobObservation>,
    pub badge: String,
    /// A look from elsewhere after a missed probe is out until then (see `lost_host`).
    pub looking_until: Option<super::time::Ts>,
}

/// Ops that answer to no job's recovery: fencing stale copies, notifications.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Chore {
    StaleFence {
        job: JobId,
        host: HostId,
    },
    Notify,
    /// The rented instance of a host a job was moved off by renting another.
    Destroy {
        host: HostId,
    },
    /// A job's workspace going back to the GPU it returns to (see `return_gpu`).
    ReturnSync {
        job: JobId,
        target: super::ids::Target,
        started: Ts,
    },
}

/// Extra time the core allows past an effect's own timeout before it gives up on the answer.
pub(super) const GRACE: Duration = Duration::from_secs(5);

pub struct Core {
    pub(super) fleet: Fleet,
    /// Where each host and job is in `fleet`: looked up per probe and per job, a linear
    /// search over a 1,000-host fleet was most of the core's time.
    host_at: std::collections::HashMap<HostId, usize>,
    job_at: std::collections::HashMap<JobId, usize>,
    pub(super) policy: Policy,
    pub(super) caps: Capabilities,
    pub(super) now: Ts,
    pub(super) d: Durable,
    pub(super) frozen: Option<String>,
    pub(super) hosts: BTreeMap<HostId, HostWatch>,
    pub(super) chores: BTreeMap<OpId, Chore>,
    /// Progress of running steps (not durable: a restarted step reports afresh).
    pub(super) progress: BTreeMap<OpId, super::progress::Progress>,
    /// Checkpoint stores' health (not durable: the replicator reports afresh).
    pub(super) stores: super::store_health::StoreBook,
    pub(super) effects: VecDeque<Effect>,
    pub(super) events: VecDeque<Event>,
    pub(super) dirty: bool,
    /// The records as the journal last got them (see `core::durable`).
    journaled: super::durable::Journaled,
    /// When the state first changed since it was last written.
    dirty_since: Option<Ts>,
    /// The stores were read once since start (see `Input::StoresRead`).
    pub(super) stores_read: bool,
    /// Per job, the newest step of checkpoints the stores hold that wait for an operator
    /// to adopt them.
    pub(super) unadopted: BTreeMap<JobId, u64>,
    /// The verdict on the last operator command, until the runtime takes it.
    pub(super) command_outcome: Option<Result<(), String>>,
}

impl Core {
    pub fn new(fleet: Fleet, policy: Policy, caps: Capabilities, now: Ts) -> Self {
        let jobs = fleet
            .jobs
            .iter()
            .map(|j| (j.id.clone(), JobRecovery::new(j.home())))
            .collect();
        let durable = Durable {
            epoch: 1,
            next_op: 1,
            paused: None,
            jobs,
            rented: Vec::new(),
        };
        Self::restore(fleet, policy, caps, durable, now)
    }

    /// Rebuilds the core from its durable state. Recoveries that were in flight go on:
    /// the step that was running is issued again (steps are idempotent per epoch).
    pub fn restore(
        fleet: Fleet,
        policy: Policy,
        caps: Capabilities,
        mut d: Durable,
        now: Ts,
    ) -> Self {
        // Jobs added to the config since the state was saved start fresh; removed ones go.
        for j in &fleet.jobs {
            d.jobs
                .entry(j.id.clone())
                .or_insert_with(|| JobRecovery::new(j.home()));
        }
        d.jobs.retain(|id, _| fleet.job(id).is_some());
        // Whatever a job did while nothing watched it is unknown: its quiet time (the hang
        // timeout) counts from now, never from before the restart.
        for rec in d.jobs.values_mut() {
            if let Some(t) = rec.progress_at.as_mut() {
                *t = (*t).max(now);
            }
        }
        let mut fleet = fleet;
        for h in &d.rented {
            if fleet.host(&h.id).is_none() {
                fleet.hosts.push(h.clone());
            }
        }
        let hosts = fleet
            .hosts
            .iter()
            .map(|h| {
                let w = HostWatch {
                    detector: HostDetector::new(),
                    next_probe_at: now,
                    badge: "unknown".into(),
                    ..HostWatch::default()
                };
                (h.id.clone(), w)
            })
            .collect();
        let mut core = Self {
            fleet,
            host_at: Default::default(),
            job_at: Default::default(),
            policy,
            caps,
            now,
            d,
            frozen: None,
            hosts,
            chores: BTreeMap::new(),
            progress: BTreeMap::new(),
            stores: Default::default(),
            effects: VecDeque::new(),
            events: VecDeque::new(),
            dirty: false,
            journaled: Default::default(),
            dirty_since: None,
            stores_read: false,
            unadopted: BTreeMap::new(),
            command_outcome: None,
        };
        core.index_fleet();
        core.resume_in_flight();
        core
    }

    /// Rebuilds the lookups into `fleet` (after a host joined it).
    pub(super) fn index_fleet(&mut self) {
        let hosts = self.fleet.hosts.iter().enumerate();
        self.host_at = hosts.map(|(i, h)| (h.id.clone(), i)).collect();
        let jobs = self.fleet.jobs.iter().enumerate();
        self.job_at = jobs.map(|(i, j)| (j.id.clone(), i)).collect();
    }

    pub(super) fn host_spec(&self, id: &HostId) -> Option<&HostSpec> {
        self.host_at.get(id).and_then(|&i| self.fleet.hosts.get(i))
    }

    pub(super) fn job_spec(&self, id: &JobId) -> Option<&super::fleet::JobSpec> {
        self.job_at.get(id).and_then(|&i| self.fleet.jobs.get(i))
    }

    fn resume_in_flight(&mut self) {
        let ids: Vec<JobId> = self.d.jobs.keys().cloned().collect();
        for id in ids {
            let Some(rec) = self.d.jobs.get_mut(&id) else {
                continue;
            };
            let Some(inc) = rec.incident.as_mut() else {
                continue;
            };
            let pending = inc.pending.take();
            match (rec.state, pending.map(|p| p.kind)) {
                (RecoveryState::FailingOver, _) => {
                    self.emit(EventKind::Decision {
                        job: Some(id.clone()),
                        reason: "console restarted during a failover; resuming at the step that was running".into(),
                    });
                    self.reissue_step(&id);
                }
                (RecoveryState::Reconnecting, _) => {
                    inc.next_attempt_at = Some(self.now);
                }
                _ => {}
            }
        }
        self.dirty = true;
    }

    // ---- the handle/poll contract ----

    pub fn handle(&mut self, now: Ts, input: Input) {
        self.handle_all(now, [input]);
    }

    /// Several inputs that arrived together, then the timers once: what `handle` does for
    /// each, without scanning every host's and job's timers after each one (at 1,000 hosts
    /// a thousand probe results a second made that scan the core's largest cost).
    pub fn handle_all(&mut self, now: Ts, inputs: impl IntoIterator<Item = Input>) {
        self.now = self.now.max(now);
        for input in inputs {
            self.apply(input);
        }
        self.handle_timers();
    }

    fn apply(&mut self, input: Input) {
        match input {
            Input::Tick => {}
            Input::ProbeFinished { op, host, result } => self.handle_probe(op, &host, result),
            Input::ChannelReported {
                host,
                channel,
                status,
            } => self.handle_channel(&host, channel, status),
            Input::ProbeSoon { host } => self.probe_soon(&host),
            Input::StepProgress { op, done, total } => self.handle_progress(op, done, total),
            Input::StepFinished { op, result } => self.handle_step(op, result),
            Input::CheckpointSeen {
                job,
                epoch,
                checkpoint,
            } => self.handle_checkpoint(&job, epoch, checkpoint),
            Input::Command { by, command } => self.handle_command(&by, command),
            Input::StoresRead { unadopted } => self.handle_stores_read(unadopted),
            Input::StoreReported(report) => self.handle_store(report),
        }
    }

    /// Probes `host` now, not at its interval. The probe in flight (if any) may have
    /// looked before what prompted this: the next one goes out as soon as it is answered.
    pub(super) fn probe_soon(&mut self, host: &HostId) {
        if let Some(w) = self.hosts.get_mut(host) {
            w.next_probe_at = w.next_probe_at.min(self.now);
        }
    }

    fn handle_progress(&mut self, op: OpId, done: u64, total: u64) {
        // Only a step still in flight has progress; its clock starts with the step.
        let started = self
            .d
            .jobs
            .values()
            .filter_map(|r| r.pending())
            .find(|p| p.op == op)
            .map(|p| p.started);
        let Some(started) = started else {
            self.progress.remove(&op);
            return;
        };
        let now = self.now;
        self.progress
            .entry(op)
            .or_insert_with(|| super::progress::Progress::start(started, total))
            .update(now, done, total);
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The snapshot epoch: bumped on every change, so a caller can tell whether a new
    /// snapshot would differ without building one.
    pub fn epoch(&self) -> u64 {
        self.d.epoch
    }

    /// The latest time by which `handle(.., Input::Tick)` must be called.
    pub fn poll_deadline(&self) -> Option<Ts> {
        let hosts = self.hosts.values().flat_map(|w| {
            let probe = match w.probe_op {
                Some((_, deadline)) => deadline,
                None => w.next_probe_at,
            };
            [Some(probe)]
        });
        let jobs = self.d.jobs.values().flat_map(|r| {
            let inc = r.incident.as_ref();
            [
                inc.and_then(|i| i.next_attempt_at),
                inc.and_then(|i| i.pending.as_ref()).map(|p| p.deadline),
            ]
        });
        hosts.chain(jobs).flatten().min()
    }

    /// What of the durable state the journal must write now, if anything: see
    /// `core::durable`. `seen` says what the turn shows outside: steps started or answers
    /// closed (`Everything`: the whole state is written with them), events about some
    /// jobs (`Jobs`: their records are), or nothing. A change nothing outside has seen
    /// may wait `durable::UNSEEN_WAIT`: a crash loses it as if the crash had come a moment
    /// earlier.
    pub fn take_durable(&mut self, seen: Seen) -> Option<DurableChange> {
        let now = self.now;
        if !self.dirty {
            return self.journaled.take(&self.d, false, None, now);
        }
        let since = *self.dirty_since.get_or_insert(now);
        let overdue = now.since(since) >= super::durable::UNSEEN_WAIT;
        match seen {
            Seen::Jobs(jobs) if !overdue => self.journaled.take(&self.d, true, Some(&jobs), now),
            Seen::Nothing if !overdue => self.journaled.take(&self.d, false, None, now),
            _ => {
                self.dirty = false;
                self.dirty_since = None;
                self.journaled.take(&self.d, true, None, now)
            }
        }
    }

    pub fn durable(&self) -> &Durable {
        &self.d
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    // ---- helpers shared by the other core files ----

    pub(super) fn next_op(&mut self) -> OpId {
        let op = OpId(self.d.next_op);
        self.d.next_op += 1;
        op
    }

    pub(super) fn emit(&mut self, kind: EventKind) {
        self.events.push_back(Event { ts: self.now, kind });
    }

    pub(super) fn bump(&mut self) -> u64 {
        self.d.epoch += 1;
        self.dirty = true;
        self.d.epoch
    }

    pub(super) fn set_state(&mut self, job: &JobId, to: RecoveryState, reason: String) {
        let epoch = self.bump();
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        let from = rec.state;
        rec.state = to;
        rec.reason = reason.clone();
        rec.changed_at = epoch;
        self.emit(EventKind::RecoveryState {
            job: job.clone(),
            from: from.as_str().into(),
            to: to.as_str().into(),
            reason,
        });
    }

    /// A host is fit to receive a job: answering, not damped, GPU usable.
    pub(super) fn eligible(&self, t: &Target) -> Result<(), String> {
        let Some(w) = self.hosts.get(&t.host) else {
            return Err(format!("{} is not in the fleet", t.host));
        };
        let d = &w.detector;
        if d.state != Reach::Healthy {
            return Err(format!("{} is {} ({})", t.host, d.state.as_str(), d.reason));
        }
        if w.last_report_at.is_none() {
            return Err(format!("{} has not answered a probe yet", t.host));
        }
        if d.damped {
            return Err(format!(
                "{} is flapping (damped, penalty {:.1})",
                t.host,
                d.penalty_at(self.now, &self.policy.detection)
            ));
        }
        if let Some(why) = &w.gpu_host_fatal {
            return Err(format!("{}: {why}", t.host));
        }
        if let Some(g) = t.gpu {
            if w.fatal_gpus.contains(&g) {
                return Err(format!("{t} has a fatal GPU fault"));
            }
            // A GPU whose readings are missing or nonsense is not known to be fit.
            if let Some(gpu::GpuHealth::Unknown(why)) = w.gpu_health.get(&g) {
                return Err(format!("{t}'s readings are unknown ({})", why.join("; ")));
            }
        }
        // Busy: another job runs there, or a failover in flight is moving one there.
        let busy = self.d.jobs.iter().find(|(_, r)| {
            let incoming = r
                .incident
                .as_ref()
                .and_then(|i| i.failover.as_ref())
                .and_then(|f| f.target.as_ref())
                .is_some_and(|x| x == t);
            incoming || (r.placement == *t && r.state != RecoveryState::Failed)
        });
        if let Some((other, _)) = busy {
            if t.gpu.is_some() {
                return Err(format!("{t} is busy with job {other}"));
            }
        }
        Ok(())
    }

    // ---- timers ----

    fn handle_timers(&mut self) {
        let now = self.now;
        let interval = self.policy.detection.probe_interval;
        let timeout = self.policy.detection.probe_timeout;
        // Called after every input: only the hosts with something due are named (cloning
        // every id each time cost a 1,000-host fleet more than its probes did).
        let due: Vec<HostId> = self
            .hosts
            .iter()
            .filter(|(_, w)| match w.probe_op {
                Some((_, deadline)) => now >= deadline,
                None => now >= w.next_probe_at,
            })
            .map(|(h, _)| h.clone())
            .collect();
        for host in due {
            let Some(w) = self.hosts.get(&host) else {
                continue;
            };
            match w.probe_op {
                Some((op, deadline)) if now >= deadline => {
                    // The runtime owes us an answer; treat silence past the grace as a miss.
                    self.handle_probe(op, &host, Err(ProbeError::Timeout));
                }
                None if now >= w.next_probe_at => {
                    let op = self.next_op();
                    if let Some(w) = self.hosts.get_mut(&host) {
                        w.probe_op = Some((op, now.plus(timeout + GRACE)));
                        w.next_probe_at = now.plus(interval);
                    }
                    self.effects.push_back(Effect::Probe {
                        op,
                        host: host.clone(),
                        timeout,
                    });
                }
                _ => {}
            }
        }
        let p = &self.policy.detection;
        let mut changed: Vec<(HostId, bool)> = Vec::new();
        for (host, w) in self.hosts.iter_mut() {
            if w.detector.refresh_damping(now, p) {
                changed.push((host.clone(), w.detector.damped));
            }
        }
        for (host, damped) in changed {
            let reason = if damped {
                "flapping: damped"
            } else {
                "flap penalty decayed: trusted again"
            };
            self.emit(EventKind::Decision {
                job: None,
                reason: format!("{host}: {reason}"),
            });
        }
        self.handle_job_timers();
    }

    pub(super) fn role_of(&self, host: &HostId) -> Option<Role> {
        self.host_spec(host).map(|h| h.role)
    }
}
