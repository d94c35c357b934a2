//! The boundary between the runtime and the machines: a `Transport` reaches hosts (the
//! simulator now, SSH and local processes later), a `Notifier` tells people.

use crate::core::fleet::{HostSpec, JobSpec};
use crate::core::ids::Epoch;
use crate::core::io::{ChannelStatus, CheckpointRef, ProbeError, ProbeReport, Severity};
use async_trait::async_trait;
use std::time::Duration;

/// How a fence ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FenceOutcome {
    /// Every older copy on the host was stopped.
    Stopped,
    /// The host did not answer, so its epoch is revoked; `note` says what was done about
    /// its instance through its provider, when it has one.
    Unreachable { note: Option<String> },
    /// The host answered but processes of an older copy are still alive after SIGKILL
    /// (`alive`: pid, state and name of each). The host is not fenced: its epoch is
    /// revoked as for an unreachable host, and `note` is what the provider did.
    Survivors {
        alive: Vec<String>,
        note: Option<String>,
    },
}

/// How the runtime reaches hosts. Every method may be cancelled at any await point
/// (the runtime puts a deadline on each call).
/// What staging a checkpoint on a host did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Staging {
    pub bytes: u64,
    /// The store the bytes came from; `None` when they were already there.
    pub from: Option<String>,
    /// Already there and trusted unread: unchanged since Lifeboat verified it there.
    pub sealed: bool,
}

#[async_trait]
pub trait Transport: Send + Sync {
    /// One round trip: GPUs, job processes and heartbeats, boot id, kernel Xids.
    async fn probe(&self, host: &HostSpec, jobs: &[JobSpec]) -> Result<ProbeReport, ProbeError>;

    /// Stops every copy of `job` on `host` launched under an epoch older than `epoch`.
    /// `Ok(false)` means the host did not answer (its epoch is revoked instead).
    async fn fence(&self, host: &HostSpec, job: &JobSpec, epoch: Epoch) -> Result<bool, String>;

    /// `fence`, finishing within `budget` (the step's deadline), with what else was done
    /// about a host that did not answer within `reach`. Transports that can do more
    /// override it.
    async fn fence_outcome(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        epoch: Epoch,
        _budget: Duration,
        _reach: Duration,
    ) -> Result<FenceOutcome, String> {
        Ok(if self.fence(host, job, epoch).await? {
            FenceOutcome::Stopped
        } else {
            FenceOutcome::Unreachable { note: None }
        })
    }

    /// Makes `checkpoint` readable on `host`, verifying its SHA-256 there; returns bytes
    /// moved. `progress(done, total)` is called as bytes move.
    async fn stage(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        checkpoint: Option<&CheckpointRef>,
        progress: &Progress<'_>,
    ) -> Result<u64, String>;

    /// [`Transport::stage`], also saying where the bytes came from.
    async fn stage_from(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        checkpoint: Option<&CheckpointRef>,
        progress: &Progress<'_>,
    ) -> Result<Staging, String> {
        self.stage(host, job, checkpoint, progress)
            .await
            .map(|bytes| Staging {
                bytes,
                from: None,
                sealed: false,
            })
    }

    /// Starts `job` on `host` under `epoch`. Launching the same epoch twice starts one process.
    async fn launch(
        &self,
        host: &HostSpec,
        gpu: Option<u32>,
        job: &JobSpec,
        epoch: Epoch,
        checkpoint: Option<&CheckpointRef>,
        cpu: bool,
    ) -> Result<(), String>;

    /// Whether `job` runs on `host` under `epoch`; `Err` with the reason when it does not.
    async fn verify(&self, host: &HostSpec, job: &JobSpec, epoch: Epoch) -> Result<(), String>;

    /// Lifeboat's own look at `host`'s SSH port, within `limit`: refused, silent, or
    /// an SSH banner. Transports that cannot look say so.
    async fn port_view(&self, host: &HostSpec, limit: Duration) -> ChannelStatus {
        let _ = limit;
        ChannelStatus::Unknown(format!("{}: no port check here", host.id))
    }

    /// `host` as `peer` sees it: probed through `peer`'s connection, within `limit`.
    /// `Reached` when it answered with `jobs` running there, `Down` when it refused or
    /// said nothing (or answered without them), `Unknown` when `peer` could not be asked.
    async fn peer_view(
        &self,
        peer: &HostSpec,
        host: &HostSpec,
        jobs: &[JobSpec],
        limit: Duration,
    ) -> ChannelStatus {
        let _ = (host, jobs, limit);
        ChannelStatus::Unknown(format!("{}: cannot look through peers here", peer.id))
    }

    /// Copies `job`'s workspace from `from` to `to`; returns (files, bytes) moved.
    async fn sync_workspace(
        &self,
        from: &HostSpec,
        to: &HostSpec,
        job: &JobSpec,
    ) -> Result<(u64, u64), String> {
        let _ = (from, to);
        Err(format!("{}: workspace sync is not available here", job.id))
    }
}

/// A progress callback: `(bytes done, bytes total)`.
pub type Progress<'a> = dyn Fn(u64, u64) + Send + Sync + 'a;

/// Tells people (Telegram, webhooks … in later issues).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, severity: Severity, message: &str) -> Result<(), String>;
}

/// Writes notifications to the log file only. Used when no notifier is configured.
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, severity: Severity, message: &str) -> Result<(), String> {
        tracing::warn!(?severity, "notify: {message}");
        Ok(())
    }
}
