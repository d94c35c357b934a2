//! The `:` command line: parsing what was typed and completing the word being typed.

use super::action::View;
use crate::core::ids::{HostId, JobId, Target};
use crate::core::snapshot::Snapshot;
use crate::protocol::fault::FaultKind;

/// What a palette line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum PaletteCommand {
    Failover {
        job: JobId,
        target: Option<Target>,
    },
    Switchover {
        job: JobId,
        target: Option<Target>,
    },
    Pause(Option<JobId>),
    Resume(Option<JobId>),
    Cancel(JobId),
    /// Take an escalated job; without one, the first nobody has acknowledged.
    Acknowledge(Option<JobId>),
    Prune(JobId),
    Readiness(JobId),
    Inject {
        kind: FaultKind,
        target: String,
    },
    View(View),
    Theme(String),
    Help,
    Quit,
}

/// Every command the palette knows, with its arguments, for help and completion.
pub const COMMANDS: [(&str, &str); 15] = [
    (
        "failover",
        "<job> [target]   fail a job over, down its chain or to a target",
    ),
    (
        "switchover",
        "<job> [target]   planned move of a healthy job",
    ),
    (
        "pause",
        "[job]            stop automatic failover (one job or all)",
    ),
    ("resume", "[job]            resume automatic failover"),
    ("cancel", "<job>            cancel a job's recovery"),
    (
        "acknowledge",
        "[job]            take an escalated job (needs a human)",
    ),
    ("ack", "[job]            the same as acknowledge"),
    (
        "prune",
        "<job>            delete the checkpoints retention removes",
    ),
    (
        "readiness",
        "<job>            would a failover of the job work now?",
    ),
    (
        "inject",
        "<fault> <job|host>  inject a fault (demo fleet only)",
    ),
    ("view", "<fleet|jobs|checkpoints|tasks|events>"),
    ("theme", "<name>           switch colour theme"),
    ("help", "                 list every key"),
    ("quit", "                 leave the console"),
    ("q", "                 leave the console"),
];

fn job(snap: &Snapshot, name: &str) -> Result<JobId, String> {
    if snap.jobs.iter().any(|j| j.id.as_str() == name) {
        return Ok(JobId::new(name));
    }
    let names: Vec<&str> = snap.jobs.iter().map(|j| j.id.as_str()).collect();
    Err(format!(
        "no job named \"{name}\" (jobs: {})",
        names.join(", ")
    ))
}

/// `host`, `host:1` or `host:gpu1`.
pub fn target(snap: &Snapshot, text: &str) -> Result<Target, String> {
    let (host, gpu) = match text.split_once(':') {
        Some((h, g)) => {
            let n = g.trim_start_matches("gpu");
            let idx = n
                .parse::<u32>()
                .map_err(|_| format!("\"{g}\" is not a GPU index; write host:0"))?;
            (h, Some(idx))
        }
        None => (text, None),
    };
    if !snap.hosts.iter().any(|h| h.id.as_str() == host) {
        let names: Vec<&str> = snap.hosts.iter().map(|h| h.id.as_str()).collect();
        return Err(format!(
            "no host named \"{host}\" (hosts: {})",
            names.join(", ")
        ));
    }
    Ok(Target::new(HostId::new(host), gpu))
}

pub fn parse(input: &str, snap: &Snapshot, themes: &[String]) -> Result<PaletteCommand, String> {
    let words: Vec<&str> = input.split_whitespace().collect();
    let Some((&cmd, args)) = words.split_first() else {
        return Err("type a command; Tab completes".into());
    };
    let arg = |i: usize| args.get(i).copied();
    let need = |i: usize, what: &str| arg(i).ok_or_else(|| format!(":{cmd} needs {what}"));
    match cmd {
        "failover" | "fo" => Ok(PaletteCommand::Failover {
            job: job(snap, need(0, "a job")?)?,
            target: arg(1).map(|t| target(snap, t)).transpose()?,
        }),
        "switchover" | "so" => Ok(PaletteCommand::Switchover {
            job: job(snap, need(0, "a job")?)?,
            target: arg(1).map(|t| target(snap, t)).transpose()?,
        }),
        "pause" => Ok(PaletteCommand::Pause(
            arg(0).map(|j| job(snap, j)).transpose()?,
        )),
        "resume" => Ok(PaletteCommand::Resume(
            arg(0).map(|j| job(snap, j)).transpose()?,
        )),
        "cancel" => Ok(PaletteCommand::Cancel(job(snap, need(0, "a job")?)?)),
        "acknowledge" | "ack" => Ok(PaletteCommand::Acknowledge(
            arg(0).map(|j| job(snap, j)).transpose()?,
        )),
        "prune" => Ok(PaletteCommand::Prune(job(snap, need(0, "a job")?)?)),
        "readiness" | "ready" => Ok(PaletteCommand::Readiness(job(snap, need(0, "a job")?)?)),
        "inject" => {
            let kind_s = need(0, "a fault")?;
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind_s)
                .ok_or_else(|| {
                    let all: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("unknown fault \"{kind_s}\" (one of {})", all.join(", "))
                })?;
            let t = need(1, "a job or host")?;
            let known = snap.jobs.iter().any(|j| j.id.as_str() == t)
                || snap.hosts.iter().any(|h| h.id.as_str() == t);
            if !known {
                return Err(format!("no job or host named \"{t}\""));
            }
            Ok(PaletteCommand::Inject {
                kind,
                target: t.to_string(),
            })
        }
        "view" => {
            let v = need(0, "a view")?;
            View::parse(v)
                .map(PaletteCommand::View)
                .ok_or_else(|| format!("no view \"{v}\" (fleet, jobs, checkpoints, tasks, events)"))
        }
        "theme" => {
            let t = need(0, "a theme name")?;
            if themes.iter().any(|x| x == t) {
                Ok(PaletteCommand::Theme(t.to_string()))
            } else {
                Err(format!("no theme \"{t}\" (themes: {})", themes.join(", ")))
            }
        }
        "help" | "?" => Ok(PaletteCommand::Help),
        "quit" | "q" => Ok(PaletteCommand::Quit),
        other => match View::parse(other) {
            Some(v) => Ok(PaletteCommand::View(v)),
            None => {
                let names: Vec<&str> = COMMANDS.iter().map(|(c, _)| *c).collect();
                let hint = crate::config::suggest::closest(other, &names)
                    .map(|c| format!("; did you mean :{c}?"))
                    .unwrap_or_default();
                Err(format!("unknown command \":{other}\"{hint}"))
            }
        },
    }
}

/// Candidates for the word being typed (the last one, or a new one after a space).
pub fn complete(input: &str, snap: &Snapshot, themes: &[String]) -> Vec<String> {
    let words: Vec<&str> = input.split_whitespace().collect();
    let fresh = input.ends_with(' ') || input.is_empty();
    let (pos, partial) = if fresh {
        (words.len(), "")
    } else {
        (words.len() - 1, words.last().copied().unwrap_or(""))
    };
    let jobs = || {
        snap.jobs
            .iter()
            .map(|j| j.id.to_string())
            .collect::<Vec<_>>()
    };
    let targets = |job: Option<&str>| -> Vec<String> {
        let standbys = job
            .and_then(|j| snap.jobs.iter().find(|x| x.id.as_str() == j))
            .map(|j| {
                j.standbys
                    .iter()
                    .map(|t| match t.gpu {
                        Some(g) => format!("{}:{g}", t.host),
                        None => t.host.to_string(),
                    })
                    .collect::<Vec<_>>()
            });
        standbys.unwrap_or_else(|| snap.hosts.iter().map(|h| h.id.to_string()).collect())
    };
    let pool: Vec<String> = match (pos, words.first().copied()) {
        (0, _) => COMMANDS.iter().map(|(c, _)| c.to_string()).collect(),
        (
            1,
            Some(
                "failover" | "fo" | "switchover" | "so" | "pause" | "resume" | "cancel" | "prune"
                | "readiness" | "ready" | "acknowledge" | "ack",
            ),
        ) => jobs(),
        (2, Some("failover" | "fo" | "switchover" | "so")) => targets(words.get(1).copied()),
        (1, Some("inject")) => FaultKind::ALL
            .iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        (2, Some("inject")) => {
            let mut v = jobs();
            v.extend(snap.hosts.iter().map(|h| h.id.to_string()));
            v
        }
        (1, Some("view")) => View::ALL.iter().map(|v| v.name().to_string()).collect(),
        (1, Some("theme")) => themes.to_vec(),
        _ => Vec::new(),
    };
    pool.into_iter()
        .filter(|c| c.starts_with(partial))
        .collect()
}

/// Replaces the word being typed with `choice`.
pub fn apply_completion(input: &str, choice: &str) -> String {
    let keep = if input.ends_with(' ') || input.is_empty() {
        input.to_string()
    } else {
        match input.rfind(' ') {
            Some(i) => input[..=i].to_string(),
            None => String::new(),
        }
    };
    format!("{keep}{choice} ")
}
