//! One drill running in the service: the core's drill engine fed the supervisor's
//! snapshots, its effects carried out through the fleet's world (faults, heals, the
//! restore test) and the supervisor (automation), every transition journaled as a drill
//! notice, and the report written at the end, whatever the ending.

use super::report::Report;
use super::show;
use crate::core::drill::engine::{Drill, Effect, Input};
use crate::core::drill::plan::{self, Resolved};
use crate::core::drill::runbook::{Fault, Rollback, Runbook};
use crate::core::identity::Identity;
use crate::core::snapshot::Snapshot;
use crate::protocol::fault::FaultKind;
use crate::protocol::notice::Notice;
use crate::runtime::clock::Clock;
use crate::runtime::service::fanout::Latest;
use crate::runtime::service::world::World;
use crate::runtime::supervisor::Feed;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// What an operator may tell a running drill.
#[derive(Debug)]
pub enum DrillControl {
    Confirm,
    Abort(String),
    /// Guided: the next step.
    Step,
    /// Guided: no more holds.
    RunToEnd,
}

/// A running drill, as the service holds it.
pub struct DrillHandle {
    pub run: String,
    pub runbook: String,
    pub control: mpsc::Sender<DrillControl>,
    pub join: tokio::task::JoinHandle<()>,
}

/// What a drill needs from the service.
pub struct DrillEnv {
    pub world: Arc<dyn World>,
    pub feed: mpsc::Sender<Feed>,
    pub latest: watch::Receiver<Latest>,
    /// What every screen hears: the failover journal's steps are read from it.
    pub notices: tokio::sync::broadcast::Receiver<Notice>,
    pub clock: Clock,
    pub state_dir: PathBuf,
    pub by: Identity,
    /// Replaces the supervisor's process (a daemon's only: a console or a CLI command
    /// that supervises cannot start itself again): the supervisor-kill fault.
    pub restart: Option<fn() -> std::io::Error>,
}

/// The plan, checked: its text, and whether the drill may start.
pub struct Checked {
    pub targets: Resolved,
    pub text: String,
    pub ready: bool,
}

/// Resolves the targets, checks the blast radius and the preconditions on `snap`.
pub fn check(runbook: &Runbook, snap: &Snapshot) -> Result<Checked, String> {
    let targets =
        plan::resolve(runbook, snap).map_err(|e| format!("drill {} refused: {e}", runbook.name))?;
    let pre = Drill::preconditions(runbook, &targets, snap);
    let ready = pre.iter().all(|(_, v)| v.ok);
    Ok(Checked {
        text: show::plan(runbook, &targets, &pre),
        targets,
        ready,
    })
}

/// Starts `runbook` on checked targets; the drill runs until it has rolled back.
pub fn start(runbook: Runbook, targets: Resolved, yes: bool, env: DrillEnv) -> DrillHandle {
    spawn(Drill::new(runbook, targets), yes, env)
}

/// Starts `runbook` guided: it holds before each step until [`DrillControl::Step`].
pub fn start_guided(runbook: Runbook, targets: Resolved, env: DrillEnv) -> DrillHandle {
    spawn(Drill::new(runbook, targets).stepping(), false, env)
}

fn spawn(drill: Drill, yes: bool, env: DrillEnv) -> DrillHandle {
    let name = drill.runbook().name.clone();
    let started = env.clock.now();
    let stamp = crate::core::time::rfc3339(started).replace([':', '.'], "");
    let run = format!("{}-{}", stamp.trim_end_matches('Z'), name);
    let task = Task {
        run,
        drill,
        env,
        yes,
        progress: Default::default(),
        injected: Vec::new(),
        reported: Vec::new(),
        scratch: None,
        corrupted: Vec::new(),
        nas_lost: false,
        started,
    };
    task.launch(Vec::new(), None)
}

/// Goes on with a drill whose supervisor-kill step replaced the previous supervisor,
/// from its in-flight record. A runbook changed in the meantime is not resumed: the
/// run is then rolled back as interrupted (the error says why).
pub fn resume(r: &Report, runbook: Runbook, mut env: DrillEnv) -> Result<DrillHandle, String> {
    let saved = r
        .resume
        .clone()
        .ok_or_else(|| format!("drill {} has nothing to resume", r.run))?;
    if runbook.hash != r.hash {
        return Err(format!(
            "runbook {} changed while the supervisor restarted (hash {} then, {} now)",
            r.runbook, r.hash, runbook.hash
        ));
    }
    env.by = saved.by;
    let now = env.clock.now();
    let (drill, effects) = saved.engine.resume(runbook, now);
    let mut progress = super::progress::Progress::default();
    // What was said before the restart is not said again.
    let _ = progress.news(&drill);
    let reported = drill.steps.iter().map(|s| (true, s.ok.is_some())).collect();
    let task = Task {
        run: r.run.clone(),
        drill,
        env,
        yes: saved.yes,
        progress,
        injected: r.injected.clone(),
        reported,
        scratch: r.scratch.clone(),
        corrupted: r.corrupted.clone(),
        nas_lost: r.nas_lost,
        started: crate::core::time::Ts(r.started_ms),
    };
    let said = r
        .steps
        .iter()
        .rev()
        .find(|s| s.kind == "inject")
        .map(|s| s.output.clone())
        .unwrap_or_default();
    Ok(task.launch(effects, Some(said)))
}

struct Task {
    run: String,
    drill: Drill,
    env: DrillEnv,
    /// Manual steps are confirmed (`--yes`).
    yes: bool,
    /// The faults made, for clear-faults.
    injected: Vec<super::report::Injected>,
    /// Per step: (started said, ended said).
    reported: Vec<(bool, bool)>,
    /// Where the restore test put its copy (host, path).
    scratch: Option<(String, String)>,
    /// Jobs one of whose stored copies was corrupted, for clear-faults.
    corrupted: Vec<String>,
    /// Whether the NAS was taken away, for clear-faults.
    nas_lost: bool,
    started: crate::core::time::Ts,
    progress: super::progress::Progress,
}

impl Task {
    /// Runs the drill in its own task; `resumed` says what the previous supervisor's
    /// kill step did, for a drill that goes on after it.
    fn launch(mut self, effects: Vec<Effect>, resumed: Option<String>) -> DrillHandle {
        let (control, rx) = mpsc::channel(8);
        let run = self.run.clone();
        let runbook = self.drill.runbook().name.clone();
        let join = tokio::spawn(async move {
            self.go(rx, effects, resumed).await;
        });
        DrillHandle {
            run,
            runbook,
            control,
            join,
        }
    }

    async fn say(&self, what: &'static str, detail: String) {
        let n = Notice::Drill {
            ts: self.env.clock.now(),
            run: self.run.clone(),
            runbook: self.drill.runbook().name.clone(),
            what: Cow::Borrowed(what),
            detail,
        };
        let _ = self.env.feed.send(Feed::Notice(n)).await;
    }

    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.env.latest.borrow().snapshot.clone()
    }

    async fn go(
        &mut self,
        mut control: mpsc::Receiver<DrillControl>,
        first: Vec<Effect>,
        resumed: Option<String>,
    ) {
        let started = self.started;
        let yes = self.yes;
        let jobs: Vec<String> = self
            .drill
            .targets
            .jobs
            .iter()
            .map(|j| j.to_string())
            .collect();
        let hosts: Vec<String> = self
            .drill
            .targets
            .hosts
            .iter()
            .map(|h| h.to_string())
            .collect();
        match resumed {
            Some(said) => {
                self.say(
                    "resumed",
                    format!(
                        "this supervisor (pid {}) goes on with the run: {said}",
                        std::process::id()
                    ),
                )
                .await
            }
            None => {
                self.say(
                    "started",
                    format!(
                        "{} runs it: jobs {}; hosts {}",
                        self.env.by.name,
                        jobs.join(", "),
                        hosts.join(", ")
                    ),
                )
                .await
            }
        }
        let flag = self.env.world.drill_flag();
        if let Some(f) = &flag {
            f.set(Some(self.drill.runbook().name.clone()));
        }
        let mut latest = self.env.latest.clone();
        let mut effects: VecDeque<Effect> = first.into();
        let mut hearing = true;
        if let Some(s) = self.snapshot() {
            effects.extend(self.drill.on(Input::Snapshot(&s), s.now));
        }
        self.keep();
        loop {
            self.report_steps().await;
            while let Some(e) = effects.pop_front() {
                let now = self.env.clock.now();
                let next = match e {
                    Effect::Ask { prompt } if yes => {
                        self.say("waiting", format!("{prompt} (confirmed by --yes)"))
                            .await;
                        self.drill.on(Input::Confirm, now)
                    }
                    Effect::Ask { prompt } => {
                        self.say("waiting", prompt).await;
                        Vec::new()
                    }
                    other => {
                        let result = self.carry_out(other).await;
                        let now = self.env.clock.now();
                        self.drill.on(Input::Done(result), now)
                    }
                };
                effects.extend(next);
                self.report_steps().await;
                self.keep();
            }
            if self.drill.finished() {
                break;
            }
            tokio::select! {
                changed = latest.changed() => {
                    if changed.is_err() {
                        let now = self.env.clock.now();
                        effects.extend(self.drill.on(Input::Abort("the supervisor stopped".into()), now));
                        continue;
                    }
                    let snap = latest.borrow_and_update().snapshot.clone();
                    if let Some(s) = snap {
                        effects.extend(self.drill.on(Input::Snapshot(&s), s.now));
                    }
                }
                heard = self.env.notices.recv(), if hearing => {
                    // A lagging receiver only loses phases of the report, never a decision.
                    match heard {
                        Ok(Notice::Core(e)) => {
                            let now = self.env.clock.now();
                            effects.extend(self.drill.on(Input::Event(&e), now));
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => hearing = false,
                        _ => {}
                    }
                }
                c = control.recv() => {
                    let now = self.env.clock.now();
                    match c {
                        Some(DrillControl::Confirm) => effects.extend(self.drill.on(Input::Confirm, now)),
                        Some(DrillControl::Step) => effects.extend(self.drill.on(Input::Step, now)),
                        Some(DrillControl::RunToEnd) => effects.extend(self.drill.on(Input::RunToEnd, now)),
                        Some(DrillControl::Abort(why)) => effects.extend(self.drill.on(Input::Abort(why), now)),
                        None => effects.extend(self.drill.on(Input::Abort("the service stopped".into()), now)),
                    }
                }
            }
        }
        if let Some(f) = &flag {
            f.set(None);
        }
        // The failover journal's last word may still be queued behind the snapshot that
        // ended the run: it belongs in the report.
        while let Ok(n) = self.env.notices.try_recv() {
            if let Notice::Core(e) = n {
                let now = self.env.clock.now();
                self.drill.on(Input::Event(&e), now);
            }
        }
        let ended = self.env.clock.now();
        let mut report = Report::of(&self.run, &self.drill, &self.env.by.name, started, ended);
        report.injected = self.injected.clone();
        report.scratch = self.scratch.clone();
        report.corrupted = self.corrupted.clone();
        report.nas_lost = self.nas_lost;
        let at = match report.write(&self.env.state_dir) {
            Ok(dir) => format!("; report in {}", dir.display()),
            Err(e) => format!("; the report could not be written: {e}"),
        };
        self.say(
            "finished",
            format!("{}: {}{at}", report.status.as_str(), report.why),
        )
        .await;
    }

    /// The run as it stands, in `inflight.json` (for a supervisor that restarts under it).
    fn keep(&self) {
        let r = self.inflight(&self.drill);
        if let Err(e) = r.write_inflight(&self.env.state_dir) {
            tracing::warn!("drill {}: cannot keep its in-flight record: {e}", self.run);
        }
    }

    /// The in-flight record of `drill` (this run's engine, or one a step ahead of it).
    fn inflight(&self, drill: &Drill) -> Report {
        let mut r = Report::of(
            &self.run,
            drill,
            &self.env.by.name,
            self.started,
            self.env.clock.now(),
        );
        r.status = crate::core::drill::engine::Status::Interrupted;
        r.injected = self.injected.clone();
        r.scratch = self.scratch.clone();
        r.corrupted = self.corrupted.clone();
        r.nas_lost = self.nas_lost;
        r
    }

    /// Says each step's start and end once.
    async fn report_steps(&mut self) {
        let steps = self.drill.steps.clone();
        for (i, s) in steps.iter().enumerate() {
            if self.reported.len() <= i {
                self.reported.push((false, false));
            }
            if !self.reported[i].0 {
                self.reported[i].0 = true;
                self.say(
                    "step_started",
                    format!("{}. [{}] {}", i + 1, s.kind, s.title),
                )
                .await;
            }
            if let (Some(ok), false) = (s.ok, self.reported[i].1) {
                self.reported[i].1 = true;
                let what = if ok { "step_passed" } else { "step_failed" };
                self.say(
                    what,
                    format!("{}. {}: {}", i + 1, s.title, s.output.replace('\n', "; ")),
                )
                .await;
            }
        }
        for (what, detail) in self.progress.news(&self.drill) {
            self.say(what, detail).await;
        }
    }

    async fn carry_out(&mut self, e: Effect) -> Result<String, String> {
        let snap = self.snapshot().ok_or("no snapshot of the fleet yet")?;
        match e {
            Effect::Show { what } => Ok(show::diagnose(what, &snap, &self.drill.targets)),
            Effect::Inject { fault, duration_s } => self.inject(fault, duration_s, &snap).await,
            Effect::RestoreToScratch => self.restore_test(&snap).await,
            Effect::Rollback { action } => self.rollback(action).await,
            Effect::Ask { .. } => Ok(String::new()),
        }
    }

    async fn inject(
        &mut self,
        fault: Fault,
        duration_s: u64,
        snap: &Snapshot,
    ) -> Result<String, String> {
        use super::report::Injected;
        let until = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() + duration_s);
        let on_jobs = |kind: FaultKind| -> Vec<Injected> {
            self.drill
                .targets
                .jobs
                .iter()
                .filter_map(|id| snap.jobs.iter().find(|j| &j.id == id))
                .map(|j| Injected {
                    fault: kind,
                    host: j.placement.host.to_string(),
                    job: Some(j.id.to_string()),
                    until,
                })
                .collect()
        };
        let on_hosts = |kind: FaultKind| -> Vec<Injected> {
            self.drill
                .targets
                .hosts
                .iter()
                .map(|h| Injected {
                    fault: kind,
                    host: h.to_string(),
                    job: None,
                    until,
                })
                .collect()
        };
        let aims = match fault {
            Fault::JobCrash => on_jobs(FaultKind::JobCrash),
            Fault::JobHang => on_jobs(FaultKind::JobHang),
            Fault::GpuLost => on_jobs(FaultKind::GpuLost),
            Fault::HostHang | Fault::Partition => on_hosts(FaultKind::HostHung),
            Fault::HostDown => on_hosts(FaultKind::HostUnreachable),
            Fault::SpotPreemption => on_hosts(FaultKind::SpotPreemption),
            Fault::CorruptCopy => return self.corrupt().await,
            Fault::NasLost => return self.take_nas(duration_s).await,
            // The job's site goes: the NAS beside it (where there is one), then every
            // host of the job; what comes back comes from the stores left (S3).
            Fault::FleetLoss => {
                let hosts = on_hosts(FaultKind::HostUnreachable);
                let nas = match self.env.world.drill_has_nas() {
                    true => self.take_nas(duration_s).await?,
                    false => "no NAS store is configured: only the hosts go".into(),
                };
                let hosts = self.cut_hosts(fault, hosts, duration_s).await?;
                return Ok(format!("{nas}; {hosts}"));
            }
            Fault::SupervisorKill => return self.kill_supervisor(snap).await,
        };
        self.cut_hosts(fault, aims, duration_s).await
    }

    /// Makes each of `aims` on its host, recording each before the next.
    async fn cut_hosts(
        &mut self,
        fault: Fault,
        aims: Vec<super::report::Injected>,
        duration_s: u64,
    ) -> Result<String, String> {
        if aims.is_empty() {
            return Err(format!("{} has no target", fault.as_str()));
        }
        let duration = std::time::Duration::from_secs(duration_s);
        let mut said = Vec::new();
        for aim in aims {
            let done = self
                .env
                .world
                .drill_fault(aim.fault, &aim.host, aim.job.as_deref(), duration)
                .await?;
            said.push(done);
            // Kept before the next one: a crash now still undoes what was made.
            self.injected.push(aim);
        }
        let detail = format!(
            "{} on {} (undone after {duration_s}s at the latest)",
            fault.as_str(),
            self.injected
                .iter()
                .map(|i| i.job.clone().unwrap_or_else(|| i.host.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.say("injected", detail).await;
        Ok(said.join("; "))
    }

    /// Takes the NAS away for `duration_s` (its dead-man gives it back).
    async fn take_nas(&mut self, duration_s: u64) -> Result<String, String> {
        // Recorded first: a crash in the middle still gives it back at the next start.
        self.nas_lost = true;
        self.keep();
        let said = self
            .env
            .world
            .drill_nas_lost(std::time::Duration::from_secs(duration_s))
            .await?;
        self.say("injected", format!("nas-lost: {said}")).await;
        Ok(said)
    }

    /// Replaces the supervisor's process in the middle of the target jobs' failover. The
    /// engine is kept as it stands once this step has passed, so the next supervisor
    /// goes on with the run (and measures the failover it finishes) instead of rolling
    /// it back. Returns only if the process could not be replaced.
    async fn kill_supervisor(&mut self, snap: &Snapshot) -> Result<String, String> {
        let Some(restart) = self.env.restart else {
            return Err("this supervisor runs inside a console or a CLI command, which cannot start itself again: run the drill against a daemon (lifeboat daemon …, then lifeboat drill run NAME)".into());
        };
        let under_way: Vec<String> = self
            .drill
            .targets
            .jobs
            .iter()
            .filter_map(|id| snap.jobs.iter().find(|j| &j.id == id))
            .map(|j| match j.step {
                Some(k) => format!(
                    "{} was {} ({} under way)",
                    j.id,
                    j.state.as_str(),
                    k.as_str()
                ),
                None => format!("{} was {}", j.id, j.state.as_str()),
            })
            .collect();
        let said = format!(
            "the supervisor (pid {}) was replaced without shutting down, as a kill -9 and a restart would: {}",
            std::process::id(),
            under_way.join("; ")
        );
        let mut after = self.drill.clone();
        let _ = after.on(Input::Done(Ok(said.clone())), self.env.clock.now());
        let mut r = self.inflight(&after);
        r.resume = Some(super::report::Resume {
            engine: after,
            by: self.env.by.clone(),
            yes: self.yes,
        });
        r.write_inflight(&self.env.state_dir).map_err(|e| {
            format!("cannot keep the run for the next supervisor, so nothing was killed: {e}")
        })?;
        tracing::warn!("drill {}: {said}", self.run);
        let e = restart();
        // Still here: the process was not replaced. The run goes on as it was.
        self.keep();
        Err(format!(
            "the supervisor could not be replaced ({e}); nothing was killed"
        ))
    }

    /// One byte flipped in one stored copy of each target job's newest checkpoint.
    async fn corrupt(&mut self) -> Result<String, String> {
        let mut said = Vec::new();
        for job in self.drill.targets.jobs.clone() {
            // Recorded first: a crash in the middle still mends it at the next start.
            self.corrupted.push(job.to_string());
            self.keep();
            said.push(self.env.world.drill_corrupt(job.as_str()).await?);
        }
        if said.is_empty() {
            return Err("corrupt-copy has no target job".into());
        }
        self.say("injected", format!("corrupt-copy: {}", said.join("; ")))
            .await;
        Ok(said.join("; "))
    }

    async fn restore_test(&mut self, snap: &Snapshot) -> Result<String, String> {
        let job = self.drill.targets.jobs.first().ok_or("no target job")?;
        let view = snap
            .jobs
            .iter()
            .find(|j| &j.id == job)
            .ok_or("the job left the fleet")?;
        let host = view
            .standbys
            .first()
            .map(|t| t.host.to_string())
            .ok_or_else(|| format!("{job} has no standby to restore onto"))?;
        let path = format!(
            "{}{}",
            crate::runtime::drill_faults::SCRATCH_PREFIX,
            self.run
        );
        let t0 = std::time::Instant::now();
        self.scratch = Some((host.clone(), path.clone()));
        // Recorded before a byte moves: a crash now still removes it at the next start.
        self.keep();
        let done = self
            .env
            .world
            .restore(job.as_str(), None, &host, Some(&path))
            .await?;
        Ok(format!(
            "{done} on {host} in {:.1}s",
            t0.elapsed().as_secs_f64()
        ))
    }

    async fn rollback(&mut self, action: Rollback) -> Result<String, String> {
        let undo = super::rollback::Undo {
            injected: &self.injected,
            scratch: self.scratch.as_ref(),
            corrupted: &self.corrupted,
            nas_lost: self.nas_lost,
            world: self.env.world.as_ref(),
            feed: &self.env.feed,
            by: &self.env.by,
        };
        let r = undo.run(action).await;
        let said = match &r {
            Ok(d) => d.clone(),
            Err(e) => format!("FAILED: {e}"),
        };
        self.say("rollback", format!("{}: {said}", action.as_str()))
            .await;
        r
    }
}
