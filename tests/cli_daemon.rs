//! Acting from the command line: `lifeboat failover|switchover|pause|resume` and
//! `checkpoints restore|prune` asked of the real `lifeboat daemon` holding the state dir
//! (the demo fleet, and a loopback sshd fleet with a NAS store), never done in the CLI's
//! own process; with no supervisor they say how to start one.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/tmux.rs"]
mod tmux;

use daemon::{bin, events, Daemon};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `lifeboat --state-dir DIR ARGS` with stdin not a terminal.
fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn accepted_from_cli(dir: &Path, command: &str) -> Vec<Value> {
    events(dir, "command_accepted")
        .into_iter()
        .filter(|e| e["command"] == command && e["origin"]["via"] == "cli")
        .collect()
}

#[test]
fn a_failover_from_the_cli_is_done_by_the_daemon_and_followed_to_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = Daemon::start(&["--demo", "--chaos", "off"], &dir);

    // Without a terminal to confirm on, --yes is required: usage error, nothing sent.
    let out = cli(&dir, &["failover", "llm-pretrain"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--yes"), "{err}");

    let out = cli(&dir, &["failover", "llm-pretrain", "--yes"]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{err}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("supervisor: daemon pid {}", d.pid()))
            && first.contains("cli, uid"),
        "{stdout}"
    );
    assert!(stdout.contains("llm-pretrain is RUNNING on"), "{stdout}");
    assert!(
        stdout.contains("accepted: failover llm-pretrain"),
        "{stdout}"
    );
    assert!(
        stdout.contains("STEP    llm-pretrain: [restart-in-place] launch ok"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.contains("RTO     llm-pretrain")),
        "the CLI ends with the failover: {stdout}"
    );
    wait_until(20, "the failover journaled", || {
        !events(&dir, "failover_finished").is_empty()
    });
    let finished: Vec<Value> = events(&dir, "failover_finished")
        .into_iter()
        .filter(|e| e["job"] == "llm-pretrain")
        .collect();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(accepted_from_cli(&dir, "failover llm-pretrain").len(), 1);

    // --json: the outcome (with who asked), then the notices, one object a line.
    let out = cli(&dir, &["--json", "failover", "llm-pretrain", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["outcome"], "accepted", "{lines:?}");
    assert_eq!(lines[0]["by"]["origin"]["via"], "cli", "{lines:?}");
    assert_eq!(lines[0]["supervisor"]["pid"], d.pid(), "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "failover_finished", "{lines:?}");
    assert_eq!(last["job"], "llm-pretrain");
    assert!(d.stop().success());
}

#[test]
fn on_a_terminal_the_failover_is_shown_and_asked_for_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = Daemon::start(&["--demo", "--chaos", "off"], &dir);
    let code = tmp.path().join("exit");
    let cmd = |answer: &str| {
        format!(
            "{} --state-dir {} failover llm-pretrain; echo $? > {}.{answer}",
            bin(),
            dir.display(),
            code.display()
        )
    };
    let exit = |answer: &str| {
        let file = format!("{}.{answer}", code.display());
        wait_until(30, "the command to end", || {
            std::path::Path::new(&file).exists()
        });
        std::fs::read_to_string(&file).unwrap().trim().to_string()
    };

    // Declined: nothing is sent.
    let t = tmux::Tmux::start(&cmd("n"), 160, 40);
    let s = t.wait_for("Fail over llm-pretrain now? [y/N]", 20);
    assert!(s.contains("llm-pretrain is RUNNING on gpu-a"), "{s}");
    assert!(s.contains("down its strategy chain"), "{s}");
    t.text("n");
    t.keys(&["Enter"]);
    assert_eq!(exit("n"), "1");
    t.wait_for("not confirmed; nothing was sent", 5);
    assert!(accepted_from_cli(&dir, "failover llm-pretrain").is_empty());

    // Confirmed: each step as it happens, to the end.
    let t = tmux::Tmux::start(&cmd("y"), 160, 40);
    t.wait_for("Fail over llm-pretrain now? [y/N]", 20);
    t.text("y");
    t.keys(&["Enter"]);
    assert_eq!(exit("y"), "0");
    let s = t.wait_for("RTO     llm-pretrain", 5);
    assert!(s.contains("accepted: failover llm-pretrain"), "{s}");
    assert_eq!(accepted_from_cli(&dir, "failover llm-pretrain").len(), 1);
    assert!(d.stop().success());
}

#[test]
fn pause_resume_and_refusals_go_through_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = Daemon::start(&["--demo", "--chaos", "off"], &dir);
    let status = |dir: &Path| -> Value {
        serde_json::from_slice(&cli(dir, &["status", "--json"]).stdout).unwrap()
    };

    let out = cli(&dir, &["pause"]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{err}");
    assert!(stdout.contains("accepted: pause all"), "{stdout}");
    assert!(
        stdout.contains("AUTO    automation paused for the whole fleet"),
        "{stdout}"
    );
    assert!(status(&dir)["automation"]["paused_by"].is_string());

    let out = cli(&dir, &["--json", "resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["outcome"], "accepted");
    assert_eq!(lines[0]["detail"], "resume all");
    assert!(lines
        .iter()
        .any(|l| l["kind"] == "automation_changed" && l["active"] == true));
    assert_eq!(status(&dir)["automation"]["paused_by"], Value::Null);
    assert_eq!(accepted_from_cli(&dir, "pause all").len(), 1);

    // A job that is not there: refused, naming the jobs that are.
    let out = cli(&dir, &["failover", "nosuchjob", "--yes"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("\"nosuchjob\"") && err.contains("llm-pretrain"),
        "{err}"
    );
    let out = cli(&dir, &["pause", "nosuchjob"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("llm-pretrain"), "{}", text(&out).1);

    // --readonly greets as a viewer: the daemon refuses, and journals who it refused.
    let out = cli(&dir, &["--readonly", "failover", "llm-pretrain", "--yes"]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{err}");
    assert!(stdout.contains("(viewer, cli, uid"), "{stdout}");
    assert!(err.contains("viewer"), "{err}");

    // A switchover to a busy GPU is the core's to refuse.
    let out = cli(
        &dir,
        &["switchover", "llm-pretrain", "--to", "gpu-b:0", "--yes"],
    );
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{err}");
    assert!(stdout.contains("refused: target not fit"), "{stdout}");

    // The demo keeps no checkpoint stores: a restore is asked, and refused with why.
    let out = cli(
        &dir,
        &[
            "checkpoints",
            "restore",
            "--job",
            "llm-pretrain",
            "--host",
            "gpu-a",
        ],
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("demo fleet is simulated"), "{err}");
    assert!(d.stop().success());
}

#[test]
fn with_no_supervisor_an_acting_verb_says_how_to_start_one_and_does_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    for args in [
        &["failover", "llm-pretrain", "--yes"][..],
        &["switchover", "llm-pretrain", "--to", "gpu-b", "--yes"],
        &["pause"],
        &["resume", "llm-pretrain"],
    ] {
        let out = cli(&dir, args);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("nothing supervises"), "{err}");
        assert!(err.contains("lifeboat daemon"), "{err}");
    }
    assert!(
        !dir.join("journal.db").exists(),
        "a verb acted in its own process"
    );
}

#[test]
fn restore_and_prune_through_a_daemon_on_a_real_fleet() {
    let fleet = loopback_fleet::start("clv");
    let cfg = std::fs::read_to_string(&fleet.config).unwrap();
    std::fs::write(
        &fleet.config,
        cfg.replace("auto_prune = false", "auto_prune = false\nkeep_last = 1"),
    )
    .unwrap();
    let work = fleet.dir.path().join("work");
    let ckpt = work.join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::create_dir_all(work.join("nas")).unwrap();
    let old = "step-00000100.ckpt";
    let id = "step-00000200.ckpt";
    let body: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(ckpt.join(old), &body[..4096]).unwrap();
    std::fs::write(ckpt.join(id), &body).unwrap();
    let want = lifeboat::core::manifest::hex(&Sha256::digest(&body));
    let state = fleet.dir.path().join("state");
    let config = fleet.config.to_str().unwrap().to_string();
    let d = Daemon::start(&["--config", &config], &state);
    wait_until(120, "both checkpoints replicated by the daemon", || {
        let done = events(&state, "checkpoint");
        [old, id].iter().all(|c| {
            done.iter()
                .any(|e| e["what"] == "replicated" && e["id"] == *c)
        })
    });
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(["--config", &config, "--state-dir"])
            .arg(&state)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    // --readonly still refuses, before anything is asked.
    let to = work.join("restored.ckpt");
    let restore = [
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
    ];
    let mut readonly = vec!["--readonly"];
    readonly.extend_from_slice(&restore);
    let out = run(&readonly);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("--readonly"), "{}", text(&out).1);

    let out = run(&restore);
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{stdout}\n{err}");
    assert!(
        err.contains(&format!("supervisor: daemon pid {}", d.pid())),
        "{err}"
    );
    assert!(
        stdout.starts_with(&format!("restored {}/{id}", fleet.job)),
        "{stdout}"
    );
    let landed = std::fs::read(&to).unwrap();
    assert_eq!(
        lifeboat::core::manifest::hex(&Sha256::digest(&landed)),
        want
    );
    let asked = format!("restore {} {id} to box", fleet.job);
    assert_eq!(
        accepted_from_cli(&state, &asked).len(),
        1,
        "{:?}",
        events(&state, "command_accepted")
    );

    // Prune: the plan printed here is what the daemon is asked to delete.
    let out = run(&[
        "--json",
        "checkpoints",
        "prune",
        "--yes",
        "--job",
        &fleet.job,
    ]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    let lines = json_lines(&out);
    let removed: Vec<&Value> = lines.iter().filter(|l| l["keep"] == false).collect();
    assert!(removed.iter().any(|r| r["id"] == old), "{lines:?}");
    let outcome = lines.iter().find(|l| l.get("outcome").is_some()).unwrap();
    assert_eq!(outcome["outcome"], "accepted", "{outcome}");
    assert_eq!(outcome["by"]["origin"]["via"], "cli");
    assert!(
        outcome["detail"].as_str().unwrap().starts_with(&format!(
            "deleted {} of {}",
            removed.len(),
            removed.len()
        )),
        "{outcome}"
    );
    assert!(!work
        .join("nas")
        .join(&fleet.job)
        .join(old)
        .join("manifest.json")
        .exists());
    let asked = format!("prune {} copies of {}", removed.len(), fleet.job);
    assert_eq!(accepted_from_cli(&state, &asked).len(), 1);
    assert!(d.stop().success());
    fleet.kill_runs();
}
