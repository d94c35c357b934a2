//! One incident, one page, through the binary: the demo with its restart budget spent and
//! a GPU that stays dead under a live job escalates once, pages once and stays escalated,
//! and the headless stream and `lifeboat status` say a human is needed.

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use std::process::Command;

fn lifeboat() -> Command {
    Command::cargo_bin("lifeboat").expect("binary built")
}

#[test]
fn a_spent_restart_budget_escalates_once_and_waits_for_a_human() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Three crashes spend the budget (3 restarts an hour); then GPU 0 falls off the bus
    // while the job's process lives on, which used to flap ESCALATING → RESOLVED →
    // RUNNING → INTERRUPTION_DETECTED and page every couple of seconds.
    let out = lifeboat()
        .args([
            "--demo",
            "--headless",
            "--chaos",
            "off",
            "--inject",
            "job-crash:llm-pretrain@2s",
            "--inject",
            "job-crash:llm-pretrain@8s",
            "--inject",
            "job-crash:llm-pretrain@14s",
            "--inject",
            "gpu-lost:llm-pretrain@20s",
            "--duration",
            "45s",
            "--state-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        lines("ESCALATE llm-pretrain NEEDS A HUMAN: restart budget spent"),
        1,
        "{text}"
    );
    assert_eq!(lines("llm-pretrain: INTERRUPTION_DETECTED → ESCALATING"), 1);
    // Nothing takes it out of ESCALATING but a human.
    assert_eq!(lines("llm-pretrain: ESCALATING →"), 0, "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("added to the open incident") && l.contains("GPU 0")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("NEEDS A HUMAN llm-pretrain: restart budget spent")),
        "the summary after the run names it: {text}"
    );

    // The notifications themselves (the demo's notifier writes them to its log): one
    // critical page for the incident.
    let mut log = String::new();
    for f in std::fs::read_dir(dir.path().join("logs")).expect("logs dir") {
        log.push_str(&std::fs::read_to_string(f.expect("entry").path()).unwrap_or_default());
    }
    let pages: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("notify: ") && l.contains("severity=Critical"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:#?}");
    assert!(pages[0].contains("llm-pretrain needs a human: restart budget spent"));

    let st = lifeboat()
        .args(["status", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("status");
    // Exit 3: the demo has ended, nothing supervises the state dir now.
    assert_eq!(st.status.code(), Some(3));
    let status = String::from_utf8_lossy(&st.stdout);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("NEEDS A HUMAN llm-pretrain: restart budget spent")),
        "{status}"
    );
    let st = lifeboat()
        .args(["status", "--json", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("status --json");
    let snap: Value = serde_json::from_slice(&st.stdout).expect("snapshot JSON");
    let job = snap["jobs"]
        .as_array()
        .and_then(|js| js.iter().find(|j| j["id"] == "llm-pretrain"))
        .cloned()
        .expect("job");
    assert_eq!(job["state"], "ESCALATING");
    let reason = job["escalation"]["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("restart budget spent"), "{job}");
    assert!(job["escalation"]["acknowledged"].is_null(), "{job}");
}
