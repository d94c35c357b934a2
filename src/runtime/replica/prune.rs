//! Prune: plan per store with the retention policy that applies (the job's, else the
//! store's, else `[storage]`'s), guard the last good copy of anything some store keeps,
//! then delete what the plan removes — manifest first — and drop it from the catalogue.

use super::{ReplicaError, Replicator};
use crate::core::inventory::{CheckpointEntry, CopyState, PruneRow};
use crate::core::io::CheckpointRef;
use crate::core::retention::{plan, prune_after_replication, Decision};
use serde::Serialize;
use std::collections::BTreeMap;

/// Who the journal says pruned, when retention ran by itself.
pub const AUTO_PRUNE: &str = "retention (auto_prune)";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PrunePlan {
    pub rows: Vec<PruneRow>,
}

impl PrunePlan {
    pub fn removals(&self) -> impl Iterator<Item = &PruneRow> {
        self.rows.iter().filter(|r| !r.keep)
    }
}

impl Replicator {
    /// What a prune of `job` (every job when `None`) would keep and remove, with reasons.
    pub fn plan_prune(&self, job: Option<&str>) -> Result<PrunePlan, ReplicaError> {
        let entries = self.catalogue.entries(job)?;
        let mut by_job: BTreeMap<&str, Vec<&CheckpointEntry>> = BTreeMap::new();
        for e in &entries {
            by_job.entry(e.job.as_str()).or_default().push(e);
        }
        let mut rows = Vec::new();
        for (j, list) in by_job {
            let job_policy = self
                .fleet
                .jobs
                .iter()
                .find(|s| s.id.as_str() == j)
                .and_then(|s| s.retention.clone());
            // store → id → decision
            let mut plans: BTreeMap<&str, BTreeMap<String, Decision>> = BTreeMap::new();
            for s in &self.stores {
                let name = s.kind().as_str();
                let policy = self.storage.policy_for(name, job_policy.as_ref());
                let refs: Vec<CheckpointRef> = list
                    .iter()
                    .filter(|e| e.copy(name).is_some())
                    .map(|e| CheckpointRef {
                        id: e.id.clone(),
                        step: e.step,
                        created: e.created,
                        bytes: e.bytes,
                        sha256: e.digest.clone(),
                        location: String::new(),
                        verified: e.restorable(),
                    })
                    .collect();
                let decisions = plan(&refs, &policy)
                    .map_err(|e| ReplicaError::Failed(format!("{j} [{name}]: {e}")))?;
                plans.insert(
                    name,
                    decisions.into_iter().map(|d| (d.id.clone(), d)).collect(),
                );
            }
            for e in &list {
                for (store, decisions) in &plans {
                    let Some(d) = decisions.get(&e.id) else {
                        continue;
                    };
                    let mut row = PruneRow {
                        job: j.to_string(),
                        id: e.id.clone(),
                        step: e.step,
                        store: store.to_string(),
                        keep: d.keep,
                        reasons: d.reasons.clone(),
                    };
                    if !row.keep {
                        if let Some(why) = last_good_copy(e, store, &plans) {
                            row.keep = true;
                            row.reasons.push(why);
                        }
                    }
                    rows.push(row);
                }
            }
        }
        Ok(PrunePlan { rows })
    }

    /// Deletes what `plan` removes; returns `job/id [store]` for each copy deleted.
    pub async fn prune(
        &self,
        plan: &PrunePlan,
        operator: &str,
    ) -> Result<Vec<String>, ReplicaError> {
        let (deleted, errors) = self.delete_removals(plan, operator).await?;
        if errors.is_empty() {
            Ok(deleted)
        } else {
            Err(ReplicaError::Failed(format!(
                "deleted {} cop{}, but: {}",
                deleted.len(),
                if deleted.len() == 1 { "y" } else { "ies" },
                errors.join("; ")
            )))
        }
    }

    /// Deletes exactly the copies of `job` an operator was shown (`(checkpoint, store)`),
    /// never more: checkpoints that arrived since are not planned again here. A listed copy
    /// the plan keeps now (it became the last good copy …) stays, and the outcome says so.
    /// Each deletion is journaled as a `pruned` notice, the outcome as `prune_finished`.
    pub async fn prune_listed(
        &self,
        job: &str,
        listed: &[(String, String)],
        operator: &str,
    ) -> Result<PruneOutcome, ReplicaError> {
        let now_plan = self.plan_prune(Some(job))?;
        let mut plan = PrunePlan::default();
        let mut out = PruneOutcome {
            job: job.to_string(),
            listed: listed.len(),
            ..PruneOutcome::default()
        };
        for (id, store) in listed {
            let row = now_plan
                .rows
                .iter()
                .find(|r| r.job == job && r.id == *id && r.store == *store);
            match row {
                Some(r) if !r.keep => plan.rows.push(r.clone()),
                Some(r) => out
                    .kept
                    .push(format!("{job}/{id} [{store}]: {}", r.reasons.join("; "))),
                None => out
                    .kept
                    .push(format!("{job}/{id} [{store}]: no such copy any more")),
            }
        }
        let (deleted, failed) = self.delete_removals(&plan, operator).await?;
        out.deleted = deleted;
        out.failed = failed;
        self.notify("prune_finished", job, "", None, out.summary())
            .await;
        Ok(out)
    }

    /// After a replication pass of `job` that recorded `replicated` (checkpoint ids):
    /// when the core's retention rule says so (`auto_prune` on, one of them verified, the
    /// plan removes something), deletes what the plan removes, through the same plan,
    /// guards and journal as a manual prune, as operator [`AUTO_PRUNE`].
    pub async fn prune_after_replication(
        &self,
        job: &str,
        replicated: &[String],
    ) -> Result<Option<PruneOutcome>, ReplicaError> {
        let verified = self
            .catalogue
            .entries(Some(job))?
            .iter()
            .filter(|e| replicated.contains(&e.id) && e.restorable())
            .count();
        let plan = self.plan_prune(Some(job))?;
        let listed: Vec<(String, String)> = plan
            .removals()
            .map(|r| (r.id.clone(), r.store.clone()))
            .collect();
        if !prune_after_replication(self.storage.auto_prune, verified, listed.len()) {
            return Ok(None);
        }
        self.prune_listed(job, &listed, AUTO_PRUNE).await.map(Some)
    }

    /// Deletes each removal of `plan`: the copies deleted, and the errors of those not.
    async fn delete_removals(
        &self,
        plan: &PrunePlan,
        operator: &str,
    ) -> Result<(Vec<String>, Vec<String>), ReplicaError> {
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for r in plan.removals() {
            let Some(store) = self.store(&r.store) else {
                continue;
            };
            match store.delete(&r.job, &r.id).await {
                Ok(()) => {
                    self.catalogue.drop_copy(&r.job, &r.id, &r.store)?;
                    let what = format!("{}/{} [{}]", r.job, r.id, r.store);
                    self.notify(
                        "pruned",
                        &r.job,
                        &r.id,
                        Some(&r.store),
                        format!("by {operator}: {}", r.reasons.join("; ")),
                    )
                    .await;
                    deleted.push(what);
                }
                Err(e) => errors.push(format!("{}/{} [{}]: {e}", r.job, r.id, r.store)),
            }
        }
        Ok((deleted, errors))
    }
}

/// What a prune of listed copies did, for the operator who confirmed it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PruneOutcome {
    pub job: String,
    /// How many copies the operator was shown.
    pub listed: usize,
    /// `job/id [store]` of each copy deleted.
    pub deleted: Vec<String>,
    /// Listed copies that stay, and why.
    pub kept: Vec<String>,
    /// Listed copies whose deletion failed, and why.
    pub failed: Vec<String>,
}

impl PruneOutcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.deleted.len() == self.listed
    }

    /// `deleted 4 of 4 listed copies of train` (+ what stayed and what failed).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "deleted {} of {} listed cop{} of {}",
            self.deleted.len(),
            self.listed,
            if self.listed == 1 { "y" } else { "ies" },
            self.job
        );
        if !self.kept.is_empty() {
            s.push_str(&format!("; kept {}", self.kept.join(", ")));
        }
        if !self.failed.is_empty() {
            s.push_str(&format!("; failed {}", self.failed.join(", ")));
        }
        s
    }
}

/// Why `store`'s copy of `e` must stay although its plan removes it: another store's plan
/// keeps the checkpoint but holds no verified copy of it, so this is the last good one.
fn last_good_copy(
    e: &CheckpointEntry,
    store: &str,
    plans: &BTreeMap<&str, BTreeMap<String, Decision>>,
) -> Option<String> {
    let mine_good = e
        .copy(store)
        .is_some_and(|c| c.state == CopyState::Verified);
    if !mine_good {
        return None;
    }
    let kept_elsewhere = plans
        .iter()
        .filter(|(s, _)| **s != store)
        .any(|(_, d)| d.get(&e.id).is_some_and(|d| d.keep));
    let good_elsewhere = e
        .copies
        .iter()
        .any(|c| c.store != store && c.state == CopyState::Verified);
    (kept_elsewhere && !good_elsewhere).then(|| {
        "last good copy: another store keeps this checkpoint but holds no verified copy".into()
    })
}
