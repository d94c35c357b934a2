//! The live console keeps checkpoints: `lifeboat --config` on a real loopback sshd host
//! replicates a job's new checkpoints into the NAS and says so; killed with SIGKILL in the
//! middle of a replication, it resumes on restart and finishes it, with nothing lost and
//! no half-written file left behind.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn console(config: &Path, state: &Path) -> (Child, mpsc::Receiver<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .args(["--headless", "--json"])
        .env("LIFEBOAT_LOG", "lifeboat=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    (child, rx)
}

fn replicated(rx: &mpsc::Receiver<Value>, id: &str, secs: u64) -> Value {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    while Instant::now() < end {
        if let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
            if v["kind"] == "checkpoint" && v["what"] == "replicated" && v["id"] == id {
                return v;
            }
            seen.push(v);
        }
    }
    panic!(
        "{id} not replicated in {secs}s; saw:\n{}",
        seen.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Temp files the NAS store is writing (or left) anywhere under `dir`.
fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().contains(".lifeboat-tmp-") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn the_console_replicates_and_resumes_after_sigkill_mid_replication() {
    let fleet = loopback_fleet::start("ckl");
    let work = fleet.dir.path().join("work");
    let ckpt = work.join("ckpt");
    let nas = work.join("nas");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::create_dir_all(&nas).unwrap();
    // A big checkpoint already on the host: big enough to catch its replication midway.
    let id = "step-00900000.ckpt";
    let big: Vec<u8> = (0..300u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(ckpt.join(id), &big).unwrap();
    let want = lifeboat::core::manifest::hex(&Sha256::digest(&big));
    drop(big);
    let state = fleet.dir.path().join("state");

    let (mut first, rx1) = console(&fleet.config, &state);
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        let t = temps(&nas);
        if t.iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        {
            break;
        }
        if Instant::now() > end {
            let seen: Vec<String> = rx1.try_iter().map(|v| v.to_string()).collect();
            let logs: String = std::fs::read_dir(state.join("logs"))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("log"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect();
            panic!(
                "the replication never started; saw:\n{}\nlogs:\n{logs}",
                seen.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let dest = nas.join(&fleet.job).join(id);
    assert!(
        !dest.join("manifest.json").exists(),
        "killed before the manifest, so not complete"
    );

    let (mut second, rx) = console(&fleet.config, &state);
    let v = replicated(&rx, id, 180);
    assert!(
        v["detail"].as_str().unwrap().contains("314572800 bytes"),
        "{v}"
    );
    second.kill().unwrap();
    second.wait().unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"][0]["sha256"], want.as_str());
    let copy = std::fs::read(dest.join(id)).unwrap();
    assert_eq!(lifeboat::core::manifest::hex(&Sha256::digest(&copy)), want);
    assert_eq!(
        temps(&nas),
        Vec::<PathBuf>::new(),
        "half-written files left behind"
    );
    // The toy job's own checkpoints were replicated too.
    let jobs_dir = nas.join(&fleet.job);
    let count = std::fs::read_dir(&jobs_dir).unwrap().count();
    assert!(count >= 1, "{count}");
    // The catalogue says so, from the CLI, and nothing restorable lacks a manifest.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .arg("--config")
            .arg(&fleet.config)
            .arg("--state-dir")
            .arg(&state)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let json_lines = |out: &std::process::Output| -> Vec<Value> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let rows = json_lines(&cli(&["checkpoints", "list", "--json"]));
    let row = rows.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(row["restorable"], true);
    assert_eq!(row["bytes"], 314_572_800u64);
    for r in &rows {
        let m = jobs_dir
            .join(r["id"].as_str().unwrap())
            .join("manifest.json");
        assert!(m.is_file(), "{r} listed without a manifest");
    }

    // Verify hashes every copy again.
    let v = &json_lines(&cli(&["checkpoints", "verify", "--json"]))[0];
    assert_eq!(v["checked"].as_u64().unwrap(), rows.len() as u64, "{v}");
    assert_eq!(v["bad"], serde_json::json!([]));
    // Restore onto the host somewhere else; it lands verified.
    let to = work.join("restored.ckpt");
    let out = cli(&[
        "checkpoints",
        "restore",
        "--job",
        &fleet.job,
        "--id",
        id,
        "--host",
        "box",
        "--path",
        to.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = std::fs::read(&to).unwrap();
    assert_eq!(
        lifeboat::core::manifest::hex(&Sha256::digest(&restored)),
        want
    );
    // Prune: the dry run explains, --readonly refuses, --yes deletes what it said.
    let plan = json_lines(&cli(&["checkpoints", "prune", "--dry-run", "--json"]));
    assert!(plan
        .iter()
        .all(|r| !r["reasons"].as_array().unwrap().is_empty()));
    let removals: Vec<&Value> = plan.iter().filter(|r| r["keep"] == false).collect();
    let out = cli(&["--readonly", "checkpoints", "prune", "--yes"]);
    if !removals.is_empty() {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--readonly"));
    }
    let out = cli(&["checkpoints", "prune"]);
    if !removals.is_empty() {
        assert!(
            !out.status.success(),
            "a prune without --yes on a pipe must not delete"
        );
    }
    assert_eq!(
        json_lines(&cli(&["checkpoints", "list", "--json"])).len(),
        rows.len()
    );
    let out = cli(&["checkpoints", "prune", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = json_lines(&cli(&["checkpoints", "list", "--json"]));
    assert_eq!(after.len(), rows.len() - removals.len());
    for r in &removals {
        assert!(!jobs_dir
            .join(r["id"].as_str().unwrap())
            .join("manifest.json")
            .exists());
    }
    // A job the config does not have is named in the error.
    let out = cli(&["checkpoints", "restore", "--job", "nope", "--host", "box"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"nope\""));
}
