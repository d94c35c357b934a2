//! A lost host fails over at once when two channels agree, and never when a peer still
//! sees its job (a partition) or when one probe was lost (a blip).

use super::event::EventKind;
use super::harness::*;
use super::policy::{DetectionProfile, Policy};
use super::recovery::RecoveryState as S;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn fresh() -> Harness {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    assert_eq!(hs.state("train"), S::Running);
    hs
}

/// The reason the job's incident opened with.
fn cause(hs: &Harness) -> String {
    hs.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RecoveryState { to, reason, .. } if to == "INTERRUPTION_DETECTED" => {
                Some(reason.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn finished_at(hs: &Harness) -> Option<super::time::Ts> {
    hs.events
        .iter()
        .find(|e| matches!(e.kind, EventKind::FailoverFinished { .. }))
        .map(|e| e.ts)
}

#[test]
fn a_host_that_refuses_fails_over_at_its_second_miss_without_reconnecting() {
    let mut hs = fresh();
    let at = hs.now;
    hs.fake("a").up = false;
    hs.fake("a").refuses = true;
    hs.fake("a").procs.clear();
    hs.run_for(secs(5));
    assert_eq!(
        hs.states("train"),
        [
            "INTERRUPTION_DETECTED",
            "FAILING_OVER",
            "RESOLVED",
            "RUNNING"
        ]
    );
    assert_eq!(hs.running_on("train"), ["b"]);
    let why = cause(&hs);
    assert!(why.contains("lost: 2 probe(s) missed"), "{why}");
    assert!(why.contains("port: down: refused"), "{why}");
    assert!(why.contains("peer: down: refused"), "{why}");
    assert!(why.contains("hard evidence"), "{why}");
    let done = finished_at(&hs).expect("the failover finished");
    assert!(
        done.since(at) <= secs(3),
        "finished {:?} after the fault",
        done.since(at)
    );
}

#[test]
fn a_silent_host_fails_over_the_same_way_and_the_stale_copy_goes_when_it_returns() {
    let mut hs = fresh();
    hs.fake("a").up = false;
    hs.run_for(secs(5));
    assert!(!hs.states("train").iter().any(|s| s == "RECONNECTING"));
    assert_eq!(hs.state("train"), S::Running);
    let why = cause(&hs);
    assert!(
        why.contains("port: down: silent") && why.contains("peer: down: silent"),
        "{why}"
    );
    // Its copy ran on, frozen; when it answers again it is fenced: one copy remains.
    hs.fake("a").up = true;
    hs.run_for(secs(5));
    assert_eq!(hs.running_on("train"), ["b"]);
}

#[test]
fn a_partition_never_fails_over_while_a_peer_sees_the_job() {
    for profile in [DetectionProfile::lan(), DetectionProfile::cloud()] {
        let policy = Policy {
            detection: profile.clone(),
            ..Policy::default()
        };
        let mut hs = Harness::new(small_fleet(), policy);
        hs.run_for(profile.probe_interval * 3);
        hs.fake("a").cut_off = true;
        hs.run_for(profile.probe_interval * 40);
        assert_eq!(hs.count("failover_step"), 0, "{}", profile.name);
        assert_eq!(hs.state("train"), S::Running, "{}", profile.name);
        let host = hs
            .core
            .snapshot()
            .hosts
            .into_iter()
            .find(|v| v.id == h("a"));
        let why = host.map(|v| v.reason).unwrap_or_default();
        assert!(why.contains("a partition"), "{}: {why}", profile.name);
        hs.fake("a").cut_off = false;
        hs.run_for(profile.probe_interval * 5);
        assert_eq!(hs.count("failover_step"), 0, "{}", profile.name);
        assert_eq!(hs.running_on("train"), ["a"], "{}", profile.name);
    }
}

#[test]
fn a_host_already_waiting_out_reconnects_fails_over_once_the_looks_agree() {
    let mut hs = fresh();
    hs.no_looks = true;
    hs.fake("a").up = false;
    hs.run_for(secs(4));
    assert_eq!(hs.state("train"), S::Reconnecting);
    // A peer becomes reachable: the next reconnect attempt's miss asks again.
    hs.no_looks = false;
    hs.run_for(secs(4));
    assert_eq!(
        hs.states("train"),
        [
            "INTERRUPTION_DETECTED",
            "RECONNECTING",
            "FAILING_OVER",
            "RESOLVED",
            "RUNNING"
        ]
    );
    let skipped = hs.events.iter().any(|e| {
        matches!(&e.kind, EventKind::RecoveryState { to, reason, .. }
            if to == "FAILING_OVER" && reason.contains("skipping the other reconnect attempts"))
    });
    assert!(skipped);
}

#[test]
fn one_channel_alone_waits_as_before() {
    let mut hs = fresh();
    // Port refused, but no peer could be asked: the misses' ceiling and reconnects rule.
    hs.fake("b").up = false;
    hs.fake("c").up = false;
    hs.fake("cpu").up = false;
    hs.run_for(secs(2));
    hs.fake("a").up = false;
    hs.fake("a").refuses = true;
    hs.run_for(secs(3));
    let why = cause(&hs);
    assert!(!why.contains("lost:"), "{why}");
    assert!(why.contains("peer: unknown"), "{why}");
}
