//! The shell transport on this machine (the local transport): real processes launched,
//! probed, fenced and verified by the same scripts SSH hosts run.

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use lifeboat::core::fleet::{Access, HeartbeatSource, HostSpec, JobSpec, Role};
use lifeboat::core::gpu::GpuReadout;
use lifeboat::core::ids::{Epoch, HostId, JobId};
use lifeboat::core::io::CheckpointRef;
use lifeboat::core::time::Ts;
use lifeboat::runtime::local::LocalShell;
use lifeboat::runtime::shell_transport::ShellTransport;
use lifeboat::runtime::transport::Transport;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A real job: advances a step counter, writes `<step> <unix-time>` as its heartbeat.
const JOB: &str = r#"#!/bin/sh
step=${START:-0}
while true; do
  step=$((step+1))
  echo "$step $(date +%s)" > heartbeat.tmp && mv heartbeat.tmp heartbeat
  sleep 0.1
done
"#;

fn host() -> HostSpec {
    HostSpec {
        id: HostId::new("here"),
        address: "localhost".into(),
        port: 22,
        user: None,
        role: Role::Primary,
        gpus: 0,
        ssh_key: None,
        ssh: Default::default(),
        provider: None,
        access: Access::Local,
    }
}

fn job(dir: &Path) -> JobSpec {
    std::fs::write(dir.join("job.sh"), JOB).unwrap();
    JobSpec {
        id: JobId::new("train"),
        host: HostId::new("here"),
        gpu: None,
        workdir: dir.to_path_buf(),
        launch: "START=${CKPT_STEP:-0} exec sh job.sh # restore from {checkpoint}".into(),
        cpu_launch: None,
        stop: None,
        heartbeat: HeartbeatSource::File {
            path: dir.join("heartbeat"),
        },
        ready: Default::default(),
        checkpoint_dir: dir.join("ckpt"),
        standbys: Vec::new(),
        strategies: Vec::new(),
        env: Default::default(),
        checkpoint_marker: None,
        prestage: false,
        retention: None,
        workspace: None,
    }
}

fn transport(dir: &Path) -> ShellTransport {
    let runs = dir.join("runs");
    ShellTransport::new(Arc::new(LocalShell), Arc::new(LocalShell))
        .with_env(&[("LIFEBOAT_RUN_DIR", runs.to_str().unwrap())])
}

fn pids(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir.join("runs/train")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pid") {
            v.push(std::fs::read_to_string(p).unwrap().trim().to_string());
        }
    }
    v
}

/// Running: in /proc and not a zombie (dead, waiting to be reaped by its parent).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z")
}

#[tokio::test]
async fn launch_probe_relaunch_fence_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (h, j) = (host(), job(dir.path()));
    let t = transport(dir.path());
    t.launch(&h, None, &j, Epoch(1), None, false)
        .await
        .expect("launch");
    // Launching the same epoch again starts nothing new.
    t.launch(&h, None, &j, Epoch(1), None, false)
        .await
        .expect("relaunch");
    let first = pids(dir.path());
    assert_eq!(first.len(), 1, "{first:?}");
    t.verify(&h, &j, Epoch(1)).await.expect("running");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = t.probe(&h, std::slice::from_ref(&j)).await.expect("probe");
    assert_eq!(
        r.gpu,
        GpuReadout::NotInstalled,
        "this machine has no GPU: a CPU host"
    );
    assert!(r.boot_id.as_deref().is_some_and(|b| b.len() > 8));
    let run = r
        .jobs
        .iter()
        .find(|o| o.epoch == Epoch(1))
        .expect("the run is seen");
    assert!(run.running);
    assert!(run.step.is_some_and(|s| s >= 2), "{run:?}");
    // A newer epoch fences the old copy: SIGTERM, the process is gone.
    assert!(t.fence(&h, &j, Epoch(2)).await.expect("fence"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!alive(&first[0]), "the old copy still runs");
    assert!(t.verify(&h, &j, Epoch(1)).await.is_err());
    let r = t.probe(&h, std::slice::from_ref(&j)).await.expect("probe");
    assert!(r.jobs.iter().all(|o| !o.running), "{:?}", r.jobs);
    // The new epoch starts cleanly.
    t.launch(&h, None, &j, Epoch(2), None, false)
        .await
        .expect("launch e2");
    t.verify(&h, &j, Epoch(2)).await.expect("e2 runs");
    assert!(t.fence(&h, &j, Epoch(3)).await.unwrap());
}

#[tokio::test]
async fn a_job_that_dies_at_once_is_reported_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut j) = (host(), job(dir.path()));
    j.launch = "echo 'CUDA error: out of memory' >&2; exit 3".into();
    let err = transport(dir.path())
        .launch(&h, None, &j, Epoch(1), None, false)
        .await
        .unwrap_err();
    assert!(
        err.contains("did not start") && err.contains("out of memory"),
        "{err}"
    );
}

#[tokio::test]
async fn stage_checks_the_checkpoint_hash_where_it_will_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let (h, j) = (host(), job(dir.path()));
    let file = dir.path().join("step-10.ckpt");
    std::fs::write(&file, b"weights").unwrap();
    let good = "4a0f1a9e7b6d8c1e28c0b2e5c4e8d7c6a1f7b4f2d2b4c1e0a9f8e7d6c5b4a3f2"; // wrong on purpose below
    let real = {
        use sha2::Digest;
        sha2::Sha256::digest(b"weights")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let ck = |sha: &str| CheckpointRef {
        id: "step-10".into(),
        step: 10,
        created: Ts(0),
        bytes: 7,
        sha256: sha.into(),
        location: file.to_string_lossy().into_owned(),
        verified: true,
    };
    let t = transport(dir.path());
    let seen = std::sync::Mutex::new(None);
    let n = t
        .stage(&h, &j, Some(&ck(&real)), &|d, total| {
            *seen.lock().unwrap() = Some((d, total))
        })
        .await
        .expect("stage");
    assert_eq!(n, 7);
    assert_eq!(*seen.lock().unwrap(), Some((7, 7)));
    let err = t
        .stage(&h, &j, Some(&ck(good)), &|_, _| {})
        .await
        .unwrap_err();
    assert!(err.contains("refused") && err.contains(&real), "{err}");
    std::fs::remove_file(&file).unwrap();
    let err = t
        .stage(&h, &j, Some(&ck(&real)), &|_, _| {})
        .await
        .unwrap_err();
    assert!(err.contains("not readable"), "{err}");
}

#[tokio::test]
async fn the_jobs_own_stop_command_runs_first() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut j) = (host(), job(dir.path()));
    // A graceful stop: leave a note, then end the process the way the job prefers.
    j.stop = Some("echo \"stopping $LIFEBOAT_JOB_PID e$LIFEBOAT_EPOCH\" > stopped-by-job; kill -TERM $LIFEBOAT_JOB_PID".into());
    let t = transport(dir.path());
    t.launch(&h, None, &j, Epoch(1), None, false)
        .await
        .expect("launch");
    let pid = pids(dir.path())[0].clone();
    assert!(t.fence(&h, &j, Epoch(2)).await.expect("fence"));
    let note =
        std::fs::read_to_string(dir.path().join("stopped-by-job")).expect("the stop command ran");
    assert_eq!(note.trim(), format!("stopping {pid} e1"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!alive(&pid));
}

#[tokio::test]
async fn the_job_gets_its_env_and_checkpoint_path() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut j) = (host(), job(dir.path()));
    j.env
        .insert("LB_GREETING".into(), "it's a \"test\" $HOME".into());
    j.launch = "printf '%s|%s' \"$LB_GREETING\" {checkpoint} > seen.txt; exec sh job.sh".into();
    let ck = CheckpointRef {
        id: "step-5".into(),
        step: 5,
        created: Ts(0),
        bytes: 1,
        sha256: String::new(),
        location: "/nas/run 1/step-5.ckpt".into(),
        verified: true,
    };
    let t = transport(dir.path());
    t.launch(&h, None, &j, Epoch(1), Some(&ck), false)
        .await
        .expect("launch");
    let seen = std::fs::read_to_string(dir.path().join("seen.txt")).unwrap();
    assert_eq!(seen, "it's a \"test\" $HOME|/nas/run 1/step-5.ckpt");
    assert!(t.fence(&h, &j, Epoch(2)).await.unwrap());
}

/// A launch with a readiness signal returns once the job gives it, not after a fixed wait:
/// the ready file exists (the job made it after 0.6 s of "loading") and the heartbeat has
/// moved when `launch` returns; a job that never signals is reported started after the
/// wait; one that dies while loading is reported dead.
#[tokio::test]
async fn a_launch_waits_for_the_jobs_readiness_signal() {
    use lifeboat::core::fleet::Readiness;
    let dir = tempfile::tempdir().unwrap();
    let (h, mut j) = (host(), job(dir.path()));
    let t = transport(dir.path());
    let ready = dir.path().join("ready");
    std::fs::write(&ready, b"stale").unwrap();
    j.ready = Readiness::File {
        path: ready.clone(),
    };
    j.launch = "sleep 0.6; touch ready; exec sh job.sh # {checkpoint}".into();
    t.launch(&h, None, &j, Epoch(1), None, false)
        .await
        .expect("launch");
    assert!(ready.exists(), "launch returned before the job was ready");
    assert!(
        std::fs::metadata(&ready).unwrap().len() == 0,
        "the stale ready file was removed before the launch"
    );
    assert!(t.fence(&h, &j, Epoch(2)).await.expect("fence"));

    j.ready = Readiness::Heartbeat;
    j.launch = "sleep 0.6; exec sh job.sh # {checkpoint}".into();
    let _ = std::fs::remove_file(dir.path().join("heartbeat"));
    t.launch(&h, None, &j, Epoch(3), None, false)
        .await
        .expect("launch");
    assert!(
        dir.path().join("heartbeat").exists(),
        "launch returned before the first heartbeat"
    );
    assert!(t.fence(&h, &j, Epoch(4)).await.expect("fence"));

    j.ready = Readiness::File { path: ready };
    j.launch = "sleep 0.3; exit 3 # {checkpoint}".into();
    let e = t
        .launch(&h, None, &j, Epoch(5), None, false)
        .await
        .expect_err("it died while loading");
    assert!(e.contains("died"), "{e}");
}
