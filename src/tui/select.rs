//! The rows each view shows (after the filter) and what is selected: one definition shared
//! by `update` (which moves the selection) and the views (which draw it).

use super::action::View;
use super::state::{EventLine, UiState};
use crate::core::inventory::{CheckpointEntry, ReplicaTask};
use crate::core::snapshot::{HostView, JobView, Snapshot};

fn matches(filter: &str, hay: &[&str]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let f = filter.to_lowercase();
    hay.iter().any(|h| h.to_lowercase().contains(&f))
}

pub fn hosts<'a>(snap: &'a Snapshot, ui: &UiState) -> Vec<&'a HostView> {
    let f = &ui.filter.text;
    snap.hosts
        .iter()
        .filter(|h| {
            let gpu_names: Vec<&str> = h
                .gpus
                .iter()
                .filter_map(|g| g.sample.name.as_deref())
                .collect();
            let mut hay = vec![
                h.id.as_str(),
                h.badge.as_str(),
                h.role.as_str(),
                h.address.as_str(),
            ];
            hay.extend(gpu_names);
            matches(f, &hay)
        })
        .collect()
}

pub fn jobs<'a>(snap: &'a Snapshot, ui: &UiState) -> Vec<&'a JobView> {
    let f = &ui.filter.text;
    snap.jobs
        .iter()
        .filter(|j| {
            let place = j.placement.to_string();
            matches(
                f,
                &[
                    j.id.as_str(),
                    j.state.as_str(),
                    place.as_str(),
                    j.reason.as_str(),
                ],
            )
        })
        .collect()
}

/// Jobs with work in flight (the Tasks view).
pub fn tasks<'a>(snap: &'a Snapshot, ui: &UiState) -> Vec<&'a JobView> {
    jobs(snap, ui)
        .into_iter()
        .filter(|j| j.task.is_some())
        .collect()
}

/// Whether the runtime fills the checkpoint inventory (stores are configured).
pub fn has_inventory(snap: &Snapshot) -> bool {
    !snap.inventory.stores.is_empty()
}

/// `job`'s catalogued checkpoints, newest first.
pub fn inventory<'a>(snap: &'a Snapshot, job: &str) -> Vec<&'a CheckpointEntry> {
    let mut v: Vec<&CheckpointEntry> = snap
        .inventory
        .checkpoints
        .iter()
        .filter(|c| c.job == job)
        .collect();
    v.sort_by(|a, b| (b.created, b.step, &b.id).cmp(&(a.created, a.step, &a.id)));
    v
}

/// The inventory row selected, clamped to the `n` rows shown (the newest while the job
/// list has the keys).
pub fn ckpt_index(ui: &UiState, n: usize) -> usize {
    ui.ckpt_row.unwrap_or(0).min(n.saturating_sub(1))
}

/// Checkpoint work in flight or waiting (the Tasks view's second list).
pub fn replica_tasks<'a>(snap: &'a Snapshot, ui: &UiState) -> Vec<&'a ReplicaTask> {
    let f = &ui.filter.text;
    snap.inventory
        .tasks
        .iter()
        .filter(|t| {
            matches(
                f,
                &[
                    t.kind.as_str(),
                    t.job.as_str(),
                    t.id.as_str(),
                    t.to.as_str(),
                ],
            )
        })
        .collect()
}

pub fn events(ui: &UiState) -> Vec<&EventLine> {
    let f = &ui.filter.text;
    ui.events
        .iter()
        .filter(|e| {
            let job = e.job.as_deref().unwrap_or("");
            let host = e.host.as_deref().unwrap_or("");
            matches(f, &[e.kind.as_str(), job, host, e.text.as_str()])
        })
        .collect()
}

/// How many rows the current view shows.
pub fn row_count(snap: &Snapshot, ui: &UiState) -> usize {
    count(snap, ui, ui.view)
}

/// How many rows `view` shows under the current filter.
pub fn count(snap: &Snapshot, ui: &UiState, view: View) -> usize {
    match view {
        View::Fleet => hosts(snap, ui).len(),
        View::Jobs | View::Checkpoints => jobs(snap, ui).len(),
        View::Tasks => tasks(snap, ui).len(),
        View::Events => events(ui).len(),
        View::Drills => ui.drills.rows(&ui.filter.text).len(),
    }
}

/// The selected row index in `view`, clamped to what is shown.
pub fn index(snap: &Snapshot, ui: &UiState, view: View) -> usize {
    let n = count(snap, ui, view);
    let last = n.saturating_sub(1);
    match ui.selected.get(&view) {
        Some(i) => (*i).min(last),
        // The event log follows its newest line until the operator moves away from it.
        None if view == View::Events => last,
        None => 0,
    }
}

pub fn selected_host<'a>(snap: &'a Snapshot, ui: &UiState) -> Option<&'a HostView> {
    hosts(snap, ui).get(index(snap, ui, View::Fleet)).copied()
}

/// The job an action applies to: the selected row of the jobs-like views, or the first job
/// on the selected host in the fleet view.
pub fn selected_job<'a>(snap: &'a Snapshot, ui: &UiState) -> Option<&'a JobView> {
    match ui.view {
        View::Fleet => {
            let host = selected_host(snap, ui)?;
            snap.jobs.iter().find(|j| j.placement.host == host.id)
        }
        View::Tasks => tasks(snap, ui).get(index(snap, ui, View::Tasks)).copied(),
        View::Events => {
            let e = events(ui).get(index(snap, ui, View::Events)).copied()?;
            snap.jobs
                .iter()
                .find(|j| Some(j.id.as_str()) == e.job.as_deref())
        }
        View::Jobs | View::Checkpoints => jobs(snap, ui).get(index(snap, ui, ui.view)).copied(),
        View::Drills => None,
    }
}
