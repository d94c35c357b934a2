//! What a screen asks of the supervisor. The requester's identity travels beside it, and
//! the role it needs is checked where it is executed.

use super::fault::FaultKind;
use crate::core::identity::Role;
use crate::core::io::Command;
use serde::{Deserialize, Serialize};

/// What the console asks of the world outside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// An operator command for the core (already confirmed).
    Core(Command),
    /// Inject a fault into the simulated fleet (demo only).
    Inject { kind: FaultKind, target: String },
    /// Delete what retention removes for a job's checkpoints (already confirmed): only
    /// the `(checkpoint, store)` copies the operator was shown, if retention still
    /// removes them.
    Prune {
        job: String,
        copies: Vec<(String, String)>,
    },
    /// Stream checkpoint `id` of `job` (the newest verified when `None`) from the stores
    /// onto `host` at `path` (the job's `checkpoint_dir/ID` when `None`), verified there.
    Restore {
        job: String,
        id: Option<String>,
        host: String,
        path: Option<String>,
    },
    /// This screen leaves (it detaches; the supervisor goes on).
    Quit,
    /// Re-read the config file and apply it if it is valid (admin).
    ReloadConfig,
    /// Run the runbook `name` as a drill (a dry run resolves and checks, changing
    /// nothing); `yes` confirms its manual steps (headless).
    DrillRun {
        name: String,
        dry_run: bool,
        yes: bool,
    },
    /// Confirm the running drill's manual step.
    DrillConfirm,
    /// Abort the running drill: its rollbacks run.
    DrillAbort { reason: String },
    /// The runbooks with their last runs (answered with the catalogue).
    DrillCatalogue,
    /// The runbook `name`'s plan checked on the fleet now (answered with the plan).
    DrillPlan { name: String },
    /// Run the runbook `name` guided: it holds before each step until `DrillStep`.
    DrillGuide { name: String },
    /// The guided drill runs its next step (or confirms its manual step).
    DrillStep,
    /// The guided drill stops holding and runs to its end.
    DrillRunToEnd,
    /// Ask a provider about volumes, or create or delete one.
    Volume(super::volume::VolumeOp),
}

impl Request {
    /// The least role that may ask this.
    pub fn needs(&self) -> Role {
        match self {
            Request::Core(c) => c.needs(),
            Request::Inject { .. } | Request::Restore { .. } => Role::Operator,
            Request::Prune { .. } | Request::ReloadConfig => Role::Admin,
            Request::Quit | Request::DrillCatalogue | Request::DrillPlan { .. } => Role::Viewer,
            // Deleting a volume deletes its data, as pruning does.
            Request::Volume(super::volume::VolumeOp::Delete { .. }) => Role::Admin,
            Request::Volume(op) if op.changes() => Role::Operator,
            Request::Volume(_) => Role::Viewer,
            Request::DrillRun { dry_run: true, .. } => Role::Viewer,
            Request::DrillRun { .. }
            | Request::DrillConfirm
            | Request::DrillAbort { .. }
            | Request::DrillGuide { .. }
            | Request::DrillStep
            | Request::DrillRunToEnd => Role::Operator,
        }
    }

    /// A short label for the journal and the event log.
    pub fn describe(&self) -> String {
        match self {
            Request::Core(c) => crate::core::commands::describe(c),
            Request::Inject { kind, target } => format!("inject {} into {target}", kind.as_str()),
            Request::Prune { job, copies } => format!("prune {} copies of {job}", copies.len()),
            Request::Restore { job, id, host, .. } => {
                let id = id.as_deref().unwrap_or("the newest verified checkpoint");
                format!("restore {job} {id} to {host}")
            }
            Request::Quit => "detach".into(),
            Request::ReloadConfig => "reload the config".into(),
            Request::DrillRun {
                name,
                dry_run: true,
                ..
            } => format!("dry-run drill {name}"),
            Request::DrillRun { name, .. } => format!("run drill {name}"),
            Request::DrillConfirm => "confirm the drill's manual step".into(),
            Request::DrillAbort { reason } => format!("abort the drill ({reason})"),
            Request::DrillCatalogue => "list the drills".into(),
            Request::DrillPlan { name } => format!("show the plan of drill {name}"),
            Request::DrillGuide { name } => format!("run drill {name} step by step"),
            Request::DrillStep => "run the drill's next step".into(),
            Request::DrillRunToEnd => "run the drill to its end".into(),
            Request::Volume(op) => op.describe(),
        }
    }
}
