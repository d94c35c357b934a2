//! A `[[job]]`'s `workspace = { path, every, exclude }`: the folder kept synced on the
//! job's CPU standby (seed 003), how often, and what to leave out. Only a job that can
//! fail over to a CPU standby has one.

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::RawJob;
use crate::core::fleet::{HostSpec, Role};
use crate::core::ids::Target;
use crate::core::workspace::{check_pattern, inside, WorkspaceSync, DEFAULT_EVERY, MIN_EVERY};
use std::path::Path;

/// The job's workspace sync, checked; `k` is the job's key path, `standbys` its targets.
pub fn build(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    j: &RawJob,
    hosts: &[HostSpec],
    standbys: &[Target],
    workdir: &Path,
    checkpoint_dir: &Path,
) -> Option<WorkspaceSync> {
    let raw = j.workspace.as_ref()?;
    let key = k.clone().key("workspace");
    let path = match &raw.path {
        Some(p) => values::remote_abs_path(ctx, &key.clone().key("path"), p),
        None => workdir.to_path_buf(),
    };
    let ws = path.to_string_lossy().to_string();
    let at_path = |ctx: &mut Ctx<'_>, message: String, fix: String| match &raw.path {
        Some(p) => ctx.report_at(p, &key.clone().key("path"), message, fix),
        None => ctx.report_path(&key, message, fix),
    };
    if ws.trim_end_matches('/').is_empty() {
        at_path(
            ctx,
            "the workspace cannot be the whole file system (\"/\")".into(),
            "name the job's own folder, e.g. workspace = { path = \"/workspace\" }".into(),
        );
    }
    let ckpt = checkpoint_dir.to_string_lossy();
    if inside(&ckpt, &ws).is_some() {
        at_path(
            ctx,
            format!(
                "the workspace {} is the job's checkpoint_dir or inside it; checkpoints are kept by the replicator, the workspace is for code, configs and small state",
                quote(&ws)
            ),
            "point path at the job's code folder, e.g. its workdir".into(),
        );
    }
    let every = match &raw.every {
        Some(s) => {
            let d = values::duration(ctx, &key.clone().key("every"), s);
            if d.is_some_and(|d| d < MIN_EVERY) {
                ctx.report_at(
                    s,
                    &key.clone().key("every"),
                    format!(
                        "every = {} is too often: each sync lists the whole workspace on both hosts",
                        quote(s.get_ref())
                    ),
                    "sync every \"10s\" or less often, e.g. every = \"5m\"",
                );
            }
            d.unwrap_or(DEFAULT_EVERY)
        }
        None => DEFAULT_EVERY,
    };
    let mut exclude = Vec::new();
    if let Some(list) = &raw.exclude {
        for (i, s) in list.get_ref().iter().enumerate() {
            match check_pattern(s.get_ref()) {
                Ok(p) => exclude.push(p),
                Err(why) => {
                    let example = inside(&ws, s.get_ref())
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "checkpoints".into());
                    ctx.report_at(
                        s,
                        &key.clone().key("exclude").index(i),
                        format!("{} is not an exclude pattern: {why}", quote(s.get_ref())),
                        format!("write a name (matched at any depth, e.g. \"*.tmp\") or a path from the workspace root, e.g. \"{example}\""),
                    );
                }
            }
        }
    }
    let has_cpu = standbys.iter().any(|t| {
        hosts
            .iter()
            .any(|h| h.id == t.host && h.role == Role::CpuStandby)
    });
    if !has_cpu {
        let fix = match hosts.iter().find(|h| h.role == Role::CpuStandby) {
            Some(h) => {
                let mut names: Vec<String> =
                    standbys.iter().map(|t| format!("\"{t}\"")).collect();
                names.push(format!("\"{}\"", h.id));
                format!(
                    "add the CPU standby to the job's standby list, e.g. standby = [{}], or remove workspace",
                    names.join(", ")
                )
            }
            None => "add a [[host]] with role = \"cpu-standby\" and list it in the job's standby, or remove workspace".into(),
        };
        ctx.report_path(
            &key,
            "workspace is synced to the job's CPU standby, but the job's standby list names no cpu-standby host",
            fix,
        );
    }
    Some(WorkspaceSync {
        path,
        every,
        exclude,
    })
}
