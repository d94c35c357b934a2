//! Discovery and replication: list a job's checkpoint folder on its host, pick the
//! complete checkpoints not yet catalogued, pull each once into every store (or the NAS,
//! then S3 from the NAS), write the manifest last, and record the copies. Also repairs
//! copies left pending, bad or missing from a verified copy in another store.

use super::transfer::{to_stores, Source};
use super::{now, remote, ReplicaError, Replicator};
use crate::config::ReplicaOrder;
use crate::core::discovery::{parse_listing, Listing};
use crate::core::fleet::{HostSpec, JobSpec};
use crate::core::inventory::{CopyState, TaskKind};
use crate::core::manifest::{Manifest, ManifestFile, FORMAT};
use crate::core::time::Ts;
use crate::runtime::store::{Store, StoreError};
use std::collections::BTreeSet;
use std::time::Duration;

const LIST_CAP: usize = 8 << 20;

/// What happened to one store during a replication.
enum Outcome {
    Ok,
    Err(StoreError),
    /// `nas-then-s3`: filled from the NAS copy once that one is complete and recorded.
    Deferred,
}

impl Replicator {
    /// Lists `job`'s checkpoint folder on `host` (complete or not).
    pub async fn list_host(&self, job: &str, host: &str) -> Result<Vec<Listing>, ReplicaError> {
        let job = self.job(job)?;
        let host = &self.host(host)?;
        let dir = job.checkpoint_dir.to_string_lossy();
        let out = self
            .shell(host)
            .run(host, &remote::list(&dir), Duration::from_secs(60), LIST_CAP)
            .await
            .map_err(|e| ReplicaError::Failed(format!("{}: listing {dir}: {e}", host.id)))?;
        let text = &out.stdout;
        let Some(at) = find(text, remote::LIST_HEADER.as_bytes()) else {
            return Ok(Vec::new());
        };
        let parsed = parse_listing(
            &text[at + remote::LIST_HEADER.len()..],
            job.checkpoint_marker.as_deref(),
        );
        for s in &parsed.skipped {
            tracing::warn!(job = %job.id, host = %host.id, "checkpoint listing: skipped {s}");
        }
        for (id, why) in &parsed.refused {
            let why = format!(
                "{}:{}/{why}; the checkpoint is not replicated",
                host.id,
                dir.trim_end_matches('/')
            );
            if self.first_time(&why) {
                self.notify("refused", job.id.as_str(), id, None, why).await;
            }
        }
        Ok(parsed.checkpoints)
    }

    /// One pass for `job` running on `host` under `epoch`: replicates every complete
    /// checkpoint not yet catalogued, newest first, `parallel` at once. Returns the
    /// manifests recorded.
    pub async fn discover(
        &self,
        job: &str,
        host: &str,
        epoch: u64,
    ) -> Result<Vec<Manifest>, ReplicaError> {
        let listing = self.list_host(job, host).await?;
        let spec = self.job(job)?.clone();
        let host = self.host(host)?.clone();
        let complete = self
            .discovery
            .lock()
            .map(|mut d| d.complete(job, &listing, spec.checkpoint_marker.is_some()))
            .unwrap_or_default();
        // A found checkpoint (someone else's, same name) does not stop ours: ours is
        // replicated and recorded over it.
        let known: BTreeSet<String> = self
            .catalogue
            .entries(Some(job))?
            .into_iter()
            .filter(|e| !e.needs_adoption())
            .map(|e| e.id)
            .collect();
        let mut todo: Vec<Listing> = complete
            .into_iter()
            .filter(|l| !known.contains(&l.id) && self.due(job, &l.id, "replicate"))
            .collect();
        todo.sort_by_key(|l| std::cmp::Reverse((l.step(), l.mtime)));
        // `replicate` takes a permit, so at most `parallel` run at once.
        let mut work = Vec::new();
        for l in &todo {
            work.push(self.replicate(&spec, &host, epoch, l));
        }
        let results = futures::future::join_all(work).await;
        let mut done = Vec::new();
        for r in results {
            match r {
                Ok(m) => done.push(m),
                Err(e) => tracing::warn!(job, "replication: {e}"),
            }
        }
        Ok(done)
    }

    /// Replicates one listed checkpoint of `job` from `host`.
    pub async fn replicate(
        &self,
        job: &JobSpec,
        host: &HostSpec,
        epoch: u64,
        l: &Listing,
    ) -> Result<Manifest, ReplicaError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ReplicaError::Failed("replicator shut down".into()))?;
        let names: Vec<&str> = self.stores.iter().map(|s| s.kind().as_str()).collect();
        let task = self.tasks.start(
            TaskKind::Replicate,
            job.id.as_str(),
            &l.id,
            &names.join("+"),
            l.bytes(),
            now(),
        );
        let result = self.replicate_inner(job, host, epoch, l, &task).await;
        match &result {
            Ok(_) => self.succeeded(job.id.as_str(), &l.id, "replicate"),
            Err(e) => {
                let at = self.failed(job.id.as_str(), &l.id, "replicate");
                task.failed(&e.to_string(), Some(at));
            }
        }
        result
    }

    async fn replicate_inner(
        &self,
        job: &JobSpec,
        host: &HostSpec,
        epoch: u64,
        l: &Listing,
        task: &super::TaskHandle,
    ) -> Result<Manifest, ReplicaError> {
        let jid = job.id.as_str();
        let dir = job
            .checkpoint_dir
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let mut outcome: Vec<Outcome> = self.stores.iter().map(|_| Outcome::Ok).collect();
        let mut files = Vec::new();
        for (path, size) in &l.files {
            let src_path = if l.single_file {
                format!("{dir}/{}", l.id)
            } else {
                format!("{dir}/{}/{path}", l.id)
            };
            let sha = self
                .pull_file(host, &src_path, jid, &l.id, path, *size, &mut outcome, task)
                .await?;
            files.push(ManifestFile {
                path: path.clone(),
                size: *size,
                sha256: sha,
                mode: l.modes.get(path).copied(),
            });
        }
        let mut m = Manifest {
            format: FORMAT,
            job: jid.to_string(),
            id: l.id.clone(),
            step: l.step(),
            created: l.mtime,
            source_host: host.id.to_string(),
            epoch,
            single_file: l.single_file,
            files,
            mac: None,
        };
        if let Some(key) = &self.manifest_key {
            m.sign(key);
        }
        m.check()
            .map_err(|e| ReplicaError::Failed(format!("{jid}/{}: {e}", l.id)))?;
        for (i, s) in self.stores.iter().enumerate() {
            if matches!(outcome[i], Outcome::Ok) {
                if let Err(e) = s.put_manifest(&m).await {
                    outcome[i] = Outcome::Err(e);
                }
            }
        }
        if !outcome.iter().any(|o| matches!(o, Outcome::Ok)) {
            // No copy to record, but every store's failure counts for its health.
            for (s, o) in self.stores.iter().zip(&outcome) {
                if let Outcome::Err(e) = o {
                    self.store_result(s.kind().as_str(), Some(e.to_string()));
                }
            }
            let why = self.describe(&outcome);
            return Err(ReplicaError::Failed(format!(
                "{jid}/{}: no store took it ({why}); it stays on {} and is tried again",
                l.id, host.id
            )));
        }
        self.catalogue.record(&m, now())?;
        let t = now();
        for (i, s) in self.stores.iter().enumerate() {
            let name = s.kind().as_str();
            match &outcome[i] {
                Outcome::Ok => self.copy_made(jid, &m.id, name, t)?,
                Outcome::Err(e) => self.copy_failed(jid, &m.id, name, e).await?,
                Outcome::Deferred => {
                    let why = "queued behind the NAS copy";
                    self.catalogue
                        .set_copy(jid, &m.id, name, CopyState::Pending, None, why)?;
                }
            }
        }
        let detail = format!(
            "step {}, {} bytes in {} file(s) from {}",
            m.step,
            m.total_bytes(),
            m.files.len(),
            host.id
        );
        self.notify("replicated", jid, &m.id, None, detail).await;
        // NAS then S3: the checkpoint is restorable from the NAS already; S3 follows.
        let from = self
            .stores
            .iter()
            .zip(&outcome)
            .find(|(_, o)| matches!(o, Outcome::Ok))
            .map(|(s, _)| s.clone());
        for (i, s) in self.stores.iter().enumerate() {
            let (Outcome::Deferred, Some(from)) = (&outcome[i], &from) else {
                continue;
            };
            let name = s.kind().as_str();
            match self.copy_between(&m, from.as_ref(), s.as_ref()).await {
                Ok(()) => self.copy_made(jid, &m.id, name, now())?,
                Err(e) => {
                    self.failed(jid, &m.id, name);
                    self.copy_failed(jid, &m.id, name, &e).await?;
                }
            }
        }
        Ok(m)
    }

    /// Records a verified copy in `store`.
    fn copy_made(&self, job: &str, id: &str, store: &str, at: Ts) -> Result<(), ReplicaError> {
        self.catalogue
            .set_copy(job, id, store, CopyState::Verified, Some(at), "")?;
        self.store_result(store, None);
        Ok(())
    }

    /// Records a copy `store` could not take: pending when the store was away (it is
    /// retried), failed otherwise; and says so.
    async fn copy_failed(
        &self,
        job: &str,
        id: &str,
        store: &str,
        e: &StoreError,
    ) -> Result<(), ReplicaError> {
        let state = if e.is_transient() {
            CopyState::Pending
        } else {
            CopyState::Failed
        };
        self.catalogue
            .set_copy(job, id, store, state, None, &e.to_string())?;
        self.store_result(store, Some(e.to_string()));
        self.notify("copy_failed", job, id, Some(store), e.to_string())
            .await;
        Ok(())
    }

    fn describe(&self, outcome: &[Outcome]) -> String {
        self.stores
            .iter()
            .zip(outcome)
            .filter_map(|(s, o)| match o {
                Outcome::Err(e) => Some(format!("{}: {e}", s.kind())),
                Outcome::Ok | Outcome::Deferred => None,
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Pulls one file into the stores still working; returns its SHA-256.
    #[allow(clippy::too_many_arguments)]
    async fn pull_file(
        &self,
        host: &HostSpec,
        src_path: &str,
        job: &str,
        id: &str,
        path: &str,
        size: u64,
        outcome: &mut [Outcome],
        task: &super::TaskHandle,
    ) -> Result<String, ReplicaError> {
        let shell = self.shell(host);
        let active: Vec<usize> = (0..self.stores.len())
            .filter(|i| matches!(outcome[*i], Outcome::Ok))
            .collect();
        if active.is_empty() {
            return Err(ReplicaError::Failed(format!(
                "{job}/{id}: no store took it ({})",
                self.describe(outcome)
            )));
        }
        // NAS then S3: the host is read once into the NAS, and S3 is fed from the NAS.
        let nas_first = self.storage.order == ReplicaOrder::NasThenS3
            && active.len() > 1
            && self.stores[active[0]].kind() == crate::runtime::store::StoreKind::Nas;
        let first: Vec<usize> = if nas_first {
            vec![active[0]]
        } else {
            active.clone()
        };
        let dests: Vec<&dyn Store> = first.iter().map(|i| self.stores[*i].as_ref()).collect();
        let src = Source::Host {
            shell,
            host,
            path: src_path.to_string(),
        };
        let fan = to_stores(src, &dests, job, id, path, size, &task.meter).await;
        let all_failed = fan.written.iter().all(Result::is_err);
        if let Err(e) = fan.source {
            // A source cut short because every store gave up is the stores' story.
            if !all_failed {
                return Err(ReplicaError::Failed(e));
            }
        }
        let mut sha: Option<String> = None;
        for (k, r) in first.iter().zip(fan.written) {
            match r {
                Ok(w) if w.bytes != size => {
                    outcome[*k] = Outcome::Err(StoreError::Corrupt(format!(
                        "{path}: wrote {} bytes, listed {size}",
                        w.bytes
                    )))
                }
                Ok(w) => match &sha {
                    Some(s) if *s != w.sha256 => {
                        return Err(ReplicaError::Failed(format!(
                            "{job}/{id}/{path}: the stores hashed different bytes; retried later"
                        )))
                    }
                    _ => sha = Some(w.sha256),
                },
                Err(e) => outcome[*k] = Outcome::Err(e),
            }
        }
        let rest: Vec<usize> = active
            .iter()
            .copied()
            .filter(|i| !first.contains(i) && matches!(outcome[*i], Outcome::Ok))
            .collect();
        if let (true, Some(s)) = (nas_first, &sha) {
            // The NAS took it: the rest is copied from there after the manifest.
            for k in rest {
                outcome[k] = Outcome::Deferred;
            }
            return Ok(s.clone());
        }
        for k in rest {
            // The NAS failed this file: the others read it from the host themselves.
            let src = Source::Host {
                shell,
                host,
                path: src_path.to_string(),
            };
            let meter = super::transfer::Meter::default();
            let fan = to_stores(src, &[self.stores[k].as_ref()], job, id, path, size, &meter).await;
            match (fan.source, fan.written.into_iter().next()) {
                (Ok(()), Some(Ok(w))) if w.bytes == size => match &sha {
                    Some(s) if *s != w.sha256 => {
                        outcome[k] = Outcome::Err(StoreError::Corrupt(format!(
                            "{path}: hashed {} here, {s} in the NAS",
                            w.sha256
                        )))
                    }
                    _ => sha = Some(w.sha256),
                },
                (Ok(()), Some(Ok(w))) => {
                    outcome[k] = Outcome::Err(StoreError::Corrupt(format!(
                        "{path}: wrote {} bytes, listed {size}",
                        w.bytes
                    )))
                }
                (_, Some(Err(e))) => outcome[k] = Outcome::Err(e),
                (Err(e), _) => outcome[k] = Outcome::Err(StoreError::Aborted(e)),
                (Ok(()), None) => {}
            }
        }
        sha.ok_or_else(|| {
            ReplicaError::Failed(format!(
                "{job}/{id}: no store took {path} ({})",
                self.describe(outcome)
            ))
        })
    }

    /// Copies every pending, bad, missing or failed copy from a verified one (NAS first).
    /// Returns how many copies were repaired.
    pub async fn repair(&self) -> Result<usize, ReplicaError> {
        let mut repaired = 0;
        for e in self.catalogue.entries(None)? {
            let Some(good) = self.stores.iter().find(|s| {
                e.copy(s.kind().as_str())
                    .is_some_and(|c| c.state == CopyState::Verified)
            }) else {
                continue;
            };
            for dest in &self.stores {
                let name = dest.kind().as_str();
                let Some(c) = e.copy(name) else { continue };
                if c.state == CopyState::Verified || !self.due(&e.job, &e.id, name) {
                    continue;
                }
                let Some(m) = self.catalogue.manifest(&e.job, &e.id)? else {
                    continue;
                };
                match self.copy_between(&m, good.as_ref(), dest.as_ref()).await {
                    Ok(()) => {
                        self.succeeded(&e.job, &e.id, name);
                        self.catalogue.set_copy(
                            &e.job,
                            &e.id,
                            name,
                            CopyState::Verified,
                            Some(now()),
                            &format!("{}{}", crate::core::drill::probe::REPAIRED, good.kind()),
                        )?;
                        self.store_result(name, None);
                        self.notify(
                            "repaired",
                            &e.job,
                            &e.id,
                            Some(name),
                            format!("copied from {}", good.kind()),
                        )
                        .await;
                        repaired += 1;
                    }
                    Err(err) => {
                        self.failed(&e.job, &e.id, name);
                        let state = if err.is_transient() {
                            CopyState::Pending
                        } else {
                            c.state
                        };
                        self.catalogue.set_copy(
                            &e.job,
                            &e.id,
                            name,
                            state,
                            None,
                            &err.to_string(),
                        )?;
                        self.store_result(name, Some(err.to_string()));
                    }
                }
            }
        }
        Ok(repaired)
    }

    /// Copies checkpoint `m` from store `from` to store `to`, checking every file's hash
    /// against the manifest; the manifest goes last.
    pub(super) async fn copy_between(
        &self,
        m: &Manifest,
        from: &dyn Store,
        to: &dyn Store,
    ) -> Result<(), StoreError> {
        let task = self.tasks.start(
            TaskKind::Repair,
            &m.job,
            &m.id,
            to.kind().as_str(),
            m.total_bytes(),
            now(),
        );
        for f in &m.files {
            let src = Source::Store {
                store: from,
                job: &m.job,
                id: &m.id,
                path: &f.path,
            };
            let fan = to_stores(src, &[to], &m.job, &m.id, &f.path, f.size, &task.meter).await;
            let w = match fan.written.into_iter().next() {
                Some(Ok(w)) => w,
                Some(Err(e)) => return Err(e),
                None => return Err(StoreError::Other("no destination".into())),
            };
            if let Err(e) = fan.source {
                return Err(StoreError::Aborted(e));
            }
            if w.sha256 != f.sha256 || w.bytes != f.size {
                let _ = to.delete(&m.job, &m.id).await;
                return Err(StoreError::Corrupt(format!(
                    "{}/{}/{}: the {} copy read back as {} ({} bytes), the manifest says {}",
                    m.job,
                    m.id,
                    f.path,
                    from.kind(),
                    w.sha256,
                    w.bytes,
                    f.sha256
                )));
            }
        }
        to.put_manifest(m).await
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
