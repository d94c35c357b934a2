//! `lifeboat checkpoints restore|prune` while a supervisor holds the state dir: it owns the
//! stores and the catalogue then, so the work is asked of it (and journaled there, with
//! who asked) and its checkpoint notices are shown as they come. This process writes
//! nothing; a prune sends exactly the copies whose removal it printed.

use super::super::cli_link::{self, CliLink, Heard};
use super::{confirm, print_plan, Action, Options};
use crate::protocol::notice::Notice;
use crate::protocol::request::Request;
use crate::protocol::wire::Outcome;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Restore or prune asked of the supervisor that holds the state dir.
pub(super) async fn supervised(action: Action, opts: &Options, out: &mut (dyn Write + Send)) -> u8 {
    match action {
        Action::Restore {
            job,
            id,
            host,
            path,
        } => restore_supervised(&opts.state_dir, opts.json, job, id, host, path, out).await,
        Action::Prune { job, yes, .. } => prune(job.as_deref(), yes, opts, out).await,
        _ => 1,
    }
}

/// `checkpoints restore` asked of the supervisor of `state_dir` (no config needed here).
pub async fn restore_supervised(
    state_dir: &std::path::Path,
    json: bool,
    job: String,
    id: Option<String>,
    host: String,
    path: Option<String>,
    out: &mut (dyn Write + Send),
) -> u8 {
    let request = crate::protocol::request::Request::Restore {
        job,
        id,
        host,
        path,
    };
    restore(state_dir, json, request, out).await
}

/// Whether `action` writes to hosts or stores (what `--readonly` refuses anyway stays here).
pub(super) fn acts(action: &Action, readonly: bool) -> bool {
    !readonly
        && matches!(
            action,
            Action::Restore { .. } | Action::Prune { dry_run: false, .. }
        )
}

/// Restore through the supervisor (it needs no config here: the supervisor has its own).
/// Exit status: 0 done, 1 refused or failed, 2 nothing supervises after all.
pub async fn restore(
    state_dir: &Path,
    json: bool,
    request: Request,
    out: &mut (dyn Write + Send),
) -> u8 {
    finish(ask_all(state_dir, json, vec![request], out).await)
}

/// Prune through the supervisor: the plan is made and printed here, confirmed, and its
/// removals sent job by job.
pub async fn prune(
    job: Option<&str>,
    yes: bool,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> u8 {
    let copies = match planned(job, yes, opts, out).await {
        Ok(Some(c)) => c,
        Ok(None) => return 1,
        Err(e) => return finish(Err((1, e))),
    };
    let requests = copies
        .into_iter()
        .map(|(job, copies)| Request::Prune { job, copies })
        .collect();
    finish(ask_all(&opts.state_dir, opts.json, requests, out).await)
}

fn finish(r: Result<u8, (u8, String)>) -> u8 {
    match r {
        Ok(code) => code,
        Err((code, e)) => {
            super::err_line(&format!("error: {e}"));
            code
        }
    }
}

async fn ask_all(
    state_dir: &Path,
    json: bool,
    requests: Vec<Request>,
    out: &mut (dyn Write + Send),
) -> Result<u8, (u8, String)> {
    if requests.is_empty() {
        return Ok(0);
    }
    // --readonly never gets here: it refuses restore and prune before anything is asked.
    let mut link = cli_link::open(state_dir, false, None)
        .await
        .map_err(|e| (e.exit_code(), e.to_string()))?;
    if !json {
        super::err_line(&link.who());
    }
    let mut code = 0;
    for request in requests {
        if !ask(&mut link, request, json, out)
            .await
            .map_err(|e| (1, e))?
        {
            code = 1;
        }
    }
    link.quit().await;
    Ok(code)
}

/// The prune plan, printed as `--dry-run` prints it and confirmed: the copies to delete,
/// per job. `None` when declined (said why); empty when nothing is to be removed.
async fn planned(
    job: Option<&str>,
    yes: bool,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<Option<BTreeMap<String, Vec<(String, String)>>>, String> {
    let failed = |e: String| e;
    let ssh = super::super::ssh_shell(&opts.config.fleet, &opts.config.policy);
    let local: std::sync::Arc<dyn super::super::shell::Shell> =
        std::sync::Arc::new(super::super::local::LocalShell);
    let rep = super::replica::open(&opts.config, &opts.state_dir, ssh, local)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let plan = rep.plan_prune(job).map_err(|e| failed(e.to_string()))?;
    print_plan(&plan, opts.json, out).map_err(failed)?;
    let mut copies: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in plan.removals() {
        copies
            .entry(r.job.clone())
            .or_default()
            .push((r.id.clone(), r.store.to_string()));
    }
    let n: usize = copies.values().map(Vec::len).sum();
    if n > 0 && !yes && !confirm(n)? {
        super::err_line("not confirmed; nothing deleted");
        return Ok(None);
    }
    Ok(Some(copies))
}

/// Sends one request and waits for its outcome (a restore or prune takes as long as its
/// bytes do), showing the checkpoint notices of its job meanwhile. Whether it was done.
async fn ask(
    link: &mut CliLink,
    request: Request,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Result<bool, String> {
    let job = match &request {
        Request::Restore { job, .. } | Request::Prune { job, .. } => job.clone(),
        _ => String::new(),
    };
    let id = link.send(request).await.map_err(|e| e.to_string())?;
    loop {
        match link.next().await {
            Heard::Outcome { id: got, outcome } if got == id => {
                return said(link, &outcome, json, out).map(|()| outcome.ok())
            }
            Heard::Outcome { .. } | Heard::Missed(_) => {}
            Heard::Notice(n @ Notice::Checkpoint { .. }) if n.job().as_deref() == Some(&job) => {
                if !json {
                    super::err_line(&n.to_text());
                }
            }
            Heard::Notice(_) => {}
            Heard::Gone(why) => {
                return Err(format!(
                    "{why}; the supervisor did not say how the work on {job} ended (see `lifeboat checkpoints list` and `lifeboat history`)"
                ))
            }
        }
    }
}

/// The outcome as the in-process command says it: its words on stdout, a refusal on
/// stderr; with --json, one outcome object.
fn said(
    link: &CliLink,
    outcome: &Outcome,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Result<(), String> {
    let w = |e: std::io::Error| e.to_string();
    if json {
        return writeln!(out, "{}", cli_link::outcome_line(link, outcome, true)).map_err(w);
    }
    match outcome {
        Outcome::Accepted { detail } => {
            writeln!(out, "{}", crate::core::safe_text::escape_line(detail)).map_err(w)
        }
        Outcome::Answered { answer } => writeln!(out, "{}", answer.summary()).map_err(w),
        Outcome::Refused { reason } | Outcome::Failed { reason } => {
            super::err_line(&format!("error: {reason}"));
            Ok(())
        }
    }
}
