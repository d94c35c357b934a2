//! The drills view's requests in the service: the catalogue (runbooks and their last runs),
//! a runbook's plan checked on the fleet now, and the guided drill's controls (step, run
//! to the end). Starting a guided drill goes through the same checks as `drill run`.

use super::Service;
use crate::core::identity::Identity;
use crate::protocol::drill::Answer;
use crate::protocol::request::Request;
use crate::protocol::wire::Outcome;
use crate::runtime::drill::task::DrillControl;

impl Service {
    /// Answers a drills-view request; `None` when `request` is not one.
    pub(super) async fn drills_view(
        &mut self,
        by: &Identity,
        request: &Request,
    ) -> Option<Outcome> {
        let outcome = match request {
            Request::DrillCatalogue => {
                let team = self.starter.runbook_dir();
                let state = self.lock.dir.clone();
                let c = tokio::task::spawn_blocking(move || {
                    crate::runtime::drill::catalogue::catalogue(team.as_deref(), &state)
                })
                .await;
                match c {
                    Ok(c) => Outcome::Answered {
                        answer: Answer::Drills(c),
                    },
                    Err(e) => Outcome::Failed {
                        reason: format!("the drills could not be listed: {e}"),
                    },
                }
            }
            Request::DrillPlan { name } => self.drill_plan(name),
            Request::DrillGuide { name } => self.drill_run(by, name, false, false, true).await,
            Request::DrillStep => self.drill_control(DrillControl::Step, request).await,
            Request::DrillRunToEnd => self.drill_control(DrillControl::RunToEnd, request).await,
            _ => return None,
        };
        Some(outcome)
    }

    fn drill_plan(&self, name: &str) -> Outcome {
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
        Outcome::Answered {
            answer: Answer::DrillPlan(Box::new(crate::runtime::drill::catalogue::plan(
                &runbook, &snap,
            ))),
        }
    }

    /// Tells the running drill `control`.
    pub(super) async fn drill_control(&self, control: DrillControl, request: &Request) -> Outcome {
        match &self.drill {
            Some(d) if !d.join.is_finished() => match d.control.send(control).await {
                Ok(()) => Outcome::Accepted {
                    detail: format!("drill {}: {}", d.run, request.describe()),
                },
                Err(_) => Outcome::Failed {
                    reason: "the drill has just ended".into(),
                },
            },
            _ => Outcome::Refused {
                reason: "no drill is running".into(),
            },
        }
    }
}
