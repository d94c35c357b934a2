//! What an escalation says about the standbys it could not use: a configured standby that
//! failed is named with its reason, never reported as missing.

use super::event::EventKind;
use super::harness::*;
use super::policy::Policy;
use super::recovery::RecoveryState as S;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn escalation(hs: &Harness) -> String {
    hs.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Escalated { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn a_cpu_standby_that_failed_under_the_job_is_named_not_called_missing() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    hs.fake("b").lost_gpu = Some(0);
    // Long enough apart that the partition guard does not take them for one event.
    hs.run_for(secs(30));
    hs.fake("a").up = false;
    hs.fake("a").procs.clear();
    hs.run_for(secs(120));
    assert_eq!(hs.running_on("train"), ["cpu"]);
    // Now the CPU standby dies under the job, with every GPU host still out.
    hs.fake("cpu").up = false;
    hs.fake("cpu").procs.clear();
    hs.run_for(secs(60));
    assert_eq!(hs.state("train"), S::Escalating);
    let why = escalation(&hs);
    assert!(!why.contains("no CPU standby configured"), "{why}");
    assert!(
        why.contains(
            "cpu-standby: no CPU standby fit: cpu is where the job was running when it failed"
        ),
        "{why}"
    );
}

#[test]
fn a_cpu_standby_that_is_down_says_so() {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(secs(5));
    hs.fake("b").up = false;
    hs.fake("cpu").up = false;
    hs.run_for(secs(4));
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(secs(2));
    assert_eq!(hs.state("train"), S::Escalating);
    let why = escalation(&hs);
    assert!(
        why.contains("cpu-standby: no CPU standby fit: cpu is"),
        "{why}"
    );
}
