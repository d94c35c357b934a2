//! Confirmation dialogs: they say exactly what will happen, focus Cancel first (so Enter on
//! first sight never confirms), ask for the job's name before anything irreversible, and
//! ask again when the job changes while they are open.

use super::action::Request;
use super::dialog_prune::prune_lines;
use super::dialog_text::{job, move_lines};
use crate::core::ids::{JobId, Target};
use crate::core::io::Command;
use crate::core::snapshot::{JobView, Snapshot};
use crate::protocol::fault::FaultKind;

/// What the dialog will do when confirmed.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// `target: None` walks the job's strategy chain.
    Failover {
        job: JobId,
        target: Option<Target>,
    },
    Switchover {
        job: JobId,
        target: Target,
    },
    Cancel {
        job: JobId,
    },
    Pause {
        job: Option<JobId>,
    },
    Resume {
        job: Option<JobId>,
    },
    Inject {
        kind: FaultKind,
        target: String,
    },
    /// Delete what retention removes for the job's checkpoints: exactly these
    /// `(checkpoint, store)` copies, as shown.
    Prune {
        job: JobId,
        copies: Vec<(String, String)>,
    },
    /// Quit the console that is the supervisor: the fleet goes unwatched.
    StopSupervising,
    /// Start the runbook `name` as a guided drill.
    DrillStart {
        name: String,
    },
    /// Abort the drill under way.
    DrillAbort,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    /// Choosing a target from the list (failover and switchover only).
    Pick,
    /// Typing the job's name.
    Typing,
    #[default]
    Cancel,
    Confirm,
}

/// What Enter did.
#[derive(Clone, Debug, PartialEq)]
pub enum Pressed {
    /// Cancel: close, nothing done.
    Close,
    /// Moved on (or refused an unready confirm): the dialog stays.
    Stay,
    Confirmed(Request),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dialog {
    pub intent: Intent,
    pub title: String,
    /// What will happen, line by line.
    pub lines: Vec<String>,
    /// Targets to choose from (failover: `None` first = down the chain).
    pub choices: Vec<Option<Target>>,
    /// Per choice: why it may not work ("spare-2 is failed"), or empty.
    pub notes: Vec<String>,
    /// Per choice: whether that makes it unfit (busy, failed): it is refused before the
    /// name is typed.
    pub refused: Vec<bool>,
    pub choice: usize,
    pub focus: Focus,
    /// What must be typed to confirm (the job's name), if anything.
    pub require: Option<String>,
    pub typed: String,
    /// The snapshot epoch the operator is confirming against.
    pub seen: u64,
    /// Set when the job changed under the dialog; the operator must look again.
    pub changed: Option<String>,
    pub error: Option<String>,
}

impl Default for Dialog {
    fn default() -> Self {
        Self {
            intent: Intent::Pause { job: None },
            title: String::new(),
            lines: Vec::new(),
            choices: Vec::new(),
            notes: Vec::new(),
            refused: Vec::new(),
            choice: 0,
            focus: Focus::Cancel,
            require: None,
            typed: String::new(),
            seen: 0,
            changed: None,
            error: None,
        }
    }
}

impl Dialog {
    pub(super) fn base(intent: Intent, title: String, lines: Vec<String>, seen: u64) -> Self {
        Self {
            intent,
            title,
            lines,
            seen,
            ..Self::default()
        }
    }

    /// A manual failover of `j`; the operator picks the target first.
    pub fn failover(snap: &Snapshot, j: &JobView, target: Option<Target>) -> Self {
        let mut choices: Vec<Option<Target>> = vec![None];
        choices.extend(j.standbys.iter().cloned().map(Some));
        let choice = target
            .as_ref()
            .and_then(|t| choices.iter().position(|c| c.as_ref() == Some(t)))
            .unwrap_or(0);
        let mut d = Self::base(
            Intent::Failover {
                job: j.id.clone(),
                target: target.clone(),
            },
            format!("Fail over {}", j.id),
            Vec::new(),
            snap.epoch,
        );
        d.choices = choices;
        d.choice = choice;
        d.require = Some(j.id.to_string());
        d.set_fitness(snap);
        d.refresh(snap);
        d.error = d.refusal();
        d
    }

    pub fn switchover(snap: &Snapshot, j: &JobView, target: Option<Target>) -> Self {
        let choices: Vec<Option<Target>> = j.standbys.iter().cloned().map(Some).collect();
        let choice = target
            .as_ref()
            .and_then(|t| choices.iter().position(|c| c.as_ref() == Some(t)))
            .unwrap_or(0);
        let first = choices
            .get(choice)
            .cloned()
            .flatten()
            .unwrap_or_else(|| j.placement.clone());
        let mut d = Self::base(
            Intent::Switchover {
                job: j.id.clone(),
                target: first,
            },
            format!("Planned switchover of {}", j.id),
            Vec::new(),
            snap.epoch,
        );
        d.choices = choices;
        d.choice = choice;
        d.require = Some(j.id.to_string());
        d.set_fitness(snap);
        d.refresh(snap);
        d.error = d.refusal();
        d
    }

    pub fn cancel(snap: &Snapshot, j: &JobView) -> Self {
        let lines = vec![
            format!(
                "The recovery of {} stops now: it is {} ({}).",
                j.id,
                j.state.as_str(),
                j.reason
            ),
            "The job is marked FAILED and nothing will restart it until you fail it over by hand."
                .into(),
            "Any copy the recovery may have started is revoked (new epoch) and fenced when seen."
                .into(),
        ];
        let mut d = Self::base(
            Intent::Cancel { job: j.id.clone() },
            format!("Cancel the recovery of {}", j.id),
            lines,
            snap.epoch,
        );
        d.require = Some(j.id.to_string());
        d
    }

    pub fn pause(snap: &Snapshot, job: Option<&JobView>, resume: bool) -> Self {
        let (intent, title, lines) = match (job, resume) {
            (Some(j), false) => (
                Intent::Pause {
                    job: Some(j.id.clone()),
                },
                format!("Pause automation for {}", j.id),
                vec![
                    format!(
                        "Lifeboat keeps watching {} but will not fail it over by itself.",
                        j.id
                    ),
                    "You can still fail it over by hand.".into(),
                ],
            ),
            (Some(j), true) => (
                Intent::Resume {
                    job: Some(j.id.clone()),
                },
                format!("Resume automation for {}", j.id),
                vec![format!(
                    "Lifeboat fails {} over by itself again; a held interruption proceeds now.",
                    j.id
                )],
            ),
            (None, false) => (
                Intent::Pause { job: None },
                "Pause automation for the whole fleet".into(),
                vec![
                    "No job is failed over automatically until you resume.".into(),
                    "Detection and the journal go on.".into(),
                ],
            ),
            (None, true) => (
                Intent::Resume { job: None },
                "Resume automation for the whole fleet".into(),
                vec![
                    "Automatic failover resumes; a partition freeze is lifted too.".into(),
                    "Held interruptions proceed now.".into(),
                ],
            ),
        };
        Self::base(intent, title, lines, snap.epoch)
    }

    /// `q` in the console that is the supervisor: quitting stops the watching.
    pub fn stop_supervising(snap: &Snapshot) -> Self {
        let jobs = snap.jobs.len();
        let lines = vec![
            format!("This console is the supervisor: quit and stop watching {jobs} jobs?"),
            "Nothing detects failures or fails jobs over until a supervisor runs again.".into(),
            "To keep watching without a console: lifeboat daemon (then attach with lifeboat)."
                .into(),
        ];
        Self::base(
            Intent::StopSupervising,
            "Quit and stop supervising".into(),
            lines,
            snap.epoch,
        )
    }

    pub fn inject(snap: &Snapshot, kind: FaultKind, target: String) -> Self {
        let lines = vec![
            format!("The SIMULATOR injects {} into {target}.", kind.as_str()),
            "This only exists in the demo fleet; watch detection and recovery react.".into(),
        ];
        Self::base(
            Intent::Inject {
                kind,
                target: target.clone(),
            },
            format!("Inject {} into {target}", kind.as_str()),
            lines,
            snap.epoch,
        )
    }

    fn job_id(&self) -> Option<&JobId> {
        match &self.intent {
            Intent::Failover { job, .. }
            | Intent::Switchover { job, .. }
            | Intent::Cancel { job }
            | Intent::Prune { job, .. } => Some(job),
            Intent::Pause { job } | Intent::Resume { job } => job.as_ref(),
            Intent::Inject { .. }
            | Intent::StopSupervising
            | Intent::DrillStart { .. }
            | Intent::DrillAbort => None,
        }
    }

    /// Rewrites the lines for the chosen target.
    pub(super) fn refresh(&mut self, snap: &Snapshot) {
        let Some(j) = self.job_id().and_then(|id| job(snap, id)) else {
            return;
        };
        let chosen = self.choices.get(self.choice).cloned().flatten();
        match &mut self.intent {
            Intent::Failover { target, .. } => {
                *target = chosen.clone();
                self.lines = move_lines(snap, j, chosen.as_ref(), false);
            }
            Intent::Switchover { target, .. } => {
                if let Some(t) = chosen.clone() {
                    *target = t;
                }
                self.lines = move_lines(snap, j, chosen.as_ref(), true);
            }
            Intent::Prune { job, copies } => {
                self.lines = prune_lines(snap, job.as_str());
                *copies = super::dialog_prune::copies(snap, job.as_str());
            }
            _ => {}
        }
    }

    /// A new snapshot arrived: if the job (or, for a prune, its plan) changed since the
    /// operator looked, say so and make them confirm again against what is true now.
    pub fn observe(&mut self, snap: &Snapshot) {
        let Some(j) = self.job_id().and_then(|id| job(snap, id)) else {
            return;
        };
        let why = if j.changed_at > self.seen {
            Some(format!(
                "{} changed while this was open: now {} ({}). Read again.",
                j.id,
                j.state.as_str(),
                j.reason
            ))
        } else {
            self.plan_changed(snap)
        };
        if why.is_some() {
            self.changed = why;
            self.seen = snap.epoch;
            self.focus = Focus::Cancel;
            self.typed.clear();
            self.refresh(snap);
        }
        self.follow(snap);
    }

    pub fn choose(&mut self, snap: &Snapshot, delta: i32) {
        if self.choices.is_empty() {
            return;
        }
        let n = self.choices.len() as i32;
        self.choice = ((self.choice as i32 + delta).rem_euclid(n)) as usize;
        self.refresh(snap);
        self.error = self.refusal();
    }

    /// Whether Confirm would go through now.
    pub fn ready(&self) -> bool {
        self.refusal().is_none() && self.require.as_ref().is_none_or(|r| &self.typed == r)
    }

    /// Enter on the focused element.
    pub fn enter(&mut self) -> Pressed {
        match self.focus {
            Focus::Cancel => Pressed::Close,
            Focus::Pick | Focus::Typing => {
                self.move_focus(1);
                Pressed::Stay
            }
            Focus::Confirm if self.refusal().is_some() => {
                self.error = self.refusal();
                Pressed::Stay
            }
            Focus::Confirm if !self.ready() => {
                let want = self.require.clone().unwrap_or_default();
                self.error = Some(format!("type {want} to confirm"));
                self.focus = Focus::Typing;
                Pressed::Stay
            }
            Focus::Confirm => Pressed::Confirmed(self.request()),
        }
    }

    fn request(&self) -> Request {
        let seen = self.seen;
        match &self.intent {
            Intent::Failover { job, target } => Request::Core(Command::Failover {
                job: job.clone(),
                target: target.clone(),
                seen,
                strategy: None,
            }),
            Intent::Switchover { job, target } => Request::Core(Command::Switchover {
                job: job.clone(),
                target: target.clone(),
                seen,
            }),
            Intent::Cancel { job } => Request::Core(Command::Cancel {
                job: job.clone(),
                seen,
            }),
            Intent::Pause { job } => Request::Core(Command::Pause { job: job.clone() }),
            Intent::Resume { job } => Request::Core(Command::Resume { job: job.clone() }),
            Intent::Inject { kind, target } => Request::Inject {
                kind: *kind,
                target: target.clone(),
            },
            Intent::Prune { job, copies } => Request::Prune {
                job: job.to_string(),
                copies: copies.clone(),
            },
            Intent::StopSupervising => Request::Quit,
            Intent::DrillStart { name } => Request::DrillGuide { name: name.clone() },
            Intent::DrillAbort => Request::DrillAbort {
                reason: super::strings::DRILL_ABORT_REASON.into(),
            },
        }
    }
}
