//! The binary on a config that points at a real sshd on loopback: it finds the job not
//! running and starts it, then a job killed on its host is detected and restarted.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn wait_for(
    lines: &mpsc::Receiver<Value>,
    seen: &mut Vec<Value>,
    secs: u64,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Ok(v) = lines.recv_timeout(Duration::from_millis(200)) {
            seen.push(v.clone());
            if want(&v) {
                return v;
            }
        }
    }
    panic!(
        "not seen in {secs}s; saw:\n{}",
        seen.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

#[test]
fn a_job_killed_on_its_ssh_host_is_detected_and_restarted() {
    let fleet = loopback_fleet::start("live1");
    let state = fleet.dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["--headless", "--json", "--duration", "40s", "--config"])
        .arg(&fleet.config)
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&l) {
                let _ = tx.send(v);
            }
        }
    });
    let mut seen = Vec::new();
    let healthy =
        |v: &Value| v["kind"] == "health_changed" && v["host"] == "box" && v["to"] == "healthy";
    wait_for(&lines, &mut seen, 20, healthy);
    // Not running at first: Lifeboat starts it in place.
    let resolved = |v: &Value| v["kind"] == "recovery_state" && v["to"] == "RESOLVED";
    wait_for(&lines, &mut seen, 20, resolved);
    // Kill the job on its host, hard.
    let pidfile = fleet.runs().join("e1.pid");
    let pid =
        std::fs::read_to_string(&pidfile).unwrap_or_else(|e| panic!("{}: {e}", pidfile.display()));
    let pid = pid.trim();
    assert!(
        pid.parse::<u32>().is_ok_and(|p| p > 1),
        "pid file holds {pid:?}"
    );
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
    let gone = wait_for(&lines, &mut seen, 10, |v| {
        v["kind"] == "recovery_state" && v["to"] == "INTERRUPTION_DETECTED"
    });
    assert!(
        gone["reason"]
            .as_str()
            .unwrap()
            .contains("job process gone"),
        "{gone}"
    );
    let back = wait_for(&lines, &mut seen, 20, resolved);
    assert!(
        back["reason"]
            .as_str()
            .unwrap()
            .contains("restart-in-place"),
        "{back}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
