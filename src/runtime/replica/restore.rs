//! Restore: stream a checkpoint from the first store holding a verified copy (the NAS,
//! else S3) onto a host under a temporary name; check every file's hash where it landed;
//! then move it into place. When a file lands wrong, the store's copy is read again: one
//! that reads back wrong is marked bad, and the next store is tried.

use super::transfer::store_to_host;
use super::{now, remote, ReplicaError, Replicator};
use crate::core::fleet::HostSpec;
use crate::core::inventory::{CheckpointEntry, CopyState, TaskKind};
use crate::core::manifest::Manifest;
use crate::core::seal::{Seal, Trust};
use crate::runtime::store::Store;
use serde::Serialize;
use std::time::Duration;

/// Checking a restored checkpoint reads it all; give big ones time.
const VERIFY_LIMIT: Duration = Duration::from_secs(3600);
const CAP: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub job: String,
    pub id: String,
    pub step: u64,
    pub host: String,
    pub path: String,
    pub bytes: u64,
    /// The store it came from; `None` when it was already there and verified.
    pub from: Option<String>,
    /// Already there and trusted unread: unchanged since Lifeboat verified it there
    /// (`core::seal`).
    #[serde(default)]
    pub sealed: bool,
}

impl Restored {
    /// One line for people: what landed where, from which store (host words escaped).
    pub fn to_text(&self) -> String {
        let e = |s: &str| crate::core::safe_text::escape_line(s).into_owned();
        match &self.from {
            Some(from) => format!(
                "restored {}/{} (step {}) to {}:{} — {} from {}, verified there",
                e(&self.job),
                e(&self.id),
                self.step,
                e(&self.host),
                e(&self.path),
                crate::runtime::checkpoints_cmd::human_bytes(self.bytes),
                e(from)
            ),
            None => format!(
                "{}/{} (step {}) is already at {}:{} and {}; nothing moved",
                e(&self.job),
                e(&self.id),
                self.step,
                e(&self.host),
                e(&self.path),
                match self.sealed {
                    true => "unchanged since Lifeboat verified it there (sealed, not re-read)",
                    false => "verified",
                }
            ),
        }
    }
}

impl Replicator {
    /// The newest checkpoint of `job` with a verified copy somewhere.
    pub fn newest_restorable(&self, job: &str) -> Result<Option<CheckpointEntry>, ReplicaError> {
        Ok(self
            .catalogue
            .entries(Some(job))?
            .into_iter()
            .filter(CheckpointEntry::restorable)
            .max_by_key(|e| (e.step, e.created)))
    }

    /// The path a checkpoint of `job` takes on a host: `<checkpoint_dir>/<id>`.
    pub fn default_path(&self, job: &str, id: &str) -> Result<String, ReplicaError> {
        let j = self.job(job)?;
        Ok(format!(
            "{}/{id}",
            j.checkpoint_dir.to_string_lossy().trim_end_matches('/')
        ))
    }

    /// Restores checkpoint `id` of `job` (the newest restorable when `None`) onto `host`
    /// at `dest` (`<checkpoint_dir>/<id>` when `None`).
    pub async fn restore(
        &self,
        job: &str,
        id: Option<&str>,
        host: &str,
        dest: Option<&str>,
    ) -> Result<Restored, ReplicaError> {
        self.restore_metered(job, id, host, dest, None).await
    }

    /// [`Self::restore`], advancing `meter` with the bytes moved (for a caller's progress).
    pub async fn restore_metered(
        &self,
        job: &str,
        id: Option<&str>,
        host: &str,
        dest: Option<&str>,
        meter: Option<std::sync::Arc<super::transfer::Meter>>,
    ) -> Result<Restored, ReplicaError> {
        let entry = match id {
            Some(id) => self
                .catalogue
                .entries(Some(job))?
                .into_iter()
                .find(|e| e.id == id)
                .ok_or_else(|| {
                    ReplicaError::NotFound(format!(
                        "job \"{job}\" has no checkpoint \"{id}\" in the catalogue; see `lifeboat checkpoints list`"
                    ))
                })?,
            None => self.newest_restorable(job)?.ok_or_else(|| {
                ReplicaError::NotFound(format!(
                    "job \"{job}\" has no verified checkpoint to restore"
                ))
            })?,
        };
        if !entry.provenance.trusted() {
            return Err(ReplicaError::Failed(format!(
                "refused: {job}/{} was found in the stores, not written by this Lifeboat, and \
                 no operator has adopted it; check it, then run `lifeboat checkpoints adopt {job} {}`",
                entry.id, entry.id
            )));
        }
        let m = self.catalogue.manifest(job, &entry.id)?.ok_or_else(|| {
            ReplicaError::NotFound(format!("{job}/{}: no manifest recorded", entry.id))
        })?;
        let host = self.host(host)?.clone();
        let dest = match dest {
            Some(d) => d.trim_end_matches('/').to_string(),
            None => self.default_path(job, &entry.id)?,
        };
        let mut restored = Restored {
            job: job.into(),
            id: entry.id.clone(),
            step: m.step,
            host: host.id.to_string(),
            path: dest.clone(),
            bytes: 0,
            from: None,
            sealed: false,
        };
        if let Ok(sealed) = self.check_on_host(&host, &dest, &m).await {
            restored.sealed = sealed;
            return Ok(restored);
        }
        let sources: Vec<&std::sync::Arc<dyn Store>> = self
            .stores
            .iter()
            .filter(|s| {
                entry
                    .copy(s.kind().as_str())
                    .is_some_and(|c| c.state == CopyState::Verified)
            })
            .collect();
        let mut errors = Vec::new();
        for s in sources {
            match self
                .restore_from(s.as_ref(), &m, &host, &dest, meter.clone())
                .await
            {
                Ok(bytes) => {
                    restored.bytes = bytes;
                    restored.from = Some(s.kind().as_str().into());
                    let detail = format!("{bytes} bytes from {} to {}:{dest}", s.kind(), host.id);
                    self.notify("restored", job, &m.id, Some(s.kind().as_str()), detail)
                        .await;
                    return Ok(restored);
                }
                Err(e) => errors.push(format!("{}: {e}", s.kind())),
            }
        }
        if errors.is_empty() {
            errors.push("no store holds a verified copy".into());
        }
        Err(ReplicaError::Failed(format!(
            "restore of {job}/{} to {}:{dest} failed: {}",
            m.id,
            host.id,
            errors.join("; ")
        )))
    }

    /// Whether `root` on `host` holds exactly `m`'s files: `Ok(true)` when its seal
    /// vouches for it unread, `Ok(false)` when it was hashed there (and sealed anew).
    async fn check_on_host(
        &self,
        host: &HostSpec,
        root: &str,
        m: &Manifest,
    ) -> Result<bool, String> {
        let h = host.id.as_str();
        if let Ok(Some(seal)) = self.catalogue.seal(h, root, &m.job, &m.id) {
            let sizes: Vec<u64> = m.files.iter().map(|f| f.size).collect();
            match self
                .stats_on_host(host, root, m)
                .await
                .map(|now| seal.judge(&now, &sizes))
            {
                Ok(Trust::Sealed) => return Ok(true),
                Ok(Trust::Doubt(why)) | Err(why) => {
                    tracing::info!(job = %m.job, "{h}:{root}: hashing it again: {why}");
                }
            }
        }
        let out = self
            .shell(host)
            .run(host, &remote::verify(root, m), VERIFY_LIMIT, CAP)
            .await
            .map_err(|e| format!("{h}: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if let Err(why) = remote::verdict(&text) {
            let _ = self.catalogue.drop_seal(h, root);
            return Err(format!("{h}:{root}: {why}"));
        }
        let at = text
            .lines()
            .find_map(|l| l.strip_prefix("@@at "))
            .unwrap_or("");
        let sealed = remote::parse_stats(&text, "@@before")
            .and_then(|before| Seal::settled(before, remote::parse_stats(&text, "@@after")?, at));
        match sealed {
            Ok(seal) => {
                if self
                    .catalogue
                    .set_seal(h, root, &m.job, &m.id, &seal)
                    .is_ok()
                {
                    let detail = format!(
                        "{h}:{root} verified and sealed: a restore there trusts it unread while nothing of it changes"
                    );
                    self.notify("sealed", &m.job, &m.id, None, detail).await;
                }
            }
            Err(why) => {
                let _ = self.catalogue.drop_seal(h, root);
                tracing::debug!(job = %m.job, "{h}:{root}: verified, not sealed: {why}");
            }
        }
        Ok(false)
    }

    /// The host's description of `m`'s files under `root`, read without hashing.
    async fn stats_on_host(
        &self,
        host: &HostSpec,
        root: &str,
        m: &Manifest,
    ) -> Result<Vec<crate::core::seal::FileStat>, String> {
        let out = self
            .shell(host)
            .run(
                host,
                &remote::stat_files(root, m),
                Duration::from_secs(30),
                CAP,
            )
            .await
            .map_err(|e| format!("{}: {e}", host.id))?;
        let text = String::from_utf8_lossy(&out.stdout);
        remote::verdict(&text)?;
        remote::parse_stats(&text, "@@stat")
    }

    /// Verifies the copy of `job/id` at `dest` on `host` and seals it, once its files'
    /// times have settled (a copy just placed is racy for a second): what pre-staging
    /// does after a restore, so the failover finds it trusted.
    pub async fn seal_on_host(
        &self,
        job: &str,
        id: &str,
        host: &str,
        dest: &str,
    ) -> Result<bool, ReplicaError> {
        let m = self
            .catalogue
            .manifest(job, id)?
            .ok_or_else(|| ReplicaError::NotFound(format!("{job}/{id}: no manifest recorded")))?;
        let host = self.host(host)?.clone();
        let settle = crate::core::seal::SETTLE_NS as u64 + 100_000_000;
        tokio::time::sleep(Duration::from_nanos(settle)).await;
        self.check_on_host(&host, dest, &m)
            .await
            .map_err(ReplicaError::Failed)?;
        Ok(self
            .catalogue
            .seal(host.id.as_str(), dest, job, id)?
            .is_some())
    }

    /// A restored file landed wrong (`why`): reads the store's copy again to tell whose
    /// fault it is. A copy that reads back wrong is marked bad and said so; otherwise the
    /// copy stands and `why` is the answer.
    async fn blame(
        &self,
        store: &dyn Store,
        m: &Manifest,
        f: &crate::core::manifest::ManifestFile,
        why: String,
    ) -> String {
        let name = store.kind().as_str();
        match super::transfer::hash_in_store(store, &m.job, &m.id, &f.path).await {
            Ok((n, sha)) if n != f.size || sha != f.sha256 => {
                let bad = format!(
                    "{} read back {n} bytes hashing {sha}; the manifest says {} bytes, {}",
                    f.path, f.size, f.sha256
                );
                let _ =
                    self.catalogue
                        .set_copy(&m.job, &m.id, name, CopyState::Bad, Some(now()), &bad);
                self.notify("copy_bad", &m.job, &m.id, Some(name), bad.clone())
                    .await;
                bad
            }
            Ok(_) => format!("{why} (the {name} copy reads back right)"),
            Err(e) => format!("{why} (the {name} copy could not be read again: {e})"),
        }
    }

    async fn run_marker(&self, host: &HostSpec, script: &str) -> Result<String, String> {
        let out = self
            .shell(host)
            .run(host, script, Duration::from_secs(120), CAP)
            .await
            .map_err(|e| format!("{}: {e}", host.id))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    async fn restore_from(
        &self,
        store: &dyn Store,
        m: &Manifest,
        host: &HostSpec,
        dest: &str,
        meter: Option<std::sync::Arc<super::transfer::Meter>>,
    ) -> Result<u64, String> {
        let (parent, _) = dest.rsplit_once('/').unwrap_or((".", dest));
        let stamp = now().0;
        let tmp = format!("{parent}/.lifeboat-restore-{}-{stamp}", m.id);
        let aside = format!("{parent}/.lifeboat-old-{}-{stamp}", m.id);
        let task = self.tasks.start(
            TaskKind::Restore,
            &m.job,
            &m.id,
            host.id.as_str(),
            m.total_bytes(),
            now(),
        );
        let shell = self.shell(host);
        let meter = meter.unwrap_or_else(|| task.meter.clone());
        let result = async {
            let mut bytes = 0;
            for f in &m.files {
                let target = if m.single_file {
                    tmp.clone()
                } else {
                    format!("{tmp}/{}", f.path)
                };
                let from = super::transfer::Source::Store {
                    store,
                    job: &m.job,
                    id: &m.id,
                    path: &f.path,
                };
                let landed = store_to_host(
                    from,
                    shell,
                    host,
                    &remote::write_file(&target, f.mode, f.size),
                    &meter,
                )
                .await?;
                // The host hashed the file it wrote and says how big it is on its disk:
                // the check there. Only when it disagrees is the store's copy read again
                // here, to tell a bad copy (marked so, the next store is tried) from a bad
                // landing.
                let there = remote::parse_written(&landed.remote);
                let n = landed.bytes;
                if there.as_ref() != Some(&(f.sha256.clone(), f.size)) {
                    let wrote = there.map_or("nothing it could account for".into(), |(h, s)| {
                        format!("{s} bytes hashing {h}")
                    });
                    let why = format!(
                        "{}:{target}: the host wrote {wrote}, the manifest says {} bytes, {}",
                        host.id, f.size, f.sha256
                    );
                    return Err(self.blame(store, m, f, why).await);
                }
                bytes += n;
            }
            // What is at `dest` now changes: its seal no longer holds.
            let _ = self.catalogue.drop_seal(host.id.as_str(), dest);
            let out = self
                .run_marker(host, &remote::place(&tmp, dest, &aside))
                .await?;
            if out.contains("@@placed") {
                Ok(bytes)
            } else {
                Err(format!(
                    "{}: could not move {tmp} to {dest}: {}",
                    host.id,
                    out.trim()
                ))
            }
        }
        .await;
        if result.is_err() {
            let _ = self.run_marker(host, &remote::remove(&tmp)).await;
            task.failed(result.as_ref().err().map_or("", String::as_str), None);
        }
        result
    }
}
