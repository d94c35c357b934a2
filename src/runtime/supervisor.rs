//! The `Supervisor`: one task that owns the core by value and loops over commands, effect
//! results, world reports, the core's next deadline and shutdown. Intent is journaled
//! before each effect runs; snapshots go out on a `watch`, notices on a bounded queue.

use super::clock::Clock;
use super::exec::Executor;
use super::journal::{Journal, JournalError};
use super::notice::{Notice, ServiceEvent};
use super::transport::{Notifier, Transport};
use super::workload::{Workload, WORKLOAD};
use crate::core::engine::{Capabilities, Core, Durable, Seen};
use crate::core::fleet::Fleet;
use crate::core::ids::JobId;
use crate::core::io::{Effect, Input};
use crate::core::policy::Policy;
use crate::core::recovery::JobRecovery;
use crate::core::snapshot::Snapshot;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// What feeds the supervisor from outside: inputs for the core, notices to record.
#[derive(Debug)]
pub enum Feed {
    Input(Input),
    /// An operator command; `reply` hears whether the core accepted it (or why not).
    Command {
        by: crate::core::identity::Identity,
        command: crate::core::io::Command,
        reply: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    },
    Notice(Notice),
    /// The replicator's latest picture of the stores, shown in every snapshot.
    Inventory(Arc<crate::core::inventory::Inventory>),
}

pub struct RuntimeParts {
    pub fleet: Fleet,
    pub policy: Policy,
    pub caps: Capabilities,
    pub transport: Arc<dyn Transport>,
    pub notifier: Arc<dyn Notifier>,
    pub journal: PathBuf,
    /// How many steps (fence, stage, launch …) may run at once across the fleet; probes
    /// have as many permits of their own.
    pub concurrency: usize,
    /// Renting machines for `provision` / `regional-volume` steps, when configured.
    pub renting: Option<Arc<super::renting::Renting>>,
}

pub struct SupervisorHandle {
    pub feed: mpsc::Sender<Feed>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub notices: mpsc::Receiver<Notice>,
    pub clock: Clock,
    shutdown: watch::Sender<Option<String>>,
    join: JoinHandle<Result<(), JournalError>>,
}

impl SupervisorHandle {
    /// Asks the supervisor to stop, waits for it, and reports a journal failure if any.
    pub async fn stop(self) -> Result<(), JournalError> {
        self.stop_because("stopped").await
    }

    /// Stops, journaling `reason` as the last word ("supervisor stopped: …").
    pub async fn stop_because(self, reason: &str) -> Result<(), JournalError> {
        let _ = self.shutdown.send(Some(reason.to_string()));
        drop(self.notices);
        match self.join.await {
            Ok(r) => r,
            Err(_) => Ok(()),
        }
    }
}

const NOTICE_QUEUE: usize = 1024;
const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);
/// The least time between two snapshots: a change waits at most this long to be seen, and
/// a thousand probe results a second build a few snapshots, not a thousand.
const SNAPSHOT_GAP: Duration = Duration::from_millis(100);
/// Results taken in one turn before the state is journaled and published once.
const BATCH: usize = 256;
/// The journal keeps a snapshot (for `status` after the supervisor is gone, and a
/// console's first picture) within this long per host in the fleet of a turn that
/// journaled events: at once for a small fleet, so the picture a crash leaves matches the
/// journal's last events; within 5 s at 1,000 hosts, where one is 9 MB of JSON.
const SAVE_GAP_PER_HOST: Duration = Duration::from_millis(5);
/// ... and at least this often (or the gap, if longer) while anything changes.
const SAVE_EVERY: Duration = Duration::from_secs(5);
/// The journal's rows for the core's durable state: a header, and one row per job, so a
/// turn writes only the records it changed (see `core::durable`).
const CORE: &str = "core";
const CORE_JOB: &str = "core.job/";

struct Supervisor {
    core: Core,
    journal: Journal,
    exec: Arc<Executor>,
    clock: Clock,
    limit: Arc<Semaphore>,
    /// Probes' own permits: a mass failover's steps must never queue the probes behind
    /// them, or the detector goes blind exactly when it is needed (hosts turn suspect
    /// for want of a permit, and the partition guard trips).
    probe_limit: Arc<Semaphore>,
    tasks: JoinSet<()>,
    results: mpsc::Sender<Input>,
    notices: mpsc::Sender<Notice>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    published_epoch: u64,
    published_at: tokio::time::Instant,
    /// A change waits for `SNAPSHOT_GAP` to pass since the last snapshot.
    publish_pending: bool,
    /// When the journal last kept a snapshot.
    saved_at: tokio::time::Instant,
    /// An eventful turn's picture waits for `save_gap` to pass since the last save.
    save_pending: bool,
    save_gap: Duration,
    /// The last snapshot's size in the journal: room for the next one's encoding.
    saved_size: usize,
    inventory: Arc<crate::core::inventory::Inventory>,
    inventory_changed: bool,
    /// Answered intents, closed in the same transaction as the state change they caused.
    answered: Vec<(u64, u64, String)>,
}

/// Opens the journal, restores the core from it, and starts the supervisor task.
pub fn spawn(parts: RuntimeParts) -> Result<SupervisorHandle, JournalError> {
    let clock = Clock::new();
    let journal = Journal::open(&parts.journal)?;
    let now = clock.now();
    let core = match load_durable(&journal)? {
        Some(d) => Core::restore(parts.fleet.clone(), parts.policy, parts.caps, d, now),
        None => Core::new(parts.fleet.clone(), parts.policy, parts.caps, now),
    };
    for (op, effect) in journal.open_intents()? {
        tracing::info!(
            op,
            effect,
            "intent left open by a previous run; the core re-issues what is still needed"
        );
        journal.complete_intent(op, now.0, "abandoned: console restarted")?;
    }
    let parts_hosts = parts.fleet.hosts.len().min(u32::MAX as usize);
    let (feed_tx, feed_rx) = mpsc::channel(256);
    let (results_tx, results_rx) = mpsc::channel(1024);
    let (notice_tx, notice_rx) = mpsc::channel(NOTICE_QUEUE);
    let (snap_tx, snap_rx) = watch::channel(Arc::new(core.snapshot()));
    let (shut_tx, shut_rx) = watch::channel(None);
    // Machines rented before a restart are reached again like the config's hosts.
    if let Some(r) = &parts.renting {
        for h in &core.durable().rented {
            r.book.add(h.clone());
        }
    }
    let exec = Arc::new(Executor {
        fleet: parts.fleet,
        transport: parts.transport,
        notifier: parts.notifier,
        renting: parts.renting,
    });
    let sup = Supervisor {
        core,
        journal,
        exec,
        clock,
        limit: Arc::new(Semaphore::new(parts.concurrency.max(1))),
        probe_limit: Arc::new(Semaphore::new(parts.concurrency.max(1))),
        tasks: JoinSet::new(),
        results: results_tx,
        notices: notice_tx,
        snapshots: snap_tx,
        published_epoch: 0,
        // In the past, so the first picture is published at once.
        published_at: past(SNAPSHOT_EVERY),
        publish_pending: false,
        saved_at: past(SAVE_EVERY),
        save_pending: false,
        save_gap: SAVE_GAP_PER_HOST * parts_hosts as u32,
        saved_size: 0,
        inventory: Arc::default(),
        inventory_changed: false,
        answered: Vec::new(),
    };
    let join = tokio::spawn(sup.run(feed_rx, results_rx, shut_rx));
    Ok(SupervisorHandle {
        feed: feed_tx,
        snapshots: snap_rx,
        notices: notice_rx,
        clock,
        shutdown: shut_tx,
        join,
    })
}

impl Supervisor {
    async fn run(
        mut self,
        mut feed: mpsc::Receiver<Feed>,
        mut results: mpsc::Receiver<Input>,
        mut shutdown: watch::Receiver<Option<String>>,
    ) -> Result<(), JournalError> {
        self.service(ServiceEvent::SupervisorStarted, "watching the fleet".into())
            .await?;
        self.core.handle(self.clock.now(), Input::Tick);
        loop {
            self.drain(false).await?;
            // Finished effects are reaped every turn: under a steady stream of results the
            // biased select below never reaches its `join_next` branch, and a 1,000-host
            // fleet's finished probes piled up by the thousand each second.
            while self.tasks.try_join_next().is_some() {}
            let wake = self.core.poll_deadline().map(|t| self.clock.instant_at(t));
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let publish = async {
                match (self.publish_pending, self.save_pending) {
                    (true, _) => tokio::time::sleep_until(self.published_at + SNAPSHOT_GAP).await,
                    (false, true) => tokio::time::sleep_until(self.saved_at + self.save_gap).await,
                    (false, false) => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                Some(input) = results.recv() => {
                    // What else has come in goes in the same turn: handled together (the
                    // core's timers run once) and journaled once.
                    let mut batch = vec![input];
                    while batch.len() < BATCH {
                        match results.try_recv() {
                            Ok(input) => batch.push(input),
                            Err(_) => break,
                        }
                    }
                    self.results(batch);
                }
                Some(f) = feed.recv() => match f {
                    Feed::Command { by, command, reply } => {
                        self.core.handle(self.clock.now(), Input::Command { by, command });
                        let verdict = self.core.take_command_outcome()
                            .unwrap_or_else(|| Err("the core gave no verdict".into()));
                        if let Some(reply) = reply {
                            let _ = reply.send(verdict);
                        }
                    }
                    Feed::Input(input) => self.core.handle(self.clock.now(), input),
                    Feed::Notice(n) => self.notice(n).await?,
                    Feed::Inventory(inv) => {
                        self.inventory = inv;
                        self.inventory_changed = true;
                    }
                },
                _ = sleep => self.core.handle(self.clock.now(), Input::Tick),
                () = publish => {}
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        self.tasks.abort_all();
        // What waited to be written (a change nothing had seen) is written now.
        self.drain(true).await?;
        self.publish(true, true)?;
        let reason = shutdown
            .borrow()
            .clone()
            .unwrap_or_else(|| "stopped".into());
        self.service(ServiceEvent::SupervisorStopped, reason)
            .await?;
        Ok(())
    }

    /// Steps' and probes' results, into the core.
    fn results(&mut self, batch: Vec<Input>) {
        let now = self.clock.now();
        let probes = batch
            .iter()
            .filter(|i| matches!(i, Input::ProbeFinished { .. }))
            .count();
        Workload::add(&WORKLOAD.probes, probes as u64);
        Workload::add(&WORKLOAD.inputs, batch.len() as u64);
        for input in &batch {
            if let Some(op) = answered_op(input) {
                self.answered.push((op, now.0, outcome(input).to_string()));
            }
        }
        self.core.handle_all(now, batch);
    }

    async fn service(&mut self, what: ServiceEvent, detail: String) -> Result<(), JournalError> {
        let ts = self.clock.now();
        self.notice(Notice::Service { ts, what, detail }).await
    }

    /// Journals, in one transaction, the answered intents, the core's new state, the
    /// intents of the effects it asks for and the events it produced; then starts the
    /// effects and tells the watchers. A crash before the commit leaves the previous state
    /// and open intents (the core re-issues them); after it, everything at once.
    async fn drain(&mut self, last: bool) -> Result<(), JournalError> {
        let now = self.clock.now();
        let mut effects = Vec::new();
        while let Some(effect) = self.core.poll_effect() {
            effects.push(effect);
        }
        let mut events = Vec::new();
        while let Some(e) = self.core.poll_event() {
            events.push(Notice::Core(e));
        }
        let answered = std::mem::take(&mut self.answered);
        let durable = self
            .core
            .take_durable(seen(last, &answered, &effects, &events));
        let eventful = !events.is_empty();
        if durable.is_some() || !effects.is_empty() || !events.is_empty() || !answered.is_empty() {
            Workload::add(&WORKLOAD.journal_writes, 1);
            self.journal.atomically(|j| {
                for (op, ts, outcome) in &answered {
                    j.complete_intent(*op, *ts, outcome)?;
                }
                if let Some(change) = &durable {
                    if change.full {
                        j.forget_prefixed(CORE_JOB)?;
                    }
                    j.save(CORE, now.0, &change.header)?;
                    for (id, rec) in &change.jobs {
                        j.save(&format!("{CORE_JOB}{}", id.0), now.0, rec)?;
                    }
                }
                for effect in effects.iter().filter(|e| !e.is_routine()) {
                    j.record_intent(effect.op().0, now.0, effect_job(effect), effect)?;
                }
                for n in &events {
                    j.append_event(n.ts().0, n.kind(), n.job().as_deref(), &n.to_json())?;
                }
                Ok(())
            })?;
        }
        // The last turn starts nothing: its intents stay open, and the next start re-issues them.
        if !last {
            for effect in effects {
                self.start(effect);
            }
        }
        for n in events {
            // Block rather than drop: the journal has it either way, but watchers want it all.
            let _ = self.notices.send(n).await;
        }
        self.publish(eventful, false)
    }

    fn start(&mut self, effect: Effect) {
        let exec = self.exec.clone();
        let results = self.results.clone();
        let limit = match effect {
            Effect::Probe { .. } | Effect::Look { .. } => self.probe_limit.clone(),
            _ => self.limit.clone(),
        };
        self.tasks.spawn(async move {
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            let input = exec.run(effect, results.clone()).await;
            let _ = results.send(input).await;
        });
    }

    async fn notice(&mut self, n: Notice) -> Result<(), JournalError> {
        let body = n.to_json();
        self.journal
            .append_event(n.ts().0, n.kind(), n.job().as_deref(), &body)?;
        // Block rather than drop: the journal has it either way, but watchers want it all.
        let _ = self.notices.send(n).await;
        Ok(())
    }

    /// Publishes a snapshot when something changed (or every `SNAPSHOT_EVERY`): at once
    /// when the turn journaled events (`eventful`), so a screen never reads a picture older
    /// than the journal; otherwise (probe readings) at most every `SNAPSHOT_GAP`. The
    /// journal keeps one every `SAVE_EVERY`, an eventful one within `save_gap` (at once for
    /// a small fleet, 5 s at 1,000 hosts), and the last (`last`).
    fn publish(&mut self, eventful: bool, last: bool) -> Result<(), JournalError> {
        self.save_pending |= eventful;
        let changed = self.core.epoch() != self.published_epoch || self.inventory_changed;
        let since = self.published_at.elapsed();
        let saved = self.saved_at.elapsed();
        let save = last
            || saved >= SAVE_EVERY.max(self.save_gap)
            || (self.save_pending && saved >= self.save_gap);
        if !(last || changed || save || since >= SNAPSHOT_EVERY) {
            return Ok(());
        }
        if !(last || eventful || save) && since < SNAPSHOT_GAP {
            self.publish_pending = true;
            return Ok(());
        }
        self.publish_pending = false;
        self.inventory_changed = false;
        let built = std::time::Instant::now();
        let mut snap = self.core.snapshot();
        snap.inventory = (*self.inventory).clone();
        WORKLOAD.took(built.elapsed());
        if save {
            Workload::add(&WORKLOAD.journal_snapshots, 1);
            let room = self.saved_size + self.saved_size / 16;
            self.saved_size = self
                .journal
                .save_with_room("snapshot", snap.now.0, &snap, room)?;
            self.saved_at = tokio::time::Instant::now();
            self.save_pending = false;
        }
        self.published_epoch = snap.epoch;
        self.published_at = tokio::time::Instant::now();
        self.snapshots.send_replace(Arc::new(snap));
        Ok(())
    }
}

/// The core's durable state as the journal holds it: the header, with each job's row over
/// it (a journal written before jobs had rows of their own has them in the header).
fn load_durable(journal: &Journal) -> Result<Option<Durable>, JournalError> {
    let Some(mut d) = journal.load::<Durable>(CORE)? else {
        return Ok(None);
    };
    let rows = journal.load_prefixed::<JobRecovery>(CORE_JOB, "job recovery record")?;
    for (id, rec) in rows {
        d.jobs.insert(JobId(id), rec);
    }
    Ok(Some(d))
}

/// `ago` before now (or now, where the clock cannot go back that far).
fn past(ago: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_sub(ago).unwrap_or(now)
}

/// What a turn shows outside (see `Core::take_durable`).
fn seen(
    last: bool,
    answered: &[(u64, u64, String)],
    effects: &[Effect],
    events: &[Notice],
) -> Seen {
    if last || !answered.is_empty() || effects.iter().any(|e| !e.is_routine()) {
        return Seen::Everything;
    }
    if events.is_empty() {
        return Seen::Nothing;
    }
    let jobs: Option<std::collections::BTreeSet<JobId>> =
        events.iter().map(|n| n.job().map(JobId)).collect();
    jobs.map_or(Seen::Everything, Seen::Jobs)
}

fn answered_op(input: &Input) -> Option<u64> {
    match input {
        Input::StepFinished { op, .. } => Some(op.0),
        _ => None,
    }
}

fn outcome(input: &Input) -> &'static str {
    match input {
        Input::StepFinished { result: Ok(_), .. } => "ok",
        _ => "failed",
    }
}

fn effect_job(effect: &Effect) -> Option<&str> {
    match effect {
        Effect::Fence { job, .. }
        | Effect::Stage { job, .. }
        | Effect::Launch { job, .. }
        | Effect::Verify { job, .. }
        | Effect::Provision { job, .. }
        | Effect::SyncWorkspace { job, .. } => Some(job.as_str()),
        Effect::Notify { job, .. } => job.as_ref().map(|j| j.as_str()),
        Effect::Probe { .. } | Effect::Look { .. } | Effect::DestroyInstance { .. } => None,
    }
}
