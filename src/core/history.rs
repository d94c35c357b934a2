//! What happened, folded from journaled facts: incidents (detection → steps → RTO → how
//! it ended) and the actions people took. Pure: the runtime reads journal rows into
//! [`Record`]s, [`fold`] builds the [`History`], [`History::select`] cuts it.

use super::time::Ts;
use std::collections::HashMap;

/// One journaled fact, as far as history cares.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The journal's row number: the order facts were written in.
    pub seq: i64,
    pub at: Ts,
    pub job: Option<String>,
    pub fact: Fact,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// A job's recovery state changed (`RUNNING`, `FAILING_OVER`, …).
    State {
        from: String,
        to: String,
        reason: String,
    },
    Step(Step),
    Finished(Rto),
    Escalated {
        reason: String,
    },
    /// An operator's command, accepted (`reason: None`) or rejected.
    Command(CommandFact),
    /// A checkpoint action people ask for: pruned, restored, adopted, refused …
    Checkpoint {
        what: String,
        id: String,
        store: Option<String>,
        detail: String,
        operator: Option<String>,
    },
    /// Any other kind that carries a `detail` (supervisor started, config reloaded …).
    Note {
        kind: String,
        detail: String,
        operator: Option<String>,
    },
}

/// One failover step as journaled.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: Ts,
    pub strategy: String,
    pub step: String,
    pub target: Option<String>,
    pub ms: u64,
    pub ok: bool,
    pub detail: String,
}

/// A finished failover: its recovery time and where each millisecond went.
#[derive(Clone, Debug, PartialEq)]
pub struct Rto {
    pub ok: bool,
    pub target: Option<String>,
    pub rto_ms: u64,
    pub detect_ms: u64,
    pub breakdown: Vec<(String, u64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommandFact {
    pub operator: String,
    pub command: String,
    /// Why it was rejected; `None` when accepted.
    pub rejected: Option<String>,
    pub role: Option<String>,
    /// Where the request came from, as journaled (an object with a `via` tag).
    pub origin: Option<serde_json::Value>,
}

impl CommandFact {
    /// The job a command names (`failover llm to gpu-b` → `llm`); none for `pause all`.
    pub fn job(&self) -> Option<&str> {
        let mut words = self.command.split_whitespace();
        let verb = words.next()?;
        let job = words.next()?;
        let per_job = matches!(
            verb,
            "failover" | "switchover" | "pause" | "resume" | "cancel" | "acknowledge"
        );
        (per_job && job != "all").then_some(job)
    }
}

/// How an incident ended, or where it stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Back to running, with the reason the core gave.
    Resolved { reason: String },
    /// Recovery was stopped (the job is FAILED), by whom when a command says so.
    Cancelled { by: Option<String>, reason: String },
    /// Escalated and nobody has taken it yet.
    NeedsHuman { reason: String },
    /// Escalated and taken by a human, not closed yet.
    Acknowledged { by: String },
    /// Still in recovery, in this state.
    Open { state: String },
}

impl Outcome {
    /// The tag used in JSON and the first word of the text line.
    pub fn tag(&self) -> &'static str {
        match self {
            Outcome::Resolved { .. } => "resolved",
            Outcome::Cancelled { .. } => "cancelled",
            Outcome::NeedsHuman { .. } => "needs_human",
            Outcome::Acknowledged { .. } => "acknowledged",
            Outcome::Open { .. } => "open",
        }
    }

    pub fn is_open(&self) -> bool {
        !matches!(self, Outcome::Resolved { .. } | Outcome::Cancelled { .. })
    }
}

/// From detection to resolution (or now) for one job.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub job: String,
    /// The journal row that opened it.
    pub seq: i64,
    pub detected_at: Ts,
    /// What was detected: the reason of the first transition out of running.
    pub reason: String,
    /// The state it left (`RUNNING` mostly); `None` when it opened on a step.
    pub detected_from: Option<String>,
    /// Every state it went through: (when, state, why).
    pub states: Vec<(Ts, String, String)>,
    pub steps: Vec<Step>,
    /// The last finished failover of the incident.
    pub rto: Option<Rto>,
    /// Each time it was handed to humans: (when, why).
    pub escalations: Vec<(Ts, String)>,
    pub acknowledged_by: Option<String>,
    pub outcome: Outcome,
    pub ended_at: Option<Ts>,
    /// The newest fact that belongs to it.
    pub last_at: Ts,
}

impl Incident {
    /// The strategy that picked the target (else the last one tried).
    pub fn strategy(&self) -> Option<&str> {
        self.picked()
            .or(self.steps.last())
            .map(|s| s.strategy.as_str())
    }

    /// Where the job went: the finished failover's target, else the one picked.
    pub fn target(&self) -> Option<&str> {
        self.rto
            .as_ref()
            .and_then(|r| r.target.as_deref())
            .or_else(|| self.picked().and_then(|s| s.target.as_deref()))
    }

    fn picked(&self) -> Option<&Step> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.ok && s.step == "select_target")
    }

    fn opened(job: &str, r: &Record, reason: String) -> Self {
        Incident {
            job: job.to_string(),
            seq: r.seq,
            detected_at: r.at,
            reason,
            detected_from: None,
            states: Vec::new(),
            steps: Vec::new(),
            rto: None,
            escalations: Vec::new(),
            acknowledged_by: None,
            outcome: Outcome::Open {
                state: String::new(),
            },
            ended_at: None,
            last_at: r.at,
        }
    }
}

/// An action a person (or the supervisor on its own) took.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub seq: i64,
    pub at: Ts,
    /// The journal kind: `command_rejected`, `checkpoint`, `config_reloaded` …
    pub kind: String,
    pub job: Option<String>,
    pub fact: Fact,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Oldest first, by detection.
    pub incidents: Vec<Incident>,
    /// Oldest first.
    pub actions: Vec<Action>,
}

const RUNNING: &str = "RUNNING";
const RESOLVED: &str = "RESOLVED";
const ESCALATING: &str = "ESCALATING";
const FAILED: &str = "FAILED";

/// What the fold knows of one job between facts.
#[derive(Default)]
struct JobFold {
    /// Index of its open incident in the output.
    open: Option<usize>,
    state: Option<String>,
    /// Steps taken while running (a workspace synced before a return): they belong to
    /// the incident that opens at the same instant, if one does.
    prelude: Vec<Step>,
    resolved_reason: Option<String>,
    cancelled_by: Option<String>,
}

/// Folds records (in journal order) into incidents and actions.
pub fn fold(records: &[Record]) -> History {
    let mut h = History::default();
    let mut jobs: HashMap<&str, JobFold> = HashMap::new();
    for r in records {
        if let Some(kind) = action_kind(&r.fact) {
            let job = match &r.fact {
                Fact::Command(c) => c.job().map(str::to_string).or(r.job.clone()),
                _ => r.job.clone(),
            };
            h.actions.push(Action {
                seq: r.seq,
                at: r.at,
                kind,
                job,
                fact: r.fact.clone(),
            });
        }
        let job = match (&r.job, &r.fact) {
            (Some(j), _) => j.as_str(),
            (None, Fact::Command(c)) => match c.job() {
                Some(j) => j,
                None => continue,
            },
            (None, _) => continue,
        };
        let jf = jobs.entry(job).or_default();
        fold_one(&mut h.incidents, jf, job, r);
    }
    for jf in jobs.values() {
        if let (Some(i), Some(state)) = (jf.open, &jf.state) {
            if let Some(inc) = h.incidents.get_mut(i) {
                inc.outcome = still_open(inc, state);
            }
        }
    }
    h
}

/// The `kind` an action shows under, if the fact is an action.
fn action_kind(f: &Fact) -> Option<String> {
    match f {
        Fact::Command(c) if c.rejected.is_some() => Some("command_rejected".into()),
        Fact::Command(_) => Some("command_accepted".into()),
        Fact::Checkpoint { .. } => Some("checkpoint".into()),
        Fact::Note { kind, .. } => Some(kind.clone()),
        _ => None,
    }
}

fn still_open(inc: &Incident, state: &str) -> Outcome {
    match (state, &inc.acknowledged_by) {
        (ESCALATING, Some(by)) => Outcome::Acknowledged { by: by.clone() },
        (ESCALATING, None) => Outcome::NeedsHuman {
            reason: inc
                .escalations
                .last()
                .map(|(_, why)| why.clone())
                .unwrap_or_default(),
        },
        _ => Outcome::Open {
            state: state.to_string(),
        },
    }
}

fn fold_one(out: &mut Vec<Incident>, jf: &mut JobFold, job: &str, r: &Record) {
    match &r.fact {
        Fact::State { from, to, reason } => {
            if jf.open.is_none() && to != RUNNING && to != RESOLVED {
                open(out, jf, job, r, reason.clone());
                if let Some(inc) = jf.open.and_then(|i| out.get_mut(i)) {
                    inc.detected_from = Some(from.clone());
                }
            }
            jf.state = Some(to.clone());
            let Some(inc) = jf.open.and_then(|i| out.get_mut(i)) else {
                return;
            };
            inc.last_at = r.at;
            inc.states.push((r.at, to.clone(), reason.clone()));
            match to.as_str() {
                RESOLVED => jf.resolved_reason = Some(reason.clone()),
                RUNNING => {
                    let reason = jf.resolved_reason.take().unwrap_or(reason.clone());
                    close(inc, jf, r.at, Outcome::Resolved { reason });
                }
                FAILED => {
                    let by = jf.cancelled_by.take();
                    let reason = reason.clone();
                    close(inc, jf, r.at, Outcome::Cancelled { by, reason });
                }
                _ => {}
            }
        }
        Fact::Step(s) => {
            if jf.open.is_none() && jf.state.as_deref() == Some(RUNNING) {
                // Only a step of this instant can still join an incident.
                jf.prelude.retain(|p| p.at == s.at);
                jf.prelude.push(s.clone());
                return;
            }
            if let Some(inc) = attach(out, jf, job, r, "a failover already under way".into()) {
                inc.steps.push(s.clone());
            }
        }
        Fact::Finished(rto) => {
            if let Some(inc) = attach(out, jf, job, r, "a failover already under way".into()) {
                inc.rto = Some(rto.clone());
            }
        }
        Fact::Escalated { reason } => {
            if let Some(inc) = attach(out, jf, job, r, reason.clone()) {
                inc.escalations.push((r.at, reason.clone()));
            }
        }
        Fact::Command(c) if c.rejected.is_none() => {
            let verb = c.command.split_whitespace().next();
            let Some(inc) = jf.open.and_then(|i| out.get_mut(i)) else {
                return;
            };
            match verb {
                Some("acknowledge") => inc.acknowledged_by = Some(c.operator.clone()),
                Some("cancel") => jf.cancelled_by = Some(c.operator.clone()),
                _ => {}
            }
        }
        _ => {}
    }
}

/// The job's open incident (opened now if none is), its last activity moved to `r`.
fn attach<'a>(
    out: &'a mut Vec<Incident>,
    jf: &mut JobFold,
    job: &str,
    r: &Record,
    reason: String,
) -> Option<&'a mut Incident> {
    if jf.open.is_none() {
        open(out, jf, job, r, reason);
    }
    let inc = jf.open.and_then(|i| out.get_mut(i))?;
    inc.last_at = r.at;
    Some(inc)
}

fn open(out: &mut Vec<Incident>, jf: &mut JobFold, job: &str, r: &Record, reason: String) {
    let mut inc = Incident::opened(job, r, reason);
    // A sync before a return is the first step of the failover it starts; a sync that
    // failed left the job running where it was, which is no incident.
    inc.steps = std::mem::take(&mut jf.prelude)
        .into_iter()
        .filter(|s| s.at == r.at)
        .collect();
    jf.open = Some(out.len());
    jf.resolved_reason = None;
    jf.cancelled_by = None;
    out.push(inc);
}

fn close(inc: &mut Incident, jf: &mut JobFold, at: Ts, outcome: Outcome) {
    inc.outcome = outcome;
    inc.ended_at = Some(at);
    jf.open = None;
}

impl History {
    /// Keeps what touches `job` (when given) and what happened at or after `since`: an
    /// incident that ended before it goes, one still active at `since` stays whole.
    pub fn select(mut self, since: Option<Ts>, job: Option<&str>) -> History {
        let wanted = |j: Option<&str>| job.is_none_or(|want| j == Some(want));
        let recent = |t: Ts| since.is_none_or(|s| t >= s);
        self.incidents
            .retain(|i| wanted(Some(&i.job)) && (i.outcome.is_open() || recent(i.last_at)));
        self.actions
            .retain(|a| wanted(a.job.as_deref()) && recent(a.at));
        self
    }
}
