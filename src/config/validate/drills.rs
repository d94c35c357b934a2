//! `[[drill]]` tables → [`Schedule`]s: a runbook (shipped or the team's) run at most
//! `every` so often, only inside its `window`.

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::RawDrill;
use crate::core::drill::schedule::{Schedule, Window};
use std::path::Path;
use std::time::Duration;

/// Shorter than this, a drill would be a fault injector, not a rehearsal.
const MIN_EVERY: Duration = Duration::from_secs(3600);

pub fn build(ctx: &mut Ctx<'_>, raw: &[RawDrill], team_dir: Option<&Path>) -> Vec<Schedule> {
    if raw.is_empty() {
        return Vec::new();
    }
    let (books, _) = crate::config::runbook::catalogue(team_dir);
    let names: Vec<&str> = books.iter().map(|b| b.name.as_str()).collect();
    raw.iter()
        .enumerate()
        .filter_map(|(i, d)| one(ctx, &KeyPath::at("drill").index(i), d, &names))
        .collect()
}

fn one(ctx: &mut Ctx<'_>, k: &KeyPath, d: &RawDrill, names: &[&str]) -> Option<Schedule> {
    let runbook = match &d.runbook {
        None => {
            ctx.report_missing(
                k,
                "runbook",
                "a [[drill]] names no runbook",
                "add runbook = \"restore-test\" (`lifeboat drill list` names them all)",
            );
            None
        }
        Some(r) if !names.contains(&r.get_ref().as_str()) => {
            ctx.report_at(
                r,
                &k.clone().key("runbook"),
                format!("there is no runbook {}", quote(r.get_ref())),
                format!(
                    "use one of {} (or put it in [settings] runbooks)",
                    names.join(", ")
                ),
            );
            None
        }
        Some(r) => Some(r.get_ref().clone()),
    };
    let every = match &d.every {
        None => {
            ctx.report_missing(
                k,
                "every",
                "a [[drill]] says nothing of how often",
                "add every = \"7d\" (monthly: \"30d\")",
            );
            None
        }
        Some(e) => {
            let key = k.clone().key("every");
            values::duration(ctx, &key, e).and_then(|v| {
                if v < MIN_EVERY {
                    ctx.report_at(
                        e,
                        &key,
                        format!("every = {} is more often than hourly", quote(e.get_ref())),
                        "a drill rehearses a disaster: give every = \"1h\" or more, e.g. \"7d\"",
                    );
                    None
                } else {
                    Some(v)
                }
            })
        }
    };
    let window = match &d.window {
        None => Some(Window::any()),
        Some(w) => Window::parse(w.get_ref())
            .map_err(|e| {
                ctx.report_at(
                    w,
                    &k.clone().key("window"),
                    format!("window {}: {e}", quote(w.get_ref())),
                    "write days and hours in this machine's local time, e.g. window = \"Mon-Fri 10:00-16:00\" (or \"any\")",
                )
            })
            .ok(),
    };
    Some(Schedule {
        runbook: runbook?,
        every: every?,
        window: window?,
    })
}
