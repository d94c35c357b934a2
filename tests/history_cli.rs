//! `lifeboat history` through the binary: a demo failover read back as an incident with
//! its RTO, operator actions from a journal written here, and the usage errors.

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use assert_cmd::cargo::CommandCargoExt;
use lifeboat::runtime::journal::Journal;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

fn lifeboat() -> Command {
    Command::cargo_bin("lifeboat").expect("binary built")
}

fn history(dir: &Path, args: &[&str]) -> Output {
    lifeboat()
        .arg("history")
        .args(args)
        .arg("--state-dir")
        .arg(dir)
        .output()
        .expect("run history")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn a_demo_failover_reads_back_as_an_incident_with_its_rto() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One GPU lost at 2 s; the demo's failover takes about 5 s of its 14.
    let demo = lifeboat()
        .args([
            "--demo",
            "--headless",
            "--chaos",
            "off",
            "--inject",
            "gpu-lost:diffusion@2s",
            "--duration",
            "14s",
            "--state-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run demo");
    assert!(demo.status.success(), "{}", stderr(&demo));

    let text = history(dir.path(), &[]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let t = stdout(&text);
    let head = t
        .lines()
        .find(|l| l.contains("  diffusion  "))
        .unwrap_or_else(|| panic!("no diffusion incident in:\n{t}"));
    assert!(head.contains("resolved after"), "{t}");
    assert!(t.contains("strategy   warm-standby → spare-2:gpu0"), "{t}");
    assert!(
        t.lines()
            .any(|l| l.starts_with("  RTO ") && l.contains("detect")),
        "{t}"
    );
    // No operator acted; the supervisor's own start and stop are listed there.
    assert!(t.contains("OPERATOR ACTIONS (2)"), "{t}");
    assert!(t.contains("supervisor_started: watching the fleet"), "{t}");
    assert!(t.contains("supervisor_stopped: "), "{t}");

    let lines = json_lines(&history(dir.path(), &["--json"]));
    let inc = lines
        .iter()
        .find(|v| v["type"] == "incident" && v["job"] == "diffusion")
        .unwrap_or_else(|| panic!("no diffusion incident: {lines:?}"));
    assert_eq!(inc["outcome"], "resolved");
    assert_eq!(inc["strategy"], "warm-standby");
    assert!(
        inc["rto"]["rto_ms"].as_u64().is_some_and(|ms| ms > 0),
        "{inc}"
    );
    assert!(inc["rto"]["breakdown"][0]["phase"] == "detect", "{inc}");
    let steps = inc["steps"].as_array().expect("steps");
    for name in ["fence", "stage", "launch", "verify"] {
        assert!(
            steps.iter().any(|s| s["step"] == name && s["ok"] == true),
            "no {name} step: {inc}"
        );
    }
    for at in ["detected_at", "ended_at"] {
        let ts = inc[at].as_str().expect("a time");
        humantime::parse_rfc3339(ts).unwrap_or_else(|e| panic!("{at} {ts}: {e}"));
    }

    // --since keeps it (an hour back, or a time before it), --job cuts to one job.
    for since in ["1h", "2000-01-01T00:00:00Z"] {
        let cut = json_lines(&history(dir.path(), &["--json", "--since", since]));
        assert!(
            cut.iter().any(|v| v["job"] == "diffusion"),
            "--since {since}"
        );
    }
    let one = json_lines(&history(dir.path(), &["--json", "--job", "diffusion"]));
    assert!(!one.is_empty() && one.iter().all(|v| v["job"] == "diffusion"));
    let none = history(dir.path(), &["--json", "--job", "no-such-job"]);
    assert_eq!(none.status.code(), Some(0));
    assert!(none.stdout.is_empty());
    assert!(
        stderr(&none).contains("\"no-such-job\""),
        "{}",
        stderr(&none)
    );
}

#[test]
fn operator_actions_show_who_did_what_and_never_terminal_controls() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let j = Journal::open(&dir.path().join("journal.db")).expect("journal");
        let rejected = json!({"ts": "1970-01-01T00:00:01.000Z", "kind": "command_rejected",
            "operator": "alice", "command": "failover llm to gpu-b",
            "reason": "the world changed under the dialog \x1b]52;c;cm0gLXJm\x07"});
        j.append_event(1_000, "command_rejected", None, &rejected)
            .unwrap();
        let accepted = json!({"kind": "command_accepted", "operator": "bob", "command": "pause all",
            "role": "admin", "origin": {"via": "ssh", "fingerprint": "SHA256:abc", "addr": "10.0.0.5:2200"}});
        j.append_event(2_000, "command_accepted", None, &accepted)
            .unwrap();
        let pruned = json!({"kind": "checkpoint", "what": "pruned", "job": "llm", "id": "ck-1",
            "store": "nas", "detail": "older than the newest 3"});
        j.append_event(3_000, "checkpoint", Some("llm"), &pruned)
            .unwrap();
        let started = json!({"kind": "supervisor_started", "detail": "pid 42, 4 jobs"});
        j.append_event(4_000, "supervisor_started", None, &started)
            .unwrap();
        j.append_event(5_000, "something_new", None, &json!({"x": 1}))
            .unwrap();
    }
    let text = history(dir.path(), &[]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let t = stdout(&text);
    assert!(t.contains("OPERATOR ACTIONS (4)"), "{t}");
    assert!(
        t.contains("alice: failover llm to gpu-b REJECTED — the world changed under the dialog \\x1b]52;c;cm0gLXJm\\x07"),
        "{t}"
    );
    assert!(!t.contains('\x1b') && !t.contains('\x07'));
    assert!(
        t.contains(
            "bob [admin; via ssh, addr 10.0.0.5:2200, fingerprint SHA256:abc]: pause all accepted"
        ),
        "{t}"
    );
    assert!(
        t.contains("checkpoint pruned llm/ck-1 [nas]: older than the newest 3"),
        "{t}"
    );
    assert!(t.contains("supervisor_started: pid 42, 4 jobs"), "{t}");
    assert!(t.contains("INCIDENTS (0)"), "{t}");

    let lines = json_lines(&history(dir.path(), &["--json"]));
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|v| v["type"] == "action"));
    assert_eq!(lines[0]["kind"], "command_rejected");
    assert_eq!(lines[0]["operator"], "alice");
    assert_eq!(lines[0]["accepted"], false);
    assert_eq!(lines[0]["job"], "llm");
    assert_eq!(lines[0]["role"], Value::Null);
    assert_eq!(lines[1]["origin"]["via"], "ssh");
    assert_eq!(lines[1]["role"], "admin");
    assert_eq!(lines[2]["what"], "pruned");
    assert_eq!(lines[3]["detail"], "pid 42, 4 jobs");

    let llm = json_lines(&history(dir.path(), &["--json", "--job", "llm"]));
    assert_eq!(llm.len(), 2, "{llm:?}");
}

#[test]
fn usage_errors_name_the_value_and_a_missing_journal_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = history(dir.path(), &["--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    assert!(
        err.contains("yesterday") && err.contains("1h") && err.contains("RFC 3339"),
        "{err}"
    );
    let missing = history(&dir.path().join("nothing-here"), &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nothing-here"),
        "{}",
        stderr(&missing)
    );
}
