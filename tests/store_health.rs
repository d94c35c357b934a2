//! No invisible failure: a NAS that is not mounted shows in the headless stream, in
//! `lifeboat status` and in the exit status of `checkpoints replicate` — the real binary
//! against a real loopback sshd host, with the NAS folder missing and then there.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn cli(config: &Path, state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_missing_nas_shows_in_the_headless_stream_and_in_status() {
    let fleet = loopback_fleet::start("sth");
    let nas = fleet.dir.path().join("work").join("nas");
    assert!(!nas.exists());
    let state = fleet.dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(&fleet.config)
        .arg("--state-dir")
        .arg(&state)
        .args(["--headless", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let end = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let event = loop {
        assert!(
            Instant::now() < end,
            "no store_health_changed for the NAS; saw:\n{}",
            seen.join("\n")
        );
        if let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
            if v["kind"] == "store_health_changed" && v["store"] == "nas" {
                break v;
            }
            seen.push(v.to_string());
        }
    };
    // The snapshot with it is saved right after the event goes out.
    let end = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&cli(&fleet.config, &state, &["status"]).stdout)
        .contains("not mounted")
    {
        assert!(Instant::now() < end, "status never showed the NAS");
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(event["ok"], false, "{event}");
    assert_eq!(event["fault"], "not_mounted", "{event}");
    assert!(
        event["detail"]
            .as_str()
            .unwrap()
            .contains(&nas.display().to_string()),
        "{event}"
    );

    // `status` says so, in words and in JSON.
    let out = cli(&fleet.config, &state, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Exit 3: the headless run is gone, nothing supervises the state dir now.
    assert_eq!(out.status.code(), Some(3), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("nas "))
        .unwrap_or_else(|| panic!("no nas line in status:\n{text}"));
    assert!(line.contains("✖ not mounted"), "{line}");
    assert!(line.contains("is missing: is the NAS mounted?"), "{line}");
    let out = cli(&fleet.config, &state, &["--json", "status"]);
    let snap: Value = serde_json::from_slice(&out.stdout).unwrap();
    let st = snap["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == "nas")
        .cloned()
        .unwrap();
    assert_eq!(st["error"]["kind"], "not_mounted", "{st}");
}

#[test]
fn replicate_exits_non_zero_while_a_store_fails() {
    let fleet = loopback_fleet::start("str");
    let work = fleet.dir.path().join("work");
    let ckpt = work.join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::write(ckpt.join("step-00000100.ckpt"), vec![7u8; 4096]).unwrap();
    let state = fleet.dir.path().join("state");
    let out = cli(&fleet.config, &state, &["checkpoints", "replicate"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error: store nas ✖ not mounted"), "{err}");
    // Mounted: the pending copy is made and the pass succeeds.
    std::fs::create_dir_all(work.join("nas")).unwrap();
    let out = cli(&fleet.config, &state, &["checkpoints", "replicate"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(work
        .join("nas")
        .join(&fleet.job)
        .join("step-00000100.ckpt")
        .join("manifest.json")
        .is_file());
}
