//! `lifeboat failover JOB --dry-run` against two real loopback sshd hosts (a primary and a
//! warm standby, each with a stand-in nvidia-smi): a standby that is up, free and roomy
//! would take the job; a busy GPU or a stopped sshd says no and names why; a job with no
//! verified checkpoint would restart from scratch and says so. Nothing is changed.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use lifeboat::core::inventory::CopyState;
use lifeboat::core::manifest::{Manifest, ManifestFile, FORMAT};
use lifeboat::core::time::Ts;
use lifeboat::runtime::catalogue::Catalogue;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The UUID of GPU 0 in the H100 fixture the stand-in replays.
const GPU0: &str = "GPU-3a4bf3b5-f6d5-6f6e-6ea6-9e95c4b58413";

struct Bed {
    primary: sshd::Sshd,
    standby: sshd::Sshd,
    dir: tempfile::TempDir,
    config: PathBuf,
    job: String,
}

impl Bed {
    /// While this file exists, the standby's nvidia-smi lists a process on GPU 0.
    fn busy_flag(&self) -> PathBuf {
        self.dir.path().join("standby-busy")
    }

    fn state(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A stand-in nvidia-smi replaying the fixture; with `flag` present, GPU 0 is in use.
fn standins(root: &Path, name: &str, flag: &Path) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/nvidia-smi/h100-idle.csv"
    );
    let tool = dir.join("nvidia-smi");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\n# STAND-IN for nvidia-smi\ncase \"$*\" in *compute-apps*) if [ -f {flag} ]; then echo \"{GPU0}, 4242, python3\"; fi; exit 0 ;; esac\ncat {fixture}\n",
            flag = flag.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn host_block(name: &str, role: &str, h: &sshd::Sshd) -> String {
    let spec = h.spec();
    format!(
        "[[host]]\nname = \"{name}\"\naddress = \"{}:{}\"\nuser = \"{}\"\nrole = \"{role}\"\ngpus = 1\nssh_key = \"{}\"\nknown_hosts = \"{}\"\n\n",
        spec.address,
        spec.port,
        spec.user.clone().unwrap(),
        spec.ssh_key.clone().unwrap().display(),
        spec.ssh.known_hosts.clone().unwrap().display(),
    )
}

fn start() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let flag = dir.path().join("standby-busy");
    let with = |name: &str| sshd::Options {
        standins: Some(standins(dir.path(), &format!("standins-{name}"), &flag)),
        ..sshd::Options::default()
    };
    let primary = sshd::Sshd::with("dry-primary", with("primary"));
    let standby = sshd::Sshd::with("dry-standby", with("standby"));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    let job = format!("dry-{}", std::process::id());
    let text = format!(
        "[settings]\nprofile = \"lan\"\n\n{}{}[[job]]\nname = \"{job}\"\nhost = \"box\"\ngpu = 0\nworkdir = \"{work}\"\nlaunch = \"sleep 600\"\nheartbeat = \"{work}/heartbeat\"\ncheckpoint_dir = \"{work}/ckpt\"\nstandby = [\"spare:0\"]\nstrategies = [\"warm-standby\", \"escalate\"]\n\n[storage]\nnas = \"{work}/nas\"\n",
        host_block("box", "primary", &primary),
        host_block("spare", "standby", &standby),
        work = work.display(),
    );
    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, text).unwrap();
    Bed {
        primary,
        standby,
        dir,
        config,
        job,
    }
}

fn dry_run(bed: &Bed, state: &Path, json: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
    cmd.args(["failover", &bed.job, "--dry-run", "--config"])
        .arg(&bed.config)
        .arg("--state-dir")
        .arg(state);
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

fn verdict(bed: &Bed, state: &Path) -> (i32, Value) {
    let out = dry_run(bed, state, true);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}):\n{text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// The named check of the first warm-standby row.
fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    let rows = v["strategies"].as_array().unwrap();
    let warm = rows
        .iter()
        .find(|r| r["strategy"] == "warm-standby")
        .unwrap();
    warm["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {warm:#}"))
}

/// A verified 1 MB checkpoint in the catalogue, as the console records after replicating.
fn seed_checkpoint(state: &Path, job: &str) {
    std::fs::create_dir_all(state).unwrap();
    let cat = Catalogue::open(&state.join("journal.db")).unwrap();
    let m = Manifest {
        format: FORMAT,
        job: job.into(),
        id: "ck-0005".into(),
        step: 5000,
        created: 1_700_000_000_000,
        source_host: "box".into(),
        epoch: 1,
        single_file: false,
        files: vec![ManifestFile {
            path: "model.pt".into(),
            size: 1_000_000,
            sha256: "ab".repeat(32),
            mode: None,
        }],
        mac: None,
    };
    cat.record(&m, Ts(1_700_000_000_500)).unwrap();
    cat.set_copy(
        job,
        "ck-0005",
        "nas",
        CopyState::Verified,
        Some(Ts(1_700_000_001_000)),
        "",
    )
    .unwrap();
}

#[test]
fn the_dry_run_says_whether_the_standby_would_take_the_job() {
    let mut bed = start();

    // No checkpoint anywhere yet: it would work, from scratch, and says so.
    let fresh = bed.state("fresh");
    let (code, v) = verdict(&bed, &fresh);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["would_succeed"], true, "{v:#}");
    assert_eq!(v["first_ready"], "warm-standby");
    assert_eq!(v["first_target"]["host"], "spare");
    let ck = check(&v, "checkpoint");
    assert_eq!(ck["state"], "warn", "{ck:#}");
    assert!(
        ck["detail"]
            .as_str()
            .unwrap()
            .contains("would restart from scratch"),
        "{ck:#}"
    );
    assert!(v["reason"].as_str().unwrap().contains("from scratch"));
    assert!(
        !fresh.join("journal.db").exists(),
        "a dry run writes no state"
    );

    // A verified checkpoint: it would be restored, and every check passes.
    let seeded = bed.state("seeded");
    seed_checkpoint(&seeded, &bed.job);
    let (code, v) = verdict(&bed, &seeded);
    assert_eq!(code, 0, "{v:#}");
    for name in ["reachable", "gpu free", "disk", "checkpoint"] {
        assert_eq!(check(&v, name)["state"], "pass", "{name}: {v:#}");
    }
    assert!(check(&v, "checkpoint")["detail"]
        .as_str()
        .unwrap()
        .contains("ck-0005 (step 5000"));
    assert!(check(&v, "gpu free")["detail"]
        .as_str()
        .unwrap()
        .contains("spare:gpu0 (CUDA_VISIBLE_DEVICES=0) is free"));

    // The human table ends with the verdict line.
    let out = dry_run(&bed, &seeded, false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("warm-standby       spare:gpu0"), "{text}");
    assert!(
        text.contains("would_succeed: yes — warm-standby would move"),
        "{text}"
    );

    // Something else holds the standby's GPU: no.
    std::fs::write(bed.busy_flag(), "").unwrap();
    let (code, v) = verdict(&bed, &seeded);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["would_succeed"], false);
    assert!(
        check(&v, "gpu free")["detail"]
            .as_str()
            .unwrap()
            .contains("is busy: pid 4242 python3"),
        "{v:#}"
    );
    std::fs::remove_file(bed.busy_flag()).unwrap();

    // The standby's sshd is gone: no, and the reason names the host.
    bed.standby.kill();
    let (code, v) = verdict(&bed, &seeded);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["would_succeed"], false);
    assert_eq!(v["first_ready"], Value::Null);
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("warm-standby: spare did not answer"),
        "{reason}"
    );
    assert_eq!(check(&v, "reachable")["state"], "fail");
    let _ = &bed.primary;
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[[host]]\nname = \"box\"\naddress = \"127.0.0.1:1\"\ngpus = 1\n\n[[job]]\nname = \"llm\"\nhost = \"box\"\ngpu = 0\nworkdir = \"/w\"\nlaunch = \"x\"\ncheckpoint_dir = \"/w/ck\"\n\n[storage]\nnas = \"/w/nas\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .output()
            .unwrap()
    };
    let out = run(&["failover", "nope", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no job named \"nope\""), "{err}");
    assert!(err.contains("(jobs: llm)"), "{err}");
    // A real failover is confirmed on a terminal, or with --yes; a pipe gets neither.
    let out = run(&["failover", "llm"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lifeboat failover llm --yes"), "{err}");
    assert!(err.contains("lifeboat failover llm --dry-run"), "{err}");
}
