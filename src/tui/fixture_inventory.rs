//! A fixed checkpoint inventory for render and update tests (what the live runtime's
//! catalogue would fill in), with times relative to the fixture's clock. Test-only.

use crate::core::inventory::{
    CheckpointEntry, CopyState, CopyView, Inventory, PruneRow, ReplicaTask, StoreView, TaskKind,
};
use crate::core::io::CheckpointRef;
use crate::core::progress::Progress;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use std::time::Duration;

const MIN: u64 = 60_000;

/// What the live runtime's catalogue would show for llama-70b: a NAS that works and an S3
/// store that fails, the four checkpoints the core has seen plus an older one found in the
/// stores, with copies verified, pending, bad and failed; the prune plan (three copies to
/// remove); and the replication work in flight.
pub fn inventory(snap: &Snapshot) -> Inventory {
    let now = snap.now;
    let ago = |m: u64| Ts(now.0.saturating_sub(m * MIN));
    let copy = |store: &str, state: CopyState, checked: Option<u64>, detail: &str| CopyView {
        store: store.into(),
        state,
        checked: checked.map(ago),
        detail: detail.into(),
    };
    use CopyState::*;
    // The core's checkpoints of the job, oldest first, for ids, times and sizes.
    let seen: Vec<CheckpointRef> = snap
        .jobs
        .iter()
        .find(|j| j.id.as_str() == "llama-70b")
        .map(|j| j.checkpoints.clone())
        .unwrap_or_default();
    let oldest = seen.first().map_or(now, |c| c.created);
    let ck0 = CheckpointRef {
        id: "ck-0000".into(),
        step: 0,
        created: Ts(oldest.0.saturating_sub(30 * MIN)),
        bytes: 3 * 1_310_720_000,
        sha256: "00b4f0c9e1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c".into(),
        location: String::new(),
        verified: true,
    };
    let copies = [
        vec![
            copy("nas", Failed, None, "No space left on device (os error 28)"),
            copy("s3", Verified, Some(50), ""),
        ],
        vec![
            copy("nas", Verified, Some(20), ""),
            copy("s3", Verified, Some(48), ""),
        ],
        vec![
            copy("nas", Verified, Some(18), ""),
            copy(
                "s3",
                Bad,
                Some(30),
                "sha256 mismatch in shard-00003.pt; repair queued",
            ),
        ],
        vec![
            copy("nas", Verified, Some(16), ""),
            copy("s3", Pending, None, "uploading; the store answers 503"),
        ],
        vec![copy("nas", Pending, None, "6 of 18 files written")],
    ];
    let checkpoints = std::iter::once(&ck0)
        .chain(&seen)
        .zip(copies)
        .map(|(c, copies)| CheckpointEntry {
            job: "llama-70b".into(),
            id: c.id.clone(),
            step: c.step,
            created: c.created,
            bytes: c.bytes,
            files: 18,
            source_host: "gpu-a1".into(),
            epoch: 1,
            digest: c.sha256.clone(),
            copies,
            provenance: Default::default(),
        })
        .collect();
    let row = |n: u64, store: &str, keep: bool, reasons: &[&str]| PruneRow {
        job: "llama-70b".into(),
        id: format!("ck-{n:04}"),
        step: n * 1000,
        store: store.into(),
        keep,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
    };
    let unverified = "not verified yet and newer than every verified one (may still be finishing)";
    let newest = "newest verified checkpoint (never removed)";
    let none = "no rule keeps it";
    let prune_plan = vec![
        row(0, "nas", false, &[none]),
        row(0, "s3", false, &[none]),
        row(1, "nas", false, &[none]),
        row(1, "s3", true, &["daily 7: newest of its day"]),
        row(2, "nas", true, &["keep_last 2: #2 newest"]),
        row(2, "s3", true, &["keep_last 2: #2 newest"]),
        row(3, "nas", true, &[newest, "keep_last 2: #1 newest"]),
        row(3, "s3", true, &[newest, "keep_last 2: #1 newest"]),
        row(4, "nas", true, &[unverified]),
    ];
    let total = 6 * 1_310_720_000;
    let tasks = vec![
        ReplicaTask {
            kind: TaskKind::Replicate,
            job: "llama-70b".into(),
            id: "ck-0003".into(),
            to: "s3".into(),
            started: ago(4),
            progress: Some(Progress {
                done: total * 2 / 5,
                total,
                started: ago(4),
                updated: now,
                rate: 52_428_800.0,
            }),
            eta_ms: Some(105_000),
            error: None,
            retry_at: None,
        },
        ReplicaTask {
            kind: TaskKind::Repair,
            job: "llama-70b".into(),
            id: "ck-0002".into(),
            to: "s3".into(),
            started: ago(2),
            progress: None,
            eta_ms: None,
            error: Some("HTTP 503 from s3.lab.example:9000 (SlowDown)".into()),
            retry_at: Some(now.plus(Duration::from_secs(25))),
        },
        ReplicaTask {
            kind: TaskKind::Scrub,
            job: "rl-selfplay".into(),
            id: "ck-0007".into(),
            to: "nas".into(),
            started: ago(1),
            progress: Some(Progress {
                done: 9_000_000_000,
                total: 13_107_200_000,
                started: ago(1),
                updated: now,
                rate: 157_286_400.0,
            }),
            eta_ms: Some(26_000),
            error: None,
            retry_at: None,
        },
    ];
    Inventory {
        stores: vec![
            StoreView {
                name: "nas".into(),
                location: "/mnt/ckpt".into(),
                error: None,
            },
            StoreView {
                name: "s3".into(),
                location: "s3://lifeboat-ckpt".into(),
                error: Some("HTTP 503 from s3.lab.example:9000 since 4m".into()),
            },
        ],
        checkpoints,
        tasks,
        last_scrub: Some(ago(12)),
        prune_plan,
    }
}
