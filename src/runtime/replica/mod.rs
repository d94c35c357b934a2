//! The replicator: keeps every job's checkpoints in the configured stores. It discovers
//! complete checkpoints on a job's host, pulls each once (hashing while it streams) into
//! the NAS and S3 at once, writes the manifest last, records copies in the catalogue,
//! repairs copies that are missing or bad from a good one, scrubs, prunes by retention
//! and restores onto any host. Used by the live runtime and by `lifeboat checkpoints`.

mod adopt;
mod drill;
mod health;
mod prune;
mod pull;
pub mod remote;
mod restore;
mod scrub;
pub mod service;
mod tasks;
pub mod transfer;

pub use crate::core::inventory::PruneRow;
pub use adopt::Adoption;
pub use prune::{PruneOutcome, PrunePlan};
pub use restore::Restored;
pub use scrub::ScrubReport;
pub use tasks::TaskHandle;

use crate::config::StorageConfig;
use crate::core::fleet::{Access, Fleet, HostSpec, JobSpec};
use crate::core::inventory::{Inventory, StoreView};
use crate::core::time::Ts;
use crate::runtime::catalogue::Catalogue;
use crate::runtime::notice::Notice;
use crate::runtime::shell::Shell;
use crate::runtime::store::Store;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(transparent)]
    Catalogue(#[from] crate::runtime::catalogue::CatalogueError),
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    NotFound(String),
}

pub struct Replicator {
    stores: Vec<Arc<dyn Store>>,
    pub catalogue: Arc<Catalogue>,
    ssh: Arc<dyn Shell>,
    local: Arc<dyn Shell>,
    fleet: Fleet,
    storage: StorageConfig,
    tasks: tasks::Tasks,
    discovery: Mutex<crate::core::discovery::Discovery>,
    notices: Option<mpsc::Sender<Notice>>,
    /// What each store did lately (see `health`).
    marks: Mutex<std::collections::BTreeMap<String, health::Marks>>,
    /// Checkpoints being moved at once (`[storage] parallel`).
    permits: tokio::sync::Semaphore,
    /// Failed work waits before it is tried again: `(job, id, what)` → (failures, not before).
    backoff: Mutex<std::collections::BTreeMap<WorkKey, (u32, Ts)>>,
    /// Hosts not in the config (rented by failovers).
    book: crate::runtime::renting::HostBook,
    /// The team's key (`[storage] manifest_key_env`): signs the manifests written here
    /// and authenticates those found in the stores.
    manifest_key: Option<Vec<u8>>,
    /// Refusals already told (a planted link is named once, not on every pass).
    told_refused: Mutex<std::collections::BTreeSet<String>>,
    /// Jobs whose copies are to be scrubbed at the next pass (a drill asked), and what
    /// wakes that pass.
    scrub_asked: Mutex<std::collections::BTreeSet<String>>,
    wake: tokio::sync::Notify,
}

/// `(job, checkpoint, what)`: one piece of work that can fail and wait.
type WorkKey = (String, String, String);

/// Unix milliseconds now.
pub fn now() -> Ts {
    Ts(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64))
}

impl Replicator {
    /// `stores` in preference order for restores (the NAS first, then S3).
    pub fn new(
        stores: Vec<Arc<dyn Store>>,
        catalogue: Arc<Catalogue>,
        ssh: Arc<dyn Shell>,
        local: Arc<dyn Shell>,
        fleet: Fleet,
        storage: StorageConfig,
    ) -> Self {
        Self {
            stores,
            catalogue,
            ssh,
            local,
            fleet,
            storage: storage.clone(),
            tasks: tasks::Tasks::default(),
            discovery: Mutex::new(Default::default()),
            notices: None,
            marks: Mutex::new(Default::default()),
            permits: tokio::sync::Semaphore::new(storage.parallel.max(1)),
            backoff: Mutex::new(Default::default()),
            book: Default::default(),
            manifest_key: None,
            told_refused: Mutex::new(Default::default()),
            scrub_asked: Mutex::new(Default::default()),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Signs manifests with `key` and trusts found ones whose mac verifies under it.
    pub fn with_manifest_key(mut self, key: Option<Vec<u8>>) -> Self {
        self.manifest_key = key;
        self
    }

    /// Whether `what` is told for the first time (so a refusal is noticed once).
    fn first_time(&self, what: &str) -> bool {
        self.told_refused
            .lock()
            .map(|mut s| s.insert(what.to_string()))
            .unwrap_or(true)
    }

    /// Sends checkpoint notices (replicated, bad copy, repaired …) to `tx`.
    pub fn with_notices(mut self, tx: mpsc::Sender<Notice>) -> Self {
        self.notices = Some(tx);
        self
    }

    /// Never prunes by itself (a `--readonly` console deletes nothing).
    pub fn without_auto_prune(mut self) -> Self {
        self.storage.auto_prune = false;
        self
    }

    /// Looks up hosts missing from the config (machines failovers rented) in `book`.
    pub fn with_book(mut self, book: crate::runtime::renting::HostBook) -> Self {
        self.book = book;
        self
    }

    pub fn stores(&self) -> &[Arc<dyn Store>] {
        &self.stores
    }

    pub fn store(&self, name: &str) -> Option<&Arc<dyn Store>> {
        self.stores.iter().find(|s| s.kind().as_str() == name)
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn storage(&self) -> &StorageConfig {
        &self.storage
    }

    fn shell(&self, host: &HostSpec) -> &dyn Shell {
        match host.access {
            Access::Local => self.local.as_ref(),
            Access::Ssh | Access::Simulated => self.ssh.as_ref(),
        }
    }

    fn job(&self, name: &str) -> Result<&JobSpec, ReplicaError> {
        self.fleet
            .jobs
            .iter()
            .find(|j| j.id.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.fleet.jobs.iter().map(|j| j.id.as_str()).collect();
                ReplicaError::NotFound(format!(
                    "no job named \"{name}\" in the config; known jobs: {}",
                    known.join(", ")
                ))
            })
    }

    fn host(&self, name: &str) -> Result<HostSpec, ReplicaError> {
        self.fleet
            .hosts
            .iter()
            .find(|h| h.id.as_str() == name)
            .cloned()
            .or_else(|| self.book.get(&crate::core::ids::HostId::new(name)))
            .ok_or_else(|| {
                ReplicaError::NotFound(format!("no host named \"{name}\" in the config"))
            })
    }

    async fn notify(
        &self,
        what: &'static str,
        job: &str,
        id: &str,
        store: Option<&str>,
        detail: String,
    ) {
        match what {
            "copy_failed" | "copy_bad" | "refused" => {
                tracing::warn!(job, id, store, "checkpoint {what}: {detail}")
            }
            _ => tracing::info!(job, id, store, "checkpoint {what}: {detail}"),
        }
        if let Some(tx) = &self.notices {
            let n = Notice::Checkpoint {
                ts: now(),
                what: what.into(),
                job: job.into(),
                id: id.into(),
                store: store.map(str::to_string),
                detail,
            };
            let _ = tx.send(n).await;
        }
    }

    /// Whether work on `(job, id, what)` may be tried now.
    fn due(&self, job: &str, id: &str, what: &str) -> bool {
        let key = (job.to_string(), id.to_string(), what.to_string());
        self.backoff
            .lock()
            .map(|m| m.get(&key).is_none_or(|(_, at)| *at <= now()))
            .unwrap_or(true)
    }

    /// Records a failure of `(job, id, what)`; the next try waits 5 s, doubling to 5 min.
    fn failed(&self, job: &str, id: &str, what: &str) -> Ts {
        let key = (job.to_string(), id.to_string(), what.to_string());
        let Ok(mut m) = self.backoff.lock() else {
            return now();
        };
        let e = m.entry(key).or_insert((0, now()));
        e.0 = e.0.saturating_add(1);
        let wait = (5_000u64 << e.0.min(6).saturating_sub(1)).min(300_000);
        e.1 = Ts(now().0 + wait);
        e.1
    }

    fn succeeded(&self, job: &str, id: &str, what: &str) {
        if let Ok(mut m) = self.backoff.lock() {
            m.remove(&(job.to_string(), id.to_string(), what.to_string()));
        }
    }

    /// Whether any checkpoint work is in flight.
    pub fn busy(&self) -> bool {
        !self.tasks.is_empty()
    }

    /// The inventory now: stores, every catalogued checkpoint, and the work in flight.
    pub fn inventory(&self) -> Result<Inventory, ReplicaError> {
        let stores = self
            .stores
            .iter()
            .map(|s| StoreView {
                name: s.kind().as_str().into(),
                location: s.locate("", "").trim_end_matches('/').to_string(),
                error: self.store_error(s.kind().as_str()),
            })
            .collect();
        Ok(Inventory {
            stores,
            checkpoints: self.catalogue.entries(None)?,
            tasks: self.tasks.views(now()),
            last_scrub: self.tasks.last_scrub(),
            prune_plan: self.plan_prune(None).map(|p| p.rows).unwrap_or_default(),
        })
    }
}

/// Opens the configured stores (NAS first, then S3) and the catalogue in
/// `<state_dir>/journal.db`, and builds a replicator over the config's fleet.
pub async fn open(
    config: &crate::config::Config,
    state_dir: &std::path::Path,
    ssh: Arc<dyn Shell>,
    local: Arc<dyn Shell>,
) -> Result<Replicator, ReplicaError> {
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    if let Some(nas) = &config.storage.nas {
        stores.push(Arc::new(crate::runtime::store::NasStore::new(nas.clone())));
    }
    if let Some(s3) = &config.storage.s3 {
        let s = crate::runtime::store::S3Store::from_config(s3)
            .await
            .map_err(|e| ReplicaError::Failed(format!("[storage.s3]: {e}")))?;
        stores.push(Arc::new(s));
    }
    if stores.is_empty() {
        return Err(ReplicaError::Failed(
            "the config names no checkpoint store; fix: add [storage] nas = \"/mnt/nas/checkpoints\" and/or [storage.s3]".into(),
        ));
    }
    let catalogue = Arc::new(Catalogue::open(&state_dir.join("journal.db"))?);
    let key = manifest_key(config.storage.manifest_key_env.as_deref())?;
    Ok(Replicator::new(
        stores,
        catalogue,
        ssh,
        local,
        config.fleet.clone(),
        config.storage.clone(),
    )
    .with_manifest_key(key))
}

/// The team's manifest key from the environment variable `[storage] manifest_key_env`
/// names; a named but unset variable is an error (not a silent downgrade to no key).
fn manifest_key(env: Option<&str>) -> Result<Option<Vec<u8>>, ReplicaError> {
    use std::os::unix::ffi::OsStringExt;
    let Some(name) = env else { return Ok(None) };
    match std::env::var_os(name) {
        Some(v) if !v.is_empty() => Ok(Some(v.into_vec())),
        _ => Err(ReplicaError::Failed(format!(
            "[storage] manifest_key_env names {name}, which is not set (or empty) in lifeboat's \
             environment; fix: export {name}=<the team's manifest key>, or remove manifest_key_env"
        ))),
    }
}
