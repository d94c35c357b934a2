//! The checkpoint inventory as views and the CLI see it: every checkpoint, each of its
//! copies with their verification state, and the replication work in flight. Filled by
//! the runtime's replicator from the catalogue; pure data here.

use super::manifest::MacCheck;
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
    /// Who vouches for it: only a checkpoint Lifeboat wrote, or one an operator adopted,
    /// is ever restored.
    #[serde(default)]
    pub provenance: Provenance,
}

/// Where a catalogued checkpoint came from, which decides whether it may be restored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Lifeboat pulled it from the job's host and wrote it to the stores itself.
    #[default]
    Recorded,
    /// Found in a store; its manifest's mac verifies under the team's key.
    Authenticated,
    /// Found in a store with a valid manifest but nothing proving who wrote it: never
    /// restored until an operator adopts it (`lifeboat checkpoints adopt`).
    Found,
    /// Found, then adopted by an operator after every file was hashed.
    Adopted,
}

impl Provenance {
    /// Whether checkpoints of this provenance may be restored (and chosen by a failover).
    pub fn trusted(self) -> bool {
        !matches!(self, Provenance::Found)
    }

    /// What a checkpoint found in a store becomes, given what its mac says; `Err` says
    /// why it is refused outright (a mac that does not verify: forged or altered).
    pub fn of_found(mac: MacCheck) -> Result<Provenance, &'static str> {
        match mac {
            MacCheck::Valid => Ok(Provenance::Authenticated),
            MacCheck::NoKey | MacCheck::Absent => Ok(Provenance::Found),
            MacCheck::Invalid => Err(
                "its manifest's mac does not verify under the key in [storage] manifest_key_env \
                 (written without the team's key, or altered); not added",
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Recorded => "recorded",
            Provenance::Authenticated => "authenticated",
            Provenance::Found => "found",
            Provenance::Adopted => "adopted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "recorded" => Provenance::Recorded,
            "authenticated" => Provenance::Authenticated,
            "found" => Provenance::Found,
            "adopted" => Provenance::Adopted,
            _ => return None,
        })
    }
}

impl CheckpointEntry {
    /// Restorable: vouched for (see [`Provenance`]) and at least one copy is complete
    /// and verified.
    pub fn restorable(&self) -> bool {
        self.provenance.trusted() && self.copies.iter().any(|c| c.state == CopyState::Verified)
    }

    /// Found in a store and waiting for an operator to adopt it.
    pub fn needs_adoption(&self) -> bool {
        self.provenance == Provenance::Found
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(provenance: Provenance, state: CopyState) -> CheckpointEntry {
        CheckpointEntry {
            job: "j".into(),
            id: "c".into(),
            step: 1,
            created: Ts(0),
            bytes: 1,
            files: 1,
            source_host: "h".into(),
            epoch: 1,
            digest: String::new(),
            copies: vec![CopyView {
                store: "nas".into(),
                state,
                checked: None,
                detail: String::new(),
            }],
            provenance,
        }
    }

    #[test]
    fn a_found_checkpoint_is_never_restorable_until_adopted() {
        use CopyState::Verified;
        assert!(entry(Provenance::Recorded, Verified).restorable());
        assert!(entry(Provenance::Authenticated, Verified).restorable());
        assert!(entry(Provenance::Adopted, Verified).restorable());
        assert!(!entry(Provenance::Found, Verified).restorable());
        assert!(entry(Provenance::Found, Verified).needs_adoption());
        assert!(!entry(Provenance::Adopted, CopyState::Bad).restorable());
    }

    #[test]
    fn what_a_mac_makes_of_a_found_checkpoint() {
        assert_eq!(
            Provenance::of_found(MacCheck::Valid),
            Ok(Provenance::Authenticated)
        );
        assert_eq!(
            Provenance::of_found(MacCheck::Absent),
            Ok(Provenance::Found)
        );
        assert_eq!(Provenance::of_found(MacCheck::NoKey), Ok(Provenance::Found));
        assert!(Provenance::of_found(MacCheck::Invalid).is_err());
        for p in [
            Provenance::Recorded,
            Provenance::Authenticated,
            Provenance::Found,
            Provenance::Adopted,
        ] {
            assert_eq!(Provenance::parse(p.as_str()), Some(p));
        }
    }
}
