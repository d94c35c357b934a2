//! `lifeboat failover|switchover|pause|resume`: acting from the command line, always through
//! the supervisor that holds the state dir, never in this process. A move shows the job as
//! the supervisor sees it, is confirmed, and is sent with the epoch that was shown; then
//! the job's notices are followed to the end. Exit 0 accepted (and, for a move, finished),
//! 1 refused or failed, 2 usage or nothing supervising.

use super::act_follow::{follow, Follow, Mine};
use super::cli_link::{self, CliLink};
use crate::core::commands::describe;
use crate::core::ids::{JobId, Target};
use crate::core::io::Command;
use crate::core::safe_text::escape_line;
use crate::core::snapshot::Snapshot;
use crate::protocol::request::Request;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Verb {
    Failover {
        job: String,
        target: Option<Target>,
        yes: bool,
    },
    Switchover {
        job: String,
        target: Target,
        yes: bool,
    },
    /// `None`: the whole fleet.
    Pause {
        job: Option<String>,
    },
    Resume {
        job: Option<String>,
    },
}

pub struct Options {
    pub state_dir: PathBuf,
    /// The config file, when one was named (for the hint on how to start a supervisor).
    pub config: Option<PathBuf>,
    pub json: bool,
    pub readonly: bool,
    /// How long to follow a failover or switchover before leaving it to the supervisor.
    pub timeout: Duration,
}

fn say(out: &mut (dyn Write + Send), line: &str) -> Result<(), String> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the output: {e}"))
}

/// Exit status: 0 ok, 1 refused or failed, 2 usage or nothing supervising.
pub async fn run(verb: Verb, opts: Options, out: &mut (dyn Write + Send)) -> u8 {
    let moves = match &verb {
        Verb::Failover { job, yes, .. } => Some(("failover", job, *yes)),
        Verb::Switchover { job, yes, .. } => Some(("switchover", job, *yes)),
        _ => None,
    };
    if let Some((name, job, false)) = moves {
        if !std::io::stdin().is_terminal() {
            let check = if name == "failover" {
                format!("\n  To check whether it would work: lifeboat failover {job} --dry-run")
            } else {
                String::new()
            };
            super::cli_out::err_line(&format!(
                "error: refused: a {name} of {job} is confirmed on a terminal, and stdin is not one; add --yes to confirm it here: lifeboat {name} {job} --yes{check}"
            ));
            return 2;
        }
    }
    let mut link =
        match cli_link::open(&opts.state_dir, opts.readonly, opts.config.as_deref()).await {
            Ok(l) => l,
            Err(e) => {
                super::cli_out::err_line(&format!("error: {e}"));
                return e.exit_code();
            }
        };
    match act(&mut link, verb, &opts, out).await {
        Ok(code) => {
            link.quit().await;
            code
        }
        Err(e) => {
            super::cli_out::err_line(&format!("error: {e}"));
            1
        }
    }
}

async fn act(
    link: &mut CliLink,
    verb: Verb,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<u8, String> {
    if !opts.json {
        say(out, &link.who())?;
    }
    let (command, until) = match verb {
        Verb::Pause { job } => (
            Command::Pause {
                job: job.map(JobId::new),
            },
            Follow::Automation,
        ),
        Verb::Resume { job } => (
            Command::Resume {
                job: job.map(JobId::new),
            },
            Follow::Automation,
        ),
        Verb::Failover { job, target, yes } => {
            let snap = link.snapshot().await.map_err(|e| e.to_string())?;
            let Some(seen) = look(&snap, &job, target.as_ref(), false, opts, out)? else {
                return Ok(1);
            };
            if !yes && !confirm(&format!("Fail over {job} now? [y/N] ")).await? {
                super::cli_out::err_line("not confirmed; nothing was sent");
                return Ok(1);
            }
            let job = JobId::new(job);
            (
                Command::Failover {
                    job,
                    target,
                    seen,
                    strategy: None,
                },
                Follow::Move,
            )
        }
        Verb::Switchover { job, target, yes } => {
            let snap = link.snapshot().await.map_err(|e| e.to_string())?;
            let Some(seen) = look(&snap, &job, Some(&target), true, opts, out)? else {
                return Ok(1);
            };
            let ask = format!("Switch {job} over to {target} now? [y/N] ");
            if !yes && !confirm(&ask).await? {
                super::cli_out::err_line("not confirmed; nothing was sent");
                return Ok(1);
            }
            let job = JobId::new(job);
            (Command::Switchover { job, target, seen }, Follow::Move)
        }
    };
    let mine = Mine {
        name: link.identity.name.clone(),
        label: describe(&command),
        job: command_job(&command),
    };
    let id = link
        .send(Request::Core(command))
        .await
        .map_err(|e| e.to_string())?;
    follow(link, id, &mine, until, opts, out).await
}

fn command_job(c: &Command) -> Option<JobId> {
    match c {
        Command::Failover { job, .. }
        | Command::Switchover { job, .. }
        | Command::Cancel { job, .. }
        | Command::Acknowledge { job } => Some(job.clone()),
        Command::Pause { job } | Command::Resume { job } => job.clone(),
    }
}

/// Shows `job` as the supervisor sees it and where the move would go; the snapshot's
/// epoch to confirm against, or `None` (said why) when there is no such job.
fn look(
    snap: &Snapshot,
    job: &str,
    target: Option<&Target>,
    planned: bool,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<Option<u64>, String> {
    let Some(j) = snap.jobs.iter().find(|j| j.id.as_str() == job) else {
        let names: Vec<&str> = snap.jobs.iter().map(|j| j.id.as_str()).collect();
        super::cli_out::err_line(&format!(
            "error: no job named \"{job}\" (jobs: {})",
            names.join(", ")
        ));
        return Ok(None);
    };
    let e = |s: &str| escape_line(s).into_owned();
    let whither = match (target, planned) {
        (Some(t), true) => format!("switchover: a planned move to {t}"),
        (Some(t), false) => format!("failover: to {t}"),
        (None, _) => {
            let first = j
                .next_target
                .as_ref()
                .map(|t| format!("; first {t}"))
                .unwrap_or_default();
            format!(
                "failover: down its strategy chain {}{first}",
                j.strategies.join(" → ")
            )
        }
    };
    let lines = [
        format!(
            "{} is {} on {} ({}): {}",
            j.id,
            j.state.as_str(),
            j.placement,
            j.epoch,
            e(&j.why)
        ),
        format!("  {}", e(&whither)),
        format!(
            "  (as the supervisor saw it at snapshot {}: if the job changes before this is sent, it is refused)",
            snap.epoch
        ),
    ];
    for l in lines {
        if opts.json {
            super::cli_out::err_line(&l);
        } else {
            say(out, &l)?;
        }
    }
    Ok(Some(snap.epoch))
}

/// Asks on the terminal (stderr); only y or yes goes ahead.
async fn confirm(question: &str) -> Result<bool, String> {
    let question = question.to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
