//! The replicator's work in flight, for the Tasks view: each task's bytes (a shared
//! meter the transfer advances), folded through the core's progress reducer when read.

use super::transfer::Meter;
use crate::core::inventory::{ReplicaTask, TaskKind};
use crate::core::progress::Progress;
use crate::core::time::Ts;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

struct Entry {
    view: ReplicaTask,
    meter: Arc<Meter>,
    total: u64,
}

#[derive(Default)]
pub struct Tasks {
    next: Mutex<u64>,
    live: Arc<Mutex<BTreeMap<u64, Entry>>>,
    scrubbed: Mutex<Option<Ts>>,
}

/// A running task; it leaves the list when dropped.
pub struct TaskHandle {
    id: u64,
    live: Arc<Mutex<BTreeMap<u64, Entry>>>,
    pub meter: Arc<Meter>,
}

impl TaskHandle {
    /// Marks the task as waiting to retry after `error`.
    pub fn failed(&self, error: &str, retry_at: Option<Ts>) {
        if let Ok(mut m) = self.live.lock() {
            if let Some(e) = m.get_mut(&self.id) {
                e.view.error = Some(error.chars().take(300).collect());
                e.view.retry_at = retry_at;
            }
        }
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        if let Ok(mut m) = self.live.lock() {
            m.remove(&self.id);
        }
    }
}

impl Tasks {
    pub fn start(
        &self,
        kind: TaskKind,
        job: &str,
        id: &str,
        to: &str,
        total: u64,
        now: Ts,
    ) -> TaskHandle {
        let n = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            *next += 1;
            *next
        };
        let meter = Arc::new(Meter::default());
        let view = ReplicaTask {
            kind,
            job: job.into(),
            id: id.into(),
            to: to.into(),
            started: now,
            progress: Some(Progress::start(now, total)),
            eta_ms: None,
            error: None,
            retry_at: None,
        };
        if let Ok(mut m) = self.live.lock() {
            m.insert(
                n,
                Entry {
                    view,
                    meter: meter.clone(),
                    total,
                },
            );
        }
        TaskHandle {
            id: n,
            live: self.live.clone(),
            meter,
        }
    }

    /// Every task, its progress brought up to `now`.
    pub fn views(&self, now: Ts) -> Vec<ReplicaTask> {
        let Ok(mut m) = self.live.lock() else {
            return Vec::new();
        };
        m.values_mut()
            .map(|e| {
                let done = e.meter.get();
                if let Some(p) = &mut e.view.progress {
                    p.update(now, done, e.total.max(done));
                    e.view.eta_ms = p.eta().map(|d| d.as_millis() as u64);
                }
                e.view.clone()
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.live.lock().map_or(true, |m| m.is_empty())
    }

    pub fn scrubbed(&self, at: Ts) {
        if let Ok(mut s) = self.scrubbed.lock() {
            *s = Some(at);
        }
    }

    pub fn last_scrub(&self) -> Option<Ts> {
        self.scrubbed.lock().ok().and_then(|s| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_show_progress_and_leave_when_done() {
        let t = Tasks::default();
        let h = t.start(TaskKind::Replicate, "j", "c", "nas+s3", 1000, Ts(0));
        h.meter.add(250);
        let v = t.views(Ts(1000));
        assert_eq!(v.len(), 1);
        let p = v[0].progress.as_ref().unwrap();
        assert_eq!((p.done, p.total), (250, 1000));
        assert_eq!(v[0].eta_ms, Some(3000));
        h.failed("S3 away", Some(Ts(5000)));
        assert_eq!(t.views(Ts(1000))[0].error.as_deref(), Some("S3 away"));
        drop(h);
        assert!(t.views(Ts(2000)).is_empty());
    }
}
