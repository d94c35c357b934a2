//! The replicator in the live runtime: every few seconds it looks for new checkpoints of
//! each running job where it runs now, repairs copies, scrubs on schedule, keeps the
//! newest verified checkpoint pre-staged on a standby when asked, tells the core about
//! every verified checkpoint, and publishes the inventory (more often while work runs).

use super::{now, Replicator};
use crate::core::ids::JobId;
use crate::core::inventory::CheckpointEntry;
use crate::core::io::{CheckpointRef, Input};
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::Snapshot;
use crate::runtime::notice::Notice;
use crate::runtime::supervisor::Feed;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often each job's checkpoint folder is listed.
pub const DISCOVER_EVERY: Duration = Duration::from_secs(5);
/// How often the inventory is refreshed while work is in flight.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// How often it is refreshed anyway (store errors, the prune plan's calendar).
const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// The checkpoint the core restores from: it lands at `<checkpoint_dir>/<id>` on the target.
pub fn checkpoint_ref(rep: &Replicator, e: &CheckpointEntry) -> CheckpointRef {
    CheckpointRef {
        id: e.id.clone(),
        step: e.step,
        created: e.created,
        bytes: e.bytes,
        sha256: e.digest.clone(),
        location: rep.default_path(&e.job, &e.id).unwrap_or_default(),
        verified: e.restorable(),
    }
}

/// Starts the loop; it ends when `stop` turns true.
pub fn spawn(
    rep: Arc<Replicator>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    feed: mpsc::Sender<Feed>,
    notices: mpsc::Receiver<Notice>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let forward = feed.clone();
    let mut notices = notices;
    tokio::spawn(async move {
        while let Some(n) = notices.recv().await {
            if forward.send(Feed::Notice(n)).await.is_err() {
                break;
            }
        }
    });
    // The inventory goes out on its own clock, so progress shows while a pass is busy.
    let publisher = {
        let (rep, feed, mut stop) = (rep.clone(), feed.clone(), stop.clone());
        tokio::spawn(async move {
            // Only when something changed, work is moving, or a while has passed.
            let (mut seen, mut was_busy) = (None, false);
            let mut at = tokio::time::Instant::now();
            loop {
                let generation = rep.catalogue.generation();
                let busy = rep.busy();
                let stale = at.elapsed() >= REFRESH_EVERY;
                if seen != Some(generation) || busy || was_busy || stale {
                    if let Ok(inv) = rep.inventory() {
                        if feed.send(Feed::Inventory(Arc::new(inv))).await.is_err() {
                            break;
                        }
                    }
                    (seen, was_busy, at) = (Some(generation), busy, tokio::time::Instant::now());
                }
                tokio::select! {
                    () = tokio::time::sleep(PROGRESS_EVERY) => {}
                    _ = stop.changed() => break,
                }
            }
        })
    };
    tokio::spawn(async move {
        let mut told: BTreeMap<(String, String), bool> = BTreeMap::new();
        let mut prestaged: BTreeMap<String, String> = BTreeMap::new();
        let mut last_scrub = now();
        let mut stores_read = false;
        loop {
            if *stop.borrow() {
                break;
            }
            let pass = one_pass(
                &rep,
                &snapshots,
                &feed,
                &mut told,
                &mut prestaged,
                &mut last_scrub,
                &mut stores_read,
            );
            tokio::select! {
                () = pass => {}
                _ = stop.changed() => break,
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = rep.woken() => {}
                _ = stop.changed() => break,
            }
        }
        publisher.abort();
    })
}

async fn one_pass(
    rep: &Replicator,
    snapshots: &watch::Receiver<Arc<Snapshot>>,
    feed: &mpsc::Sender<Feed>,
    told: &mut BTreeMap<(String, String), bool>,
    prestaged: &mut BTreeMap<String, String>,
    last_scrub: &mut crate::core::time::Ts,
    stores_read: &mut bool,
) {
    let snap = snapshots.borrow().clone();
    // Before any job's first start the core waits for what the stores hold (a state
    // folder that is new, or lost, must not start a job from step 0).
    let first_read = !*stores_read;
    if first_read {
        let mut report = super::scrub::ScrubReport::default();
        if let Err(e) = rep.adopt(None, &mut report).await {
            tracing::warn!("reading the checkpoint stores: {e}");
            return;
        }
    }
    // Only a job that runs where the core says it does is listed: a job mid-failover
    // may have a fenced copy still writing on its old host.
    let running: Vec<(String, String, u64)> = snap
        .jobs
        .iter()
        .filter(|j| j.state == RecoveryState::Running)
        .map(|j| (j.id.to_string(), j.placement.host.to_string(), j.epoch.0))
        .collect();
    for (job, host, epoch) in &running {
        match rep.discover(job, host, *epoch).await {
            Ok(got) if !got.is_empty() => {
                let ids: Vec<String> = got.into_iter().map(|m| m.id).collect();
                match rep.prune_after_replication(job, &ids).await {
                    Ok(Some(out)) => tracing::info!(job, "auto prune: {}", out.summary()),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(job, "auto prune: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(job, host, "checkpoint discovery: {e}"),
        }
    }
    if let Err(e) = rep.repair().await {
        tracing::warn!("checkpoint repair: {e}");
    }
    for job in rep.take_scrub_asked() {
        if let Err(e) = rep.scrub(1, Some(&job)).await {
            tracing::warn!(job, "checkpoint scrub: {e}");
        }
    }
    if let Some(every) = rep.storage().scrub_every {
        if now().since(*last_scrub) >= every {
            *last_scrub = now();
            if let Err(e) = rep.scrub(rep.storage().scrub_fraction, None).await {
                tracing::warn!("checkpoint scrub: {e}");
            }
        }
    }
    // Tell the core about every verified checkpoint once (and again if it changes).
    if let Ok(entries) = rep.catalogue.entries(None) {
        for e in &entries {
            let key = (e.job.clone(), e.id.clone());
            let ok = e.restorable();
            if told.get(&key) == Some(&ok) || e.copies.is_empty() {
                continue;
            }
            told.insert(key, ok);
            let input = Input::CheckpointSeen {
                job: JobId::new(&e.job),
                epoch: crate::core::ids::Epoch(e.epoch),
                checkpoint: checkpoint_ref(rep, e),
            };
            if feed.send(Feed::Input(input)).await.is_err() {
                return;
            }
        }
    }
    if first_read {
        // Checkpoints nobody vouched for: a first start must not start below them.
        let mut unadopted: BTreeMap<String, u64> = BTreeMap::new();
        for e in rep.catalogue.entries(None).unwrap_or_default() {
            if e.provenance == crate::core::inventory::Provenance::Found {
                let top = unadopted.entry(e.job.clone()).or_default();
                *top = (*top).max(e.step);
            }
        }
        let input = Input::StoresRead {
            unadopted: unadopted
                .into_iter()
                .map(|(j, s)| (JobId::new(&j), s))
                .collect(),
        };
        if feed.send(Feed::Input(input)).await.is_err() {
            return;
        }
        *stores_read = true;
    }
    prestage(rep, &snap, prestaged).await;
    // Every store's health, including one nobody wrote to lately, for the core.
    rep.look_at_stores().await;
    for r in rep.store_reports().unwrap_or_default() {
        if feed
            .send(Feed::Input(Input::StoreReported(r)))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Keeps each `prestage = true` job's newest verified checkpoint on its first standby.
async fn prestage(rep: &Replicator, snap: &Snapshot, done: &mut BTreeMap<String, String>) {
    for spec in rep.fleet().jobs.iter().filter(|j| j.prestage) {
        let Some(view) = snap.jobs.iter().find(|j| j.id == spec.id) else {
            continue;
        };
        // The first standby that is not where the job runs now.
        let Some(target) = spec.standbys.iter().find(|t| t.host != view.placement.host) else {
            continue;
        };
        let Ok(Some(newest)) = rep.newest_restorable(spec.id.as_str()) else {
            continue;
        };
        // Keyed by host too: after a failover the standby to keep it on is another one.
        let staged = format!("{}/{}", target.host, newest.id);
        if done.get(spec.id.as_str()) == Some(&staged) {
            continue;
        }
        match rep
            .restore(
                spec.id.as_str(),
                Some(&newest.id),
                target.host.as_str(),
                None,
            )
            .await
        {
            Ok(r) => {
                // Sealed now, so the failover trusts it without reading it all again.
                let sealed = match r.from.is_some() {
                    true => rep
                        .seal_on_host(&r.job, &r.id, target.host.as_str(), &r.path)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(job = %spec.id, "sealing the pre-staged copy on {}: {e}", target.host);
                            false
                        }),
                    false => rep
                        .catalogue
                        .seal(target.host.as_str(), &r.path, &r.job, &r.id)
                        .is_ok_and(|s| s.is_some()),
                };
                let how = match sealed {
                    true => "verified and sealed: a failover there starts without reading it again",
                    false => "verified but not sealed (its host gives whole-second times, or the copy was still changing), so a failover there hashes it first",
                };
                let detail = format!("{}:{} pre-staged, {how}", target.host, r.path);
                rep.notify("staged", &r.job, &r.id, None, detail).await;
                done.insert(spec.id.to_string(), staged);
            }
            Err(e) => tracing::warn!(job = %spec.id, "pre-stage on {}: {e}", target.host),
        }
    }
}
