use super::*;
use crate::core::ids::{HostId, Target};
use crate::core::recovery::RecoveryState;
use std::collections::BTreeSet;

fn state(jobs: usize) -> Durable {
    let jobs = (0..jobs)
        .map(|i| {
            let at = Target {
                host: HostId(format!("h{i}")),
                gpu: Some(0),
            };
            (JobId(format!("j{i}")), JobRecovery::new(at))
        })
        .collect();
    Durable {
        epoch: 1,
        next_op: 1,
        jobs,
        ..Durable::default()
    }
}

fn ids(c: &DurableChange) -> Vec<&str> {
    c.jobs.iter().map(|(id, _)| id.0.as_str()).collect()
}

/// The durable state the journal holds once `change` is written over `before` (what a
/// restarted core reads back).
fn apply(change: DurableChange, before: Option<Durable>) -> Durable {
    let mut jobs = match (change.full, before) {
        (false, Some(b)) => b.jobs,
        _ => BTreeMap::new(),
    };
    jobs.extend(change.jobs);
    Durable {
        jobs,
        ..change.header
    }
}

const T0: Ts = Ts(1_000_000);

#[test]
fn the_first_change_holds_every_job_and_says_it_is_whole() {
    let d = state(3);
    let mut j = Journaled::default();
    let c = j.take(&d, false, None, T0).expect("the first take writes");
    assert!(c.full);
    assert_eq!(ids(&c), ["j0", "j1", "j2"]);
    assert!(c.header.jobs.is_empty(), "the header carries no records");
    assert_eq!(apply(c, None), d);
}

#[test]
fn a_turn_writes_only_the_records_that_changed() {
    let mut d = state(1000);
    let mut j = Journaled::default();
    j.take(&d, false, None, T0);
    assert_eq!(
        j.take(&d, false, None, T0.plus(Duration::from_millis(10))),
        None
    );

    let rec = d.jobs.get_mut(&JobId("j7".into())).unwrap();
    rec.state = RecoveryState::InterruptionDetected;
    rec.reason = "host h7 failed".into();
    d.epoch += 1;
    let c = j
        .take(&d, true, None, T0.plus(Duration::from_millis(20)))
        .unwrap();
    assert!(!c.full);
    assert_eq!(ids(&c), ["j7"]);
    assert_eq!(c.header.epoch, d.epoch);
}

#[test]
fn probe_readings_alone_wait_for_the_next_change_or_the_progress_interval() {
    let mut d = state(2);
    let mut j = Journaled::default();
    j.take(&d, false, None, T0);
    let seen = T0.plus(Duration::from_secs(1));
    for rec in d.jobs.values_mut() {
        rec.seen_at = Some(seen);
        rec.progress_at = Some(seen);
        rec.last_step = Some(10);
    }
    // Seen progressing at all is substance (`never_ran` reads it): written at once.
    let c = j.take(&d, true, None, seen).unwrap();
    assert_eq!(ids(&c), ["j0", "j1"]);

    let later = seen.plus(Duration::from_secs(1));
    for rec in d.jobs.values_mut() {
        rec.seen_at = Some(later);
        rec.progress_at = Some(later);
        rec.last_step = Some(11);
    }
    // Something else changed (a host's badge): the header goes, the readings wait.
    let c = j.take(&d, true, None, later).unwrap();
    assert_eq!(ids(&c), Vec::<&str>::new());
    assert_eq!(j.take(&d, false, None, later), None);

    let due = T0.plus(PROGRESS_EVERY);
    let c = j.take(&d, false, None, due).expect("the readings are due");
    assert_eq!(ids(&c), ["j0", "j1"]);
    assert_eq!(c.jobs[0].1.last_step, Some(11));
}

#[test]
fn changes_applied_in_turn_rebuild_the_state_once_the_readings_are_flushed() {
    let mut d = state(5);
    let mut j = Journaled::default();
    let mut journal = j.take(&d, false, None, T0).map(|c| apply(c, None));
    let mut now = T0;
    for turn in 0..40u64 {
        now = now.plus(Duration::from_millis(400));
        let job = JobId(format!("j{}", turn % 5));
        let rec = d.jobs.get_mut(&job).unwrap();
        rec.seen_at = Some(now);
        rec.last_step = Some(turn);
        let dirty = turn % 3 == 0;
        if dirty {
            rec.reason = format!("turn {turn}");
            d.epoch += 1;
        }
        if let Some(c) = j.take(&d, dirty, None, now) {
            journal = Some(apply(c, journal));
        }
    }
    let flush = now.plus(PROGRESS_EVERY);
    if let Some(c) = j.take(&d, false, None, flush) {
        journal = Some(apply(c, journal));
    }
    assert_eq!(journal.as_ref(), Some(&d));
}

#[test]
fn a_whole_change_drops_the_rows_of_jobs_no_longer_configured() {
    let before = state(3);
    let mut now = state(3);
    now.jobs.remove(&JobId("j1".into()));
    let mut j = Journaled::default();
    let c = j.take(&now, false, None, T0).unwrap();
    assert_eq!(apply(c, Some(before)), now);
}

#[test]
fn a_turn_that_names_its_jobs_compares_only_those() {
    let mut d = state(3);
    let mut j = Journaled::default();
    j.take(&d, false, None, T0);
    for rec in d.jobs.values_mut() {
        rec.reason = "changed".into();
    }
    let only: BTreeSet<JobId> = [JobId("j1".into())].into();
    let now = T0.plus(Duration::from_millis(10));
    let c = j.take(&d, true, Some(&only), now).unwrap();
    assert_eq!(ids(&c), ["j1"]);
    // The others are written by the next whole comparison.
    let c = j.take(&d, true, None, now).unwrap();
    assert_eq!(ids(&c), ["j0", "j2"]);
}
