//! The console end to end: the real binary in a real terminal (tmux), driven by keys.

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

#[path = "support/tmux.rs"]
mod tmux;
use tmux::Tmux;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn status(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["status", "--json", "--state-dir"])
        .arg(dir)
        .output()
        .expect("status");
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

#[test]
fn operator_fails_a_job_over_by_hand_through_the_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    // The exit status goes to a file: the screen is the console's until it quits.
    let status_file = dir.path().join("exit-status");
    let cmd = format!(
        "{bin} --demo --chaos off --state-dir {}; echo $? > {}",
        dir.path().display(),
        status_file.display()
    );
    let t = Tmux::start(&cmd, 120, 40);
    t.wait_for("Fleet", 20);
    t.wait_for("gpu-a", 10);

    // Switch views by number and by Tab.
    t.keys(&["2"]);
    t.wait_for("llm-pretrain", 5);
    t.keys(&["Tab"]);
    t.wait_for("RPO", 5);
    t.keys(&["BTab"]);

    // Help lists the keys of this view.
    t.keys(&["?"]);
    t.wait_for("Esc closes", 5);
    t.keys(&["Escape"]);

    // Filter down to one job, then fail it over by hand to spare-1:gpu1.
    t.keys(&["/"]);
    t.text("llm");
    t.keys(&["Enter"]);
    let s = t.wait_for("llm-pretrain", 5);
    assert!(!s.contains("diffusion"), "filter left other jobs:\n{s}");
    t.keys(&["f"]);
    t.wait_for("Fail over llm-pretrain", 5);
    // Cancel has the focus; Tab to the target list: "down the strategy chain", then
    // spare-1:gpu0, then spare-1:gpu1.
    t.keys(&["Tab", "Down", "Down", "Tab"]);
    t.text("llm-pretrain");
    t.keys(&["Tab", "Enter"]);
    t.keys(&["5"]);
    t.wait_for("RESOLVED", 30);

    let snap = status(dir.path());
    let job = snap["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "llm-pretrain")
        .cloned()
        .unwrap();
    assert_eq!(job["placement"]["host"], "spare-1");
    assert_eq!(job["placement"]["gpu"], 1);
    assert_eq!(job["state"], "RUNNING");

    // This console is the supervisor: q asks before the watching stops.
    t.keys(&["q"]);
    t.wait_for("stop watching 4 jobs", 5);
    t.keys(&["Tab", "Enter"]);
    // Quit restores the terminal: the program ends, the alternate screen is gone.
    let end = Instant::now() + Duration::from_secs(10);
    while t.format("#{pane_dead}") != "1" && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        t.format("#{pane_dead}"),
        "1",
        "still running:\n{}",
        t.screen()
    );
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "left in the alternate screen"
    );
    let code = std::fs::read_to_string(&status_file).unwrap_or_default();
    assert_eq!(code.trim(), "0", "the console's exit status");
    let s = t.screen();
    assert!(
        !s.contains("Fleet"),
        "the console's screen was left behind:\n{s}"
    );
}

#[test]
fn read_only_console_refuses_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    let cmd = format!(
        "{bin} --demo --readonly --chaos off --state-dir {}",
        dir.path().display()
    );
    let t = Tmux::start(&cmd, 100, 30);
    t.wait_for("READ-ONLY", 20);
    // A resize redraws the whole screen at the new size.
    t.run(&["resize-window", "-t", "0", "-x", "80", "-y", "24"]);
    std::thread::sleep(Duration::from_millis(500));
    let s = t.wait_for("READ-ONLY", 5);
    assert!(
        s.lines().all(|l| l.chars().count() <= 80),
        "wider than 80 columns:\n{s}"
    );
    assert!(
        s.lines().next().is_some_and(|l| l.contains("1 Fleet")),
        "tabs not on top:\n{s}"
    );
    t.keys(&["2", "f"]);
    t.wait_for("read-only", 5);
    let s = t.screen();
    assert!(!s.contains("Fail over"), "a dialog opened:\n{s}");
    t.keys(&["q"]);
}

#[test]
fn the_console_shows_a_live_ssh_host() {
    let fleet = loopback_fleet::start("tui1");
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    let cmd = format!(
        "{bin} --config {} --state-dir {}",
        fleet.config.display(),
        fleet.dir.path().join("state").display()
    );
    let t = Tmux::start(&cmd, 120, 30);
    // The real host over SSH, with the GPU its (stand-in) nvidia-smi reports.
    t.wait_for("box", 20);
    t.wait_for("H100", 20);
    t.keys(&["2"]);
    let s = t.wait_for("RUNNING", 20);
    assert!(s.contains(&fleet.job[..8]), "job not shown:\n{s}");
    t.keys(&["q"]);
}

#[test]
fn an_escalated_job_is_acknowledged_from_the_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    // Three crashes spend the restart budget; then the job's GPU dies: it escalates.
    let cmd = format!(
        "{bin} --demo --chaos off --inject job-crash:llm-pretrain@2s \
         --inject job-crash:llm-pretrain@8s --inject job-crash:llm-pretrain@14s \
         --inject gpu-lost:llm-pretrain@20s --state-dir {}",
        dir.path().display()
    );
    let t = Tmux::start(&cmd, 120, 40);
    t.wait_for("Fleet", 20);
    let s = t.wait_for("NEEDS A HUMAN", 60);
    assert!(s.contains("llm-pretrain: restart budget spent"), "{s}");
    t.wait_for("a acknowledge", 5);
    t.keys(&["a"]);
    let s = t.wait_for("acknowledged by", 10);
    assert!(
        !s.contains("a acknowledge"),
        "the key is still offered:\n{s}"
    );
    let snap = status(dir.path());
    let job = snap["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "llm-pretrain")
        .cloned()
        .unwrap();
    assert_eq!(job["state"], "ESCALATING", "its GPU is still dead");
    assert!(
        job["escalation"]["acknowledged"][0]
            .as_str()
            .is_some_and(|who| !who.is_empty()),
        "{job}"
    );
    t.keys(&["q"]);
}
