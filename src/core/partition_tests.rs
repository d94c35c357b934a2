//! The partition guard trips at the share the docs state ("40 % or more": exactly 2 of 5),
//! not above it, and its reason counts the hosts that are down.

use super::fleet::{Fleet, Role, StrategyKind};
use super::harness::*;
use super::policy::PartitionGuard;
use super::policy::Policy;
use std::time::Duration;

fn five_hosts() -> Harness {
    use StrategyKind::*;
    let fleet = Fleet {
        hosts: ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| host(n, Role::Standby, 1))
            .collect(),
        jobs: vec![job(
            "train",
            "a",
            &[("b", Some(0))],
            &[RestartInPlace, WarmStandby, Escalate],
        )],
    };
    let mut policy = Policy::default();
    assert_eq!(policy.detection.partition.share, 0.4);
    policy.detection.partition.min_hosts = 3;
    let mut hs = Harness::new(fleet, policy);
    hs.run_for(Duration::from_secs(5));
    hs
}

#[test]
fn forty_percent_trips_at_exactly_two_of_five() {
    let mut hs = five_hosts();
    for n in ["d", "e"] {
        hs.fake(n).up = false;
    }
    hs.run_for(Duration::from_secs(5));
    let frozen = hs.core.snapshot().automation.frozen;
    let why = frozen.expect("2 of 5 is 40 %: the guard must freeze");
    assert!(why.contains("2 of 5 hosts are down"), "{why}");
    assert!(why.contains("40%"), "{why}");
    // Back below the share: it thaws.
    hs.fake("e").up = true;
    hs.run_for(Duration::from_secs(10));
    assert!(hs.core.snapshot().automation.frozen.is_none());
}

#[test]
fn one_of_five_is_below_forty_percent() {
    let mut hs = five_hosts();
    hs.fake("e").up = false;
    hs.run_for(Duration::from_secs(5));
    assert!(hs.core.snapshot().automation.frozen.is_none());
}

#[test]
fn the_share_is_compared_without_rounding_in_the_way() {
    let g = |share: f64| PartitionGuard {
        share,
        window: Duration::from_secs(10),
        min_hosts: 3,
    };
    assert!(g(0.4).reached(2, 5));
    assert!(!g(0.4).reached(1, 5));
    assert!(g(0.3).reached(3, 10));
    assert!(!g(0.3).reached(2, 10));
    assert!(g(1.0 / 3.0).reached(1, 3));
    assert!(!g(0.4).reached(0, 0));
    assert_eq!(
        (g(0.4).percent(), g(0.125).percent()),
        ("40".into(), "12.5".into())
    );
}
