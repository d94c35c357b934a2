//! What the drills view asks and is answered: the runbooks with their past runs (last
//! result, RTO trend), and one runbook's plan checked against the fleet as it is now —
//! structured, so every screen draws ✓/✗ and steps its own way.

use crate::core::drill::engine::Status;
use crate::core::time::Ts;
use serde::{Deserialize, Serialize};

/// Runs kept per runbook in the catalogue (the trend's length).
pub const RUNS_KEPT: usize = 8;

/// Every runbook a drill can run, shipped and the team's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillCatalogue {
    pub runbooks: Vec<DrillEntry>,
    /// Runbook files that could not be read, each naming the file and the fix.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillEntry {
    pub name: String,
    pub title: String,
    pub scenario: String,
    pub description: String,
    /// The team's own (from the configured runbook dir), not shipped.
    pub team: bool,
    /// Its last runs from the reports in the state dir, oldest first.
    pub runs: Vec<PastRun>,
}

impl DrillEntry {
    pub fn last(&self) -> Option<&PastRun> {
        self.runs.last()
    }
}

/// One finished run, from its report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastRun {
    pub run: String,
    pub status: Status,
    pub ended: Ts,
    pub rto_s: Option<f64>,
    pub why: String,
}

/// A runbook's plan, resolved and checked on the fleet as it is now: what the operator
/// reads before typing the runbook's name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillPlan {
    pub runbook: String,
    pub title: String,
    pub scenario: String,
    pub version: u32,
    pub jobs: Vec<String>,
    pub hosts: Vec<String>,
    pub max_hosts: u32,
    pub max_jobs: u32,
    pub preconditions: Vec<PlanCheck>,
    pub steps: Vec<PlanStep>,
    pub stop_conditions: Vec<String>,
    pub rollbacks: Vec<String>,
    /// Why it may not start (the blast radius, a target missing, a precondition).
    pub refused: Option<String>,
}

impl DrillPlan {
    pub fn ready(&self) -> bool {
        self.refused.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCheck {
    pub what: String,
    pub ok: bool,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub kind: String,
    pub title: String,
    /// What it will do, in words.
    pub does: String,
}

/// A request answered with data (a question, or a provider's answer to a volume change).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Drills(DrillCatalogue),
    DrillPlan(Box<DrillPlan>),
    Volumes(super::volume::VolumeAnswer),
}

impl Answer {
    /// One line for screens that print, not draw.
    pub fn summary(&self) -> String {
        match self {
            Answer::Drills(c) => format!("{} runbooks", c.runbooks.len()),
            Answer::DrillPlan(p) => match &p.refused {
                None => format!("drill {}: ready", p.runbook),
                Some(why) => format!("drill {}: {why}", p.runbook),
            },
            Answer::Volumes(v) => v.summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::Role;
    use crate::protocol::request::Request;
    use crate::protocol::wire::{Outcome, ServerMsg};

    #[test]
    fn answers_cross_the_wire_and_questions_need_only_a_viewer() {
        let plan = DrillPlan {
            runbook: "job-crash".into(),
            preconditions: vec![PlanCheck {
                what: "readiness".into(),
                ok: false,
                why: "no standby".into(),
            }],
            refused: Some("a precondition fails".into()),
            ..DrillPlan::default()
        };
        let catalogue = DrillCatalogue {
            runbooks: vec![DrillEntry {
                name: "job-crash".into(),
                title: "Job crash".into(),
                scenario: "job-crash".into(),
                description: String::new(),
                team: false,
                runs: vec![PastRun {
                    run: "r1".into(),
                    status: Status::Passed,
                    ended: Ts(5),
                    rto_s: Some(4.5),
                    why: "ok".into(),
                }],
            }],
            errors: Vec::new(),
        };
        for answer in [Answer::DrillPlan(Box::new(plan)), Answer::Drills(catalogue)] {
            let msg = ServerMsg::Outcome {
                id: 3,
                outcome: Outcome::Answered {
                    answer: answer.clone(),
                },
            };
            let json = serde_json::to_string(&msg).unwrap();
            let back: ServerMsg = serde_json::from_str(&json).unwrap();
            assert_eq!(back, msg, "{json}");
            assert!(matches!(back, ServerMsg::Outcome { outcome, .. } if outcome.ok()));
        }
        for (r, role) in [
            (Request::DrillCatalogue, Role::Viewer),
            (Request::DrillPlan { name: "x".into() }, Role::Viewer),
            (Request::DrillGuide { name: "x".into() }, Role::Operator),
            (Request::DrillStep, Role::Operator),
            (Request::DrillRunToEnd, Role::Operator),
        ] {
            assert_eq!(r.needs(), role, "{r:?}");
        }
    }
}
