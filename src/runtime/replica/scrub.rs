//! Scrub: re-hash stored copies against their manifests, all of them or a rotating
//! slice per run; a copy that reads back wrong is marked bad (or missing) and repaired
//! from a good one. Also adopts checkpoints found in a store but not in the catalogue
//! (a new console, or a journal moved aside), verifying them before they count.

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
    /// Checkpoints found in a store and added to the catalogue.
    pub adopted: usize,
}

impl Replicator {
    /// Scrubs the copies of `job` (all jobs when `None`): every checkpoint when
    /// `fraction` is 1, else the next 1/`fraction` of them. Then repairs.
    pub async fn scrub(
        &self,
        fraction: u32,
        job: Option<&str>,
    ) -> Result<ScrubReport, ReplicaError> {
        let mut report = ScrubReport {
            adopted: self.adopt(job).await?,
            ..ScrubReport::default()
        };
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

    /// Adds to the catalogue every checkpoint a store holds with a valid manifest that
    /// the catalogue does not know, after hashing it. Returns how many were added.
    pub async fn adopt(&self, job: Option<&str>) -> Result<usize, ReplicaError> {
        let mut adopted = 0;
        for s in &self.stores {
            let jobs = match job {
                Some(j) => vec![j.to_string()],
                None => match s.jobs().await {
                    Ok(j) => j,
                    Err(e) => {
                        self.store_result(s.kind().as_str(), Some(e.to_string()));
                        continue;
                    }
                },
            };
            let name = s.kind().as_str();
            for j in jobs {
                let entries = self.catalogue.entries(Some(&j))?;
                let Ok(listed) = s.list(&j).await else {
                    continue;
                };
                for l in listed.into_iter().filter(|l| l.has_manifest) {
                    let known = entries.iter().find(|e| e.id == l.id);
                    if known.is_some_and(|e| e.copy(name).is_some()) {
                        continue;
                    }
                    let Ok(m) = s.get_manifest(&j, &l.id).await else {
                        continue;
                    };
                    if m.job != j || m.id != l.id || known.is_some_and(|e| e.digest != m.digest()) {
                        continue;
                    }
                    if check_copy(s.as_ref(), &m).await.is_ok() {
                        self.catalogue.record(&m, now())?;
                        self.catalogue.set_copy(
                            &j,
                            &m.id,
                            name,
                            CopyState::Verified,
                            Some(now()),
                            "adopted from the store",
                        )?;
                        adopted += 1;
                    }
                }
            }
        }
        Ok(adopted)
    }
}

/// Reads every file of `m` in `store` and compares size and SHA-256, and the stored
/// manifest with `m`.
async fn check_copy(store: &dyn Store, m: &Manifest) -> Result<(), StoreError> {
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
