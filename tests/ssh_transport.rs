//! The shell transport over real SSH to real sshd hosts on loopback: probes parsed from a
//! stand-in `nvidia-smi` (the only fake: there is no GPU here) and a stand-in kernel log,
//! real job processes launched, fenced and verified, and hosts that die or freeze.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use lifeboat::core::fleet::{HeartbeatSource, HostSpec, JobSpec};
use lifeboat::core::gpu::{assess, GpuFailure, GpuReadout};
use lifeboat::core::ids::{Epoch, HostId, JobId};
use lifeboat::core::io::ProbeError;
use lifeboat::runtime::local::LocalShell;
use lifeboat::runtime::shell_transport::ShellTransport;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::transport::Transport;
use sshd::Sshd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/nvidia-smi/h100-idle.csv"
);

/// A stand-in `nvidia-smi` (there is no GPU here): replays the H100 fixture, or a failure
/// chosen by writing `lost`, `flood` or `slow` into `<dir>/mode`.
fn standins(dir: &Path) {
    let nvsmi = format!(
        r#"#!/bin/sh
# STAND-IN for nvidia-smi in tests: replays captured output; not a GPU.
mode=$(cat {dir}/mode 2>/dev/null)
case "$*" in *compute-apps*) exit 0 ;; esac
case "$mode" in
  lost) echo "Unable to determine the device handle for GPU0000:0B:00.0: Unknown Error"; exit 15 ;;
  flood) head -c 50000000 /dev/zero | tr '\0' 'x'; exit 0 ;;
  slow) sleep 3; cat {fixture} ;;
  *) cat {fixture} ;;
esac
"#,
        dir = dir.display(),
        fixture = FIXTURE
    );
    // A stand-in kernel log: the lines written to <dir>/kernel.log.
    let journal = format!(
        "#!/bin/sh\n# STAND-IN for journalctl -k in tests.\ncat {}/kernel.log 2>/dev/null\n",
        dir.display()
    );
    for (name, body) in [("nvidia-smi", nvsmi), ("journalctl", journal)] {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
}

struct Bed {
    host: Sshd,
    spec: HostSpec,
    t: ShellTransport,
    dir: tempfile::TempDir,
}

fn bed(name: &str) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    standins(dir.path());
    let host = Sshd::with(
        name,
        sshd::Options {
            standins: Some(dir.path().to_path_buf()),
            ..sshd::Options::default()
        },
    );
    let mut spec = host.spec();
    spec.gpus = 1;
    let ssh = SshShell::new(vec![spec.clone()], SshSettings::default());
    let runs = dir.path().join("runs");
    let t = ShellTransport::new(Arc::new(ssh), Arc::new(LocalShell))
        .with_env(&[("LIFEBOAT_RUN_DIR", runs.to_str().unwrap())]);
    Bed { host, spec, t, dir }
}

fn job(bed: &Bed) -> JobSpec {
    let work = bed.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/jobs/toy_job.sh");
    JobSpec {
        id: JobId::new("train"),
        host: bed.spec.id.clone(),
        gpu: Some(0),
        workdir: work.clone(),
        launch: format!("sh {script} --resume {{checkpoint}}"),
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
    }
}

fn mode(bed: &Bed, m: &str) {
    std::fs::write(bed.dir.path().join("mode"), m).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_parses_the_gpu_and_boot_id() {
    let b = bed("p1");
    let r = b.t.probe(&b.spec, &[]).await.expect("probe");
    let GpuReadout::Gpus(g) = &r.gpu else {
        panic!("{:?}", r.gpu)
    };
    assert_eq!(g[0].name.as_deref(), Some("NVIDIA H100 80GB HBM3"));
    assert!(assess(&r.gpu, 1, &[], &r.xids, false).is_healthy());
    assert!(r.boot_id.is_some());
    // A lost GPU is fatal evidence.
    mode(&b, "lost");
    let r = b.t.probe(&b.spec, &[]).await.expect("probe");
    assert!(
        matches!(
            r.gpu,
            GpuReadout::Failed {
                failure: GpuFailure::GpuLost,
                exit_code: 15,
                ..
            }
        ),
        "{:?}",
        r.gpu
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_relaunch_fence_verify_over_ssh() {
    let b = bed("p2");
    let j = job(&b);
    b.t.launch(&b.spec, Some(0), &j, Epoch(1), None, false)
        .await
        .expect("launch");
    b.t.launch(&b.spec, Some(0), &j, Epoch(1), None, false)
        .await
        .expect("same epoch again");
    let pids: Vec<_> = std::fs::read_dir(b.dir.path().join("runs/train"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .collect();
    assert_eq!(pids.len(), 1, "one run for epoch 1");
    b.t.verify(&b.spec, &j, Epoch(1)).await.expect("running");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r =
        b.t.probe(&b.spec, std::slice::from_ref(&j))
            .await
            .expect("probe");
    let run = r
        .jobs
        .iter()
        .find(|o| o.epoch == Epoch(1))
        .expect("run seen");
    assert!(run.running && run.step.is_some_and(|s| s > 0), "{run:?}");
    assert!(b.t.fence(&b.spec, &j, Epoch(2)).await.expect("fence"));
    assert!(b.t.verify(&b.spec, &j, Epoch(1)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_xid_line_in_the_kernel_log_is_fatal_evidence() {
    let b = bed("p3");
    let log = b.dir.path().join("kernel.log");
    std::fs::write(
        &log,
        "[ 10.0] NVRM: Xid (PCI:0000:0b:00): 13, pid=1, Graphics Exception\n",
    )
    .unwrap();
    let first = b.t.probe(&b.spec, &[]).await.expect("probe");
    assert!(
        first.xids.is_empty(),
        "lines already in the log are history"
    );
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("[ 99.9] NVRM: Xid (PCI:0000:0b:00): 79, pid=2, GPU has fallen off the bus.\n");
    std::fs::write(&log, text).unwrap();
    let r = b.t.probe(&b.spec, &[]).await.expect("probe");
    assert_eq!(r.xids, vec![79]);
    assert!(!assess(&r.gpu, 1, &[], &r.xids, false).fatal.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_of_output_are_cut_off_not_buffered() {
    let b = bed("p4");
    mode(&b, "flood");
    let r = b.t.probe(&b.spec, &[]).await.expect("probe survives");
    assert!(
        matches!(
            r.gpu,
            GpuReadout::Failed {
                failure: GpuFailure::Garbage,
                ..
            }
        ),
        "{:?}",
        r.gpu
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_killed_mid_probe_is_a_miss_then_it_reconnects() {
    let mut b = bed("p5");
    b.t.probe(&b.spec, &[]).await.expect("first probe");
    mode(&b, "slow");
    let probe = b.t.probe(&b.spec, &[]);
    let kill = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.host.kill();
    };
    let (r, ()) = tokio::join!(probe, kill);
    assert!(
        matches!(
            r,
            Err(ProbeError::Unreachable(_)) | Err(ProbeError::Timeout)
        ),
        "{r:?}"
    );
    mode(&b, "");
    b.host.restart();
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match b.t.probe(&b.spec, &[]).await {
            Ok(r) => {
                assert!(matches!(r.gpu, GpuReadout::Gpus(_)));
                break;
            }
            Err(e) if std::time::Instant::now() < end => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("never reconnected: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_host_hits_the_deadline_without_hanging() {
    let b = bed("p6");
    b.t.probe(&b.spec, &[]).await.expect("first probe");
    b.host.pause();
    let started = std::time::Instant::now();
    // The runtime puts the probe timeout around every probe; the transport must let go.
    let r = tokio::time::timeout(Duration::from_secs(2), b.t.probe(&b.spec, &[])).await;
    assert!(r.is_err(), "a frozen host answered");
    assert!(started.elapsed() < Duration::from_secs(3));
    b.host.resume();
    let r = tokio::time::timeout(Duration::from_secs(20), b.t.probe(&b.spec, &[])).await;
    assert!(matches!(r, Ok(Ok(_))), "{r:?}");
    let _ = HostId::new("x");
}
