//! A `[[job]]`'s checkpoint keys: `checkpoint_marker` (when a checkpoint is complete),
//! `prestage` (keep one staged on the first standby) and `retention` (its own policy).

use super::retention::{self, Keep};
use super::values::quote;
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::{RawJob, Str};
use crate::core::fleet::HostSpec;
use crate::core::retention::Retention;

/// The name Lifeboat gives its own manifest inside a stored checkpoint.
const MANIFEST: &str = "manifest.json";

/// The job's checkpoint settings, checked.
pub struct JobCheckpoints {
    pub marker: Option<String>,
    pub prestage: bool,
    pub retention: Option<Retention>,
}

/// `k` is the job's key path (`job "train"`).
pub fn build(ctx: &mut Ctx<'_>, k: &KeyPath, j: &RawJob, hosts: &[HostSpec]) -> JobCheckpoints {
    let marker = j
        .checkpoint_marker
        .as_ref()
        .map(|m| marker(ctx, &k.clone().key("checkpoint_marker"), m));
    let prestage = match &j.prestage {
        Some(p) if *p.get_ref() => {
            let has_standby = j.standby.as_ref().is_some_and(|s| !s.get_ref().is_empty());
            if !has_standby {
                let example = standby_example(j, hosts);
                ctx.report_at(
                    p,
                    &k.clone().key("prestage"),
                    "prestage = true, but the job has no standby to stage checkpoints on",
                    format!("add a standby, e.g. standby = [\"{example}\"] (the first one is prestaged), or remove prestage"),
                );
            }
            true
        }
        _ => false,
    };
    let retention = j.retention.as_ref().map(|r| {
        retention::overriding(
            ctx,
            &k.clone().key("retention"),
            &Keep::of_table(r),
            "the job's retention",
            "the stores' policies",
        )
    });
    JobCheckpoints {
        marker,
        prestage,
        retention,
    }
}

/// A standby the job could have: another GPU of its host, another host, or a placeholder.
fn standby_example(j: &RawJob, hosts: &[HostSpec]) -> String {
    let home = j.host.get_ref();
    let gpu = j.gpu.as_ref().map(|g| *g.get_ref());
    if let Some(h) = hosts.iter().find(|h| h.id.as_str() == home && h.gpus >= 2) {
        return format!("{}:{}", h.id, if gpu == Some(0) { 1 } else { 0 });
    }
    hosts
        .iter()
        .find(|h| h.id.as_str() != home)
        .map_or_else(|| "HOST".to_string(), |h| h.id.to_string())
}

/// One file name, looked for inside a checkpoint folder (or beside a single file).
fn marker(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> String {
    let v = s.get_ref();
    let use_instead =
        |name: &str| format!("write one file name, e.g. checkpoint_marker = \"{name}\"");
    let problem = if v.trim().is_empty() {
        Some((
            "checkpoint_marker cannot be empty".to_string(),
            format!(
                "{}, the file the job writes last; or remove the key to judge completeness by size and mtime",
                use_instead("COMPLETE")
            ),
        ))
    } else if v.contains('/') {
        let name = v
            .rsplit('/')
            .find(|c| !c.is_empty() && !c.starts_with('.') && *c != MANIFEST)
            .unwrap_or("COMPLETE");
        Some((
            format!(
                "{} is a path; checkpoint_marker is one file name, looked for inside each checkpoint folder (or beside a single-file checkpoint x.pt, as x.pt.{name})",
                quote(v)
            ),
            use_instead(name),
        ))
    } else if v.starts_with('.') {
        let rest = v.trim_start_matches('.');
        Some((
            format!(
                "{} starts with '.'; hidden names, \".\" and \"..\" cannot be markers",
                quote(v)
            ),
            use_instead(if rest.is_empty() { "COMPLETE" } else { rest }),
        ))
    } else if v == MANIFEST {
        Some((
            format!(
                "{} is the name of Lifeboat's own manifest in each stored checkpoint",
                quote(v)
            ),
            use_instead("COMPLETE"),
        ))
    } else if v.chars().any(char::is_control) || v.len() > 255 {
        Some((
            format!("{} is not a usable file name", quote(v)),
            use_instead("COMPLETE"),
        ))
    } else {
        None
    };
    if let Some((message, fix)) = problem {
        ctx.report_at(s, key, message, fix);
    }
    v.clone()
}
