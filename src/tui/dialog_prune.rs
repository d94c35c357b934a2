//! The prune dialog: what retention would delete for a job, read from the snapshot's prune
//! plan (the runtime's dry run), and the promise that the newest verified checkpoint stays.

use super::dialog::{Dialog, Intent};
use super::select;
use super::strings as s;
use crate::core::inventory::PruneRow;
use crate::core::snapshot::{JobView, Snapshot};

/// The copies the plan removes for `job`.
pub fn removals<'a>(snap: &'a Snapshot, job: &str) -> Vec<&'a PruneRow> {
    snap.inventory
        .prune_plan
        .iter()
        .filter(|r| r.job == job && !r.keep)
        .collect()
}

/// The `(checkpoint, store)` copies a prune of `job` removes now.
pub fn copies(snap: &Snapshot, job: &str) -> Vec<(String, String)> {
    removals(snap, job)
        .into_iter()
        .map(|r| (r.id.clone(), r.store.clone()))
        .collect()
}

/// What the dialog says: how many copies go, from which stores (every id: what is listed
/// is exactly what is deleted), and what never goes.
pub(super) fn prune_lines(snap: &Snapshot, job: &str) -> Vec<String> {
    let gone = removals(snap, job);
    let mut out = Vec::new();
    if gone.is_empty() {
        out.push(s::prune_nothing_now(job));
    } else {
        let mut parts = Vec::new();
        // In the stores' configured order, then any the plan names that are not listed.
        let mut stores: Vec<&str> = snap
            .inventory
            .stores
            .iter()
            .map(|st| st.name.as_str())
            .collect();
        for r in &gone {
            if !stores.contains(&r.store.as_str()) {
                stores.push(r.store.as_str());
            }
        }
        for store in stores {
            let ids: Vec<&str> = gone
                .iter()
                .filter(|r| r.store == store)
                .map(|r| r.id.as_str())
                .collect();
            if ids.is_empty() {
                continue;
            }
            parts.push(s::prune_from(ids.len(), store, &ids, 0));
        }
        out.push(s::prune_summary(job, gone.len(), &parts));
    }
    let newest = select::inventory(snap, job)
        .into_iter()
        .find(|c| c.restorable())
        .map(|c| (c.id.as_str(), c.step));
    out.push(s::prune_keeps_newest(newest));
    out.push(s::PRUNE_FINAL.into());
    out
}

impl Dialog {
    /// Prune `j`'s checkpoints as the plan says; `None` when the plan removes nothing.
    pub fn prune(snap: &Snapshot, j: &JobView) -> Option<Self> {
        if removals(snap, j.id.as_str()).is_empty() {
            return None;
        }
        let mut d = Self::base(
            Intent::Prune {
                job: j.id.clone(),
                copies: copies(snap, j.id.as_str()),
            },
            s::prune_title(j.id.as_str()),
            prune_lines(snap, j.id.as_str()),
            snap.epoch,
        );
        d.require = Some(j.id.to_string());
        Some(d)
    }

    /// Why an open prune dialog must be read again: a copy it lists is no longer one the
    /// plan removes. New removals (checkpoints that arrived since) do not disturb it: it
    /// deletes exactly what it lists, and they wait for the next prune.
    pub(super) fn plan_changed(&self, snap: &Snapshot) -> Option<String> {
        let Intent::Prune {
            job,
            copies: listed,
        } = &self.intent
        else {
            return None;
        };
        let now = copies(snap, job.as_str());
        let gone = listed.iter().any(|c| !now.contains(c));
        gone.then(|| s::prune_plan_changed(job.as_str()))
    }
}
