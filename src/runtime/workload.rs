//! What the supervisor does, counted as it does it: the figures a scale run reads (CPU per
//! probe, snapshot build time, journal write rate) beside the process's own CPU and
//! memory. Process-wide like the notification tally: a reload's new supervisor adds to
//! the same counts, as Prometheus counters must.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Workload {
    /// Probe results handed to the core.
    pub probes: AtomicU64,
    /// Inputs of every kind handed to the core.
    pub inputs: AtomicU64,
    /// Snapshots built and published, and the time spent building them.
    pub snapshots: AtomicU64,
    pub snapshot_ns: AtomicU64,
    /// Journal transactions, the bytes they wrote (encoded bodies), and the snapshots the
    /// journal kept.
    pub journal_writes: AtomicU64,
    pub journal_bytes: AtomicU64,
    pub journal_snapshots: AtomicU64,
}

pub static WORKLOAD: Workload = Workload {
    probes: AtomicU64::new(0),
    inputs: AtomicU64::new(0),
    snapshots: AtomicU64::new(0),
    snapshot_ns: AtomicU64::new(0),
    journal_writes: AtomicU64::new(0),
    journal_bytes: AtomicU64::new(0),
    journal_snapshots: AtomicU64::new(0),
};

impl Workload {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn took(&self, built: Duration) {
        self.snapshots.fetch_add(1, Relaxed);
        self.snapshot_ns
            .fetch_add(built.as_nanos().min(u128::from(u64::MAX)) as u64, Relaxed);
    }

    /// (name, help, value) of each count, for a scrape.
    pub fn counts(&self) -> [(&'static str, &'static str, f64); 7] {
        let n = |c: &AtomicU64| c.load(Relaxed) as f64;
        [
            (
                "supervisor_probes",
                "Probe results the core has handled",
                n(&self.probes),
            ),
            (
                "supervisor_inputs",
                "Inputs of every kind the core has handled",
                n(&self.inputs),
            ),
            (
                "supervisor_snapshots",
                "Snapshots of the fleet built and published",
                n(&self.snapshots),
            ),
            (
                "supervisor_snapshot_build_seconds",
                "Time spent building those snapshots",
                n(&self.snapshot_ns) / 1e9,
            ),
            (
                "journal_writes",
                "Journal transactions written",
                n(&self.journal_writes),
            ),
            (
                "journal_written_bytes",
                "Bytes of records the journal was given to write",
                n(&self.journal_bytes),
            ),
            (
                "journal_snapshots",
                "Snapshots the journal kept (for status and a console's first picture)",
                n(&self.journal_snapshots),
            ),
        ]
    }
}
