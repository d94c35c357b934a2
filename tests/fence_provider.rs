//! Fencing a rented host that does not answer: its epoch is revoked and its instance is
//! stopped through the provider. Real loopback sshd hosts (killed, frozen, answering) and
//! `FakeVast` (a fake of Vast's REST API on loopback, not the real service) recording the
//! calls; the provider refusing, hanging or not configured never turns the fence into an
//! error, and the note it leaves reaches the core through the executor.

// Tests may unwrap, expect and panic: a failed assumption there is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/fake_vast.rs"]
mod fake_vast;
#[path = "support/sshd.rs"]
mod sshd;

use fake_vast::FakeVast;
use lifeboat::core::fleet::{Fleet, HeartbeatSource, HostSpec, JobSpec, ProviderRef};
use lifeboat::core::ids::{Epoch, JobId, OpId};
use lifeboat::core::io::{Effect, Input, StepOutput};
use lifeboat::runtime::exec::Executor;
use lifeboat::runtime::fence_provider::Provisioners;
use lifeboat::runtime::local::LocalShell;
use lifeboat::runtime::provider::{Provisioner, VastClient, VastOptions};
use lifeboat::runtime::shell_transport::ShellTransport;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::transport::{FenceOutcome, LogNotifier, Transport};
use sshd::Sshd;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "fake-vast-key-0123456789abcdef";
const KEY_ENV: &str = "LIFEBOAT_TEST_VAST_API_KEY";
const INSTANCE: u64 = 9_876_543;
/// The default fence step.
const BUDGET: Duration = Duration::from_secs(20);

struct Bed {
    host: Sshd,
    spec: HostSpec,
    job: JobSpec,
    t: ShellTransport,
    fake: FakeVast,
    _dir: tempfile::TempDir,
}

fn vast(fake: &FakeVast) -> Arc<dyn Provisioner> {
    let opts = VastOptions {
        base_url: fake.base_url(),
        timeout: Duration::from_secs(3),
        ..VastOptions::default()
    };
    let key = KEY.to_string();
    Arc::new(VastClient::with_key_from("vast", KEY_ENV, opts, |_| Some(key)).expect("client"))
}

/// A loopback host rented as `instance` from the provider `provider`, a transport that
/// holds a provisioner named "vast" for the fake, and a job to fence.
async fn bed(name: &str, provider: &str, instance: &str) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let host = Sshd::start(name);
    let mut spec = host.spec();
    spec.provider = Some(ProviderRef {
        provider: provider.into(),
        instance: instance.into(),
    });
    let fake = FakeVast::start(KEY).await;
    fake.set(INSTANCE, Some("running"), "running");
    let provisioners: Provisioners = [("vast".to_string(), vast(&fake))].into_iter().collect();
    let runs = dir.path().join("runs");
    let t = ShellTransport::new(
        Arc::new(SshShell::new(vec![spec.clone()], SshSettings::default())),
        Arc::new(LocalShell),
    )
    .with_env(&[("LIFEBOAT_RUN_DIR", runs.to_str().unwrap())])
    .with_provisioners(provisioners);
    // The test user behind sshd is not us: the job's directory must be open to it.
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    let job = JobSpec {
        id: JobId::new("train"),
        host: spec.id.clone(),
        gpu: None,
        workdir: work.clone(),
        launch: "sleep 600".into(),
        cpu_launch: None,
        stop: None,
        heartbeat: HeartbeatSource::File {
            path: work.join("heartbeat"),
        },
        ready: Default::default(),
        checkpoint_dir: work.join("ckpt"),
        standbys: Vec::new(),
        strategies: Vec::new(),
        env: Default::default(),
        checkpoint_marker: None,
        prestage: false,
        retention: None,
        workspace: None,
    };
    Bed {
        host,
        spec,
        job,
        t,
        fake,
        _dir: dir,
    }
}

async fn fence(b: &Bed, budget: Duration) -> FenceOutcome {
    b.t.fence_outcome(
        &b.spec,
        &b.job,
        Epoch(2),
        budget,
        lifeboat::core::io::FENCE_REACH,
    )
    .await
    .expect("an unanswered fence is not an error")
}

/// The stop requests the fake saw for `id`.
fn stops(fake: &FakeVast, id: u64) -> usize {
    let path = format!("/api/v0/instances/{id}/");
    fake.calls()
        .iter()
        .filter(|c| c.method == "PUT" && c.target == path && c.body["state"] == "stopped")
        .count()
}

fn note(out: &FenceOutcome) -> String {
    match out {
        FenceOutcome::Unreachable { note: Some(n) } => n.clone(),
        other => panic!("expected an unreachable fence with a note, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_host_is_revoked_and_its_instance_stopped() {
    let mut b = bed("fp1", "vast", &INSTANCE.to_string()).await;
    // Connected first, as a watched host is: the connection dies with it.
    b.t.probe(&b.spec, &[]).await.expect("first probe");
    b.host.kill();
    let out = fence(&b, BUDGET).await;
    assert_eq!(
        note(&out),
        format!("instance {INSTANCE} stopped through vast")
    );
    assert_eq!(stops(&b.fake, INSTANCE), 1, "{:?}", b.fake.call_lines());
    assert_eq!(b.fake.intended(INSTANCE).as_deref(), Some("stopped"));
    // Stopped, never destroyed: its disk may hold the only copy of recent work.
    assert!(b.fake.has_instance(INSTANCE));
    assert!(!b.fake.call_lines().iter().any(|l| l.starts_with("DELETE")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_host_is_revoked_within_seconds_and_its_instance_stopped() {
    let b = bed("fp2", "vast", &INSTANCE.to_string()).await;
    b.t.probe(&b.spec, &[]).await.expect("first probe");
    b.host.pause();
    let started = Instant::now();
    let out = fence(&b, BUDGET).await;
    let took = started.elapsed();
    b.host.resume();
    assert_eq!(
        note(&out),
        format!("instance {INSTANCE} stopped through vast")
    );
    assert!(took < Duration::from_secs(7), "took {took:?}");
    assert_eq!(stops(&b.fake, INSTANCE), 1, "{:?}", b.fake.call_lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_answers_is_fenced_without_the_provider() {
    let b = bed("fp3", "vast", &INSTANCE.to_string()).await;
    b.t.launch(&b.spec, None, &b.job, Epoch(1), None, false)
        .await
        .expect("launch");
    assert_eq!(fence(&b, BUDGET).await, FenceOutcome::Stopped);
    assert!(b.t.verify(&b.spec, &b.job, Epoch(1)).await.is_err());
    assert!(b.fake.calls().is_empty(), "{:?}", b.fake.call_lines());
    assert_eq!(b.fake.intended(INSTANCE).as_deref(), Some("running"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_leaves_the_epoch_revoked_and_says_why() {
    // The API errors: asked twice (one retry), then the note carries the error.
    let mut b = bed("fp4", "vast", &INSTANCE.to_string()).await;
    b.host.kill();
    b.fake.serve_status(Some(500));
    let n = note(&fence(&b, BUDGET).await);
    assert!(
        n.starts_with(&format!(
            "stopping instance {INSTANCE} through vast failed: "
        )),
        "{n}"
    );
    assert!(n.contains("HTTP 500"), "{n}");
    assert!(n.ends_with("; its epoch is revoked"), "{n}");
    assert!(!n.contains(KEY), "the note leaks the API key: {n}");
    assert_eq!(stops(&b.fake, INSTANCE), 2, "{:?}", b.fake.call_lines());

    // An instance the account does not hold: a definite answer, not asked again.
    let mut b = bed("fp5", "vast", "1111").await;
    b.host.kill();
    let n = note(&fence(&b, BUDGET).await);
    assert!(
        n.starts_with("stopping instance 1111 through vast failed: "),
        "{n}"
    );
    assert!(n.contains("no instance 1111"), "{n}");
    assert_eq!(stops(&b.fake, 1111), 1, "{:?}", b.fake.call_lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_hangs_cannot_outlast_the_fence_step() {
    let mut b = bed("fp6", "vast", &INSTANCE.to_string()).await;
    b.host.kill();
    b.fake.hang(true);
    let budget = Duration::from_secs(5);
    let started = Instant::now();
    let n = note(&fence(&b, budget).await);
    let took = started.elapsed();
    assert!(took < budget, "took {took:?}, the step allows {budget:?}");
    assert!(
        n.starts_with(&format!(
            "stopping instance {INSTANCE} through vast failed: "
        )),
        "{n}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_provider_is_not_configured_is_only_revoked() {
    let mut b = bed("fp7", "lambda", &INSTANCE.to_string()).await;
    b.host.kill();
    assert_eq!(
        fence(&b, BUDGET).await,
        FenceOutcome::Unreachable { note: None }
    );
    assert!(b.fake.calls().is_empty(), "{:?}", b.fake.call_lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executor_hands_the_note_to_the_core() {
    let mut b = bed("fp8", "vast", &INSTANCE.to_string()).await;
    b.host.kill();
    let (spec, job) = (b.spec.clone(), b.job.clone());
    let exec = Executor {
        renting: None,
        fleet: Fleet {
            hosts: vec![spec.clone()],
            jobs: vec![job.clone()],
        },
        transport: Arc::new(std::mem::replace(
            &mut b.t,
            ShellTransport::new(Arc::new(LocalShell), Arc::new(LocalShell)),
        )),
        notifier: Arc::new(LogNotifier),
    };
    let effect = Effect::Fence {
        op: OpId(7),
        job: job.id,
        host: spec.id,
        epoch: Epoch(2),
        timeout: BUDGET,
        reach: lifeboat::core::io::FENCE_REACH,
    };
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let input = exec.run(effect, tx).await;
    let Input::StepFinished { op, result } = input else {
        panic!("not a step answer: {input:?}")
    };
    assert_eq!(op, OpId(7));
    assert_eq!(
        result,
        Ok(StepOutput::FenceUnreachableNoted {
            note: format!("instance {INSTANCE} stopped through vast")
        })
    );
}
