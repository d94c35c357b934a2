//! Operator commands: checked against the world the operator saw, then applied.

use super::engine::Core;
use super::event::EventKind;
use super::identity::Identity;
use super::ids::{JobId, Target};
use super::io::Command;
use super::recovery::RecoveryState;

impl Core {
    /// The role is checked here, where the command is executed, whatever screen sent it.
    pub(super) fn handle_command(&mut self, by: &Identity, command: Command) {
        let label = describe(&command);
        let needs = command.needs();
        let checked = if by.role.may(needs) {
            self.check_command(&command)
        } else {
            Err(format!(
                "{} is a {}: {label} needs the {needs} role",
                by.name, by.role
            ))
        };
        if let Err(reason) = checked {
            self.command_outcome = Some(Err(reason.clone()));
            self.emit(EventKind::CommandRejected {
                operator: by.name.clone(),
                role: Some(by.role),
                origin: Some(by.origin.clone()),
                command: label,
                reason,
            });
            return;
        }
        self.command_outcome = Some(Ok(()));
        self.emit(EventKind::CommandAccepted {
            operator: by.name.clone(),
            role: Some(by.role),
            origin: Some(by.origin.clone()),
            command: label,
        });
        self.apply_command(&by.name, command);
    }

    /// Whether the last command was accepted (or why not), once: the runtime answers the
    /// screen that sent it.
    pub fn take_command_outcome(&mut self) -> Option<Result<(), String>> {
        self.command_outcome.take()
    }

    fn check_job(&self, job: &JobId, seen: Option<u64>) -> Result<RecoveryState, String> {
        let Some(rec) = self.d.jobs.get(job) else {
            let known: Vec<&str> = self.d.jobs.keys().map(|j| j.as_str()).collect();
            return Err(format!(
                "no job named \"{job}\" (jobs: {})",
                known.join(", ")
            ));
        };
        if let Some(seen) = seen {
            if rec.changed_at > seen {
                return Err(format!(
                    "{job} changed since you looked: it is now {} ({}); look again and confirm",
                    rec.state.as_str(),
                    rec.reason
                ));
            }
        }
        Ok(rec.state)
    }

    fn check_target(&self, job: &JobId, t: &Target) -> Result<(), String> {
        let Some(h) = self.host_spec(&t.host) else {
            let known: Vec<&str> = self.fleet.hosts.iter().map(|h| h.id.as_str()).collect();
            return Err(format!(
                "no host named \"{}\" (hosts: {})",
                t.host,
                known.join(", ")
            ));
        };
        if let Some(g) = t.gpu {
            if g >= h.gpus {
                return Err(format!(
                    "{} has {} GPU(s); there is no GPU {g}",
                    h.id, h.gpus
                ));
            }
        }
        if self.d.jobs.get(job).is_some_and(|r| &r.placement == t) {
            return Err(format!("{job} already runs on {t}"));
        }
        self.eligible(t).map_err(|e| format!("target not fit: {e}"))
    }

    fn check_command(&self, command: &Command) -> Result<(), String> {
        use RecoveryState as S;
        match command {
            Command::Failover {
                job,
                target,
                seen,
                strategy,
            } => {
                let state = self.check_job(job, Some(*seen))?;
                if let Some(s) = strategy {
                    let chain = self
                        .fleet
                        .job(job)
                        .map(|j| j.strategies.clone())
                        .unwrap_or_default();
                    if !chain.contains(s) {
                        let names: Vec<&str> = chain.iter().map(|k| k.as_str()).collect();
                        return Err(format!(
                            "{} is not in {job}'s strategy chain ({})",
                            s.as_str(),
                            names.join(", ")
                        ));
                    }
                    if target.is_some() {
                        return Err(
                            "a target and a strategy both say where the job goes; give one".into(),
                        );
                    }
                }
                if state == S::FailingOver {
                    let step = self
                        .d
                        .jobs
                        .get(job)
                        .and_then(|r| r.incident.as_ref())
                        .and_then(|i| i.failover.as_ref())
                        .map(|f| f.step.as_str())
                        .unwrap_or("?");
                    return Err(format!(
                        "a failover of {job} is already in progress (step {step}); cancel it first"
                    ));
                }
                match target {
                    Some(t) => self.check_target(job, t),
                    None => Ok(()),
                }
            }
            Command::Switchover { job, target, seen } => {
                let state = self.check_job(job, Some(*seen))?;
                if state != S::Running {
                    return Err(format!(
                        "a planned switchover needs {job} RUNNING; it is {}",
                        state.as_str()
                    ));
                }
                self.check_target(job, target)
            }
            Command::Cancel { job, seen } => {
                let state = self.check_job(job, Some(*seen))?;
                match state {
                    S::InterruptionDetected | S::Reconnecting | S::FailingOver | S::Escalating => {
                        Ok(())
                    }
                    other => Err(format!(
                        "{job} is {}: there is nothing to cancel",
                        other.as_str()
                    )),
                }
            }
            Command::Pause { job: Some(job) } | Command::Resume { job: Some(job) } => {
                self.check_job(job, None).map(|_| ())
            }
            Command::Pause { job: None } | Command::Resume { job: None } => Ok(()),
            Command::Acknowledge { job } => {
                let state = self.check_job(job, None)?;
                let esc = self
                    .d
                    .jobs
                    .get(job)
                    .and_then(|r| r.incident.as_ref())
                    .and_then(|i| i.escalation.as_ref());
                let who = esc.and_then(|e| e.acknowledged.as_ref()).map(|a| &a.0);
                match (state, who) {
                    (S::Escalating, None) => Ok(()),
                    (S::Escalating, Some(who)) => {
                        Err(format!("{job} was already acknowledged by {who}"))
                    }
                    _ => Err(format!(
                        "{job} is {}: only an ESCALATING job waits for a human",
                        state.as_str()
                    )),
                }
            }
        }
    }

    fn apply_command(&mut self, operator: &str, command: Command) {
        match command {
            Command::Failover {
                job,
                target,
                strategy,
                ..
            } => {
                let to = match (&target, strategy) {
                    (Some(t), _) => format!("to {t}"),
                    (None, Some(s)) => format!("by {}", s.as_str()),
                    (None, None) => "down the strategy chain".to_string(),
                };
                self.start_failover_on(
                    &job,
                    target,
                    strategy,
                    format!("manual failover {to} by {operator}"),
                );
            }
            Command::Switchover { job, target, .. } => {
                let reason = format!("planned switchover to {target} by {operator}");
                self.start_failover(&job, Some(target), true, true, reason);
            }
            Command::Acknowledge { job } => self.acknowledge(operator, &job),
            Command::Cancel { job, .. } => {
                let mut note = String::new();
                let now = self.now;
                let paged = self
                    .d
                    .jobs
                    .get(&job)
                    .and_then(|r| r.incident.as_ref())
                    .is_some_and(|i| i.escalation.is_some());
                if let Some(rec) = self.d.jobs.get_mut(&job) {
                    let run = rec.incident.as_ref().and_then(|i| i.failover.clone());
                    if let Some(run) = run {
                        // A copy may have been launched under the live epoch: revoke it.
                        rec.revoke(now);
                        if let Some(t) = &run.target {
                            note = format!(
                                "; any copy started on {t} is now stale and will be fenced"
                            );
                        }
                    }
                    rec.incident = None;
                }
                let reason = format!("recovery cancelled by {operator}{note}");
                self.set_state(&job, RecoveryState::Failed, reason.clone());
                if paged {
                    self.page_closed(&job, &format!("closed, job FAILED: {reason}"));
                }
            }
            Command::Pause { job: None } => {
                self.d.paused = Some(operator.to_string());
                self.bump();
                let reason = format!("automation paused for the whole fleet by {operator}");
                self.emit(EventKind::AutomationChanged {
                    job: None,
                    active: false,
                    reason,
                });
            }
            Command::Pause { job: Some(job) } => {
                if let Some(rec) = self.d.jobs.get_mut(&job) {
                    rec.paused = Some(operator.to_string());
                }
                self.bump();
                let reason = format!("automation paused for {job} by {operator}");
                self.emit(EventKind::AutomationChanged {
                    job: Some(job),
                    active: false,
                    reason,
                });
            }
            Command::Resume { job: None } => {
                self.d.paused = None;
                self.bump();
                let reason = format!("automation resumed for the whole fleet by {operator}");
                self.emit(EventKind::AutomationChanged {
                    job: None,
                    active: true,
                    reason,
                });
                if self.frozen.is_some() {
                    self.thaw(format!("partition freeze lifted by {operator}"));
                } else {
                    self.continue_held();
                }
            }
            Command::Resume { job: Some(job) } => {
                let escalated = self.d.jobs.get_mut(&job).is_some_and(|rec| {
                    rec.paused = None;
                    rec.state == RecoveryState::Escalating
                });
                self.bump();
                let reason = format!("automation resumed for {job} by {operator}");
                self.emit(EventKind::AutomationChanged {
                    job: Some(job.clone()),
                    active: true,
                    reason,
                });
                if escalated {
                    self.resume_escalated(operator, &job);
                }
                self.continue_held();
            }
        }
    }
}

/// One line naming a command, for the journal.
pub fn describe(command: &Command) -> String {
    match command {
        Command::Failover {
            job,
            target: Some(t),
            ..
        } => format!("failover {job} to {t}"),
        Command::Failover {
            job,
            target: None,
            strategy: Some(s),
            ..
        } => format!("failover {job} by {}", s.as_str()),
        Command::Failover {
            job, target: None, ..
        } => format!("failover {job}"),
        Command::Switchover { job, target, .. } => format!("switchover {job} to {target}"),
        Command::Pause { job: Some(j) } => format!("pause {j}"),
        Command::Pause { job: None } => "pause all".into(),
        Command::Resume { job: Some(j) } => format!("resume {j}"),
        Command::Resume { job: None } => "resume all".into(),
        Command::Cancel { job, .. } => format!("cancel {job}"),
        Command::Acknowledge { job } => format!("acknowledge {job}"),
    }
}
