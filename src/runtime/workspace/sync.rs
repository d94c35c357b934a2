//! One workspace sync between two hosts, through Lifeboat (hosts never SSH to each other):
//! list both sides, plan in the core, remove and create folders on the destination, stream
//! the changed files as one tar from the source into the destination's scratch folder, and
//! move them into place. Works in either direction (GPU host → CPU standby on schedule,
//! CPU standby → GPU host before the job returns there).

use super::remote;
use super::{Shells, WorkspaceError};
use crate::core::fleet::{HostSpec, JobSpec};
use crate::core::workspace::{parse_listing, plan, Excludes, Plan, Tree};
use crate::runtime::shell::{Shell, ShellError, ShellOutput};
use bytes::Bytes;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// No byte moving for this long means a side is stuck.
pub const STALL: Duration = Duration::from_secs(60);
/// Listing, removing and moving into place are each given this long.
const SCRIPT_LIMIT: Duration = Duration::from_secs(600);
/// Cleaning up after a failure, on a host that may be gone.
const CLEAN_LIMIT: Duration = Duration::from_secs(20);
/// The most listing output read: about a million files.
const LIST_CAP: usize = 128 << 20;
/// Chunks in flight between the two hosts.
const DEPTH: usize = 16;

type Chunk = Result<Bytes, String>;

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Files and links sent, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Paths removed at the destination (gone at the source, or in the way).
    pub deleted: usize,
    pub ms: u64,
    /// What was skipped or only warned about (unreadable names, files that changed
    /// while read, a folder that blocks a file).
    pub notes: Vec<String>,
    /// Symbolic links at the source, `host:path -> target`: never synced.
    pub refused: Vec<String>,
}

/// Syncs `job`'s workspace from `from` to `to`.
pub async fn sync(
    shells: &Shells,
    from: &HostSpec,
    to: &HostSpec,
    job: &JobSpec,
) -> Result<SyncReport, WorkspaceError> {
    sync_guarded(shells, from, to, job, &|| true).await
}

/// [`sync`], asking `proceed` before the destination is first changed and again before
/// files are moved into place: false (the job moved meanwhile) stops with `Superseded`.
pub async fn sync_guarded(
    shells: &Shells,
    from: &HostSpec,
    to: &HostSpec,
    job: &JobSpec,
    proceed: &(dyn Fn() -> bool + Send + Sync),
) -> Result<SyncReport, WorkspaceError> {
    let started = Instant::now();
    let ws_cfg = job
        .workspace
        .as_ref()
        .ok_or_else(|| WorkspaceError::NotConfigured {
            job: job.id.to_string(),
        })?;
    if from.id == to.id {
        return Err(WorkspaceError::SameHost {
            host: from.id.to_string(),
        });
    }
    let ws = ws_cfg.path.to_string_lossy().to_string();
    let ex = ws_cfg.excludes(&job.checkpoint_dir.to_string_lossy());
    let (src_sh, dst_sh) = (shells.for_host(from), shells.for_host(to));
    let (src, dst) = tokio::join!(list(src_sh, from, &ws, &ex), list(dst_sh, to, &ws, &ex));
    let (src, src_complete) = src?;
    let src = src.ok_or_else(|| WorkspaceError::List {
        host: from.id.to_string(),
        path: ws.clone(),
        detail: "the folder does not exist".into(),
    })?;
    let dst = dst?.0.unwrap_or_default();
    let p = plan(&src, &dst, &ex, src_complete);
    let mut report = SyncReport {
        files: p.files,
        bytes: p.bytes,
        deleted: p.delete.len(),
        ..SyncReport::default()
    };
    report.notes.extend(skipped(from, &src));
    report.refused = p
        .refused
        .iter()
        .map(|l| format!("{}:{ws}/{l}", from.id))
        .collect();
    if !src_complete {
        report.notes.push(format!(
            "{}: some folders could not be read; nothing was removed",
            from.id
        ));
    }
    if !p.is_empty() {
        if !proceed() {
            return Err(WorkspaceError::Superseded);
        }
        let applied = apply(src_sh, dst_sh, from, to, &ws, &p, proceed, &mut report).await;
        if applied.is_err() {
            // A full disk must not stay full, and the next sync starts clean anyway.
            let _ = dst_sh.run(to, &remote::clean(&ws), CLEAN_LIMIT, 4096).await;
        }
        applied?;
    }
    report.ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

fn skipped(host: &HostSpec, t: &Tree) -> Vec<String> {
    t.skipped
        .iter()
        .take(10)
        .map(|s| format!("{}: skipped {s}", host.id))
        .collect()
}

/// Lists `ws` on `host`: the tree (None when the folder does not exist) and whether
/// every folder could be read.
async fn list(
    sh: &dyn Shell,
    host: &HostSpec,
    ws: &str,
    ex: &Excludes,
) -> Result<(Option<Tree>, bool), WorkspaceError> {
    let err = |detail: String| WorkspaceError::List {
        host: host.id.to_string(),
        path: ws.to_string(),
        detail,
    };
    let out = sh
        .run(host, &remote::list(ws, ex), SCRIPT_LIMIT, LIST_CAP)
        .await
        .map_err(|e| err(e.to_string()))?;
    if out.truncated {
        return Err(err(format!(
            "the listing is over {} MiB; exclude the folders with many small files",
            LIST_CAP >> 20
        )));
    }
    if let Some(why) = script_error(&out) {
        return Err(err(why));
    }
    let tree = parse_listing(&out.stdout).map_err(err)?;
    Ok((tree, out.exit == Some(0)))
}

/// The `@@error …` line a script printed, if any.
fn script_error(out: &ShellOutput) -> Option<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("@@error ").map(str::to_string))
}

/// The first lines of what a command printed on stderr.
fn stderr(out: &ShellOutput) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    if lines.is_empty() {
        format!("exit status {:?}", out.exit)
    } else {
        lines.join("; ")
    }
}

/// Runs a destination script that must print `ok`.
async fn run_script(
    sh: &dyn Shell,
    host: &HostSpec,
    ws: &str,
    script: &str,
    ok: &str,
) -> Result<ShellOutput, WorkspaceError> {
    let out = sh
        .run(host, script, SCRIPT_LIMIT, 1 << 20)
        .await
        .map_err(|e| write_error(host, ws, &e.to_string()))?;
    if String::from_utf8_lossy(&out.stdout).contains(ok) {
        return Ok(out);
    }
    let why = script_error(&out).unwrap_or_else(|| stderr(&out));
    Err(write_error(host, ws, &format!("{why} ({})", stderr(&out))))
}

/// A destination that failed; a full disk is named as such.
fn write_error(host: &HostSpec, ws: &str, detail: &str) -> WorkspaceError {
    let (host, path, detail) = (host.id.to_string(), ws.to_string(), detail.to_string());
    if detail.contains("No space left") || detail.contains("Disk quota exceeded") {
        WorkspaceError::Full { host, path, detail }
    } else {
        WorkspaceError::Write { host, path, detail }
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    src_sh: &dyn Shell,
    dst_sh: &dyn Shell,
    from: &HostSpec,
    to: &HostSpec,
    ws: &str,
    p: &Plan,
    proceed: &(dyn Fn() -> bool + Send + Sync),
    report: &mut SyncReport,
) -> Result<(), WorkspaceError> {
    run_script(dst_sh, to, ws, &remote::prepare(ws, p), "@@prepared").await?;
    if !p.copy.is_empty() {
        let list = stage(src_sh, from, ws, p).await?;
        let streamed = stream(src_sh, dst_sh, from, to, ws, &list).await;
        if streamed.is_err() {
            // `pack` removes the list itself when it gets to run.
            let _ = src_sh
                .run(from, &remote::remove_list(&list), CLEAN_LIMIT, 4096)
                .await;
        }
        report.notes.extend(streamed?);
    }
    if !proceed() {
        return Err(WorkspaceError::Superseded);
    }
    let out = run_script(dst_sh, to, ws, &remote::place(ws, p), "@@placed").await?;
    let text = String::from_utf8_lossy(&out.stdout);
    for l in text.lines() {
        if let Some(path) = l.strip_prefix("@@blocked ") {
            report
                .notes
                .push(format!("{}: a folder is where {path} goes", to.id));
        } else if let Some(path) = l.strip_prefix("@@unplaced ") {
            return Err(write_error(
                to,
                ws,
                &format!("cannot move {path} into place ({})", stderr(&out)),
            ));
        }
    }
    Ok(())
}

/// Writes tar's file list to a temp file on the source (it may be far longer than a
/// command line may be) and returns its path.
async fn stage(
    sh: &dyn Shell,
    host: &HostSpec,
    ws: &str,
    p: &Plan,
) -> Result<String, WorkspaceError> {
    let (tx, rx) = mpsc::channel::<Chunk>(2);
    let body = Bytes::from(remote::file_list(&p.copy));
    let send = async move {
        let _ = tx.send(Ok(body)).await;
    };
    let cmd = remote::stage_list();
    let (_, out) = tokio::join!(send, sh.write_stream(host, &cmd, rx, STALL));
    let err = |detail: String| WorkspaceError::Read {
        host: host.id.to_string(),
        path: ws.to_string(),
        detail,
    };
    let out = out.map_err(|e| err(format!("cannot stage the file list: {e}")))?;
    remote::parse_staged(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| err(format!("cannot stage the file list: {}", stderr(&out))))
}

/// Streams the tar from the source into the destination's scratch folder; the source's
/// warnings come back as notes.
async fn stream(
    src_sh: &dyn Shell,
    dst_sh: &dyn Shell,
    from: &HostSpec,
    to: &HostSpec,
    ws: &str,
    list: &str,
) -> Result<Vec<String>, WorkspaceError> {
    let (tx, rx) = mpsc::channel::<Chunk>(DEPTH);
    let read = async {
        let got = src_sh
            .read_stream(from, &remote::pack(ws, list), tx.clone(), STALL)
            .await;
        // tar exits 1 when a file changed while read: sent anyway, fixed next time.
        let failed = match &got {
            Ok(out) if matches!(out.exit, Some(0 | 1)) => None,
            Ok(out) => Some(format!("tar failed: {}", stderr(out))),
            Err(e) => Some(e.to_string()),
        };
        // The destination is killed rather than given EOF: no half archive unpacks. If
        // it still listened, the source broke first and is to blame.
        let source_first = match failed {
            Some(why) => tx.send(Err(format!("{}: {why}", from.id))).await.is_ok(),
            None => false,
        };
        drop(tx);
        (got, source_first)
    };
    let unpack = remote::unpack(ws);
    let ((read, source_first), wrote) =
        tokio::join!(read, dst_sh.write_stream(to, &unpack, rx, STALL));
    // The destination's tar exits 0 only after the archive's end marker, which the
    // source writes last: then everything arrived, however the source's side ended (it
    // may be cut off after the destination hung up, before its last padding).
    let src_failure = |detail: String| match &read {
        Err(ShellError::Timeout(d)) => WorkspaceError::Stalled {
            host: from.id.to_string(),
            path: ws.to_string(),
            secs: d.as_secs(),
        },
        _ => WorkspaceError::Read {
            host: from.id.to_string(),
            path: ws.to_string(),
            detail,
        },
    };
    let read_detail = match &read {
        Ok(out) => format!("tar failed: {}", stderr(out)),
        Err(e) => e.to_string(),
    };
    let wrote_detail = match wrote {
        Ok(out) if out.exit == Some(0) => None,
        Ok(out) => Some(stderr(&out)),
        Err(ShellError::Timeout(d)) if !source_first => {
            return Err(WorkspaceError::Stalled {
                host: to.id.to_string(),
                path: ws.to_string(),
                secs: d.as_secs(),
            })
        }
        Err(e) => Some(e.to_string()),
    };
    if let Some(detail) = wrote_detail {
        // A source that broke first explains whatever the destination then said.
        return Err(if source_first || read.is_err() {
            src_failure(read_detail)
        } else {
            write_error(to, ws, &detail)
        });
    }
    Ok(match &read {
        Ok(out) if out.exit == Some(1) => vec![format!(
            "{}: some files changed while they were read ({}); the next sync sends them again",
            from.id,
            stderr(out)
        )],
        _ => Vec::new(),
    })
}
