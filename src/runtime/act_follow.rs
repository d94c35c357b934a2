//! Following a command sent from the command line: its outcome first, then the notices
//! that are its own (from its `command_accepted` on), until the end that its kind waits
//! for. A failover ends at its job's `failover_finished`, an escalation or FAILED; a pause
//! or resume once the change is announced.

use super::act_cmd::Options;
use super::cli_link::{self, CliLink, Heard};
use crate::core::event::EventKind;
use crate::core::ids::JobId;
use crate::core::recovery::RecoveryState;
use crate::protocol::notice::Notice;
use crate::protocol::wire::Outcome;
use std::io::Write;
use std::time::Duration;

/// After a pause or resume is accepted, how long to wait for the change to be announced.
const ANNOUNCED: Duration = Duration::from_secs(10);

/// What ends the following of a command.
#[derive(Copy, Clone, PartialEq, Eq)]
pub enum Follow {
    /// A failover or switchover: until the job's failover finishes, escalates or fails.
    Move,
    /// A pause or resume: until the change is announced.
    Automation,
}

/// The command this line sent, to tell its notices from others'.
pub struct Mine {
    pub name: String,
    pub label: String,
    pub job: Option<JobId>,
}

impl Mine {
    fn is_mine(&self, n: &Notice) -> bool {
        match n {
            Notice::Core(e) => match &e.kind {
                EventKind::CommandAccepted {
                    operator, command, ..
                }
                | EventKind::CommandRejected {
                    operator, command, ..
                } => operator == &self.name && command == &self.label,
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether `n` is worth printing, and the exit status when it ends the following.
    fn judge(&self, n: &Notice, follow: Follow) -> (bool, Option<u8>) {
        if self.is_mine(n) {
            return (true, None);
        }
        let Notice::Core(e) = n else {
            return (
                follow == Follow::Move
                    && n.job().as_deref() == self.job.as_ref().map(JobId::as_str),
                None,
            );
        };
        match (follow, &e.kind) {
            (Follow::Automation, EventKind::AutomationChanged { job, .. }) => {
                let ends = job == &self.job;
                (ends, ends.then_some(0))
            }
            (Follow::Automation, _) => (false, None),
            (Follow::Move, kind) if kind.job() != self.job.as_ref() => (false, None),
            (Follow::Move, EventKind::FailoverFinished { ok, .. }) => {
                (true, Some(if *ok { 0 } else { 1 }))
            }
            (Follow::Move, EventKind::Escalated { .. }) => (true, Some(1)),
            (Follow::Move, EventKind::RecoveryState { to, .. })
                if to == RecoveryState::Failed.as_str() =>
            {
                (true, Some(1))
            }
            (Follow::Move, _) => (true, None),
        }
    }
}

/// Prints the outcome, then the command's notices as they come, until its end.
pub async fn follow(
    link: &mut CliLink,
    id: u64,
    mine: &Mine,
    follow: Follow,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<u8, String> {
    // Notices that come before the outcome wait for it; those from before this command
    // was accepted (an earlier incident's last steps) are not its own.
    let mut held: Vec<Notice> = Vec::new();
    let mut started = false;
    let mut answered = false;
    let mut deadline = tokio::time::Instant::now() + opts.timeout;
    loop {
        let heard = match tokio::time::timeout_at(deadline, link.next()).await {
            Ok(h) => h,
            Err(_) => return Ok(timed_out(mine, follow, answered, opts)),
        };
        match heard {
            Heard::Outcome { id: got, outcome } if got == id => {
                writeln!(out, "{}", cli_link::outcome_line(link, &outcome, opts.json))
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("cannot write the output: {e}"))?;
                if let Outcome::Refused { reason } | Outcome::Failed { reason } = &outcome {
                    if !opts.json {
                        super::cli_out::err_line(&format!("error: {reason}"));
                    }
                    return Ok(1);
                }
                answered = true;
                if follow == Follow::Automation {
                    deadline = tokio::time::Instant::now() + ANNOUNCED;
                }
                for n in std::mem::take(&mut held) {
                    if let Some(code) = show(&n, mine, follow, opts.json, out)? {
                        return Ok(code);
                    }
                }
            }
            Heard::Outcome { .. } => {}
            Heard::Notice(n) => {
                started |= mine.is_mine(&n);
                if !started {
                    continue;
                }
                if !answered {
                    held.push(n);
                } else if let Some(code) = show(&n, mine, follow, opts.json, out)? {
                    return Ok(code);
                }
            }
            Heard::Missed(count) => {
                started = true;
                super::cli_out::err_line(&format!(
                    "note: this line fell behind and skipped {count} events; `lifeboat history` has them"
                ));
            }
            Heard::Gone(why) => {
                super::cli_out::err_line(&format!(
                    "error: {why}; what was started goes on when a supervisor runs again (the journal replays it)"
                ));
                return Ok(1);
            }
        }
    }
}

/// Prints `n` when it is the command's; the exit status when it ends the following.
fn show(
    n: &Notice,
    mine: &Mine,
    follow: Follow,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Result<Option<u8>, String> {
    let (print, end) = mine.judge(n, follow);
    if print {
        n.write_line(json, out)
            .map_err(|e| format!("cannot write the output: {e}"))?;
    }
    if end == Some(1) && !json {
        let job = mine.job.as_ref().map_or("", JobId::as_str);
        super::cli_out::err_line(&format!(
            "error: the {} of {job} did not end running: see the lines above (and `lifeboat history --job {job}`)",
            mine.label.split_whitespace().next().unwrap_or("failover")
        ));
    }
    Ok(end)
}

fn timed_out(mine: &Mine, follow: Follow, answered: bool, opts: &Options) -> u8 {
    match (follow, answered) {
        (Follow::Automation, true) => 0,
        (Follow::Move, true) => {
            let job = mine.job.as_ref().map_or("", JobId::as_str);
            super::cli_out::err_line(&format!(
                "error: {} did not end within {}; it goes on in the supervisor. Follow it with: lifeboat --state-dir {} (or lifeboat history --job {job})",
                mine.label,
                crate::core::time::human(opts.timeout),
                opts.state_dir.display()
            ));
            1
        }
        (_, false) => {
            super::cli_out::err_line(&format!(
                "error: the supervisor did not answer {} within {}",
                mine.label,
                crate::core::time::human(opts.timeout)
            ));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::Event;
    use crate::core::time::Ts;

    fn core(kind: EventKind) -> Notice {
        Notice::Core(Event { ts: Ts(1), kind })
    }

    fn mine(label: &str, job: Option<&str>) -> Mine {
        Mine {
            name: "alice".into(),
            label: label.into(),
            job: job.map(JobId::new),
        }
    }

    fn accepted(by: &str, command: &str) -> Notice {
        core(EventKind::CommandAccepted {
            operator: by.into(),
            role: None,
            origin: None,
            command: command.into(),
        })
    }

    #[test]
    fn a_failover_is_followed_through_its_job_only_to_its_end() {
        let m = mine("failover llm", Some("llm"));
        assert_eq!(
            m.judge(&accepted("alice", "failover llm"), Follow::Move),
            (true, None)
        );
        assert!(!m.is_mine(&accepted("bob", "failover llm")));
        let step = |job: &str| {
            core(EventKind::FailoverStep {
                job: JobId::new(job),
                strategy: "restart-in-place".into(),
                step: "fence".into(),
                target: None,
                ms: 4,
                ok: true,
                detail: String::new(),
            })
        };
        assert_eq!(m.judge(&step("llm"), Follow::Move), (true, None));
        assert_eq!(m.judge(&step("bert"), Follow::Move), (false, None));
        let finished = |ok| {
            core(EventKind::FailoverFinished {
                job: JobId::new("llm"),
                ok,
                target: None,
                epoch: crate::core::ids::Epoch(2),
                rto_ms: 1,
                detect_ms: 0,
                breakdown: Vec::new(),
            })
        };
        assert_eq!(m.judge(&finished(true), Follow::Move), (true, Some(0)));
        assert_eq!(m.judge(&finished(false), Follow::Move), (true, Some(1)));
        let escalated = core(EventKind::Escalated {
            job: JobId::new("llm"),
            reason: "no target".into(),
        });
        assert_eq!(m.judge(&escalated, Follow::Move), (true, Some(1)));
        let failed = core(EventKind::RecoveryState {
            job: JobId::new("llm"),
            from: "FAILING_OVER".into(),
            to: "FAILED".into(),
            reason: "cancelled".into(),
        });
        assert_eq!(m.judge(&failed, Follow::Move), (true, Some(1)));
    }

    #[test]
    fn a_pause_ends_when_its_own_scope_is_announced() {
        let changed = |job: Option<&str>| {
            core(EventKind::AutomationChanged {
                job: job.map(JobId::new),
                active: false,
                reason: "paused".into(),
            })
        };
        let all = mine("pause all", None);
        assert_eq!(
            all.judge(&changed(None), Follow::Automation),
            (true, Some(0))
        );
        assert_eq!(
            all.judge(&changed(Some("llm")), Follow::Automation),
            (false, None)
        );
        let one = mine("pause llm", Some("llm"));
        assert_eq!(
            one.judge(&changed(Some("llm")), Follow::Automation),
            (true, Some(0))
        );
        assert_eq!(one.judge(&changed(None), Follow::Automation), (false, None));
    }
}
