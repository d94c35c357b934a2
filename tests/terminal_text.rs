//! Text outputs through the binary: what hosts said reaches the terminal escaped (never
//! as a title, clipboard or cursor control), a reader that leaves early (`| head -1`)
//! ends the output normally, and a read-only verb creates no state.

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

/// Sets the terminal title, then writes the clipboard (OSC 0, OSC 52).
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}]52;c;cm0gLXJm\u{7}\u{9b}2J\u{202e}";
const SHOWN: &str = "\\x1b]0;pwned\\x07\\x1b]52;c;cm0gLXJm\\x07\\u{9b}2J\\u{202e}";

fn lifeboat() -> Command {
    Command::cargo_bin("lifeboat").expect("binary built")
}

fn bin() -> std::process::Command {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("lifeboat"))
}

fn assert_clean(what: &str, text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(c), "{what} let {c:?} through:\n{text:?}");
    }
}

/// A state dir with a journal and a snapshot from a short demo run.
fn demo_state(dir: &Path) {
    let out = lifeboat()
        .args(["--demo", "--headless", "--duration", "1s", "--state-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Runs `cmd` with a stdout whose reader is already gone: every write fails with EPIPE.
fn with_closed_stdout(mut cmd: std::process::Command) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped());
    cmd.output().unwrap()
}

fn assert_normal_end(what: &str, out: &std::process::Output) {
    assert_ends_with(what, out, 0);
}

/// `status` on a state dir nothing supervises ends with 3 (after printing).
fn assert_ends_with(what: &str, out: &std::process::Output, code: i32) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
}

#[test]
fn status_shows_what_hosts_said_escaped() {
    let dir = tempfile::tempdir().unwrap();
    demo_state(dir.path());
    let journal =
        lifeboat::runtime::journal::Journal::open(&dir.path().join("journal.db")).unwrap();
    let mut snap: Value = journal.load("snapshot").unwrap().expect("a snapshot");
    snap["hosts"][0]["reason"] = Value::String(format!("nvidia-smi said {HOSTILE}"));
    snap["jobs"][0]["why"] = Value::String(format!("launch failed: {HOSTILE}\nFAKE ROW"));
    journal.save("snapshot", 0, &snap).unwrap();
    drop(journal);
    let out = lifeboat()
        .args(["status", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_clean("status", &text);
    assert!(text.contains(&format!("nvidia-smi said {SHOWN}")), "{text}");
    // A newline in a host's words cannot forge a row of its own.
    assert!(
        text.contains(&format!("launch failed: {SHOWN}\\nFAKE ROW")),
        "{text}"
    );
}

#[test]
fn status_and_the_headless_stream_end_quietly_when_the_reader_leaves() {
    let dir = tempfile::tempdir().unwrap();
    demo_state(dir.path());
    let mut status = bin();
    status.args(["status", "--state-dir"]).arg(dir.path());
    assert_ends_with("status", &with_closed_stdout(status), 3);
    let mut json = bin();
    json.args(["status", "--json", "--state-dir"])
        .arg(dir.path());
    assert_ends_with("status --json", &with_closed_stdout(json), 3);
    let mut demo = bin();
    demo.args(["--demo", "--headless", "--duration", "5s", "--state-dir"])
        .arg(dir.path().join("again"));
    assert_normal_end("--demo --headless", &with_closed_stdout(demo));
    // Through a real `head -1`: the first line arrives, then the stream ends with 0.
    let d = dir.path().join("piped");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' --demo --headless --duration 5s --state-dir '{}' | head -1",
            assert_cmd::cargo::cargo_bin("lifeboat").display(),
            d.display()
        ))
        .output()
        .unwrap();
    assert_normal_end("--demo --headless | head -1", &out);
    let first = String::from_utf8_lossy(&out.stdout);
    assert!(
        first.starts_with("Starting the simulated demo fleet"),
        "{first}"
    );
}

/// A stand-in `nvidia-smi` (there is no GPU here) whose GPU name and compute app carry
/// terminal controls.
fn hostile_nvidia_smi(dir: &Path) -> String {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/nvidia-smi/h100-idle.csv"
    );
    let bin = dir.join("standins");
    std::fs::create_dir_all(&bin).unwrap();
    let name = bin.join("nvidia-smi");
    std::fs::write(
        &name,
        format!(
            "#!/bin/sh\n# STAND-IN for nvidia-smi\ncase \"$*\" in *compute-apps*) printf '406, py%sthon, 1002\\n' \"$(printf '\\033]0;x\\007')\"; exit 0 ;; esac\nsed \"s/NVIDIA H100 80GB HBM3/H100 $(printf '\\033]52;c;eA==\\007')/\" {fixture}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn probe_prints_a_report_for_people_with_the_machines_words_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_nvidia_smi(dir.path());
    let runs = dir.path().join("runs");
    let probe = |args: &[&str]| {
        lifeboat()
            .arg("probe")
            .args(args)
            .env("PATH", &path)
            .env("LIFEBOAT_RUN_DIR", &runs)
            .output()
            .unwrap()
    };
    let out = probe(&[]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_clean("probe", &text);
    assert!(
        text.contains("GPU 0  H100 \\x1b]52;c;eA==\\x07  00000000:00:06.0  healthy"),
        "{text}"
    );
    assert!(text.contains("pid 406      py\\x1b]0;x\\x07thon"), "{text}");
    assert!(
        text.contains("Xid lines in the kernel log (this boot):"),
        "{text}"
    );
    assert!(text.contains("Verdict: healthy"), "{text}");
    // No Rust debug text.
    assert!(
        !text.contains("Some(") && !text.contains("Gpus(") && !text.contains("[]"),
        "{text}"
    );
    let raw = probe(&["--raw"]);
    let raw = String::from_utf8(raw.stdout).unwrap();
    assert_clean("probe --raw", &raw);
    assert!(
        raw.contains("@@nvsmi 0") && raw.contains("\\x1b]52;c;eA==\\x07"),
        "{raw}"
    );
    // JSON keeps the exact bytes (JSON-escaped) and is parseable.
    let json = probe(&["--json"]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["compute_apps"][0]["pid"], 406);
    assert!(v["xids"].is_array());
    // A closed stdout is a normal end here too.
    let mut closed = bin();
    closed
        .arg("probe")
        .env("PATH", &path)
        .env("LIFEBOAT_RUN_DIR", &runs);
    assert_normal_end("probe", &with_closed_stdout(closed));
}

fn config(dir: &Path) -> std::path::PathBuf {
    let text = format!(
        "[[host]]\nname = \"box\"\naddress = \"127.0.0.1\"\nrole = \"primary\"\ngpus = 1\n\n[[job]]\nname = \"llm\"\nhost = \"box\"\nworkdir = \"{d}\"\nlaunch = \"true\"\ncheckpoint_dir = \"{d}/ck\"\n\n[storage]\nnas = \"{d}/nas\"\n",
        d = dir.display()
    );
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn checkpoints_list_without_state_says_where_it_looked_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    // The default data dir (under XDG_DATA_HOME) must not appear for a read-only verb.
    let xdg = dir.path().join("xdg");
    let out = lifeboat()
        .args(["checkpoints", "list", "--config"])
        .arg(&cfg)
        .env("XDG_DATA_HOME", &xdg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let journal = xdg.join("lifeboat").join("journal.db");
    assert!(text.contains("no state yet"), "{text}");
    assert!(text.contains(&journal.display().to_string()), "{text}");
    assert!(!xdg.exists(), "list created {}", xdg.display());
    // --state-dir: the same, and JSON stays an empty list with the reason on stderr.
    let state = dir.path().join("state");
    let out = lifeboat()
        .args(["checkpoints", "list", "--json", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no state yet") && err.contains("state/journal.db"),
        "{err}"
    );
    assert!(!state.exists());
}
