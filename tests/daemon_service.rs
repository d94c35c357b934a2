//! Lifeboat as a service: the real binary as `lifeboat daemon` on a state dir, consoles and
//! CLI screens that attach to it over its Unix socket, one supervisor per state dir, and
//! SIGHUP reloads. Consoles run in real terminals (tmux).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

#[path = "support/tmux.rs"]
mod tmux;

#[path = "support/daemon.rs"]
mod daemon;

use daemon::{bin, events, Daemon};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tmux::Tmux;

fn status(dir: &Path) -> (Option<i32>, String, Value) {
    let text = Command::new(bin())
        .args(["status", "--state-dir"])
        .arg(dir)
        .output()
        .expect("status");
    let json = Command::new(bin())
        .args(["status", "--json", "--state-dir"])
        .arg(dir)
        .output()
        .expect("status --json");
    (
        text.status.code(),
        String::from_utf8_lossy(&text.stdout).into_owned(),
        serde_json::from_slice(&json.stdout).unwrap_or(Value::Null),
    )
}

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn one_supervisor_per_state_dir_and_every_screen_attaches_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = Daemon::start(&["--demo", "--chaos", "off"], &dir);

    // A second daemon is refused, naming the holder and how to attach instead.
    let second = Command::new(bin())
        .args(["daemon", "--demo", "--state-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("daemon pid {}", d.pid())), "{err}");
    assert!(err.contains("lifeboat --state-dir"), "{err}");

    // A demo "console" on that state dir attaches instead of supervising.
    let out = Command::new(bin())
        .args(["--demo", "--headless", "--duration", "2s", "--state-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with(&format!("Attached to the daemon pid {}", d.pid()))),
        "{text}"
    );

    let (code, text, json) = status(&dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with(&format!("supervisor: live — daemon pid {}", d.pid())),
        "{text}"
    );
    assert_eq!(json["supervisor"]["live"], true);

    // Stopped: status says nothing watches, since when and why, and exits 3.
    assert!(d.stop().success());
    let (code, text, json) = status(&dir);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.starts_with("supervisor: NONE since"), "{text}");
    assert!(text.contains("(stopped: SIGTERM)"), "{text}");
    assert_eq!(json["supervisor"]["live"], false);
    assert!(
        !dir.join("lifeboat.sock").exists(),
        "the socket was left behind"
    );
    // The kernel released the lock: the next daemon starts.
    let again = Daemon::start(&["--demo", "--chaos", "off"], &dir);
    assert!(again.stop().success());
}

#[test]
fn a_console_detaches_during_a_failover_and_sees_it_when_it_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = Daemon::start(
        &[
            "--demo",
            "--chaos",
            "off",
            "--inject",
            "gpu-lost:llm-pretrain@6s",
        ],
        &dir,
    );
    let code_file = tmp.path().join("console-exit");
    let cmd = format!(
        "{} --state-dir {}; echo $? > {}",
        bin(),
        dir.display(),
        code_file.display()
    );
    let t = Tmux::start(&cmd, 140, 40);
    t.wait_for(&format!("daemon {}@", d.pid()), 20);
    // Detach as soon as the failover is under way; it goes on without any console.
    t.keys(&["5"]);
    t.wait_for("select_target ok", 30);
    t.keys(&["q"]);
    wait_until(10, "the console to end on q", || {
        t.format("#{pane_dead}") == "1"
    });
    assert_eq!(std::fs::read_to_string(&code_file).unwrap().trim(), "0");
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "left in the alternate screen"
    );

    wait_until(60, "llm-pretrain running again", || {
        let (_, _, json) = status(&dir);
        json["jobs"].as_array().into_iter().flatten().any(|j| {
            j["id"] == "llm-pretrain" && j["state"] == "RUNNING" && j["epoch"].as_u64() > Some(1)
        })
    });
    let finished: Vec<Value> = events(&dir, "failover_finished")
        .into_iter()
        .filter(|e| e["job"] == "llm-pretrain")
        .collect();
    assert_eq!(
        finished.len(),
        1,
        "the failover finished once: {finished:?}"
    );

    // Re-attached, the events from before are there.
    let t2 = Tmux::start(&format!("{} --state-dir {}", bin(), dir.display()), 140, 40);
    t2.wait_for(&format!("daemon {}@", d.pid()), 20);
    t2.keys(&["5", "/"]);
    t2.text("RTO");
    t2.keys(&["Enter"]);
    let s = t2.wait_for("ms (detect", 10);
    assert!(s.contains("llm-pretrain →"), "{s}");
    t2.keys(&["Escape"]);

    // The daemon goes away: a loud banner, greyed data, and back once a daemon returns.
    drop(d);
    t2.wait_for("NO SUPERVISOR", 15);
    let d2 = Daemon::start(&["--demo", "--chaos", "off"], &dir);
    t2.wait_for(&format!("daemon {}@", d2.pid()), 20);
    let s = t2.screen();
    assert!(!s.contains("NO SUPERVISOR"), "{s}");
    t2.keys(&["q"]);
    wait_until(10, "the second console to end", || {
        t2.format("#{pane_dead}") == "1"
    });
}

#[test]
fn a_read_only_console_never_supervises() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let cmd = format!("{} --demo --readonly --state-dir {}", bin(), dir.display());
    let t = Tmux::start(&cmd, 120, 30);
    t.wait_for("NO SUPERVISOR", 20);
    t.wait_for("READ-ONLY", 5);
    assert!(
        lifeboat::runtime::service::lock::StateLock::probe(&dir).is_none(),
        "a read-only console took the state dir"
    );
    assert!(
        !dir.join("journal.db").exists(),
        "a read-only console started a runtime"
    );
    t.keys(&["q"]);
    wait_until(10, "the console to end on q", || {
        t.format("#{pane_dead}") == "1"
    });
}

#[test]
fn sighup_applies_a_good_config_and_keeps_the_running_one_for_a_bad_one() {
    let fleet = loopback_fleet::start("hup");
    let dir = fleet.dir.path().join("state");
    let config = fleet.config.to_str().unwrap().to_string();
    let d = Daemon::start(&["--config", &config], &dir);

    // A console with --config on a state dir the daemon holds attaches to it.
    let out = Command::new(bin())
        .args([
            "--config",
            &config,
            "--headless",
            "--duration",
            "1s",
            "--state-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("Attached to the daemon pid {}", d.pid())),
        "{text}"
    );

    // Commands that would write the stores beside it are refused, naming it.
    let out = Command::new(bin())
        .args([
            "--config",
            &config,
            "checkpoints",
            "replicate",
            "--state-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("daemon pid {}", d.pid())) && err.contains("would race it"),
        "{err}"
    );

    let good = std::fs::read_to_string(&fleet.config).unwrap();
    std::fs::write(&fleet.config, format!("{good}\n[[host]]\nname = \"\"\n")).unwrap();
    d.signal("HUP");
    wait_until(20, "the failed reload journaled", || {
        !events(&dir, "config_reload_failed").is_empty()
    });
    let why = events(&dir, "config_reload_failed")[0]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains("fleet.toml"),
        "the refusal names the file: {why}"
    );
    let (code, text, json) = status(&dir);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(json["profile"], "lan");

    std::fs::write(
        &fleet.config,
        good.replace("profile = \"lan\"", "profile = \"cloud\""),
    )
    .unwrap();
    d.signal("HUP");
    wait_until(30, "the new config in force", || {
        !events(&dir, "config_reloaded").is_empty() && status(&dir).2["profile"] == "cloud"
    });
    assert!(d.stop().success());
    fleet.kill_runs();
}

/// The pid of the `lifeboat` process under a tmux pane's shell.
fn console_pid(t: &Tmux) -> u32 {
    let pane: u32 = t.format("#{pane_pid}").trim().parse().unwrap();
    let mut todo = vec![pane];
    while let Some(p) = todo.pop() {
        if std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "lifeboat")
        {
            return p;
        }
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u32>().ok());
            if ppid == Some(p) {
                todo.push(child);
            }
        }
    }
    panic!("no lifeboat under pane {pane}");
}

#[test]
fn a_supervising_console_that_loses_its_terminal_supervises_on_headless() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let cmd = format!("{} --demo --chaos off --state-dir {}", bin(), dir.display());
    let t = Tmux::start(&cmd, 120, 30);
    t.wait_for("supervising here", 20);
    let pid = console_pid(&t);
    let _ = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status();
    wait_until(10, "the hang-up journaled", || {
        !events(&dir, "terminal_lost").is_empty()
    });
    // Still the supervisor: another screen attaches to it and status says so.
    let (code, text, _) = status(&dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with(&format!("supervisor: live — console pid {pid}")),
        "{text}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    wait_until(15, "the console to stop on SIGTERM", || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
    });
    let (code, text, _) = status(&dir);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("(stopped: SIGTERM)"), "{text}");
}
