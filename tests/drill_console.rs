//! The guided drill at the keyboard, in a real terminal (tmux): a console attached to a
//! demo daemon opens the Drills view, reads job-crash's plan, starts it by typing its
//! name, steps through it with Enter, lets it run to the end, confirms its manual step,
//! and sees it pass — with the report in the state dir. An abort by key is confirmed and
//! its rollbacks show. A read-only console watches but cannot start one.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/tmux.rs"]
mod tmux;

use daemon::{bin, Daemon};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tmux::Tmux;

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn reports(dir: &Path) -> Vec<Value> {
    std::fs::read_dir(dir.join("drills"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("report.json")).ok())
        .map(|b| serde_json::from_slice(&b).unwrap())
        .collect()
}

/// A demo daemon whose fleet has settled enough for job-crash's preconditions.
fn settled_daemon(dir: &Path) -> Daemon {
    let d = Daemon::start(&["--demo", "--chaos", "off"], dir);
    let state = dir.to_str().unwrap();
    wait_until(90, "job-crash's preconditions to pass", || {
        Command::new(bin())
            .args([
                "drill",
                "run",
                "job-crash",
                "--dry-run",
                "--state-dir",
                state,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
            .status
            .success()
    });
    d
}

/// A console on `dir` in tmux, on the Drills view with job-crash selected.
fn console_on_job_crash(dir: &Path, d: &Daemon, readonly: bool) -> Tmux {
    let ro = if readonly { " --readonly" } else { "" };
    let t = Tmux::start(
        &format!("{} --state-dir {}{ro}", bin(), dir.display()),
        160,
        48,
    );
    t.wait_for(&format!("daemon {}@", d.pid()), 20);
    t.keys(&["6"]);
    t.wait_for("RTO TREND", 10);
    t.wait_for("job-crash", 10);
    t.keys(&["/"]);
    t.text("job-crash");
    t.keys(&["Enter"]);
    t
}

#[test]
fn a_guided_job_crash_drill_from_the_drills_view_to_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = settled_daemon(&dir);
    let t = console_on_job_crash(&dir, &d, false);
    let s = t.screen();
    assert!(s.contains("never run"), "{s}");

    // Enter: the plan, checked on the fleet now.
    t.keys(&["Enter"]);
    let s = t.wait_for("Plan of job-crash", 10);
    for want in [
        "✓ readiness",
        "targets: jobs ",
        "3. [inject]",
        "clear-faults",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }

    // s: the plan again in a dialog that starts nothing until the name is typed.
    t.keys(&["s"]);
    t.wait_for("Start drill job-crash", 10);
    t.keys(&["Enter"]);
    t.wait_for("cancelled, nothing done", 5);
    assert!(reports(&dir).is_empty());
    t.keys(&["s"]);
    t.wait_for("Start drill job-crash", 10);
    t.text("job-crash");
    t.keys(&["Tab", "Enter"]);

    // It holds before each step; Enter runs one.
    t.wait_for("HOLDING (enter runs it", 20);
    t.wait_for("before 1. [diagnose]", 5);
    t.keys(&["Enter"]);
    t.wait_for("before 2. [diagnose]", 20);
    let s = t.screen();
    assert!(s.contains("passed  [diagnose] Where the job runs"), "{s}");
    assert!(s.contains("pending [inject]"), "{s}");
    t.keys(&["Enter"]);
    t.wait_for("before 3. [inject]", 20);
    t.keys(&["Enter"]);
    t.wait_for("before 4. [observe]", 20);
    let s = t.wait_for("since injection", 5);
    assert!(s.contains("DRILL job-crash"), "the banner: {s}");

    // r: the rest runs to the end; the manual step still waits for its human.
    t.keys(&["r"]);
    t.wait_for("WAITING for you", 180);
    let s = t.screen();
    assert!(s.contains("detection "), "{s}");
    assert!(s.contains("RPO "), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("FINISHED passed", 60);
    assert!(s.contains("rollback clear-faults"), "{s}");
    assert!(s.contains("RTO phases: "), "{s}");
    assert!(s.contains("✓ other-job-interrupted"), "{s}");

    // The report is in the state dir, and the list says passed.
    let r = reports(&dir);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["status"], "passed", "{:#}", r[0]);
    assert_eq!(r[0]["runbook"], "job-crash");
    assert_eq!(r[0]["steps"].as_array().unwrap().len(), 7);
    let s = t.wait_for(" ago", 10);
    let row = s
        .lines()
        .find(|l| l.contains("job-crash") && l.contains("ago"))
        .unwrap_or_default();
    assert!(row.contains("passed"), "{s}");
    t.keys(&["q"]);
    wait_until(10, "the console to end on q", || {
        t.format("#{pane_dead}") == "1"
    });
}

#[test]
fn an_abort_by_key_is_confirmed_and_its_rollbacks_show() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = settled_daemon(&dir);
    let t = console_on_job_crash(&dir, &d, false);
    t.keys(&["s"]);
    t.wait_for("Start drill job-crash", 10);
    t.text("job-crash");
    t.keys(&["Tab", "Enter"]);
    t.wait_for("before 1. [diagnose]", 20);
    for next in [
        "before 2. [diagnose]",
        "before 3. [inject]",
        "before 4. [observe]",
    ] {
        t.keys(&["Enter"]);
        t.wait_for(next, 20);
    }
    // x asks first; Enter on the focused Cancel keeps the drill going.
    t.keys(&["x"]);
    t.wait_for("Abort drill job-crash", 10);
    t.keys(&["Enter"]);
    t.wait_for("cancelled, nothing done", 5);
    assert!(t.screen().contains("HOLDING"), "{}", t.screen());
    t.keys(&["x"]);
    t.wait_for("Abort drill job-crash", 10);
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_for("FINISHED aborted", 60);
    assert!(s.contains("rollback clear-faults: undone"), "{s}");
    let r = reports(&dir);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["status"], "aborted", "{:#}", r[0]);
    assert!(
        r[0]["why"]
            .as_str()
            .unwrap()
            .contains("aborted from the console"),
        "{:#}",
        r[0]
    );
    assert!(r[0]["rollbacks"][0][1]["Ok"].is_string(), "{:#}", r[0]);
    t.keys(&["q"]);
    wait_until(10, "the console to end on q", || {
        t.format("#{pane_dead}") == "1"
    });
}

#[test]
fn a_read_only_console_watches_but_cannot_start_a_drill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = settled_daemon(&dir);
    let t = console_on_job_crash(&dir, &d, true);
    t.wait_for("READ-ONLY", 5);
    t.keys(&["s"]);
    t.wait_for("starting a drill refused", 5);
    // Reading the plan is allowed.
    t.keys(&["Enter"]);
    t.wait_for("Plan of job-crash", 10);
    assert!(!t.screen().contains("Start drill"));
    assert!(reports(&dir).is_empty());
    assert!(!dir.join("drills").exists(), "a drill started");
    t.keys(&["q"]);
    wait_until(10, "the console to end on q", || {
        t.format("#{pane_dead}") == "1"
    });
}
