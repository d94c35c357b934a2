//! The checkpoint inventory as views and the CLI see it: every checkpoint, each of its
//! copies with their verification state, and the replication work in flight. Filled by
//! the runtime's replicator from the catalogue; pure data here.

use super::progress::Progress;
use super::time::Ts;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// The configured stores, in order (`nas`, `s3`).
    pub stores: Vec<StoreView>,
    /// Oldest first within a job, jobs in name order.
    pub checkpoints: Vec<CheckpointEntry>,
    pub tasks: Vec<ReplicaTask>,
    pub last_scrub: Option<Ts>,
    /// What a prune would do now (the dry run), per checkpoint and store.
    #[serde(default)]
    pub prune_plan: Vec<PruneRow>,
}

/// One line of a prune plan: keep or remove a checkpoint's copy in a store, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneRow {
    pub job: String,
    pub id: String,
    pub step: u64,
    pub store: String,
    pub keep: bool,
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreView {
    pub name: String,
    pub location: String,
    /// The last error the store gave, if it has not worked since.
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyState {
    /// Written and its SHA-256 matched the manifest when last read.
    Verified,
    /// Being written, or waiting for the store to come back.
    Pending,
    /// Read back with the wrong hash or size; to be repaired from a good copy.
    Bad,
    /// Not in the store (deleted behind our back, or never written).
    Missing,
    /// Could not be written for a reason retrying will not fix (the NAS is full …).
    Failed,
}

impl CopyState {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Verified => "verified",
            CopyState::Pending => "pending",
            CopyState::Bad => "bad",
            CopyState::Missing => "missing",
            CopyState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "verified" => CopyState::Verified,
            "pending" => CopyState::Pending,
            "bad" => CopyState::Bad,
            "missing" => CopyState::Missing,
            "failed" => CopyState::Failed,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CopyView {
    pub store: String,
    pub state: CopyState,
    /// When its bytes were last hashed.
    pub checked: Option<Ts>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    pub job: String,
    pub id: String,
    pub step: u64,
    pub created: Ts,
    pub bytes: u64,
    pub files: usize,
    pub source_host: String,
    pub epoch: u64,
    /// SHA-256 of the manifest: one hash for the whole checkpoint.
    pub digest: String,
    pub copies: Vec<CopyView>,
}

impl CheckpointEntry {
    /// Restorable: at least one copy is complete and verified.
    pub fn restorable(&self) -> bool {
        self.copies.iter().any(|c| c.state == CopyState::Verified)
    }

    pub fn copy(&self, store: &str) -> Option<&CopyView> {
        self.copies.iter().find(|c| c.store == store)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    Replicate,
    Repair,
    Scrub,
    Restore,
    Prune,
    Prestage,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Replicate => "replicate",
            TaskKind::Repair => "repair",
            TaskKind::Scrub => "scrub",
            TaskKind::Restore => "restore",
            TaskKind::Prune => "prune",
            TaskKind::Prestage => "prestage",
        }
    }
}

/// One piece of checkpoint work, running or waiting to retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaTask {
    pub kind: TaskKind,
    pub job: String,
    pub id: String,
    /// Where the bytes go (`nas`, `s3`, `nas+s3`, a host name).
    pub to: String,
    pub started: Ts,
    pub progress: Option<Progress>,
    pub eta_ms: Option<u64>,
    /// Why it is waiting, when it failed and will be retried.
    pub error: Option<String>,
    pub retry_at: Option<Ts>,
}
