//! Raw TOML → validated [`Config`](super::Config): a pure function that collects every
//! problem it finds (not just the first), each pointing at a line and column.

mod api;
mod checkpoint;
mod console;
mod ctx;
mod drills;
mod hosts;
mod jobs;
mod notify;
mod policy;
mod providers;
mod provision;
mod retention;
mod storage;
mod strategies;
pub(super) mod values;
mod workspace;

pub use ctx::Ctx;

use super::error::Problem;
use super::keypath::KeyPath;
use super::raw::RawConfig;
use super::Config;
use crate::core::fleet::Fleet;
use std::path::{Path, PathBuf};

/// Checks `raw` and builds the [`Config`]; `ctx` knows the text for positions.
pub fn build(raw: RawConfig, ctx: &mut Ctx<'_>, source: &Path) -> Result<Config, Vec<Problem>> {
    let settings = raw.settings.unwrap_or_default();
    let policy = policy::build(ctx, settings.profile.as_ref(), raw.detection, raw.recovery);
    let state_dir = settings
        .state_dir
        .as_ref()
        .map(|s| values::local_abs_path(ctx, &KeyPath::at("settings").key("state_dir"), s));
    let providers = providers::build(ctx, &raw.provider);
    if raw.host.is_empty() {
        ctx.report(
            None,
            &KeyPath::at("host"),
            "the config has no hosts",
            "add a [[host]] table with name = \"pc1\", address = \"192.168.1.10\" and gpus = 1 (see assets/examples/gate0.toml)",
        );
    }
    let hosts = hosts::build(ctx, &raw.host, &providers);
    let jobs = jobs::build(ctx, &raw.job, &hosts, !providers.is_empty());
    let storage = storage::build(ctx, raw.storage.as_ref(), !raw.job.is_empty());
    let notifiers = notify::build(ctx, &raw.notify);
    let provision = provision::build(ctx, &raw.job, &providers);
    let console = console::build(ctx, raw.console.as_ref(), source);
    let socket_group = console::socket_group(ctx, raw.console.as_ref());
    let api = api::build(ctx, raw.api.as_ref(), source);
    let drill_notify = match &settings.drill_notifications {
        None => crate::core::drill::DrillNotify::default(),
        Some(v) => {
            crate::core::drill::DrillNotify::parse(v.get_ref().trim()).unwrap_or_else(|| {
                ctx.report_at(
                v,
                &KeyPath::at("settings").key("drill_notifications"),
                format!("drill_notifications {} is not a choice", values::quote(v.get_ref())),
                "use mark (\"[DRILL name] …\"), deliver (as they are) or hold (not sent; logged)",
            );
                crate::core::drill::DrillNotify::default()
            })
        }
    };
    let runbooks = settings.runbooks.as_ref().map(|r| {
        let p = PathBuf::from(r.get_ref());
        match source.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    });
    let drills = drills::build(ctx, &raw.drill, runbooks.as_deref());
    let problems = ctx.take_problems();
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Config {
        source: Some(source.to_path_buf()),
        fleet: Fleet { hosts, jobs },
        policy,
        storage,
        notifiers,
        providers,
        provision,
        state_dir,
        theme: settings.theme.as_ref().map(|t| t.get_ref().clone()),
        drill_notify,
        runbooks,
        drills,
        console,
        socket_group,
        api,
    })
}
