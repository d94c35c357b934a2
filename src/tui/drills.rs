//! The drills view's state: the catalogue and the plan the supervisor answered with, and
//! the run under way as its notices tell it (steps, clocks' instants, stop conditions,
//! rollbacks, the ending). Folded in purely; the console loop sends what it [`wants`].

use super::action::Request;
use crate::core::time::Ts;
use crate::protocol::drill::{Answer, DrillCatalogue, DrillEntry, DrillPlan};
use crate::protocol::notice::Notice;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrillsState {
    pub catalogue: Option<DrillCatalogue>,
    /// The plan last answered (the runbook asked for, checked on the fleet then).
    pub plan: Option<DrillPlan>,
    /// A start asked for: the typed-name dialog opens when this runbook's plan arrives.
    pub starting: Option<String>,
    /// The run under way, or the last one this console saw.
    pub live: Option<LiveRun>,
    /// What the console loop should ask the supervisor next (a fresh catalogue, a plan),
    /// oldest first, each once.
    pub want: Vec<Request>,
}

/// A drill run as its notices told it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveRun {
    pub run: String,
    pub runbook: String,
    /// "op runs it: jobs train; hosts a".
    pub who: String,
    pub started: Ts,
    pub steps: Vec<LiveStep>,
    pub injected: Option<(Ts, String)>,
    pub detected: Option<(Ts, String)>,
    pub recovered: Option<(Ts, String)>,
    /// Each stop condition: name, whether it holds, why.
    pub stops: Vec<(String, bool, String)>,
    pub rollbacks: Vec<String>,
    /// The target jobs (from the `started` notice).
    pub jobs: Vec<String>,
    /// The target jobs' recovery states after the injection: when, job, state entered.
    pub phases: Vec<(Ts, String, String)>,
    /// The target jobs' failover steps: step, how long (ms), whether it went well.
    pub failover: Vec<(String, u64, bool)>,
    /// Guided: the step it holds before ("3. [observe] …: wait until …").
    pub holding: Option<String>,
    /// A manual step's prompt, waiting for the operator.
    pub asking: Option<String>,
    /// When it ended, and the `finished` detail ("passed: …; report in …").
    pub finished: Option<(Ts, String)>,
}

impl LiveRun {
    pub fn running(&self) -> bool {
        self.finished.is_none()
    }

    /// "passed", "failed", "aborted", "interrupted", once finished.
    pub fn status(&self) -> Option<&str> {
        let (_, d) = self.finished.as_ref()?;
        Some(d.split(':').next().unwrap_or(d))
    }

    /// The newest instant its notices carry (clocks never run backwards from it).
    pub fn last_heard(&self) -> Ts {
        let mut t = self.started;
        for s in &self.steps {
            t = t.max(s.ended.unwrap_or(s.started));
        }
        for x in [
            &self.injected,
            &self.detected,
            &self.recovered,
            &self.finished,
        ]
        .into_iter()
        .flatten()
        {
            t = t.max(x.0);
        }
        t
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    Running,
    Passed,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LiveStep {
    /// "[inject] Kill the job's process".
    pub title: String,
    pub state: StepState,
    pub output: String,
    pub started: Ts,
    pub ended: Option<Ts>,
}

/// The jobs of a `started` detail ("alice runs it: jobs a, b; hosts x").
fn started_jobs(detail: &str) -> Vec<String> {
    let Some((_, rest)) = detail.split_once("jobs ") else {
        return Vec::new();
    };
    let list = rest.split(';').next().unwrap_or_default();
    list.split(", ")
        .map(str::trim)
        .filter(|j| !j.is_empty())
        .map(str::to_string)
        .collect()
}

/// `"4. rest"` → (3, "rest"): step details start with the step's number.
fn numbered(detail: &str) -> Option<(usize, &str)> {
    let (n, rest) = detail.split_once(". ")?;
    let n: usize = n.trim().parse().ok()?;
    Some((n.checked_sub(1)?, rest))
}

impl DrillsState {
    /// The runbooks whose name, title or scenario contains `filter`.
    pub fn rows(&self, filter: &str) -> Vec<&DrillEntry> {
        let f = filter.to_lowercase();
        self.catalogue
            .iter()
            .flat_map(|c| c.runbooks.iter())
            .filter(|r| {
                f.is_empty()
                    || [&r.name, &r.title, &r.scenario]
                        .iter()
                        .any(|h| h.to_lowercase().contains(&f))
            })
            .collect()
    }

    /// The run under way, if one is.
    pub fn running(&self) -> Option<&LiveRun> {
        self.live.as_ref().filter(|l| l.running())
    }

    /// The plan for `runbook`, if that is the one answered.
    pub fn plan_of(&self, runbook: &str) -> Option<&DrillPlan> {
        self.plan.as_ref().filter(|p| p.runbook == runbook)
    }

    /// A target job's recovery, once the fault is in: its phases and failover steps.
    fn recovery(&mut self, e: &crate::core::event::Event) {
        use crate::core::event::EventKind;
        let Some(l) = self
            .live
            .as_mut()
            .filter(|l| l.running() && l.injected.is_some())
        else {
            return;
        };
        match &e.kind {
            EventKind::RecoveryState { job, to, .. }
                if l.jobs.iter().any(|j| j == job.as_str()) =>
            {
                l.phases.push((e.ts, job.to_string(), to.clone()));
            }
            EventKind::FailoverStep {
                job, step, ms, ok, ..
            } if l.jobs.iter().any(|j| j == job.as_str()) => {
                l.failover.push((step.clone(), *ms, *ok));
            }
            _ => {}
        }
    }

    /// Asks `r` next, unless it is already asked.
    pub fn ask(&mut self, r: Request) {
        if !self.want.contains(&r) {
            self.want.push(r);
        }
    }

    /// Folds one answer in.
    pub fn answered(&mut self, answer: Answer) {
        match answer {
            Answer::Drills(c) => self.catalogue = Some(c),
            Answer::DrillPlan(p) => self.plan = Some(*p),
            // The console asks no volume questions.
            Answer::Volumes(_) => {}
        }
    }

    /// Folds a notice in: a drill's progress, or a target job's recovery (its phases).
    pub fn note(&mut self, n: &Notice) {
        if let Notice::Core(e) = n {
            self.recovery(e);
            return;
        }
        let Notice::Drill {
            ts,
            run,
            runbook,
            what,
            detail,
        } = n
        else {
            return;
        };
        if what == "started" {
            self.live = Some(LiveRun {
                run: run.clone(),
                runbook: runbook.clone(),
                who: detail.clone(),
                jobs: started_jobs(detail),
                started: *ts,
                ..LiveRun::default()
            });
            // Pending steps are drawn from the plan: ask for it when another screen started it.
            if self.plan_of(runbook).is_none() {
                self.ask(Request::DrillPlan {
                    name: runbook.clone(),
                });
            }
            return;
        }
        let Some(l) = self.live.as_mut().filter(|l| &l.run == run) else {
            return;
        };
        match what.as_ref() {
            "step_started" => {
                if let Some((i, title)) = numbered(detail) {
                    while l.steps.len() <= i {
                        l.steps.push(LiveStep {
                            title: String::new(),
                            state: StepState::Running,
                            output: String::new(),
                            started: *ts,
                            ended: None,
                        });
                    }
                    l.steps[i].title = title.to_string();
                    l.steps[i].started = *ts;
                }
                l.holding = None;
            }
            "step_passed" | "step_failed" => {
                if let Some(s) = numbered(detail).and_then(|(i, _)| l.steps.get_mut(i)) {
                    s.state = if what == "step_passed" {
                        StepState::Passed
                    } else {
                        StepState::Failed
                    };
                    // "N. title: output": the output follows the title.
                    let rest = numbered(detail).map_or("", |(_, r)| r);
                    let title = s.title.split_once("] ").map_or(s.title.as_str(), |t| t.1);
                    s.output = rest
                        .strip_prefix(title)
                        .and_then(|o| o.strip_prefix(": "))
                        .unwrap_or(rest)
                        .to_string();
                    s.ended = Some(*ts);
                }
                l.asking = None;
            }
            "holding" => l.holding = Some(detail.clone()),
            "waiting" => l.asking = Some(detail.clone()),
            "injected" => {
                l.injected.get_or_insert((*ts, detail.clone()));
            }
            "detected" => l.detected = Some((*ts, detail.clone())),
            "recovered" => l.recovered = Some((*ts, detail.clone())),
            "stop" => {
                let (name, rest) = detail.split_once(": ").unwrap_or((detail, ""));
                let holds = !rest.starts_with("FIRED");
                let why = rest.split_once(" — ").map_or("", |w| w.1).to_string();
                match l.stops.iter_mut().find(|s| s.0 == name) {
                    Some(s) => *s = (name.to_string(), holds, why),
                    None => l.stops.push((name.to_string(), holds, why)),
                }
            }
            "rollback" => l.rollbacks.push(detail.clone()),
            "finished" => {
                l.finished = Some((*ts, detail.clone()));
                l.holding = None;
                l.asking = None;
                // An ended run's pending steps are no longer drawn (a replayed history
                // asks nothing for runs long over).
                let plan = Request::DrillPlan {
                    name: runbook.clone(),
                };
                self.want.retain(|w| *w != plan);
                // Its report is in the state dir now: the last result and trend change.
                self.ask(Request::DrillCatalogue);
            }
            _ => {}
        }
    }
}
