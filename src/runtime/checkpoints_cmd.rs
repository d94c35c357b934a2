//! `lifeboat checkpoints list|verify|restore|adopt|prune|replicate`: the replicator driven
//! from the command line, printing tables or JSON. Deleting is refused in `--readonly`,
//! needs `--yes` (or a typed confirmation on a terminal), and is journaled; so is adopting
//! a checkpoint found in a store, with every file's size and hash that was checked.
//! Restore and prune never race a supervisor: with one holding the state dir they are
//! asked of it; without, they run here holding the state dir's lock.

#[path = "checkpoints_adopt.rs"]
mod adopt;
#[path = "checkpoints_via.rs"]
mod via;

pub use via::restore_supervised;

use super::cli_out::err_line;
use super::journal::Journal;
use super::notice::Notice;
use super::replica::{self, PrunePlan, Replicator};
use super::service::lock::{LockError, StateLock};
use crate::config::Config;
use crate::core::inventory::CheckpointEntry;
use crate::core::safe_text::escape_line;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub enum Action {
    List {
        job: Option<String>,
    },
    Verify {
        job: Option<String>,
        /// Re-hash 1/N of the checkpoints (1 = all).
        fraction: u32,
    },
    Restore {
        job: String,
        id: Option<String>,
        host: String,
        path: Option<String>,
    },
    Prune {
        job: Option<String>,
        dry_run: bool,
        yes: bool,
    },
    Replicate {
        job: Option<String>,
    },
    Adopt {
        job: String,
        id: String,
    },
}

pub struct Options {
    pub config: Config,
    pub state_dir: PathBuf,
    pub json: bool,
    pub readonly: bool,
    pub operator: String,
}

/// Exit status the caller should use: 0 ok, 1 failed, 2 usage.
pub async fn run(action: Action, opts: Options, out: &mut (dyn Write + Send)) -> u8 {
    if let Action::List { .. } = action {
        // A read-only verb creates nothing: no state dir, no journal.
        let journal = opts.state_dir.join("journal.db");
        if !journal.exists() {
            return no_state_yet(&journal, opts.json, out);
        }
    }
    let _lock = if via::acts(&action, opts.readonly) {
        let now = super::clock::Clock::new().now();
        match StateLock::acquire(&opts.state_dir, "lifeboat checkpoints", now) {
            Ok(lock) => Some(lock),
            Err(LockError::Held { .. }) => return via::supervised(action, &opts, out).await,
            Err(e) => {
                err_line(&format!("error: {e}"));
                return 1;
            }
        }
    } else {
        None
    };
    match run_inner(action, &opts, out).await {
        Ok(code) => code,
        Err(e) => {
            err_line(&format!("error: {e}"));
            1
        }
    }
}

/// `list` before any console or checkpoints command used this state dir: nothing is
/// catalogued yet, and nothing is created to say so.
fn no_state_yet(journal: &std::path::Path, json: bool, out: &mut (dyn Write + Send)) -> u8 {
    let msg = format!(
        "no state yet: there is no journal at {} (no console or checkpoints command has run with this state dir), so no checkpoint is catalogued. Pass --state-dir DIR (or set [settings].state_dir) if the state is elsewhere; `lifeboat checkpoints verify` adopts the checkpoints already in the stores.",
        journal.display()
    );
    if json {
        // stdout stays the (empty) list; the reason goes to stderr.
        err_line(&format!("note: {msg}"));
        return 0;
    }
    match writeln!(out, "({msg})") {
        Ok(()) => 0,
        Err(e) => {
            err_line(&format!("error: cannot write the output: {e}"));
            1
        }
    }
}

async fn run_inner(
    action: Action,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<u8, String> {
    std::fs::create_dir_all(&opts.state_dir)
        .map_err(|e| format!("state dir {}: {e}", opts.state_dir.display()))?;
    let ssh = super::ssh_shell(&opts.config.fleet, &opts.config.policy);
    let local: Arc<dyn super::shell::Shell> = Arc::new(super::local::LocalShell);
    let (tx, mut rx) = mpsc::channel::<Notice>(1024);
    let rep = replica::open(&opts.config, &opts.state_dir, ssh, local)
        .await
        .map_err(|e| e.to_string())?
        .with_notices(tx);
    let journal = Journal::open(&opts.state_dir.join("journal.db")).map_err(|e| e.to_string())?;
    // Where each job runs now, and under which epoch, as the last console saw it.
    let snap: Option<crate::core::snapshot::Snapshot> = journal.load("snapshot").ok().flatten();
    let placements = snap
        .map(|s| {
            s.jobs
                .iter()
                .map(|j| (j.id.to_string(), (j.placement.host.to_string(), j.epoch.0)))
                .collect()
        })
        .unwrap_or_default();
    let code = act(&rep, action, opts, &placements, &journal, out).await;
    drop(rep);
    // Every checkpoint notice goes to the journal, and to stdout as it would in headless mode.
    while let Some(n) = rx.recv().await {
        let _ = journal.append_event(n.ts().0, n.kind(), n.job().as_deref(), &n.to_json());
        if !opts.json {
            err_line(&n.to_text());
        }
    }
    code
}

fn emit<T: serde::Serialize>(out: &mut (dyn Write + Send), v: &T) -> Result<(), String> {
    let s = serde_json::to_string(v).map_err(|e| e.to_string())?;
    writeln!(out, "{s}").map_err(|e| e.to_string())
}

async fn act(
    rep: &Replicator,
    action: Action,
    opts: &Options,
    placements: &std::collections::BTreeMap<String, (String, u64)>,
    journal: &Journal,
    out: &mut (dyn Write + Send),
) -> Result<u8, String> {
    let w = |e: std::io::Error| e.to_string();
    match action {
        Action::Adopt { job, id } => adopt::run(rep, &job, &id, opts, journal, out).await,
        Action::List { job } => {
            let inv = rep.inventory().map_err(|e| e.to_string())?;
            let rows: Vec<&CheckpointEntry> = inv
                .checkpoints
                .iter()
                .filter(|e| job.as_ref().is_none_or(|j| &e.job == j) && !e.copies.is_empty())
                .collect();
            if opts.json {
                for r in rows {
                    let v = serde_json::json!({
                        "job": r.job, "id": r.id, "step": r.step, "created": r.created.0,
                        "bytes": r.bytes, "files": r.files, "source_host": r.source_host,
                        "epoch": r.epoch, "digest": r.digest, "restorable": r.restorable(),
                        "provenance": r.provenance, "copies": r.copies,
                    });
                    emit(out, &v)?;
                }
            } else {
                let names: Vec<String> =
                    rep.stores().iter().map(|s| s.kind().to_string()).collect();
                write!(
                    out,
                    "{:<14} {:<24} {:>10} {:>10} {:>5}",
                    "JOB", "CHECKPOINT", "STEP", "SIZE", "FILES"
                )
                .map_err(w)?;
                for n in &names {
                    write!(out, " {:<9}", n.to_uppercase()).map_err(w)?;
                }
                writeln!(out, " RESTORABLE").map_err(w)?;
                for r in &rows {
                    write!(
                        out,
                        "{:<14} {:<24} {:>10} {:>10} {:>5}",
                        escape_line(&r.job),
                        escape_line(&r.id),
                        r.step,
                        human_bytes(r.bytes),
                        r.files
                    )
                    .map_err(w)?;
                    for n in &names {
                        let st = r.copy(n).map_or("-", |c| c.state.as_str());
                        write!(out, " {st:<9}").map_err(w)?;
                    }
                    let ok = if r.restorable() {
                        "yes"
                    } else if r.needs_adoption() {
                        "no: found, needs `checkpoints adopt`"
                    } else {
                        "no"
                    };
                    writeln!(out, " {ok}").map_err(w)?;
                }
                if rows.is_empty() {
                    writeln!(out, "(no checkpoints in the catalogue; `lifeboat checkpoints verify` adopts those already in the stores)").map_err(w)?;
                }
            }
            Ok(0)
        }
        Action::Verify { job, fraction } => {
            let report = rep
                .scrub(fraction, job.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            if opts.json {
                emit(out, &report)?;
            } else {
                writeln!(
                    out,
                    "checked {} cop{}, {} bad, {} repaired, {} adopted from the stores",
                    report.checked,
                    if report.checked == 1 { "y" } else { "ies" },
                    report.bad.len(),
                    report.repaired,
                    report.adopted
                )
                .map_err(w)?;
                for b in &report.bad {
                    writeln!(out, "  BAD {}", escape_line(&b.to_string())).map_err(w)?;
                }
                for f in &report.found {
                    writeln!(out, "  FOUND {f}: not written by this Lifeboat; not restorable until `lifeboat checkpoints adopt JOB ID`").map_err(w)?;
                }
                for r in &report.refused {
                    writeln!(out, "  REFUSED {r}").map_err(w)?;
                }
            }
            Ok(
                if report.bad.len() > report.repaired || !report.refused.is_empty() {
                    1
                } else {
                    0
                },
            )
        }
        Action::Restore {
            job,
            id,
            host,
            path,
        } => {
            if opts.readonly {
                return Err("refused: restore writes to a host, and this is --readonly".into());
            }
            let r = rep
                .restore(&job, id.as_deref(), &host, path.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            if opts.json {
                emit(out, &r)?;
            } else {
                writeln!(out, "{}", r.to_text()).map_err(w)?;
            }
            Ok(0)
        }
        Action::Prune { job, dry_run, yes } => {
            let plan = rep.plan_prune(job.as_deref()).map_err(|e| e.to_string())?;
            print_plan(&plan, opts.json, out)?;
            let n = plan.removals().count();
            if dry_run || n == 0 {
                return Ok(0);
            }
            if opts.readonly {
                return Err("refused: prune deletes checkpoints, and this is --readonly".into());
            }
            if !yes && !confirm(n)? {
                err_line("not confirmed; nothing deleted");
                return Ok(1);
            }
            let deleted = rep
                .prune(&plan, &opts.operator)
                .await
                .map_err(|e| e.to_string())?;
            if !opts.json {
                writeln!(
                    out,
                    "deleted {} cop{}",
                    deleted.len(),
                    if deleted.len() == 1 { "y" } else { "ies" }
                )
                .map_err(w)?;
            }
            Ok(0)
        }
        Action::Replicate { job } => {
            let rep_opts = super::replicate_cmd::Options {
                fleet: &opts.config.fleet,
                json: opts.json,
                readonly: opts.readonly,
            };
            super::replicate_cmd::replicate(rep, job, &rep_opts, placements, out).await
        }
    }
}

fn print_plan(plan: &PrunePlan, json: bool, out: &mut (dyn Write + Send)) -> Result<(), String> {
    let w = |e: std::io::Error| e.to_string();
    if json {
        for r in &plan.rows {
            emit(out, r)?;
        }
        return Ok(());
    }
    for r in &plan.rows {
        writeln!(
            out,
            "{:<6} {:<14} {:<24} {:<4} {}",
            if r.keep { "keep" } else { "REMOVE" },
            escape_line(&r.job),
            escape_line(&r.id),
            escape_line(&r.store.to_string()),
            escape_line(&r.reasons.join("; "))
        )
        .map_err(w)?;
    }
    Ok(())
}

/// Asks on the terminal; anything but the word `prune` declines. No terminal: declines.
fn confirm(n: usize) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        err_line(&format!(
            "refused: deleting {n} cop{} needs --yes when stdin is not a terminal",
            if n == 1 { "y" } else { "ies" }
        ));
        return Ok(false);
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "Delete {n} checkpoint cop{}? Type prune to confirm: ",
        if n == 1 { "y" } else { "ies" }
    );
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim() == "prune")
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
