use super::*;
use crate::core::time::Ts;
use proptest::prelude::*;

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
/// 2026-11-23 00:00 UTC.
const T0: u64 = 1_795_392_000_000;

fn ck(id: &str, ms: u64, verified: bool) -> CheckpointRef {
    CheckpointRef {
        id: id.into(),
        step: ms / 1000,
        created: Ts(ms),
        bytes: 1,
        sha256: String::new(),
        location: String::new(),
        verified,
    }
}

fn kept(d: &[Decision]) -> Vec<&str> {
    d.iter().filter(|d| d.keep).map(|d| d.id.as_str()).collect()
}

#[test]
fn an_empty_policy_is_refused() {
    let err = plan(&[ck("a", T0, true)], &Retention::default()).unwrap_err();
    assert!(err.to_string().contains("keep_last"));
}

#[test]
fn keep_last_keeps_the_newest_verified_and_says_why() {
    let cks: Vec<_> = (0..5)
        .map(|i| ck(&format!("c{i}"), T0 + i * HOUR, true))
        .collect();
    let d = plan(
        &cks,
        &Retention {
            last: 3,
            ..Retention::default()
        },
    )
    .unwrap();
    assert_eq!(kept(&d), ["c4", "c3", "c2"]);
    let c0 = d.iter().find(|x| x.id == "c0").unwrap();
    assert_eq!(c0.reasons, ["no rule keeps it"]);
    let c4 = d.iter().find(|x| x.id == "c4").unwrap();
    assert!(c4.reasons.iter().any(|r| r.contains("never removed")));
}

#[test]
fn calendar_buckets_keep_the_newest_of_each_period() {
    // Four checkpoints a day for ten days.
    let cks: Vec<_> = (0..40)
        .map(|i| {
            ck(
                &format!("c{i:02}"),
                T0 + (i / 4) * DAY + (i % 4) * 6 * HOUR,
                true,
            )
        })
        .collect();
    let d = plan(
        &cks,
        &Retention {
            daily: 7,
            ..Retention::default()
        },
    )
    .unwrap();
    let k = kept(&d);
    assert_eq!(k.len(), 7, "{k:?}");
    // The last checkpoint of each of the newest seven days.
    assert_eq!(k, ["c39", "c35", "c31", "c27", "c23", "c19", "c15"]);
    assert!(
        d.iter().find(|x| x.id == "c35").unwrap().reasons[0].contains("daily 7: newest of its day")
    );
}

#[test]
fn rules_are_ored_and_reasons_add_up() {
    let cks: Vec<_> = (0..60)
        .map(|i| ck(&format!("c{i:02}"), T0 + i * DAY, true))
        .collect();
    let d = plan(
        &cks,
        &Retention {
            last: 2,
            weekly: 2,
            monthly: 3,
            ..Retention::default()
        },
    )
    .unwrap();
    let newest = d.iter().find(|x| x.id == "c59").unwrap();
    assert!(newest.reasons.len() >= 3, "{:?}", newest.reasons);
    assert!(kept(&d).len() >= 3);
}

#[test]
fn unverified_checkpoints_never_count_and_old_ones_go() {
    let cks = vec![
        ck("old-partial", T0, false),
        ck("good", T0 + HOUR, true),
        ck("writing", T0 + 2 * HOUR, false),
    ];
    let d = plan(
        &cks,
        &Retention {
            last: 1,
            ..Retention::default()
        },
    )
    .unwrap();
    assert_eq!(kept(&d), ["writing", "good"]);
    let old = d.iter().find(|x| x.id == "old-partial").unwrap();
    assert!(!old.keep && old.reasons[0].contains("never verified"));
}

#[test]
fn months_and_years_come_from_the_real_calendar() {
    // 2024-02-29 and 2024-03-01 are in different months; 2023-12-31 and 2024-01-01 in different years.
    let d = |y: i64, m: u32| (y, m);
    assert_eq!(year_month(19_782), d(2024, 2)); // 2024-02-29
    assert_eq!(year_month(19_783), d(2024, 3));
    assert_eq!(year_month(19_722).0, 2023); // 2023-12-31
    assert_eq!(year_month(19_723).0, 2024);
}

proptest! {
    /// Whatever the policy and the checkpoints, the newest verified one is kept, and every
    /// decision carries a reason.
    #[test]
    fn the_newest_verified_is_never_removed(
        times in proptest::collection::vec((0u64..400 * DAY, any::<bool>()), 1..60),
        last in 0u32..4, daily in 0u32..4, monthly in 0u32..3,
    ) {
        let policy = Retention { last, daily, monthly, ..Retention::default() };
        let cks: Vec<_> = times.iter().enumerate().map(|(i, (t, v))| ck(&format!("c{i}"), T0 + t, *v)).collect();
        match plan(&cks, &policy) {
            Err(RetentionError::EmptyPolicy) => prop_assert!(policy.is_empty()),
            Ok(d) => {
                prop_assert_eq!(d.len(), cks.len());
                prop_assert!(d.iter().all(|x| !x.reasons.is_empty()));
                if let Some(newest) = cks.iter().filter(|c| c.verified).max_by(|a, b| (a.created, a.step, &a.id).cmp(&(b.created, b.step, &b.id))) {
                    prop_assert!(d.iter().any(|x| x.id == newest.id && x.keep));
                }
            }
        }
    }

    /// Rules are ORed: a checkpoint kept under two rule sets together is kept under one
    /// of them alone, and the other way round.
    #[test]
    fn rules_are_ored(
        times in proptest::collection::vec((0u64..400 * DAY, any::<bool>()), 1..60),
        last in 1u32..4, hourly in 0u32..5, daily in 1u32..4, weekly in 0u32..3, monthly in 0u32..3,
    ) {
        let cks: Vec<_> = times.iter().enumerate().map(|(i, (t, v))| ck(&format!("c{i}"), T0 + t, *v)).collect();
        let a = Retention { last, hourly, ..Retention::default() };
        let b = Retention { daily, weekly, monthly, ..Retention::default() };
        let both = Retention { last, hourly, daily, weekly, monthly, yearly: 0 };
        let (ka, kb, kboth) = (plan(&cks, &a).unwrap(), plan(&cks, &b).unwrap(), plan(&cks, &both).unwrap());
        for ((x, y), z) in ka.iter().zip(&kb).zip(&kboth) {
            prop_assert_eq!(z.keep, x.keep || y.keep, "{} {:?} {:?} {:?}", z.id, x.reasons, y.reasons, z.reasons);
        }
    }

    /// Pruning is idempotent: planning again over what a plan keeps removes nothing.
    #[test]
    fn pruning_twice_removes_nothing_more(
        times in proptest::collection::vec((0u64..400 * DAY, any::<bool>()), 1..60),
        last in 0u32..4, daily in 0u32..4, weekly in 0u32..3, yearly in 0u32..2,
    ) {
        let policy = Retention { last, daily, weekly, yearly, ..Retention::default() };
        prop_assume!(!policy.is_empty());
        let cks: Vec<_> = times.iter().enumerate().map(|(i, (t, v))| ck(&format!("c{i}"), T0 + t, *v)).collect();
        let first = plan(&cks, &policy).unwrap();
        let kept: Vec<_> = cks.iter().filter(|c| first.iter().any(|d| d.id == c.id && d.keep)).cloned().collect();
        let second = plan(&kept, &policy).unwrap();
        prop_assert!(second.iter().all(|d| d.keep), "{:?}", second.iter().filter(|d| !d.keep).collect::<Vec<_>>());
    }
}

#[test]
fn retention_runs_by_itself_only_after_a_verified_replication_that_leaves_extra() {
    assert!(prune_after_replication(true, 1, 2));
    assert!(
        !prune_after_replication(false, 1, 2),
        "auto_prune = false opts out"
    );
    assert!(!prune_after_replication(true, 0, 2), "nothing new verified");
    assert!(!prune_after_replication(true, 3, 0), "nothing to remove");
}
