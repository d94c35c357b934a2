//! The service: one supervisor per state dir (locked), its fleet's world, and the screens
//! that attach over the state dir's Unix socket. `lifeboat daemon`, and a console with no
//! daemon to attach to, both run exactly this; the console then attaches to its own.

pub mod access;
mod drills;
pub mod fanout;
pub mod lock;
pub mod restart;
mod schedule;
pub mod socket;
pub mod ssh_screens;
pub mod users;
pub mod world;

use crate::core::event::{Event, EventKind};
use crate::core::identity::Identity;
use crate::protocol::notice::{Notice, ServiceEvent};
use crate::protocol::request::Request;
use crate::protocol::wire::{DaemonInfo, Outcome};
use crate::runtime::supervisor::{Feed, SupervisorHandle};
use access::{Access, Grant};
use fanout::Fanout;
use lock::StateLock;
use socket::Routed;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use world::{Started, Starter, World};

/// What the process around the service asks of it.
#[derive(Debug)]
pub enum Control {
    /// Re-read the config (SIGHUP).
    Reload,
    /// Stop supervising, journaling why.
    Stop(String),
    /// Journal something the process around the service saw (the terminal hung up).
    Note(ServiceEvent, String),
}

struct Current {
    handle: SupervisorHandle,
    world: Arc<dyn World>,
    pump: tokio::task::JoinHandle<()>,
}

pub struct Service {
    lock: StateLock,
    starter: Arc<dyn Starter>,
    current: Option<Current>,
    fanout: Fanout,
    requests: mpsc::Receiver<Routed>,
    shutdown: watch::Sender<Option<String>>,
    listener: tokio::task::JoinHandle<()>,
    socket: PathBuf,
    pub info: Arc<DaemonInfo>,
    /// What is watched, from where (for the log and a headless first line).
    pub hello: String,
    /// The console over SSH, when configured: its task and its stop switch.
    ssh: Option<Ssh>,
    /// The HTTP API, when configured.
    api: Option<crate::runtime::api::Api>,
    /// The daemon's flags, which win over the config's `[console]` on every reload.
    flags: Access,
    /// Access as it is in force now.
    access: Access,
    shared: socket::Shared,
    grant: watch::Sender<Option<Grant>>,
    /// Requests the service makes of itself (a reload asked for over the socket).
    control_tx: mpsc::Sender<Control>,
    control_rx: mpsc::Receiver<Control>,
    /// The drill running now, if any (one at a time).
    drill: Option<crate::runtime::drill::task::DrillHandle>,
    /// What the `[[drill]]` schedules did lately.
    schedule: schedule::Scheduled,
}

/// What a drill needs from the fleet running now.
fn drill_env(
    c: &Current,
    fanout: &Fanout,
    dir: &std::path::Path,
    info: &DaemonInfo,
    by: &Identity,
) -> crate::runtime::drill::task::DrillEnv {
    crate::runtime::drill::task::DrillEnv {
        world: c.world.clone(),
        feed: c.handle.feed.clone(),
        latest: fanout.latest.clone(),
        notices: fanout.subscribe().1,
        clock: c.handle.clock,
        state_dir: dir.to_path_buf(),
        by: by.clone(),
        // Only a daemon starts again by itself once its process is replaced.
        restart: (!info.embedded).then_some(restart::exec_self as fn() -> std::io::Error),
    }
}

/// The recent events from the journal, for screens that attach.
fn history(state_dir: &std::path::Path) -> Vec<Notice> {
    let path = state_dir.join("journal.db");
    if !path.exists() {
        return Vec::new();
    }
    match crate::runtime::journal::Journal::open_existing(&path)
        .and_then(|j| j.recent_events(fanout::HISTORY))
    {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| {
                Notice::from_journal(crate::core::time::Ts(r.ts.max(0) as u64), &r.kind, &r.body)
            })
            .collect(),
        Err(e) => {
            tracing::warn!("cannot read the journal's recent events: {e}");
            Vec::new()
        }
    }
}

impl Service {
    /// Starts the fleet under the held lock and opens the socket.
    pub async fn start(
        lock: StateLock,
        starter: Arc<dyn Starter>,
        embedded: bool,
        flags: Access,
    ) -> Result<Service, String> {
        let dir = lock.dir.clone();
        let fanout = Fanout::new(history(&dir));
        let started = starter.start(&dir).await?;
        let info = Arc::new(DaemonInfo {
            pid: std::process::id(),
            host: lock.holder.host.clone(),
            started: lock.holder.started,
            version: env!("CARGO_PKG_VERSION").into(),
            fleet: started.label.clone(),
            state_dir: dir.clone(),
            hosts: started.fleet.hosts.len(),
            jobs: started.fleet.jobs.len(),
            embedded,
            demo: started.demo,
        });
        tracing::info!("{}", started.hello);
        let hello = started.hello.clone();
        let current = attach(&fanout, started);
        // Drills a previous supervisor stopped under: a supervisor-kill step's run goes
        // on here; the others' rollbacks run now.
        let mut stopped = Vec::new();
        let mut drill = None;
        for r in crate::runtime::drill::report::Report::inflight(&dir) {
            if r.resume.is_none() || drill.is_some() {
                stopped.push(r);
                continue;
            }
            let env = drill_env(&current, &fanout, &dir, &info, &Identity::daemon());
            let resumed = crate::runtime::drill::find(&r.runbook, starter.runbook_dir().as_deref())
                .and_then(|rb| crate::runtime::drill::task::resume(&r, rb, env));
            match resumed {
                Ok(h) => drill = Some(h),
                Err(why) => {
                    tracing::warn!("drill {} cannot go on: {why}; its rollbacks run", r.run);
                    stopped.push(r);
                }
            }
        }
        tokio::spawn(crate::runtime::drill::recover::recover(
            dir.clone(),
            stopped,
            current.world.clone(),
            current.handle.feed.clone(),
            current.handle.clock,
        ));
        let current = Some(current);
        let (req_tx, requests) = mpsc::channel(64);
        let (shutdown, shut_rx) = watch::channel(None);
        let (grant, grant_rx) = watch::channel(None);
        let shared = socket::Shared {
            fanout: fanout.clone(),
            info: info.clone(),
            requests: req_tx,
            shutdown: shut_rx,
            grant: grant_rx,
        };
        let access = flags.over(starter.access());
        let ssh = match &access.ssh {
            Some(c) => Some(serve_ssh(&dir, c, &shared).await?),
            None => None,
        };
        let api = match &access.api {
            Some(c) => {
                let tokens =
                    crate::runtime::api::Tokens::load(&c.tokens, |v| std::env::var(v).ok())?;
                let api = crate::runtime::api::serve(
                    c.listen,
                    c.tls.as_ref(),
                    tokens,
                    shared.clone(),
                    dir.clone(),
                )
                .await?;
                Some(api)
            }
            None => None,
        };
        let (socket, listener) = socket::listen(&dir, shared.clone())
            .map_err(|e| format!("cannot open the console socket in {}: {e}", dir.display()))?;
        let (granted, warnings) = access::apply(&socket, &dir, access.group.as_ref())?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        if let Some(g) = &granted {
            tracing::info!(
                "the console socket is shared with group {} (gid {}) as {}",
                g.name,
                g.gid,
                g.role
            );
        }
        grant.send_replace(granted);
        let (control_tx, control_rx) = mpsc::channel(8);
        Ok(Service {
            lock,
            starter,
            current,
            fanout,
            requests,
            shutdown,
            listener,
            socket,
            info,
            hello,
            ssh,
            api,
            flags,
            access,
            shared,
            grant,
            control_tx,
            control_rx,
            drill,
            schedule: schedule::Scheduled::from_journal(&dir),
        })
    }

    /// Where screens attach.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// Supervises until told to stop; returns the reason it stopped with.
    pub async fn run(mut self, mut control: mpsc::Receiver<Control>) -> Result<String, String> {
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + schedule::EVERY,
            schedule::EVERY,
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reason = loop {
            tokio::select! {
                _ = tick.tick() => self.scheduled().await,
                c = control.recv() => match c {
                    Some(Control::Reload) => self.reload(&Identity::daemon()).await,
                    Some(Control::Stop(reason)) => break reason,
                    Some(Control::Note(what, detail)) => self.service_event(what, detail).await,
                    None => break "the process around the supervisor ended".into(),
                },
                Some(c) = self.control_rx.recv() => match c {
                    Control::Reload => self.reload(&Identity::daemon()).await,
                    Control::Stop(reason) => break reason,
                    Control::Note(what, detail) => self.service_event(what, detail).await,
                },
                Some(r) = self.requests.recv() => self.route(r).await,
            }
        };
        self.stop(&reason).await?;
        Ok(reason)
    }

    /// "HTTP API on http(s)://ADDR", when it is served.
    pub fn api_line(&self) -> Option<String> {
        self.api.as_ref().map(|a| {
            let scheme = if a.tls { "https" } else { "http" };
            format!("HTTP API on {scheme}://{}", a.addr)
        })
    }

    /// "console over SSH on ADDR, host key SHA256:…", when it is served.
    pub fn ssh_line(&self) -> Option<String> {
        self.ssh
            .as_ref()
            .map(|s| format!("console over SSH on {}, host key {}", s.addr, s.fingerprint))
    }

    /// Aborts the running drill and waits (boundedly) for its rollbacks.
    async fn end_drill(&mut self, why: &str) {
        if let Some(d) = self.drill.take() {
            if !d.join.is_finished() {
                let _ = d
                    .control
                    .send(crate::runtime::drill::task::DrillControl::Abort(
                        why.to_string(),
                    ))
                    .await;
                if tokio::time::timeout(std::time::Duration::from_secs(60), d.join)
                    .await
                    .is_err()
                {
                    tracing::error!("drill {} did not finish its rollbacks within 60 s", d.run);
                }
            }
        }
    }

    async fn stop(mut self, reason: &str) -> Result<(), String> {
        self.end_drill(&format!("the supervisor is stopping ({reason})"))
            .await;
        let _ = self.shutdown.send(Some(reason.to_string()));
        let _ = (&mut self.listener).await;
        if let Some(ssh) = self.ssh.take() {
            let _ = ssh.stop.send(true);
            let _ = ssh.join.await;
        }
        if let Some(api) = self.api.take() {
            api.stop().await;
        }
        let result = match self.current.take() {
            Some(c) => c.stop(reason).await,
            None => Ok(()),
        };
        let _ = std::fs::remove_file(&self.socket);
        drop(self.lock);
        result
    }

    fn feed(&self) -> Option<mpsc::Sender<Feed>> {
        self.current.as_ref().map(|c| c.handle.feed.clone())
    }

    /// Journals a notice through the supervisor (so every screen sees it too).
    async fn say(&self, n: Notice) {
        tell(self.feed().as_ref(), &self.fanout, n).await;
    }

    async fn service_event(&self, what: ServiceEvent, detail: String) {
        let ts = self.now();
        self.say(Notice::Service { ts, what, detail }).await;
    }

    fn now(&self) -> crate::core::time::Ts {
        match &self.current {
            Some(c) => c.handle.clock.now(),
            None => crate::runtime::clock::Clock::new().now(),
        }
    }

    /// A new config is validated first; a bad one keeps the running one and says why.
    async fn reload(&mut self, by: &Identity) {
        let next = match self.starter.reload() {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!("config reload refused, the running config stays: {why}");
                self.service_event(
                    ServiceEvent::ConfigReloadFailed,
                    format!("{}: the running config stays: {why}", by.name),
                )
                .await;
                return;
            }
        };
        self.end_drill("the config is reloading").await;
        if let Some(c) = self.current.take() {
            if let Err(e) = c.stop("reloading the config").await {
                tracing::warn!("stopping for the reload: {e}");
            }
        }
        let dir = self.lock.dir.clone();
        match next.start(&dir).await {
            Ok(started) => {
                self.current = Some(attach(&self.fanout, started));
                self.starter = next;
                self.service_event(
                    ServiceEvent::ConfigReloaded,
                    format!("{}: the new config is in force", by.name),
                )
                .await;
                self.reload_access(by).await;
            }
            Err(why) => {
                tracing::warn!("the new config did not start ({why}); starting the old one again");
                match self.starter.start(&dir).await {
                    Ok(started) => self.current = Some(attach(&self.fanout, started)),
                    Err(e) => tracing::error!("the old config did not start again either: {e}"),
                }
                self.service_event(
                    ServiceEvent::ConfigReloadFailed,
                    format!(
                        "{}: the new config did not start ({why}); the old one runs again",
                        by.name
                    ),
                )
                .await;
            }
        }
    }

    /// Puts the config's access (under the daemon's flags) in force: the SSH console's
    /// keys re-read (sessions they no longer let in end), its address moved, the socket's
    /// group changed. What cannot be applied keeps what is in force, and says why.
    async fn reload_access(&mut self, by: &Identity) {
        let next = self.flags.over(self.starter.access());
        let dir = self.lock.dir.clone();
        let mut said = Vec::new();
        let mut failed = Vec::new();
        let same_listen = match (&self.ssh, &next.ssh) {
            (Some(running), Some(c)) => running.listen == c.listen,
            (None, None) => true,
            _ => false,
        };
        match (&self.ssh, &next.ssh) {
            (Some(running), Some(c)) if same_listen => {
                match crate::runtime::ssh_console::AuthorizedKeys::load(&c.authorized_keys) {
                    Ok(keys) => {
                        let was = running.keys.current().entries().len();
                        let now = keys.entries().len();
                        running.keys.replace(keys);
                        said.push(format!(
                            "the SSH console's keys re-read: {now} keys from {} (were {was}); sessions whose key is gone or changed role were ended",
                            c.authorized_keys.display()
                        ));
                    }
                    Err(e) => failed.push(format!("{e}; the keys in force stay")),
                }
            }
            _ if same_listen => {}
            _ => {
                if let Some(old) = self.ssh.take() {
                    let _ = old.stop.send(true);
                    let _ = old.join.await;
                    said.push(format!("the SSH console on {} stopped", old.addr));
                }
                if let Some(c) = &next.ssh {
                    match serve_ssh(&dir, c, &self.shared).await {
                        Ok(s) => {
                            said.push(format!(
                                "the SSH console listens on {}, host key {}",
                                s.addr, s.fingerprint
                            ));
                            self.ssh = Some(s);
                        }
                        Err(e) => failed.push(format!("the SSH console did not start: {e}")),
                    }
                }
            }
        }
        let mut group = self.access.group.clone();
        if next.group != group {
            match access::apply(&self.socket, &dir, next.group.as_ref()) {
                Ok((granted, warnings)) => {
                    for w in warnings {
                        tracing::warn!("{w}");
                        said.push(w);
                    }
                    said.push(match &granted {
                        Some(g) => format!(
                            "the console socket is shared with group {} as {} (0660)",
                            g.name, g.role
                        ),
                        None => "the console socket is the supervisor's user's alone (0600)".into(),
                    });
                    self.grant.send_replace(granted);
                    group = next.group.clone();
                }
                Err(e) => failed.push(format!("{e}; the socket's access in force stays")),
            }
        }
        // Its tokens were read from the environment at start, which a reload cannot
        // re-read: the API is not changed under its callers, and the log says so.
        if next.api != self.access.api {
            failed.push(
                "[api] differs from the one the HTTP API started with; it goes on as started (address, TLS, tokens) until the daemon restarts".into(),
            );
        }
        self.access = Access {
            ssh: self.ssh.as_ref().and(next.ssh.clone()),
            group,
            api: self.access.api.clone(),
        };
        for line in said {
            tracing::info!("{line}");
            self.service_event(ServiceEvent::AccessChanged, format!("{}: {line}", by.name))
                .await;
        }
        for line in failed {
            tracing::warn!("{line}");
            self.service_event(
                ServiceEvent::ConfigReloadFailed,
                format!("{}: {line}", by.name),
            )
            .await;
        }
    }

    /// Every request is checked against its requester's role here and journaled with
    /// its outcome; operator commands are checked (and journaled) by the core itself.
    async fn route(&mut self, r: Routed) {
        let Routed { by, request, reply } = r;
        if let Request::Core(command) = request {
            let Some(feed) = self.feed() else {
                let _ = reply.send(Outcome::Failed {
                    reason: "the fleet is restarting; try again".into(),
                });
                return;
            };
            tokio::spawn(async move {
                let (tx, rx) = oneshot::channel();
                let label = crate::core::commands::describe(&command);
                let sent = feed
                    .send(Feed::Command {
                        by,
                        command,
                        reply: Some(tx),
                    })
                    .await;
                let outcome = match (sent, rx.await) {
                    (Ok(()), Ok(Ok(()))) => Outcome::Accepted { detail: label },
                    (Ok(()), Ok(Err(reason))) => Outcome::Refused { reason },
                    _ => Outcome::Failed {
                        reason: "the supervisor stopped before answering".into(),
                    },
                };
                let _ = reply.send(outcome);
            });
            return;
        }
        let label = request.describe();
        let needs = request.needs();
        if !by.role.may(needs) {
            let reason = format!(
                "{} is a {}: {label} needs the {needs} role",
                by.name, by.role
            );
            self.audit(&by, &label, Err(reason.clone())).await;
            let _ = reply.send(Outcome::Refused { reason });
            return;
        }
        let world = self.current.as_ref().map(|c| c.world.clone());
        match request {
            Request::ReloadConfig => {
                self.audit(&by, &label, Ok(())).await;
                let _ = reply.send(Outcome::Accepted {
                    detail: "reloading the config; the outcome follows as an event".into(),
                });
                let _ = self.control_tx.send(Control::Reload).await;
            }
            Request::Inject { kind, target } => {
                let outcome = match world {
                    Some(w) => w.inject(kind, &target).await,
                    None => Err("the fleet is restarting; try again".into()),
                };
                self.audit(
                    &by,
                    &label,
                    outcome.as_ref().map(|_| ()).map_err(Clone::clone),
                )
                .await;
                let _ = reply.send(match outcome {
                    Ok(detail) => Outcome::Accepted { detail },
                    Err(reason) => Outcome::Refused { reason },
                });
            }
            work @ (Request::Prune { .. } | Request::Restore { .. }) => {
                self.audit(&by, &label, Ok(())).await;
                let Some(w) = world else {
                    let _ = reply.send(Outcome::Failed {
                        reason: "the fleet is restarting; try again".into(),
                    });
                    return;
                };
                // Moving or deleting bytes takes a while; checkpoint notices journal it.
                tokio::spawn(async move {
                    let outcome = match checkpoint_work(w.as_ref(), work, &by.name).await {
                        Ok(detail) => Outcome::Accepted { detail },
                        Err(reason) => Outcome::Failed { reason },
                    };
                    let _ = reply.send(outcome);
                });
            }
            Request::Volume(op) => {
                use crate::protocol::volume::VolumeAnswer;
                let Some(w) = world else {
                    let _ = reply.send(Outcome::Failed {
                        reason: "the fleet is restarting; try again".into(),
                    });
                    return;
                };
                let changes = op.changes();
                let auditor = self.auditor();
                // A provider's API may take seconds: the answer comes from its own task.
                tokio::spawn(async move {
                    let answer = w.volume(op).await;
                    if changes {
                        let verdict = match &answer {
                            VolumeAnswer::Failed { reason, .. } => Err(reason.clone()),
                            _ => Ok(()),
                        };
                        auditor.audit(&by, &label, verdict).await;
                    }
                    let _ = reply.send(Outcome::Answered {
                        answer: crate::protocol::drill::Answer::Volumes(answer),
                    });
                });
            }
            Request::DrillRun { name, dry_run, yes } => {
                let outcome = self.drill_run(&by, &name, dry_run, yes, false).await;
                let verdict = match &outcome {
                    Outcome::Accepted { .. } | Outcome::Answered { .. } => Ok(()),
                    Outcome::Refused { reason } | Outcome::Failed { reason } => Err(reason.clone()),
                };
                self.audit(&by, &label, verdict).await;
                let _ = reply.send(outcome);
            }
            Request::DrillConfirm | Request::DrillAbort { .. } => {
                use crate::runtime::drill::task::DrillControl;
                let control = match &request {
                    Request::DrillAbort { reason } => {
                        DrillControl::Abort(format!("{}: {reason}", by.name))
                    }
                    _ => DrillControl::Confirm,
                };
                let outcome = self.drill_control(control, &request).await;
                let verdict = match &outcome {
                    Outcome::Accepted { .. } | Outcome::Answered { .. } => Ok(()),
                    Outcome::Refused { reason } | Outcome::Failed { reason } => Err(reason.clone()),
                };
                self.audit(&by, &label, verdict).await;
                let _ = reply.send(outcome);
            }
            Request::DrillCatalogue
            | Request::DrillPlan { .. }
            | Request::DrillGuide { .. }
            | Request::DrillStep
            | Request::DrillRunToEnd => {
                let Some(outcome) = self.drills_view(&by, &request).await else {
                    return;
                };
                // Questions change nothing: only what acts is journaled.
                if !matches!(request, Request::DrillCatalogue | Request::DrillPlan { .. }) {
                    let verdict = match &outcome {
                        Outcome::Refused { reason } | Outcome::Failed { reason } => {
                            Err(reason.clone())
                        }
                        _ => Ok(()),
                    };
                    self.audit(&by, &label, verdict).await;
                }
                let _ = reply.send(outcome);
            }
            Request::Core(_) | Request::Quit => {}
        }
    }

    /// Checks a drill (the plan and its preconditions) and, unless a dry run, starts it
    /// (`guided`: holding before each step).
    async fn drill_run(
        &mut self,
        by: &Identity,
        name: &str,
        dry_run: bool,
        yes: bool,
        guided: bool,
    ) -> Outcome {
        use crate::runtime::drill::task;
        let runbook = match crate::runtime::drill::find(name, self.starter.runbook_dir().as_deref())
        {
            Ok(r) => r,
            Err(reason) => return Outcome::Refused { reason },
        };
        let snap = self.fanout.latest.borrow().snapshot.clone();
        let Some(snap) = snap else {
            return Outcome::Failed {
                reason: "the supervisor has no picture of the fleet yet; try again".into(),
            };
        };
        let checked = match task::check(&runbook, &snap) {
            Ok(c) => c,
            Err(reason) => return Outcome::Refused { reason },
        };
        if dry_run {
            return Outcome::Accepted {
                detail: checked.text,
            };
        }
        if !checked.ready {
            return Outcome::Refused {
                reason: format!(
                    "drill {name} refused: a precondition fails\n{}",
                    checked.text
                ),
            };
        }
        if let Some(d) = self.drill.as_ref().filter(|d| !d.join.is_finished()) {
            return Outcome::Refused {
                reason: format!(
                    "drill {} is running; abort it first (lifeboat drill abort)",
                    d.run
                ),
            };
        }
        let Some(c) = self.current.as_ref() else {
            return Outcome::Failed {
                reason: "the fleet is restarting; try again".into(),
            };
        };
        let env = drill_env(c, &self.fanout, &self.lock.dir, &self.info, by);
        let h = if guided {
            task::start_guided(runbook, checked.targets, env)
        } else {
            task::start(runbook, checked.targets, yes, env)
        };
        let detail = format!("run {}\n{}", h.run, checked.text);
        self.drill = Some(h);
        Outcome::Accepted { detail }
    }

    /// A request that is not a core command, journaled like one.
    async fn audit(&self, by: &Identity, label: &str, verdict: Result<(), String>) {
        let ts = self.now();
        self.say(audit_notice(by, label, verdict, ts)).await;
    }

    /// What a task needs to journal its own outcome later, as `audit` does now.
    fn auditor(&self) -> Auditor {
        Auditor {
            feed: self.feed(),
            fanout: self.fanout.clone(),
            clock: self.current.as_ref().map(|c| c.handle.clock),
        }
    }
}

/// Journals a request's outcome from a task that outlives the request's turn.
struct Auditor {
    feed: Option<mpsc::Sender<Feed>>,
    fanout: Fanout,
    clock: Option<crate::runtime::clock::Clock>,
}

impl Auditor {
    async fn audit(&self, by: &Identity, label: &str, verdict: Result<(), String>) {
        let ts = match &self.clock {
            Some(c) => c.now(),
            None => crate::runtime::clock::Clock::new().now(),
        };
        tell(
            self.feed.as_ref(),
            &self.fanout,
            audit_notice(by, label, verdict, ts),
        )
        .await;
    }
}

/// Journals a notice through the supervisor (so every screen sees it too), or straight to
/// the screens while no fleet runs.
async fn tell(feed: Option<&mpsc::Sender<Feed>>, fanout: &Fanout, n: Notice) {
    match feed {
        Some(feed) => {
            let _ = feed.send(Feed::Notice(n)).await;
        }
        None => fanout.notice(n),
    }
}

/// The journal's record of a request that is not a core command.
fn audit_notice(
    by: &Identity,
    label: &str,
    verdict: Result<(), String>,
    ts: crate::core::time::Ts,
) -> Notice {
    let kind = match verdict {
        Ok(()) => EventKind::CommandAccepted {
            operator: by.name.clone(),
            role: Some(by.role),
            origin: Some(by.origin.clone()),
            command: label.to_string(),
        },
        Err(reason) => EventKind::CommandRejected {
            operator: by.name.clone(),
            role: Some(by.role),
            origin: Some(by.origin.clone()),
            command: label.to_string(),
            reason,
        },
    };
    Notice::Core(Event { ts, kind })
}

struct Ssh {
    /// Where the config said to listen (port 0 included), to see whether a reload moves it.
    listen: std::net::SocketAddr,
    addr: std::net::SocketAddr,
    fingerprint: String,
    keys: crate::runtime::ssh_console::KeysSwitch,
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

/// Binds the console over SSH (host key made once in the state dir) and serves it.
async fn serve_ssh(
    dir: &std::path::Path,
    c: &crate::config::ConsoleConfig,
    shared: &socket::Shared,
) -> Result<Ssh, String> {
    use crate::runtime::ssh_console as sc;
    let opts = sc::ServeOptions::load(c.listen, &sc::HostKey::path_in(dir), &c.authorized_keys)
        .map_err(|e| e.to_string())?;
    let bound = sc::bind(opts).await.map_err(|e| e.to_string())?;
    let addr = bound.local_addr();
    let fingerprint = bound.fingerprint().to_string();
    let keys = bound.keys_switch();
    let screens = Arc::new(ssh_screens::ConsoleScreens {
        fanout: shared.fanout.clone(),
        requests: shared.requests.clone(),
        info: shared.info.clone(),
        shutdown: shared.shutdown.clone(),
    });
    let (stop, stop_rx) = watch::channel(false);
    let join = tokio::spawn(async move {
        if let Err(e) = bound.run(screens, stop_rx).await {
            tracing::error!("the console over SSH stopped: {e}");
        }
    });
    Ok(Ssh {
        listen: c.listen,
        addr,
        fingerprint,
        keys,
        stop,
        join,
    })
}

/// What a prune or a restore asks of the world.
async fn checkpoint_work(w: &dyn World, request: Request, by: &str) -> Result<String, String> {
    match request {
        Request::Prune { job, copies } => w.prune(&job, &copies, by).await,
        Request::Restore {
            job,
            id,
            host,
            path,
        } => w.restore(&job, id.as_deref(), &host, path.as_deref()).await,
        other => Err(format!("{} is not checkpoint work", other.describe())),
    }
}

/// Wires a started fleet's output into the fan-out.
fn attach(fanout: &Fanout, mut started: Started) -> Current {
    let notices = std::mem::replace(&mut started.handle.notices, mpsc::channel(1).1);
    let pump = fanout.pump(started.handle.snapshots.clone(), notices);
    Current {
        handle: started.handle,
        world: started.world,
        pump,
    }
}

impl Current {
    async fn stop(self, reason: &str) -> Result<(), String> {
        self.world.stop().await;
        let stopped = self.handle.stop_because(reason).await;
        let _ = self.pump.await;
        stopped.map_err(|e| e.to_string())
    }
}
