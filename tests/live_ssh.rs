//! The binary on a config that points at a real sshd on loopback: it finds the job not
//! running and starts it, then a job killed on its host is detected and restarted.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
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

#[test]
fn a_job_killed_on_its_ssh_host_is_detected_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // A STAND-IN nvidia-smi (there is no GPU here) that replays the H100 fixture.
    let standins = dir.path().join("standins");
    std::fs::create_dir_all(&standins).unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/nvidia-smi/h100-idle.csv"
    );
    let tool = standins.join("nvidia-smi");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh
# STAND-IN for nvidia-smi
case \"$*\" in *compute-apps*) exit 0 ;; esac
cat {fixture}
"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&standins, std::fs::Permissions::from_mode(0o755)).unwrap();
    let host = sshd::Sshd::with(
        "live1",
        sshd::Options {
            standins: Some(standins.clone()),
            ..sshd::Options::default()
        },
    );
    let spec = host.spec();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    let job = format!("live-{}", std::process::id());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/jobs/toy_job.sh");
    let config = format!(
        r#"[settings]
profile = "lan"

[[host]]
name = "box"
address = "{addr}:{port}"
user = "{user}"
role = "primary"
gpus = 1
ssh_key = "{key}"
known_hosts = "{kh}"

[[job]]
name = "{job}"
host = "box"
gpu = 0
workdir = "{work}"
launch = "sh {script} --resume {{checkpoint}}"
heartbeat = "{work}/heartbeat"
checkpoint_dir = "{work}/ckpt"
strategies = ["restart-in-place", "escalate"]

[storage]
nas = "{work}/nas"
"#,
        addr = spec.address,
        port = spec.port,
        user = spec.user.clone().unwrap(),
        key = spec.ssh_key.clone().unwrap().display(),
        kh = spec.ssh.known_hosts.clone().unwrap().display(),
        work = work.display(),
    );
    let cfg = dir.path().join("fleet.toml");
    std::fs::write(&cfg, config).unwrap();
    let state = dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["--headless", "--json", "--duration", "40s", "--config"])
        .arg(&cfg)
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
    let pidfile = std::path::Path::new("/home/lifeboat-test/.lifeboat/runs")
        .join(&job)
        .join("e2.pid");
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
    // Leave nothing running on the host.
    for e in std::fs::read_dir(pidfile.parent().unwrap())
        .unwrap()
        .flatten()
    {
        if e.path().extension().is_none_or(|x| x != "pid") {
            continue;
        }
        let pid = std::fs::read_to_string(e.path()).unwrap_or_default();
        // Only a real job's process group: never 0 or 1, which would hit this test itself.
        if pid.trim().parse::<u32>().is_ok_and(|p| p > 1) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", pid.trim())])
                .status();
        }
    }
    let _ = std::fs::remove_dir_all(pidfile.parent().unwrap());
}
