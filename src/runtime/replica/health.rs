//! What each store did lately: the last write that went through, the last write that
//! failed, and whether a cheap look (listing its jobs) reaches it at all, so a NAS that is
//! not mounted shows even when nothing is being written. Reported to the core as
//! `StoreReport`s; `checkpoints replicate` exits non-zero while one is failing.

use super::{now, ReplicaError, Replicator};
use crate::core::inventory::CopyState;
use crate::core::store_health::{StoreFailure, StoreReport};
use crate::core::time::Ts;

/// How long a look at a store may take.
const LOOK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// One store's recent results.
#[derive(Clone, Debug, Default)]
pub(super) struct Marks {
    last_ok: Option<Ts>,
    /// The last write that failed, unless one went through since.
    write: Option<StoreFailure>,
    /// The last look that failed, unless one went through since (a look that works does
    /// not clear a write error: a full NAS still lists).
    look: Option<StoreFailure>,
}

impl Marks {
    fn error(&self) -> Option<&StoreFailure> {
        self.write.as_ref().or(self.look.as_ref())
    }
}

/// The same failure again keeps the time it started.
fn failure(before: Option<&StoreFailure>, detail: &str) -> StoreFailure {
    let mut f = StoreFailure::new(now(), detail);
    if let Some(b) = before.filter(|b| b.kind == f.kind) {
        f.at = b.at;
    }
    f
}

impl Replicator {
    /// Records a write to `store` that went through (`None`) or failed.
    pub(super) fn store_result(&self, store: &str, error: Option<String>) {
        if let Ok(mut m) = self.marks.lock() {
            let e = m.entry(store.to_string()).or_default();
            match error {
                None => {
                    e.last_ok = Some(now());
                    e.write = None;
                }
                Some(why) => e.write = Some(failure(e.write.as_ref(), &why)),
            }
        }
    }

    /// The error `store` gives now, in its own words.
    pub(super) fn store_error(&self, store: &str) -> Option<String> {
        let m = self.marks.lock().ok()?;
        m.get(store)?.error().map(|f| f.detail.clone())
    }

    /// Looks at every store once, at once (lists its jobs): a store nobody wrote to
    /// lately still shows whether it can be reached. A store that does not answer within
    /// [`LOOK_DEADLINE`] counts as unreachable, so a hung one never holds up a pass.
    pub async fn look_at_stores(&self) {
        let looks = self.stores.iter().map(|s| async move {
            let got = match tokio::time::timeout(LOOK_DEADLINE, s.jobs()).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!(
                    "{} did not answer a listing within {}s (timed out)",
                    s.locate("", "").trim_end_matches('/'),
                    LOOK_DEADLINE.as_secs()
                )),
            };
            (s.kind().as_str(), got)
        });
        for (name, got) in futures::future::join_all(looks).await {
            if let Ok(mut m) = self.marks.lock() {
                let e = m.entry(name.to_string()).or_default();
                e.look = got.map(|why| failure(e.look.as_ref(), &why));
            }
        }
    }

    /// Every store's report for the core: last good write, error, copies waiting.
    pub fn store_reports(&self) -> Result<Vec<StoreReport>, ReplicaError> {
        let entries = self.catalogue.entries(None)?;
        let marks = self.marks.lock().map(|m| m.clone()).unwrap_or_default();
        Ok(self
            .stores
            .iter()
            .map(|s| {
                let name = s.kind().as_str();
                let mark = marks.get(name).cloned().unwrap_or_default();
                let pending = entries
                    .iter()
                    .filter_map(|e| e.copy(name))
                    .filter(|c| c.state != CopyState::Verified)
                    .count();
                StoreReport {
                    store: name.to_string(),
                    last_ok: mark.last_ok,
                    error: mark.error().cloned(),
                    pending: u32::try_from(pending).unwrap_or(u32::MAX),
                }
            })
            .collect())
    }
}
