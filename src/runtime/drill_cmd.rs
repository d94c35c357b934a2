//! `lifeboat drill list|show NAME|run NAME [--dry-run] [--yes]|abort|report ID`: runbooks from the
//! files, drills through the supervisor of the state dir (started here on the demo fleet
//! when nothing supervises it and `--demo` says so). Ctrl-C aborts a running drill: its
//! rollbacks run before this command ends. Exit 0 passed, 1 failed, aborted or refused,
//! 2 a usage, config or runbook error.

use super::cli_link::{self, Heard};
use super::screens::{supervise_or_attach, Plan};
use crate::core::drill::runbook::Runbook;
use crate::protocol::notice::Notice;
use crate::protocol::request::Request;
use crate::protocol::wire::Outcome;
use std::io::Write;
use std::path::{Path, PathBuf};

pub enum Verb {
    List,
    Show {
        name: String,
    },
    Run {
        name: String,
        dry_run: bool,
        yes: bool,
    },
    Abort,
    Report {
        id: String,
    },
}

/// The last report of each runbook in `state_dir/drills/` (status, when).
fn last_results(state_dir: &Path) -> Vec<super::drill::report::Report> {
    let mut out = super::drill::report::Report::finished(state_dir);
    out.sort_by(|a, b| a.ended.cmp(&b.ended));
    out
}

fn list(
    books: &[Runbook],
    state_dir: &Path,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let results = last_results(state_dir);
    for r in books {
        let last = results.iter().rev().find(|x| x.runbook == r.name);
        if json {
            let v = serde_json::json!({
                "name": r.name, "title": r.title, "scenario": r.scenario.as_str(),
                "version": r.version, "source": r.source,
                "last": last.map(|l| serde_json::json!({"run": l.run, "status": l.status, "ended": l.ended, "rto_s": l.measures.rto_s})),
            });
            writeln!(out, "{v}")?;
        } else {
            let last = last.map_or("never run".to_string(), |l| {
                let rto = l
                    .measures
                    .rto_s
                    .map_or(String::new(), |v| format!(", RTO {v:.1} s"));
                format!("last {} {}{rto}", l.status.as_str(), l.ended)
            });
            writeln!(out, "{:<24} {:<40} {last}", r.name, r.title)?;
        }
    }
    Ok(())
}

/// Prints run `id`'s report: the id itself, `last`, or a part of one id only.
fn report(state_dir: &Path, id: &str, json: bool, out: &mut dyn Write) -> u8 {
    let dir = state_dir.join("drills");
    let mut runs: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("report.json").is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    runs.sort();
    let picked: Vec<&String> = if id == "last" {
        runs.last().into_iter().collect()
    } else if runs.iter().any(|r| r == id) {
        runs.iter().filter(|r| *r == id).collect()
    } else {
        runs.iter().filter(|r| r.contains(id)).collect()
    };
    let run = match picked.as_slice() {
        [one] => one.to_string(),
        [] => {
            eprintln!(
                "error: no drill report {id:?} in {}; runs there: {}",
                dir.display(),
                if runs.is_empty() {
                    "none".to_string()
                } else {
                    runs.join(", ")
                }
            );
            return 2;
        }
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "error: {id:?} names {} runs ({}): give more of the id",
                many.len(),
                names.join(", ")
            );
            return 2;
        }
    };
    let file = dir
        .join(&run)
        .join(if json { "report.json" } else { "report.md" });
    match std::fs::read_to_string(&file) {
        Ok(text) => match out.write_all(text.as_bytes()) {
            Ok(()) => 0,
            Err(_) => 1,
        },
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            1
        }
    }
}

fn show(r: &Runbook, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} v{} — {} ({})",
        r.name,
        r.version,
        r.title,
        r.scenario.as_str()
    )?;
    writeln!(out, "from {} (sha256 {})", r.source.display(), r.hash)?;
    writeln!(out, "\n{}\n", r.description)?;
    writeln!(
        out,
        "blast radius: at most {} hosts, {} jobs",
        r.blast_radius.max_hosts, r.blast_radius.max_jobs
    )?;
    writeln!(
        out,
        "preconditions: {}",
        r.preconditions
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(out, "steps:")?;
    for (i, s) in r.steps.iter().enumerate() {
        writeln!(
            out,
            "  {}. [{}] {} — {}",
            i + 1,
            s.action.kind(),
            s.title,
            super::drill::show::step_line(&s.action)
        )?;
    }
    Ok(())
}

/// Runs the verb; the exit status.
pub async fn main(
    verb: Verb,
    plan: Plan,
    team_dir: Option<PathBuf>,
    json: bool,
    out: &mut (dyn Write + Send),
) -> u8 {
    let (books, errors) = crate::config::runbook::catalogue(team_dir.as_deref());
    for e in &errors {
        eprintln!("warning: {e}");
    }
    match verb {
        Verb::Report { id } => report(&plan.state_dir, &id, json, out),
        Verb::List => match list(&books, &plan.state_dir, json, out) {
            Ok(()) => 0,
            Err(_) => 1,
        },
        Verb::Show { name } => match books.iter().find(|r| r.name == name) {
            Some(r) => match show(r, out) {
                Ok(()) => 0,
                Err(_) => 1,
            },
            None => match super::drill::find(&name, team_dir.as_deref()) {
                Ok(_) => 1,
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            },
        },
        Verb::Run { name, dry_run, yes } => {
            // A daemon already running knows its own runbook dir: without a config here,
            // a name not shipped is left for it to find (or refuse).
            let ask_daemon = team_dir.is_none() && plan.starter.is_none();
            if let Err(e) = super::drill::find(&name, team_dir.as_deref()) {
                if !ask_daemon {
                    eprintln!("error: {e}");
                    return 2;
                }
            }
            let embedded = match supervise_or_attach(&plan, "drill").await {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            // A supervisor started just now has not seen its fleet settle: give it time
            // to pass the preconditions before the drill is checked for real.
            if embedded.is_some() {
                settle(&plan.state_dir, &name).await;
            }
            let code = run(
                &plan.state_dir,
                plan.readonly,
                name,
                dry_run,
                yes,
                json,
                out,
            )
            .await;
            if let Some(e) = embedded {
                if let Err(e) = e.stop("the drill command ended").await {
                    eprintln!("error: {e}");
                }
            }
            code
        }
        Verb::Abort => {
            let mut link = match cli_link::open(&plan.state_dir, false, None).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return e.exit_code();
                }
            };
            let Ok(id) = link
                .send(Request::DrillAbort {
                    reason: "asked from the CLI".into(),
                })
                .await
            else {
                return 1;
            };
            loop {
                match link.next().await {
                    Heard::Outcome { id: got, outcome } if got == id => {
                        let _ = writeln!(out, "{}", cli_link::outcome_line(&link, &outcome, json));
                        return u8::from(!matches!(outcome, Outcome::Accepted { .. }));
                    }
                    Heard::Gone(why) => {
                        eprintln!("error: {why}");
                        return 1;
                    }
                    _ => {}
                }
            }
        }
    }
}

async fn run(
    dir: &Path,
    readonly: bool,
    name: String,
    dry_run: bool,
    yes: bool,
    json: bool,
    out: &mut (dyn Write + Send),
) -> u8 {
    let mut link = match cli_link::open(dir, readonly, None).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let _ = writeln!(out, "{}", link.who());
    let Ok(id) = link.send(Request::DrillRun { name, dry_run, yes }).await else {
        return 1;
    };
    let mut ours: Option<String> = None;
    // Drill notices heard before the answer naming our run.
    let mut early: Vec<Notice> = Vec::new();
    let aborter = {
        let dir = dir.to_path_buf();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("aborting the drill: its rollbacks run first…");
                if let Ok(mut l) = cli_link::open(&dir, false, None).await {
                    if l.send(Request::DrillAbort {
                        reason: "Ctrl-C".into(),
                    })
                    .await
                    .is_ok()
                    {
                        let _ = l.next().await;
                    }
                }
            }
        })
    };
    let code = loop {
        match link.next().await {
            Heard::Outcome { id: got, outcome } if got == id => match outcome {
                Outcome::Accepted { detail } => {
                    let (first, plan) = detail.split_once('\n').unwrap_or(("", detail.as_str()));
                    if dry_run {
                        let _ = write!(out, "{detail}");
                        break u8::from(detail.contains('✗'));
                    }
                    ours = first.strip_prefix("run ").map(str::to_string);
                    let _ = write!(out, "{plan}");
                    // The drill's first notices may have come before this answer.
                    let mut ended = None;
                    for n in std::mem::take(&mut early) {
                        if let Some(code) = print_notice(&n, ours.as_deref(), json, out) {
                            ended = Some(code);
                            break;
                        }
                    }
                    if let Some(code) = ended {
                        break code;
                    }
                }
                Outcome::Refused { reason } | Outcome::Failed { reason } => {
                    eprintln!("error: {reason}");
                    break 1;
                }
                Outcome::Answered { answer } => {
                    eprintln!(
                        "error: an answer where a drill was expected: {}",
                        answer.summary()
                    );
                    break 1;
                }
            },
            Heard::Notice(n @ Notice::Drill { .. }) if ours.is_none() => early.push(n),
            Heard::Notice(n @ Notice::Drill { .. }) => {
                if let Some(code) = print_notice(&n, ours.as_deref(), json, out) {
                    break code;
                }
            }
            Heard::Gone(why) => {
                let Some(run) = ours.as_deref() else {
                    eprintln!("error: {why}");
                    break 1;
                };
                // A supervisor-loss drill replaces the daemon under us: the run goes on
                // in the next one, so this follows it there.
                eprintln!(
                    "the supervisor went away ({why}); following drill {run} in the next one…"
                );
                match reattach(dir, readonly, run, json, out).await {
                    Ok(Ok(l)) => link = l,
                    Ok(Err(code)) => break code,
                    Err(e) => {
                        eprintln!("error: {e}");
                        break 1;
                    }
                }
            }
            _ => {}
        }
    };
    aborter.abort();
    link.quit().await;
    code
}

/// How long a supervisor that went away may take to answer again.
const REATTACH: std::time::Duration = std::time::Duration::from_secs(60);

/// Attaches to the next supervisor of `dir` to follow `run`: the link, or the exit
/// status when the run ended before it could be heard (its report is there).
async fn reattach(
    dir: &Path,
    readonly: bool,
    run: &str,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Result<Result<cli_link::CliLink, u8>, String> {
    let end = tokio::time::Instant::now() + REATTACH;
    let link = loop {
        match cli_link::open(dir, readonly, None).await {
            Ok(l) => break l,
            Err(e) if tokio::time::Instant::now() >= end => {
                return Err(format!(
                    "no supervisor answered in {} within {}s: {e}",
                    dir.display(),
                    REATTACH.as_secs()
                ))
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    };
    // Attached first, read second: an ending after this is heard on the link.
    match super::drill::report::Report::read(dir, run) {
        Some(r) => {
            let n = Notice::Drill {
                ts: crate::core::time::Ts(r.ended_ms),
                run: r.run.clone(),
                runbook: r.runbook.clone(),
                what: std::borrow::Cow::Borrowed("finished"),
                detail: format!("{}: {} (read from its report)", r.status.as_str(), r.why),
            };
            link.quit().await;
            Ok(Err(print_notice(&n, Some(run), json, out).unwrap_or(1)))
        }
        None => Ok(Ok(link)),
    }
}

/// How long a fleet started by this command may take to pass a drill's preconditions.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until a dry run of `name` passes every precondition (or [`SETTLE`] passes).
async fn settle(dir: &Path, name: &str) {
    let Ok(mut link) = cli_link::open(dir, false, None).await else {
        return;
    };
    let end = tokio::time::Instant::now() + SETTLE;
    let mut said = false;
    while tokio::time::Instant::now() < end {
        let request = Request::DrillRun {
            name: name.to_string(),
            dry_run: true,
            yes: false,
        };
        let Ok(id) = link.send(request).await else {
            break;
        };
        let ready = loop {
            match link.next().await {
                Heard::Outcome { id: got, outcome } if got == id => {
                    break matches!(outcome, Outcome::Accepted { ref detail } if !detail.contains('✗'));
                }
                Heard::Gone(_) => return,
                _ => {}
            }
        };
        if ready {
            break;
        }
        if !said {
            eprintln!(
                "the fleet is settling (probes, a first verified checkpoint) before the drill…"
            );
            said = true;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    link.quit().await;
}

/// Prints a drill notice of run `ours`; the exit status once it says the run finished.
fn print_notice(
    n: &Notice,
    ours: Option<&str>,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Option<u8> {
    let Notice::Drill {
        run, what, detail, ..
    } = n
    else {
        return None;
    };
    if ours != Some(run.as_str()) {
        return None;
    }
    let _ = n.write_line(json, out);
    (what == "finished").then(|| u8::from(!detail.starts_with("passed")))
}
