//! Checkpoints found in a store that the catalogue does not know: a new console, a
//! journal moved aside, or files someone else put there. Each is hashed and catalogued,
//! but only one whose manifest's mac verifies under the team's key is trusted; the rest
//! are *found* and wait for an operator (`lifeboat checkpoints adopt JOB ID`), so a
//! planted checkpoint with a higher step never becomes a failover's restore source.
//! What the store refuses to read (links, special files, oversized manifests) is named.

use super::scrub::{check_copy, ScrubReport};
use super::{now, ReplicaError, Replicator};
use crate::core::inventory::{CopyState, Provenance};
use crate::core::manifest::{MacCheck, Manifest, ManifestFile};
use crate::runtime::store::StoreError;
use serde::Serialize;

/// What an operator's adoption checked: every file's size and SHA-256, in every store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Adoption {
    pub job: String,
    pub id: String,
    pub step: u64,
    /// SHA-256 of the manifest.
    pub digest: String,
    /// The stores whose copy hashed right, each file read in full.
    pub stores: Vec<String>,
    pub files: Vec<ManifestFile>,
    /// It was already trusted (Lifeboat wrote it, or it was adopted or authenticated).
    pub already: bool,
}

impl Replicator {
    /// Catalogues every checkpoint a store holds with a valid manifest that the
    /// catalogue does not know, after hashing it; fills `report`'s `adopted`, `found`
    /// and `refused`.
    pub async fn adopt(
        &self,
        job: Option<&str>,
        report: &mut ScrubReport,
    ) -> Result<(), ReplicaError> {
        for s in &self.stores {
            let name = s.kind().as_str();
            let jobs = match job {
                Some(j) => vec![j.to_string()],
                None => match s.jobs().await {
                    Ok(j) => j,
                    Err(e) => {
                        self.store_result(name, Some(e.to_string()));
                        continue;
                    }
                },
            };
            for j in jobs {
                let entries = self.catalogue.entries(Some(&j))?;
                let listed = match s.list(&j).await {
                    Ok(l) => l,
                    Err(StoreError::Unavailable(e)) => {
                        self.store_result(name, Some(e));
                        continue;
                    }
                    Err(StoreError::NotFound(_)) => continue,
                    // A linked job folder, say: named, never read.
                    Err(e) => {
                        self.refuse(report, &j, "", name, e.to_string()).await;
                        continue;
                    }
                };
                for l in listed {
                    if let Some(why) = l.refused {
                        self.refuse(report, &j, &l.id, name, why).await;
                        continue;
                    }
                    let known = entries.iter().find(|e| e.id == l.id);
                    if !l.has_manifest || known.is_some_and(|e| e.copy(name).is_some()) {
                        continue;
                    }
                    let m = match s.get_manifest(&j, &l.id).await {
                        Ok(m) => m,
                        Err(StoreError::Unavailable(e)) => {
                            self.store_result(name, Some(e));
                            continue;
                        }
                        Err(e) => {
                            self.refuse(report, &j, &l.id, name, e.to_string()).await;
                            continue;
                        }
                    };
                    if m.job != j || m.id != l.id || known.is_some_and(|e| e.digest != m.digest()) {
                        continue;
                    }
                    let provenance =
                        match Provenance::of_found(m.authenticate(self.manifest_key.as_deref())) {
                            Ok(p) => p,
                            Err(why) => {
                                self.refuse(report, &j, &l.id, name, why.into()).await;
                                continue;
                            }
                        };
                    if let Err(e) = check_copy(s.as_ref(), &m).await {
                        self.refuse(report, &j, &l.id, name, e.to_string()).await;
                        continue;
                    }
                    self.catalogue.record_as(&m, now(), provenance)?;
                    self.catalogue.set_copy(
                        &j,
                        &m.id,
                        name,
                        CopyState::Verified,
                        Some(now()),
                        "found in the store",
                    )?;
                    let now_trusted = self
                        .catalogue
                        .entries(Some(&j))?
                        .into_iter()
                        .find(|e| e.id == m.id)
                        .is_some_and(|e| e.provenance.trusted());
                    if now_trusted {
                        report.adopted += 1;
                        continue;
                    }
                    report.found.push(format!("{j}/{} [{name}]", m.id));
                    let detail = format!(
                        "step {} found in the {name} store with a valid manifest that this \
                         Lifeboat did not write; not restorable until an operator checks \
                         it and runs `lifeboat checkpoints adopt {j} {}`",
                        m.step, m.id
                    );
                    self.notify("found", &j, &m.id, Some(name), detail).await;
                }
            }
        }
        Ok(())
    }

    /// Adds a refusal to `report`, and says so (once per refusal, not on every pass).
    async fn refuse(
        &self,
        report: &mut ScrubReport,
        job: &str,
        id: &str,
        store: &str,
        why: String,
    ) {
        report.refused.push(format!("{job}/{id} [{store}]: {why}"));
        if self.first_time(&format!("{store}\u{0}{why}")) {
            self.notify("refused", job, id, Some(store), why).await;
        }
    }

    /// An operator adopts checkpoint `job/id` found in the stores: every copy is hashed
    /// in full against its manifest first; then it is trusted and may be restored.
    pub async fn adopt_checkpoint(&self, job: &str, id: &str) -> Result<Adoption, ReplicaError> {
        self.job(job)?;
        let known = self
            .catalogue
            .entries(Some(job))?
            .into_iter()
            .find(|e| e.id == id);
        let mut chosen: Option<Manifest> = None;
        let (mut stores, mut errors) = (Vec::new(), Vec::new());
        for s in &self.stores {
            let name = s.kind().as_str();
            let m = match s.get_manifest(job, id).await {
                Ok(m) => m,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => {
                    errors.push(format!("{name}: {e}"));
                    continue;
                }
            };
            if m.job != job || m.id != id {
                errors.push(format!("{name}: its manifest names {}/{}", m.job, m.id));
                continue;
            }
            if m.authenticate(self.manifest_key.as_deref()) == MacCheck::Invalid {
                errors.push(format!(
                    "{name}: its manifest's mac does not verify under the key in [storage] \
                     manifest_key_env (forged or altered); not adopted"
                ));
                continue;
            }
            let want = chosen
                .as_ref()
                .map(Manifest::digest)
                .or_else(|| known.as_ref().map(|e| e.digest.clone()));
            if want.as_ref().is_some_and(|d| *d != m.digest()) {
                errors.push(format!(
                    "{name}: its manifest differs from the other copy's"
                ));
                continue;
            }
            match check_copy(s.as_ref(), &m).await {
                Ok(()) => {
                    stores.push(name.to_string());
                    chosen = Some(m);
                }
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        let Some(m) = chosen else {
            if errors.is_empty() {
                errors.push("no store holds it".into());
            }
            return Err(ReplicaError::Failed(format!(
                "not adopted: {job}/{id}: {}",
                errors.join("; ")
            )));
        };
        if !errors.is_empty() {
            return Err(ReplicaError::Failed(format!(
                "not adopted: {job}/{id}: {} (the copies in {} hash right; fix or delete the others first)",
                errors.join("; "),
                stores.join(", ")
            )));
        }
        let already = known.as_ref().is_some_and(|e| e.provenance.trusted());
        if !already {
            self.catalogue.record_as(&m, now(), Provenance::Found)?;
            self.catalogue
                .set_provenance(job, id, Provenance::Adopted)?;
        }
        for name in &stores {
            self.catalogue
                .set_copy(job, id, name, CopyState::Verified, Some(now()), "")?;
        }
        let adoption = Adoption {
            job: job.into(),
            id: id.into(),
            step: m.step,
            digest: m.digest(),
            stores,
            files: m.files,
            already,
        };
        if !already {
            let detail = format!(
                "step {}, {} file(s) hashed in {}; manifest {}",
                adoption.step,
                adoption.files.len(),
                adoption.stores.join(", "),
                adoption.digest
            );
            self.notify("adopted", job, id, None, detail).await;
        }
        Ok(adoption)
    }
}
