//! Drills in the service: one at a time, run by the daemon (so they survive a detached
//! console), driven by the core's drill engine, reported into `STATE/drills/`.

pub mod catalogue;
mod progress;
pub mod recover;
pub mod report;
mod rollback;
pub mod show;
pub mod task;
pub mod timeline;

use crate::core::drill::runbook::Runbook;
use std::path::Path;

/// The runbook called `name`: the team's own (in `team_dir`) before the shipped one. A
/// broken file among them is named, with the problem, when it is the one asked for.
pub fn find(name: &str, team_dir: Option<&Path>) -> Result<Runbook, String> {
    let (books, errors) = crate::config::runbook::catalogue(team_dir);
    if let Some(r) = books.into_iter().find(|r| r.name == name) {
        return Ok(r);
    }
    let broken = errors
        .iter()
        .map(|e| e.to_string())
        .find(|e| e.contains(&format!("{name}.toml")));
    Err(match broken {
        Some(e) => e,
        None => {
            let (books, _) = crate::config::runbook::catalogue(team_dir);
            let names: Vec<String> = books.into_iter().map(|r| r.name).collect();
            format!(
                "no runbook named \"{name}\"; runbooks: {} (lifeboat drill list)",
                names.join(", ")
            )
        }
    })
}
