//! Properties of the core that must hold for any sequence of faults.

use super::detector::{HostDetector, Reach};
use super::harness::*;
use super::ids::JobId;
use super::policy::{DetectionProfile, Policy};
use super::time::Ts;
use proptest::prelude::*;
use std::time::Duration;

proptest! {
    /// Soft evidence below the threshold never fails a host, whatever the pattern.
    #[test]
    fn detector_never_fails_below_threshold(pattern in proptest::collection::vec(any::<bool>(), 1..400), cloud in any::<bool>()) {
        let p = if cloud { DetectionProfile::cloud() } else { DetectionProfile::lan() };
        let mut d = HostDetector::new();
        let mut run = 0u32;
        for (i, ok) in pattern.into_iter().enumerate() {
            let now = Ts(i as u64 * 1000);
            let tr = if ok {
                run = 0;
                d.on_success(now, &p)
            } else {
                run += 1;
                d.on_miss(now, &p, "timeout")
            };
            // The only way into FAILED on soft evidence is a long enough run of misses.
            if tr.is_some_and(|t| t.to == Reach::Failed) {
                prop_assert!(run >= p.fail_after.min(p.fail_ceiling), "failed after a run of {} misses", run);
            }
        }
    }

    /// Whatever fails and comes back, never more than one copy of a job runs under its
    /// live epoch, and once the world is calm it runs exactly once.
    #[test]
    fn never_two_live_copies(events in proptest::collection::vec((0usize..4, 0u8..5, 1u64..8), 1..25)) {
        let names = ["a", "b", "c", "cpu"];
        let mut hs = Harness::new(small_fleet(), Policy::default());
        hs.run_for(Duration::from_secs(3));
        for (host, action, wait) in events {
            let fh = hs.fake(names[host]);
            match action {
                0 => fh.up = false,
                1 => fh.up = true,
                2 => fh.lost_gpu = if fh.gpus > 0 { Some(0) } else { None },
                3 => fh.lost_gpu = None,
                _ => fh.procs.clear(),
            }
            hs.run_for(Duration::from_secs(wait));
            let epoch = hs.core.durable().jobs[&JobId::new("train")].epoch;
            let live: usize = hs.hosts.values().map(|f| f.procs.iter().filter(|(j, e, _)| j.as_str() == "train" && *e == epoch).count()).sum();
            prop_assert!(live <= 1, "{} copies under {}", live, epoch);
        }
    }
}
