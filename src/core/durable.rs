//! The core's durable state, and which part of it the journal must write after a turn.
//!
//! A fleet of a thousand jobs holds megabytes of recovery records; writing all of them
//! whenever anything changed kept a 1,000-host daemon busy encoding JSON. So the journal
//! keeps a small header and one row per job, and a turn writes the header and only the
//! records that changed. What every probe refreshes (when a job was last seen, its last
//! step) rides along with the next real change, and at most `PROGRESS_EVERY` late
//! otherwise: after a crash those readings may be that much older, which does not
//! matter: a restarted core counts a job's quiet time from its own start (`Core::restore`).

use super::fleet::HostSpec;
use super::ids::JobId;
use super::recovery::JobRecovery;
use super::time::Ts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The durable part of the core, journaled after every change and restored on start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Durable {
    pub epoch: u64,
    pub next_op: u64,
    pub paused: Option<String>,
    pub jobs: BTreeMap<JobId, JobRecovery>,
    /// Machines rented by failovers: not in the config, watched like its hosts.
    #[serde(default)]
    pub rented: Vec<HostSpec>,
}

/// What a turn must journal: the header (the durable state without its jobs) and the
/// records that changed since the last change was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct DurableChange {
    pub header: Durable,
    pub jobs: Vec<(JobId, JobRecovery)>,
    /// `jobs` holds every job: any other job's row in the journal is stale.
    pub full: bool,
}

/// What a turn shows outside, which decides what of the state must be written with it.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    Nothing,
    /// Events about these jobs.
    Jobs(BTreeSet<JobId>),
    /// Steps started, answers closed, events about no one job, the last turn.
    Everything,
}

/// How late a probe's reading of a job (seen at, last step) may reach the journal.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How late a change that nothing outside has seen may reach the journal (see
/// `Core::take_durable`): turns come hundreds a second at 1,000 hosts.
pub const UNSEEN_WAIT: Duration = Duration::from_millis(500);

/// The records as last handed to the journal.
#[derive(Debug, Default)]
pub(super) struct Journaled {
    jobs: BTreeMap<JobId, JobRecovery>,
    started: bool,
    progress_at: Option<Ts>,
}

impl Journaled {
    /// The change to journal, if any: everything on the first call; then, when `dirty`,
    /// the records that changed in substance (of the `only` jobs, when named); every
    /// `PROGRESS_EVERY`, those whose probe readings moved too.
    pub fn take(
        &mut self,
        d: &Durable,
        dirty: bool,
        only: Option<&BTreeSet<JobId>>,
        now: Ts,
    ) -> Option<DurableChange> {
        let full = !self.started;
        let progress = self
            .progress_at
            .is_none_or(|t| now.since(t) >= PROGRESS_EVERY);
        if !(full || dirty || progress) {
            return None;
        }
        if progress {
            self.progress_at = Some(now);
        }
        let mut jobs = Vec::new();
        for (id, rec) in &d.jobs {
            let due = match self.jobs.get(id) {
                _ if full => true,
                None => true,
                Some(was) if progress => was != rec,
                Some(_) if only.is_some_and(|o| !o.contains(id)) => false,
                Some(was) => dirty && rec.differs_beyond_progress(was),
            };
            if due {
                self.jobs.insert(id.clone(), rec.clone());
                jobs.push((id.clone(), rec.clone()));
            }
        }
        self.started = true;
        if !(full || dirty || !jobs.is_empty()) {
            return None;
        }
        if full {
            self.jobs.retain(|id, _| d.jobs.contains_key(id));
        }
        let header = Durable {
            epoch: d.epoch,
            next_op: d.next_op,
            paused: d.paused.clone(),
            jobs: BTreeMap::new(),
            rented: d.rented.clone(),
        };
        Some(DurableChange { header, jobs, full })
    }
}

#[cfg(test)]
#[path = "durable_tests.rs"]
mod tests;
