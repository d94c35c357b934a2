//! A good runbook becomes exactly the model it says.

use super::{ok, GOOD};
use crate::core::drill::runbook::*;
use std::path::PathBuf;
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_good_runbook_round_trips_into_the_model() {
    let r = ok(GOOD);
    let expected = Runbook {
        name: "job-crash".into(),
        title: "Job crash".into(),
        description: "The training process dies.".into(),
        scenario: Scenario::JobCrash,
        version: 1,
        source: PathBuf::from("/team/runbooks/job-crash.toml"),
        hash: r.hash.clone(),
        targets: Targets {
            jobs: JobSelector::Named(vec!["train".into()]),
            hosts: HostSelector::OfJobs,
        },
        blast_radius: BlastRadius {
            max_hosts: 1,
            max_jobs: 1,
        },
        preconditions: vec![
            Probe::Readiness,
            Probe::CheckpointFresh {
                max_age: secs(1800),
            },
            Probe::HeartbeatAdvancing { within: secs(120) },
        ],
        steps: vec![
            Step {
                title: "Where the job runs".into(),
                action: StepAction::Diagnose {
                    show: Diagnose::Status,
                },
            },
            Step {
                title: "Kill the job's process".into(),
                action: StepAction::Inject {
                    fault: Fault::JobCrash,
                    duration: secs(300),
                },
            },
            Step {
                title: "Lifeboat notices".into(),
                action: StepAction::Observe {
                    until: Probe::FaultDetected,
                    deadline: secs(60),
                },
            },
            Step {
                title: "The job runs again".into(),
                action: StepAction::Verify {
                    check: Probe::JobRunning,
                },
            },
            Step {
                title: "Look at the loss".into(),
                action: StepAction::Manual {
                    prompt: "Check the job's loss curve.".into(),
                },
            },
        ],
        stop_conditions: vec![
            StopCondition::OtherJobInterrupted,
            StopCondition::RtoExceeds { limit: secs(300) },
        ],
        rollbacks: vec![Rollback::ClearFaults],
        expect: Expectations {
            detection: Some(secs(10)),
            rto: Some(secs(60)),
            rpo_steps: Some(1000),
            rpo: Some(secs(600)),
        },
    };
    assert_eq!(r, expected);
}

#[test]
fn the_hash_is_the_hex_sha256_of_the_text() {
    use sha2::{Digest, Sha256};
    let r = ok(GOOD);
    assert_eq!(r.hash.len(), 64);
    assert_eq!(
        r.hash,
        crate::core::manifest::hex(&Sha256::digest(GOOD.as_bytes()))
    );
    assert_ne!(ok(&GOOD.replace("version = 1", "version = 2")).hash, r.hash);
}

#[test]
fn targets_default_to_the_first_running_job_and_its_hosts() {
    let text = GOOD.replace("[targets]\njobs = [\"train\"]\nhosts = \"of-jobs\"\n", "");
    let r = ok(&text);
    assert_eq!(r.targets.jobs, JobSelector::AnyRunning);
    assert_eq!(r.targets.hosts, HostSelector::OfJobs);
    let r = ok(&GOOD
        .replace("jobs = [\"train\"]", "jobs = \"all\"")
        .replace("hosts = \"of-jobs\"", "hosts = [\"pc1\"]"));
    assert_eq!(r.targets.jobs, JobSelector::All);
    assert_eq!(r.targets.hosts, HostSelector::Named(vec!["pc1".into()]));
    let r = ok(&GOOD.replace("hosts = \"of-jobs\"", "hosts = \"half-fleet\""));
    assert_eq!(r.targets.hosts, HostSelector::HalfFleet);
}

#[test]
fn optional_tables_may_be_left_out() {
    let mut text = GOOD.to_string();
    for cut in [
        "description = \"The training process dies.\"\n",
        "[[stop]]\nwhen = \"other-job-interrupted\"\n",
        "[[stop]]\nwhen = \"rto-exceeds\"\nlimit = \"5m\"\n",
        "\n[expect]\ndetection = \"10s\"\nrto = \"60s\"\nrpo_steps = 1000\nrpo = \"10m\"\n",
    ] {
        assert!(text.contains(cut), "{cut}");
        text = text.replace(cut, "");
    }
    let r = ok(&text);
    assert_eq!(r.description, "");
    assert!(r.stop_conditions.is_empty());
    assert_eq!(r.expect, Expectations::default());
}
