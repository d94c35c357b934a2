//! The headless demo through the binary: the event stream, the status command, and
//! crash safety (SIGKILL mid-failover, restart, finish exactly once).

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn lifeboat() -> Command {
    Command::cargo_bin("lifeboat").expect("binary built")
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn kind(v: &Value) -> &str {
    v["kind"].as_str().unwrap_or("")
}

#[test]
fn demo_streams_faults_detection_failover_and_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lifeboat()
        .args([
            "--demo",
            "--headless",
            "--json",
            "--duration",
            "20s",
            "--state-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run demo");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&String::from_utf8_lossy(&out.stdout));
    for e in &events {
        let ts = e["ts"].as_str().expect("ts");
        humantime::parse_rfc3339(ts).unwrap_or_else(|err| panic!("ts {ts} is not RFC 3339: {err}"));
        assert!(!kind(e).is_empty());
    }
    let has = |k: &str| events.iter().any(|e| kind(e) == k);
    for k in [
        "fault_injected",
        "health_changed",
        "recovery_state",
        "failover_step",
        "failover_finished",
    ] {
        assert!(has(k), "no {k} event in {} events", events.len());
    }
    let states: Vec<&Value> = events
        .iter()
        .filter(|e| kind(e) == "recovery_state")
        .collect();
    for s in &states {
        for field in ["job", "from", "to", "reason"] {
            assert!(
                s[field].as_str().is_some_and(|v| !v.is_empty()),
                "recovery_state without {field}: {s}"
            );
        }
    }
    // One job walks seed 000's sequence to RESOLVED.
    let job = states
        .iter()
        .find(|s| s["to"] == "RESOLVED")
        .map(|s| s["job"].clone())
        .expect("a RESOLVED job");
    let seq: Vec<&str> = states
        .iter()
        .filter(|s| s["job"] == job)
        .filter_map(|s| s["to"].as_str())
        .collect();
    let want = [
        "INTERRUPTION_DETECTED",
        "FAILING_OVER",
        "RESOLVED",
        "RUNNING",
    ];
    assert!(
        seq.windows(4).any(|w| w == want),
        "sequence for {job}: {seq:?}"
    );
    let steps: Vec<&Value> = events
        .iter()
        .filter(|e| kind(e) == "failover_step" && e["job"] == job)
        .collect();
    for name in ["fence", "stage", "launch", "verify"] {
        let s = steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no {name} step"));
        assert!(s["ms"].as_u64().is_some(), "step without ms: {s}");
    }
    // The fault names its reason.
    let fault = events
        .iter()
        .find(|e| kind(e) == "fault_injected")
        .expect("fault");
    assert!(fault["detail"].as_str().is_some_and(|d| d.len() > 10));
    // `status --json` reads the same state dir.
    let st = lifeboat()
        .args(["status", "--json", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("status");
    // The demo has ended: nothing supervises the state dir, and status says so with 3.
    assert_eq!(st.status.code(), Some(3));
    let snap: Value = serde_json::from_slice(&st.stdout).expect("snapshot JSON");
    assert_eq!(snap["supervisor"]["live"], false, "{}", snap["supervisor"]);
    assert_eq!(snap["jobs"].as_array().map(Vec::len), Some(4));
    assert_eq!(snap["hosts"].as_array().map(Vec::len), Some(6));
    // An operator can read the journal with the stock sqlite3 shell.
    let q = Command::new("sqlite3")
        .arg(dir.path().join("journal.db"))
        .arg("SELECT count(*) FROM events WHERE kind = 'recovery_state'")
        .output()
        .expect("sqlite3 installed by scripts/test.sh");
    let n: usize = String::from_utf8_lossy(&q.stdout)
        .trim()
        .parse()
        .expect("a count");
    assert_eq!(n, states.len(), "journal and stream agree");
}

/// Reads a child's stdout lines on a thread, so the test can wait with a deadline.
fn line_reader(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn killed_mid_failover_resumes_and_finishes_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = lifeboat()
        .args([
            "--demo",
            "--headless",
            "--json",
            "--chaos",
            "off",
            "--inject",
            "gpu-lost:llm-pretrain@2s",
            "--state-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start demo");
    let lines = line_reader(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_fence = false;
    while Instant::now() < deadline {
        let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        let v: Value = serde_json::from_str(&line).expect("JSON line");
        if kind(&v) == "failover_step" && v["job"] == "llm-pretrain" && v["step"] == "fence" {
            seen_fence = true;
            break;
        }
    }
    assert!(seen_fence, "the failover never reached its fence step");
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    let _ = child.wait();

    let st = lifeboat()
        .args(["status", "--json", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("status");
    let snap: Value = serde_json::from_slice(&st.stdout).expect("snapshot");
    let job = snap["jobs"]
        .as_array()
        .and_then(|js| js.iter().find(|j| j["id"] == "llm-pretrain"))
        .cloned()
        .expect("job");
    assert_eq!(job["state"], "FAILING_OVER", "killed while failing over");

    let out = lifeboat()
        .args([
            "--demo",
            "--headless",
            "--json",
            "--chaos",
            "off",
            "--duration",
            "12s",
            "--state-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("restart");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        events.first().map(|e| e["resumed"].clone()),
        Some(Value::Bool(true))
    );
    let resolved = events
        .iter()
        .filter(|e| {
            kind(e) == "recovery_state" && e["job"] == "llm-pretrain" && e["to"] == "RESOLVED"
        })
        .count();
    assert_eq!(resolved, 1, "the failover finished exactly once");

    // Exactly one copy runs, on the standby, under the new epoch.
    let world: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("sim/world.json")).expect("world"),
    )
    .expect("world JSON");
    let mut copies = Vec::new();
    for (host, h) in world["hosts"].as_object().expect("hosts") {
        for p in h["procs"].as_array().expect("procs") {
            if p["job"] == "llm-pretrain" {
                copies.push((host.clone(), p["epoch"].as_u64()));
            }
        }
    }
    assert_eq!(copies.len(), 1, "copies: {copies:?}");
    assert_ne!(copies[0].0, "gpu-a");
    assert_eq!(copies[0].1, Some(2));
}

#[test]
fn status_without_a_journal_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lifeboat()
        .args(["status", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("status");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no journal at") && err.contains("--state-dir"),
        "{err}"
    );
}

#[test]
fn help_version_and_usage_errors() {
    let help = lifeboat().arg("--help").output().expect("help");
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--demo"));
    let version = lifeboat().arg("--version").output().expect("version");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("lifeboat "));
    let bad = lifeboat().arg("--no-such-flag").output().expect("bad flag");
    assert_eq!(bad.status.code(), Some(2));
    let bad = lifeboat()
        .args([
            "--demo",
            "--headless",
            "--inject",
            "gpu-melted:llm-pretrain@1s",
        ])
        .output()
        .expect("bad inject");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown fault \"gpu-melted\""));
    let bad = lifeboat()
        .args(["--demo", "--headless", "--duration", "10 sec"])
        .output()
        .expect("bad duration");
    assert_eq!(bad.status.code(), Some(2));
}
