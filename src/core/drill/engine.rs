//! One drill run as a state machine: fed snapshots, the results of the effects it asked
//! for, the operator's confirmations and aborts; it answers with effects (show, inject,
//! ask, roll back) for the runtime to carry out and journal. Stop conditions are judged on
//! every snapshot; rollbacks run whatever the ending. Pure: time comes from the snapshots.

use super::plan::Resolved;
use super::probe::{self, AtFault, Context, Verdict};
use super::runbook::{Diagnose, Fault, Probe, Rollback, Runbook, StepAction, StopCondition};
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[path = "engine_step.rs"]
mod step;

/// How a run ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Aborted,
    /// The supervisor stopped under it; its rollbacks ran at the next start.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
            Status::Interrupted => "interrupted",
        }
    }
}

/// What the runtime is asked to do; it answers with [`Input::Done`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    Show {
        what: Diagnose,
    },
    Inject {
        fault: Fault,
        duration_s: u64,
    },
    /// A manual step: answered by [`Input::Confirm`] (or an abort).
    Ask {
        prompt: String,
    },
    /// The restore test: restore the newest checkpoint to scratch and verify it there.
    RestoreToScratch,
    Rollback {
        action: Rollback,
    },
}

#[derive(Clone, Debug)]
pub enum Input<'a> {
    Snapshot(&'a Snapshot),
    /// An event of the core's journal (the failover's steps, as it times them).
    Event(&'a crate::core::event::Event),
    Done(Result<String, String>),
    Confirm,
    Abort(String),
    /// Guided: run the next step (or confirm the manual step that waits).
    Step,
    /// Guided: stop holding before each step; run the rest as a headless run would.
    RunToEnd,
}

/// One step as it went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub title: String,
    pub kind: String,
    pub started: Ts,
    pub ended: Option<Ts>,
    pub ok: Option<bool>,
    pub output: String,
}

/// What the drill measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    pub injected_at: Option<Ts>,
    /// The injection RTO and RPO count from: the last one made before the job came back
    /// (a runbook that first takes a store away and then crashes the job measures the
    /// recovery from the crash, and detection from the first fault).
    #[serde(default)]
    pub struck_at: Option<Ts>,
    pub detection_s: Option<f64>,
    pub rto_s: Option<f64>,
    /// The job's step at the fault, and the newest verified checkpoint's step when it
    /// ran again (what the failover restores).
    pub step_at_fault: Option<u64>,
    pub restored_step: Option<u64>,
    pub rpo_steps: Option<u64>,
    pub rpo_s: Option<f64>,
    /// The failover's phases from its journal (what the RTO is made of), in order.
    #[serde(default)]
    pub phases: Vec<PhaseTime>,
    /// What the failover's stage step moved (restored from a store, or found in place)
    /// and how long it took.
    #[serde(default)]
    pub restore_bytes: Option<u64>,
    #[serde(default)]
    pub restore_s: Option<f64>,
    /// The store it came from; none when the checkpoint was already in place.
    #[serde(default)]
    pub restore_from: Option<String>,
}

/// One phase of the failover the drill caused (detect, fence, stage, launch …), as the
/// failover journal timed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseTime {
    pub step: String,
    pub ms: u64,
}

/// The target job as one snapshot showed it: for the report's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub at: Ts,
    pub step: Option<u64>,
    pub state: String,
}

/// Samples kept at most; past it every other one is dropped (the shape stays).
const SAMPLES: usize = 2000;

/// An expectation against its measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub what: String,
    pub limit: f64,
    pub measured: Option<f64>,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Phase {
    Steps(usize),
    Rollback(usize),
    Done,
}

/// One run of a runbook. It reads back from JSON without its runbook (a drill that
/// killed its own supervisor goes on in the next one: see [`Drill::resume`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drill {
    pub targets: Resolved,
    pub steps: Vec<StepResult>,
    pub rollbacks: Vec<(String, Result<String, String>)>,
    pub stops: Vec<(String, Verdict)>,
    pub measures: Measures,
    pub status: Option<Status>,
    pub why: String,
    /// The first target job's step and state across the run (on change, else each 1 s).
    pub timeline: Vec<Sample>,
    at_fault: Option<AtFault>,
    /// The fleet as last seen before the injection: what the fault struck.
    before: Option<AtFault>,
    /// The fleet as last seen: what a later fault strikes.
    #[serde(skip)]
    latest: Option<AtFault>,
    detected: Option<Ts>,
    restore: Option<Result<String, String>>,
    /// Each target job's failover stage step as it ended since injection.
    #[serde(default)]
    staged: std::collections::BTreeMap<crate::core::ids::JobId, String>,
    phase: Phase,
    /// An effect is out; nothing else starts until its answer.
    waiting: bool,
    /// Guided: hold before each step until the operator says [`Input::Step`].
    stepping: bool,
    /// One step may begin (the operator said so while it held).
    released: bool,
    #[serde(skip)]
    runbook: Runbook,
}

impl Drill {
    pub fn new(runbook: Runbook, targets: Resolved) -> Drill {
        Drill {
            targets,
            steps: Vec::new(),
            rollbacks: Vec::new(),
            stops: Vec::new(),
            measures: Measures::default(),
            status: None,
            why: String::new(),
            timeline: Vec::new(),
            at_fault: None,
            before: None,
            latest: None,
            detected: None,
            restore: None,
            staged: Default::default(),
            phase: Phase::Steps(0),
            waiting: false,
            stepping: false,
            released: false,
            runbook,
        }
    }

    /// A drill read back from an in-flight record, given its runbook again. An effect it
    /// was waiting on when the supervisor went is not waited on in the next one: a
    /// manual step is asked again; any other fails (nobody knows how it ended).
    pub fn resume(mut self, runbook: Runbook, now: Ts) -> (Drill, Vec<Effect>) {
        self.runbook = runbook;
        if !self.waiting {
            return (self, Vec::new());
        }
        let effects = match self.phase.clone() {
            Phase::Steps(i) => match self.rb().steps.get(i).map(|s| s.action.clone()) {
                Some(StepAction::Manual { prompt }) => vec![Effect::Ask { prompt }],
                _ => {
                    self.waiting = false;
                    self.end_step(
                        i,
                        false,
                        "the supervisor restarted while the step ran".into(),
                        now,
                    );
                    self.fail(format!("step {} was cut short by a restart", i + 1), now)
                }
            },
            Phase::Rollback(i) => match self.rb().rollbacks.get(i).copied() {
                Some(action) => vec![Effect::Rollback { action }],
                None => Vec::new(),
            },
            Phase::Done => Vec::new(),
        };
        (self, effects)
    }

    fn rb(&self) -> &Runbook {
        &self.runbook
    }

    pub fn finished(&self) -> bool {
        self.phase == Phase::Done
    }

    fn cx(&self, snap: &Snapshot) -> Context<'_> {
        Context {
            targets: &self.targets,
            at_fault: self.at_fault.as_ref(),
            detected: self.detected,
            restore: self.restore.as_ref(),
            staged: Some(&self.staged),
            caps: snap.caps,
        }
    }

    /// Preconditions judged on `snap`: each with its verdict.
    pub fn preconditions(
        runbook: &Runbook,
        targets: &Resolved,
        snap: &Snapshot,
    ) -> Vec<(Probe, Verdict)> {
        let cx = Context {
            targets,
            at_fault: None,
            detected: None,
            restore: None,
            staged: None,
            caps: snap.caps,
        };
        runbook
            .preconditions
            .iter()
            .map(|p| (p.clone(), probe::evaluate(p, snap, &cx)))
            .collect()
    }

    /// Feeds one input; returns what to do next.
    pub fn on(&mut self, input: Input<'_>, now: Ts) -> Vec<Effect> {
        match input {
            Input::Snapshot(snap) => {
                self.sample(snap);
                self.measure(snap);
                if matches!(self.phase, Phase::Steps(_)) {
                    if let Some(why) = self.stop_fired(snap) {
                        return self.abort(format!("stop condition: {why}"), snap.now);
                    }
                }
                if self.waiting {
                    return Vec::new();
                }
                self.advance(Some(snap), snap.now)
            }
            Input::Done(result) => {
                self.waiting = false;
                match self.phase.clone() {
                    Phase::Steps(i) => {
                        if let Some(StepAction::Inject { fault, .. }) =
                            self.rb().steps.get(i).map(|s| &s.action)
                        {
                            let fault = *fault;
                            if result.is_ok() && self.measures.injected_at.is_none() {
                                self.measures.injected_at = Some(now);
                                self.measures.struck_at = Some(now);
                                if let Some(mut a) = self.before.take() {
                                    a.at = now;
                                    self.measures.step_at_fault = a.steps.values().copied().max();
                                    self.at_fault = Some(a);
                                }
                            } else if result.is_ok()
                                && fault.strikes_jobs()
                                && self.measures.rto_s.is_none()
                            {
                                // A later fault: the recovery is measured from it.
                                self.measures.struck_at = Some(now);
                                if let Some(mut a) = self.latest.take() {
                                    a.at = now;
                                    self.measures.step_at_fault = a.steps.values().copied().max();
                                    self.at_fault = Some(a);
                                }
                            }
                        }
                        if let Some(StepAction::Verify {
                            check: Probe::RestoreVerified,
                        }) = self.rb().steps.get(i).map(|s| &s.action)
                        {
                            self.restore = Some(result.clone());
                            return Vec::new();
                        }
                        let ok = result.is_ok();
                        self.end_step(i, ok, result.unwrap_or_else(|e| e), now);
                        if ok {
                            self.phase = Phase::Steps(i + 1);
                            self.advance(None, now)
                        } else {
                            self.fail(format!("step {} failed", i + 1), now)
                        }
                    }
                    Phase::Rollback(i) => {
                        let name = self
                            .rb()
                            .rollbacks
                            .get(i)
                            .map_or("", |r| r.as_str())
                            .to_string();
                        self.rollbacks.push((name, result));
                        self.phase = Phase::Rollback(i + 1);
                        self.advance(None, now)
                    }
                    Phase::Done => Vec::new(),
                }
            }
            Input::Confirm => match self.phase {
                Phase::Steps(i) if self.waiting => {
                    self.waiting = false;
                    self.end_step(i, true, "confirmed".into(), now);
                    self.phase = Phase::Steps(i + 1);
                    self.advance(None, now)
                }
                _ => Vec::new(),
            },
            Input::Abort(why) => self.abort(why, now),
            Input::Event(e) => {
                self.failover_event(e);
                Vec::new()
            }
            Input::Step => self.step(now),
            Input::RunToEnd => self.run_to_end(now),
        }
    }

    fn sample(&mut self, snap: &Snapshot) {
        if self.phase == Phase::Done {
            return;
        }
        let Some(j) = self
            .targets
            .jobs
            .first()
            .and_then(|id| snap.jobs.iter().find(|j| &j.id == id))
        else {
            return;
        };
        let s = Sample {
            at: snap.now,
            step: j.last_step,
            state: j.state.as_str().to_string(),
        };
        let due = self.timeline.last().is_none_or(|l| {
            l.step != s.step || l.state != s.state || s.at.since(l.at) >= Duration::from_secs(1)
        });
        if due {
            self.timeline.push(s);
            if self.timeline.len() > SAMPLES {
                let kept = std::mem::take(&mut self.timeline);
                self.timeline = kept.into_iter().step_by(2).collect();
            }
        }
    }

    /// Before the injection, keeps the picture the fault will strike; after, measures.
    fn measure(&mut self, snap: &Snapshot) {
        let Some(injected) = self.measures.injected_at else {
            self.before = Some(AtFault::take(snap, &self.targets));
            return;
        };
        if self.at_fault.is_none() {
            let mut a = AtFault::take(snap, &self.targets);
            a.at = injected;
            self.measures.step_at_fault = a.steps.values().copied().max();
            self.at_fault = Some(a);
        }
        if self.measures.rto_s.is_none() {
            self.latest = Some(AtFault::take(snap, &self.targets));
        }
        let struck = self.measures.struck_at.unwrap_or(injected);
        if self.detected.is_none() && probe::noticed(snap, &self.targets, injected) {
            self.detected = Some(snap.now);
            self.measures.detection_s = Some(snap.now.since(injected).as_secs_f64());
        }
        let Some(a) = &self.at_fault else { return };
        // What the struck run reached counts as the step at the fault: its last
        // heartbeat may land after the injection.
        if self.measures.rto_s.is_none() {
            let reached = snap
                .jobs
                .iter()
                .filter(|j| a.jobs.get(&j.id).is_some_and(|(_, e)| j.epoch.0 == *e))
                .filter(|j| self.targets.jobs.contains(&j.id))
                .filter_map(|j| j.last_step)
                .max();
            if reached > self.measures.step_at_fault {
                self.measures.step_at_fault = reached;
            }
        }
        if self.detected.is_some() && self.measures.rto_s.is_none() {
            let back = self.targets.jobs.iter().all(|id| {
                snap.jobs.iter().any(|j| {
                    &j.id == id
                        && probe::steady(j.state)
                        && a.jobs.get(id).is_some_and(|(_, e)| j.epoch.0 > *e)
                })
            });
            if back && !self.targets.jobs.is_empty() {
                self.measures.rto_s = Some(snap.now.since(struck).as_secs_f64());
                let restored = self
                    .targets
                    .jobs
                    .iter()
                    .filter_map(|id| snap.jobs.iter().find(|j| &j.id == id))
                    .filter_map(|j| j.newest_verified.as_ref())
                    .min_by_key(|c| c.step);
                if let Some(c) = restored {
                    self.measures.restored_step = Some(c.step);
                    self.measures.rpo_steps = self
                        .measures
                        .step_at_fault
                        .map(|s| s.saturating_sub(c.step));
                    self.measures.rpo_s = Some(struck.since(c.created).as_secs_f64());
                }
            }
        }
    }

    /// The failover journal's word on a target job since the injection: each stage step
    /// says where the checkpoint came from (the first target's also its size and time),
    /// and the first target's first finished failover gives the RTO's phases as it timed
    /// them. Heard even once the run is over: the journal's word may come after the
    /// snapshot that ended it.
    fn failover_event(&mut self, e: &crate::core::event::Event) {
        use crate::core::event::EventKind;
        use crate::core::recovery::StepKind;
        if self.measures.injected_at.is_none() {
            return;
        }
        let first = self.targets.jobs.first();
        match &e.kind {
            EventKind::FailoverStep {
                job,
                step,
                ms,
                ok: true,
                detail,
                ..
            } if step == StepKind::Stage.as_str() && self.targets.jobs.contains(job) => {
                self.staged.insert(job.clone(), detail.clone());
                if first == Some(job) && self.measures.restore_s.is_none() {
                    self.measures.restore_bytes = crate::core::steps::staged_bytes(detail);
                    self.measures.restore_s = Some(*ms as f64 / 1000.0);
                    self.measures.restore_from =
                        crate::core::steps::staged_from(detail).map(str::to_string);
                }
            }
            EventKind::FailoverFinished {
                job,
                ok: true,
                breakdown,
                ..
            } if first == Some(job) && self.measures.phases.is_empty() => {
                self.measures.phases = breakdown
                    .iter()
                    .map(|(step, ms)| PhaseTime {
                        step: step.clone(),
                        ms: *ms,
                    })
                    .collect();
            }
            _ => {}
        }
    }

    fn stop_fired(&mut self, snap: &Snapshot) -> Option<String> {
        let conditions = self.rb().stop_conditions.clone();
        for c in conditions {
            let v = self.judge_stop(&c, snap);
            let fired = !v.ok;
            let name = stop_name(&c);
            match self.stops.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = v.clone(),
                None => self.stops.push((name.clone(), v.clone())),
            }
            if fired {
                return Some(format!("{name}: {}", v.why));
            }
        }
        None
    }

    /// `ok` means the condition holds back (the drill may go on).
    fn judge_stop(&self, c: &StopCondition, snap: &Snapshot) -> Verdict {
        match c {
            StopCondition::OtherJobInterrupted => {
                let hit = snap
                    .jobs
                    .iter()
                    .find(|j| !self.targets.jobs.contains(&j.id) && !probe::steady(j.state));
                match hit {
                    Some(j) => Verdict {
                        ok: false,
                        why: format!("{} is {}", j.id, j.state.as_str()),
                    },
                    None => Verdict {
                        ok: true,
                        why: "every other job runs".into(),
                    },
                }
            }
            StopCondition::OtherHostFailed => {
                let hit = snap.hosts.iter().find(|h| {
                    !self.targets.hosts.contains(&h.id)
                        && h.reach == crate::core::detector::Reach::Failed
                });
                match hit {
                    Some(h) => Verdict {
                        ok: false,
                        why: format!("{} failed: {}", h.id, h.reason),
                    },
                    None => Verdict {
                        ok: true,
                        why: "no other host failed".into(),
                    },
                }
            }
            StopCondition::RtoExceeds { limit } => match self.measures.injected_at {
                Some(at) if self.measures.rto_s.is_none() && snap.now.since(at) > *limit => {
                    Verdict {
                        ok: false,
                        why: format!(
                            "{}s since injection, limit {}s",
                            snap.now.since(at).as_secs(),
                            limit.as_secs()
                        ),
                    }
                }
                _ => Verdict {
                    ok: true,
                    why: "within the limit".into(),
                },
            },
        }
    }

    fn end_step(&mut self, i: usize, ok: bool, output: String, now: Ts) {
        if let Some(s) = self.steps.get_mut(i) {
            s.ended = Some(now);
            s.ok = Some(ok);
            s.output = output;
        }
    }

    fn begin_step(&mut self, i: usize, now: Ts) {
        if self.steps.len() <= i {
            let step = &self.rb().steps[i];
            let r = StepResult {
                title: step.title.clone(),
                kind: step.action.kind().into(),
                started: now,
                ended: None,
                ok: None,
                output: String::new(),
            };
            self.steps.push(r);
        }
    }

    /// Moves on as far as it can without an answer from outside.
    fn advance(&mut self, snap: Option<&Snapshot>, now: Ts) -> Vec<Effect> {
        loop {
            match self.phase.clone() {
                Phase::Steps(i) if i >= self.rb().steps.len() => {
                    self.status.get_or_insert(Status::Passed);
                    self.phase = Phase::Rollback(0);
                }
                Phase::Steps(i) => {
                    if self.stepping && self.steps.len() <= i {
                        if !self.released {
                            return Vec::new();
                        }
                        self.released = false;
                    }
                    self.begin_step(i, now);
                    let action = self.rb().steps[i].action.clone();
                    let started = self.steps[i].started;
                    let effect = match action {
                        StepAction::Diagnose { show } => Effect::Show { what: show },
                        StepAction::Inject { fault, duration } => Effect::Inject {
                            fault,
                            duration_s: duration.as_secs(),
                        },
                        StepAction::Manual { prompt } => Effect::Ask { prompt },
                        StepAction::Verify {
                            check: Probe::RestoreVerified,
                        } if self.restore.is_none() => Effect::RestoreToScratch,
                        StepAction::Observe { until, deadline } => {
                            let Some(snap) = snap else { return Vec::new() };
                            let v = probe::evaluate(&until, snap, &self.cx(snap));
                            if v.ok {
                                self.end_step(i, true, v.why, now);
                                self.phase = Phase::Steps(i + 1);
                                continue;
                            }
                            if now.since(started) > deadline {
                                self.end_step(
                                    i,
                                    false,
                                    format!("not within {}s: {}", deadline.as_secs(), v.why),
                                    now,
                                );
                                return self
                                    .fail(format!("step {} ran past its deadline", i + 1), now);
                            }
                            return Vec::new();
                        }
                        StepAction::Verify { check } => {
                            let Some(snap) = snap else { return Vec::new() };
                            let v = probe::evaluate(&check, snap, &self.cx(snap));
                            self.end_step(i, v.ok, v.why, now);
                            if !v.ok {
                                return self.fail(format!("step {} did not verify", i + 1), now);
                            }
                            self.phase = Phase::Steps(i + 1);
                            continue;
                        }
                    };
                    self.waiting = true;
                    return vec![effect];
                }
                Phase::Rollback(i) => match self.rb().rollbacks.get(i).copied() {
                    Some(action) => {
                        self.waiting = true;
                        return vec![Effect::Rollback { action }];
                    }
                    None => {
                        self.phase = Phase::Done;
                        self.judge_expectations();
                        return Vec::new();
                    }
                },
                Phase::Done => return Vec::new(),
            }
        }
    }

    fn fail(&mut self, why: String, now: Ts) -> Vec<Effect> {
        self.end(Status::Failed, why, now)
    }

    fn abort(&mut self, why: String, now: Ts) -> Vec<Effect> {
        self.end(Status::Aborted, why, now)
    }

    fn end(&mut self, status: Status, why: String, now: Ts) -> Vec<Effect> {
        if !matches!(self.phase, Phase::Steps(_)) {
            return Vec::new();
        }
        if let Phase::Steps(i) = self.phase {
            if let Some(s) = self.steps.get_mut(i) {
                if s.ok.is_none() {
                    s.ended = Some(now);
                    s.ok = Some(false);
                    if s.output.is_empty() {
                        s.output = why.clone();
                    }
                }
            }
        }
        self.status = Some(status);
        self.why = why;
        self.waiting = false;
        self.phase = Phase::Rollback(0);
        self.advance(None, now)
    }

    /// Expectations judged once the run is over; a missed one fails a passing run.
    pub fn expectations(&self) -> Vec<Expectation> {
        let e = self.rb().expect;
        let m = &self.measures;
        let mut out = Vec::new();
        let mut push = |what: &str, limit: Option<f64>, measured: Option<f64>| {
            if let Some(limit) = limit {
                out.push(Expectation {
                    what: what.into(),
                    limit,
                    measured,
                    met: measured.is_some_and(|v| v <= limit),
                });
            }
        };
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        push("detection_s", secs(e.detection), m.detection_s);
        push("rto_s", secs(e.rto), m.rto_s);
        push(
            "rpo_steps",
            e.rpo_steps.map(|s| s as f64),
            m.rpo_steps.map(|s| s as f64),
        );
        push("rpo_s", secs(e.rpo), m.rpo_s);
        out
    }

    fn judge_expectations(&mut self) {
        if self.status == Some(Status::Passed) {
            if let Some(missed) = self.expectations().into_iter().find(|x| !x.met) {
                self.status = Some(Status::Failed);
                self.why = match missed.measured {
                    Some(v) => format!(
                        "expected {} ≤ {}, measured {v:.1}",
                        missed.what, missed.limit
                    ),
                    None => format!(
                        "expected {} ≤ {}, and it was never measured",
                        missed.what, missed.limit
                    ),
                };
            } else if self.why.is_empty() {
                self.why = "every step passed and every expectation was met".into();
            }
        }
    }

    pub fn runbook(&self) -> &Runbook {
        &self.runbook
    }
}

/// A stop condition's name as reports and screens show it.
pub fn stop_name(c: &StopCondition) -> String {
    match c {
        StopCondition::OtherJobInterrupted => "other-job-interrupted".into(),
        StopCondition::OtherHostFailed => "other-host-failed".into(),
        StopCondition::RtoExceeds { limit } => format!("rto-exceeds {}s", limit.as_secs()),
    }
}
