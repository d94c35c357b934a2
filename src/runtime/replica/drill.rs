//! A drill's checkpoint corruption, made for real: one byte flipped in the NAS copy of a
//! job's newest checkpoint that has a second verified copy to be repaired from, and a
//! scrub of the job asked for at once, so the same path a real bit flip takes (scrub →
//! mismatch → bad → repair from the good copy) is the one the drill measures.

use super::Replicator;
use crate::core::inventory::{CheckpointEntry, CopyState};
use crate::runtime::store::nas::NasStore;

/// Flipped with XOR: the same mask undoes it.
const MASK: u8 = 0xFF;

impl Replicator {
    /// Has `job`'s copies scrubbed (and repaired) at the next pass, which starts now.
    pub fn ask_scrub(&self, job: &str) {
        if let Ok(mut s) = self.scrub_asked.lock() {
            s.insert(job.to_string());
        }
        self.wake.notify_one();
    }

    /// The jobs whose scrub was asked for since the last call.
    pub(super) fn take_scrub_asked(&self) -> Vec<String> {
        self.scrub_asked
            .lock()
            .map(|mut s| std::mem::take(&mut *s).into_iter().collect())
            .unwrap_or_default()
    }

    /// Resolves when a pass is asked for early.
    pub(super) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The newest checkpoint of `job` whose NAS copy and one more copy are verified.
    fn spoilable(&self, job: &str) -> Result<(NasStore, CheckpointEntry), String> {
        let root = self
            .storage
            .nas
            .clone()
            .ok_or("no NAS store is configured: a copy to corrupt is a NAS copy")?;
        let verified = |e: &CheckpointEntry, nas: bool| {
            e.copies
                .iter()
                .any(|c| (c.store == "nas") == nas && c.state == CopyState::Verified)
        };
        let e = self
            .catalogue
            .entries(Some(job))
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|e| verified(e, true) && verified(e, false))
            .max_by_key(|e| (e.step, e.created.0))
            .ok_or_else(|| {
                format!("{job} has no checkpoint verified in the NAS and in a second store to repair it from")
            })?;
        Ok((NasStore::new(root), e))
    }

    /// Flips one byte in the middle of the largest file of the NAS copy of `job`'s
    /// newest doubly-verified checkpoint and asks for a scrub of the job.
    pub async fn drill_corrupt(&self, job: &str) -> Result<String, String> {
        let (nas, e) = self.spoilable(job)?;
        let m = self
            .catalogue
            .manifest(&e.job, &e.id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}/{} has no manifest in the catalogue", e.job, e.id))?;
        let f = m
            .files
            .iter()
            .filter(|f| f.size > 0)
            .max_by_key(|f| f.size)
            .ok_or_else(|| format!("{}/{} has no file with a byte to flip", e.job, e.id))?;
        let (path, offset) = (f.path.clone(), f.size / 2);
        let (job2, id) = (e.job.clone(), e.id.clone());
        let (was, now) =
            tokio::task::spawn_blocking(move || nas.drill_xor(&job2, &id, &path, offset, MASK))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        self.ask_scrub(job);
        Ok(format!(
            "flipped byte {offset} of {}/{} ({}) in the NAS copy: {was:#04x} → {now:#04x}; a scrub of {job} is asked for",
            e.id, f.path, e.step
        ))
    }

    /// After a drill: scrubs `job`'s copies now (a bad one is repaired from a good one)
    /// and says whether any copy is still bad.
    pub async fn drill_mend(&self, job: &str) -> Result<String, String> {
        let r = self.scrub(1, Some(job)).await.map_err(|e| e.to_string())?;
        let bad: Vec<String> = self
            .catalogue
            .entries(Some(job))
            .map_err(|e| e.to_string())?
            .iter()
            .flat_map(|e| {
                e.copies
                    .iter()
                    .filter(|c| c.state == CopyState::Bad)
                    .map(move |c| format!("{}/{} [{}]", e.job, e.id, c.store))
            })
            .collect();
        if bad.is_empty() {
            Ok(format!(
                "scrubbed {} copies of {job}: none bad ({} repaired now)",
                r.checked, r.repaired
            ))
        } else {
            Err(format!(
                "still bad after a scrub and repair: {}; `lifeboat checkpoints verify` names why",
                bad.join(", ")
            ))
        }
    }
}
