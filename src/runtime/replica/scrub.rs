//! Scrub: re-hash stored copies against their manifests, all of them or a rotating
//! slice per run; a copy that reads back wrong is marked bad (or missing) and repaired
//! from a good one. First it catalogues checkpoints found in a store (see `adopt`).

use super::transfer::hash_in_store;
use super::{now, ReplicaError, Replicator};
use crate::core::inventory::{CheckpointEntry, CopyState, TaskKind};
use crate::core::manifest::Manifest;
use crate::runtime::store::{Store, StoreError};
use serde::Serialize;

const CURSOR: &str = "scrub_cursor";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScrubReport {
    /// Copies whose every byte was hashed.
    pub checked: usize,
    /// `job/id [store]: why` for each copy found bad or missing.
    pub bad: Vec<String>,
    pub repaired: usize,
    /// Checkpoints found in a store whose manifest's mac verifies: added, restorable.
    pub adopted: usize,
    /// `job/id [store]` found in a store with a valid manifest but nothing proving who
    /// wrote it: catalogued, never restored until `lifeboat checkpoints adopt`.
    pub found: Vec<String>,
    /// `job/id [store]: why` for what a store holds that is refused (links, special
    /// files, a manifest too big or with a mac that does not verify).
    pub refused: Vec<String>,
}

impl Replicator {
    /// Scrubs the copies of `job` (all jobs when `None`): every checkpoint when
    /// `fraction` is 1, else the next 1/`fraction` of them. Then repairs.
    pub async fn scrub(
        &self,
        fraction: u32,
        job: Option<&str>,
    ) -> Result<ScrubReport, ReplicaError> {
        let mut report = ScrubReport::default();
        self.adopt(job, &mut report).await?;
        let fraction = u64::from(fraction.max(1));
        let cursor = self.catalogue.counter(CURSOR)?;
        let entries: Vec<CheckpointEntry> = self
            .catalogue
            .entries(job)?
            .into_iter()
            .filter(|e| !e.copies.is_empty())
            .collect();
        for (i, e) in entries.iter().enumerate() {
            if (i as u64) % fraction != cursor % fraction {
                continue;
            }
            let Some(m) = self.catalogue.manifest(&e.job, &e.id)? else {
                continue;
            };
            for s in &self.stores {
                let name = s.kind().as_str();
                let Some(c) = e.copy(name) else { continue };
                if !matches!(c.state, CopyState::Verified | CopyState::Bad) {
                    continue;
                }
                let task =
                    self.tasks
                        .start(TaskKind::Scrub, &e.job, &e.id, name, m.total_bytes(), now());
                let verdict = check_copy(s.as_ref(), &m).await;
                task.meter.add(m.total_bytes());
                match verdict {
                    Ok(()) => {
                        report.checked += 1;
                        self.catalogue.set_copy(
                            &e.job,
                            &e.id,
                            name,
                            CopyState::Verified,
                            Some(now()),
                            "",
                        )?;
                    }
                    Err(StoreError::Unavailable(why)) => {
                        self.store_result(name, Some(why));
                    }
                    Err(err) => {
                        report.checked += 1;
                        let state = match err {
                            StoreError::NotFound(_) => CopyState::Missing,
                            _ => CopyState::Bad,
                        };
                        let why = err.to_string();
                        report
                            .bad
                            .push(format!("{}/{} [{name}]: {why}", e.job, e.id));
                        self.catalogue
                            .set_copy(&e.job, &e.id, name, state, Some(now()), &why)?;
                        self.notify("copy_bad", &e.job, &e.id, Some(name), why)
                            .await;
                    }
                }
            }
        }
        self.catalogue.set_counter(CURSOR, cursor + 1)?;
        self.tasks.scrubbed(now());
        report.repaired = self.repair().await?;
        Ok(report)
    }
}

/// Reads every file of `m` in `store` and compares size and SHA-256, and the stored
/// manifest with `m`.
pub(super) async fn check_copy(store: &dyn Store, m: &Manifest) -> Result<(), StoreError> {
    let stored = store.get_manifest(&m.job, &m.id).await?;
    if stored.digest() != m.digest() {
        return Err(StoreError::Corrupt(
            "its manifest differs from the catalogue's".into(),
        ));
    }
    for f in &m.files {
        let (n, sha) = hash_in_store(store, &m.job, &m.id, &f.path).await?;
        if n != f.size {
            return Err(StoreError::Corrupt(format!(
                "{} is {n} bytes, the manifest says {} (truncated?)",
                f.path, f.size
            )));
        }
        if sha != f.sha256 {
            return Err(StoreError::Corrupt(format!(
                "{} hashes to {sha}, the manifest says {}",
                f.path, f.sha256
            )));
        }
    }
    Ok(())
}
