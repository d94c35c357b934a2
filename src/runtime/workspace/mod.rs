//! Workspace sync for the CPU standby (seed 003): each job's `workspace` is copied from
//! the host it runs on to its CPU standbys on an interval ([`service`]), so a CPU standby
//! can take over the job's endpoint when the GPU host dies, and copied back with [`sync`]
//! (or [`sync_between`]) before the job returns to a GPU host. Lifeboat is the hub: the
//! bytes flow host → Lifeboat → host over the same shells as everything else.
//!
//! Why a destination never shows a half-written file: files are unpacked into
//! `<workspace>/.lifeboat-sync-tmp` and renamed into place only once the whole stream
//! arrived; a cut-off sync leaves old files whole and the scratch folder is cleared.

mod remote;
pub mod service;
mod sync;

pub use sync::{sync, sync_guarded, SyncReport, STALL};

use crate::core::fleet::{Access, Fleet, HostSpec};
use crate::core::ids::{HostId, JobId};
use crate::runtime::shell::Shell;
use std::sync::Arc;

/// The shells a sync reaches hosts with: SSH (its own pool, so bulk bytes never hold up
/// probes) and plain processes for `access = "local"` hosts.
#[derive(Clone)]
pub struct Shells {
    pub ssh: Arc<dyn Shell>,
    pub local: Arc<dyn Shell>,
}

impl Shells {
    pub fn for_host(&self, host: &HostSpec) -> &dyn Shell {
        match host.access {
            Access::Local => self.local.as_ref(),
            Access::Ssh | Access::Simulated => self.ssh.as_ref(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceError {
    #[error("job {job} has no workspace to sync (add workspace = {{ … }} to its [[job]])")]
    NotConfigured { job: String },
    #[error("no {what} named {name} in the config")]
    Unknown { what: &'static str, name: String },
    #[error("{host} is both the source and the destination of the sync")]
    SameHost { host: String },
    #[error("{host}: cannot list the workspace {path}: {detail}")]
    List {
        host: String,
        path: String,
        detail: String,
    },
    #[error("{host}: reading the workspace {path} failed: {detail}")]
    Read {
        host: String,
        path: String,
        detail: String,
    },
    #[error("{host}: writing the workspace {path} failed: {detail}")]
    Write {
        host: String,
        path: String,
        detail: String,
    },
    #[error("{host}: the disk holding {path} is full ({detail}); free space there or exclude big folders")]
    Full {
        host: String,
        path: String,
        detail: String,
    },
    #[error("{host}: syncing the workspace {path} stalled: no byte moved for {secs} s")]
    Stalled {
        host: String,
        path: String,
        secs: u64,
    },
    #[error("the job moved while its workspace was syncing; nothing was put in place")]
    Superseded,
}

/// Syncs `job`'s workspace from host `from` to host `to`, named as in the config: what
/// the return-to-GPU step calls (CPU standby → GPU host).
pub async fn sync_between(
    shells: &Shells,
    fleet: &Fleet,
    job: &JobId,
    from: &HostId,
    to: &HostId,
) -> Result<SyncReport, WorkspaceError> {
    let unknown = |what, name: String| WorkspaceError::Unknown { what, name };
    let spec = fleet
        .job(job)
        .ok_or_else(|| unknown("job", job.to_string()))?;
    let src = fleet
        .host(from)
        .ok_or_else(|| unknown("host", from.to_string()))?;
    let dst = fleet
        .host(to)
        .ok_or_else(|| unknown("host", to.to_string()))?;
    sync(shells, src, dst, spec).await
}
