//! The job-control scripts under every `sh` a host may have: Debian's dash and busybox
//! ash. A fence must stop every process of the old run (children that ignore SIGTERM,
//! children that left the run's session) and prove it; what it cannot stop it names, and
//! it never claims "fenced" then. A recycled leader pid is never taken for the run.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use lifeboat::core::fleet::{HeartbeatSource, JobSpec};
use lifeboat::core::ids::{Epoch, HostId, JobId};
use lifeboat::runtime::scripts;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shells a host's `/bin/sh` may be, as the commands that read a script on stdin.
const SHELLS: &[&[&str]] = &[&["dash", "-s"], &["busybox", "sh", "-s"]];

/// A trainer with workers: one ignores SIGTERM (a stuck dataloader), one left the run's
/// session (setsid), each with a child of its own.
const TRAINER: &str = r#"(trap '' TERM; while :; do sleep 0.2; done) & (setsid sh -c 'while :; do sleep 0.2; done' &) ; while :; do sleep 0.2; done"#;

/// Each test its own job name: the tests run at once, and a fence finds runs by name.
fn job(dir: &Path, name: &str) -> JobSpec {
    JobSpec {
        id: JobId::new(name),
        host: HostId::new("here"),
        gpu: None,
        workdir: dir.to_path_buf(),
        launch: TRAINER.into(),
        cpu_launch: None,
        stop: None,
        heartbeat: HeartbeatSource::None,
        ready: Default::default(),
        checkpoint_dir: dir.join("ckpt"),
        standbys: Vec::new(),
        strategies: Vec::new(),
        env: Default::default(),
        checkpoint_marker: None,
        prestage: false,
        retention: None,
        workspace: None,
    }
}

/// Runs `script` under `shell` (as `user`, when given) with the runs in `runs`.
fn run(shell: &[&str], user: Option<&str>, runs: &Path, script: &str) -> String {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={u}"),
                &format!("--regid={u}"),
                "--init-groups",
            ]);
            c.args(shell);
            c
        }
        None => {
            let mut c = Command::new(shell[0]);
            c.args(&shell[1..]);
            c
        }
    };
    cmd.env("LIFEBOAT_RUN_DIR", runs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the shell starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("Syntax error") && !err.contains("syntax error"),
        "{shell:?}: {err}"
    );
    text
}

/// Processes whose environment carries `LIFEBOAT_RUN=<marker>…`, looked up in /proc
/// independently of the scripts; zombies are not running.
fn marked(marker: &str) -> Vec<u32> {
    sshd::with_env(&format!("LIFEBOAT_RUN={marker}"))
        .into_iter()
        .map(|(pid, _)| pid)
        .collect()
}

/// The run folder's key in run markers, as the host scripts compute it.
fn run_key(runs: &Path) -> String {
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | cksum | cut -d' ' -f1", "sh"])
        .arg(runs)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 2..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

fn zombie(pid: u32) -> bool {
    !sshd::running(pid)
}

fn session(pid: u32) -> Option<String> {
    stat_fields(pid).map(|f| f[3].clone())
}

fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

fn kill(pids: &[u32]) {
    for p in pids {
        let _ = Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status();
    }
}

#[test]
fn fence_stops_children_that_ignore_sigterm_or_left_the_session_under_dash_and_busybox() {
    for shell in SHELLS {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let j = job(dir.path(), "trainer");
        let out = run(
            shell,
            None,
            &runs,
            &scripts::launch(&j, Epoch(1), None, TRAINER),
        );
        assert!(out.contains("@@started"), "{shell:?}: {out}");
        let again = run(
            shell,
            None,
            &runs,
            &scripts::launch(&j, Epoch(1), None, TRAINER),
        );
        assert!(
            again.contains("@@already"),
            "{shell:?}: same epoch twice: {again}"
        );
        let leader: u32 = std::fs::read_to_string(runs.join("trainer/e1.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The run is what the test says it is: several processes, one outside the session.
        assert!(
            eventually(10, || {
                let m = marked("trainer:1:");
                m.len() >= 5 && m.iter().any(|p| session(*p) != Some(leader.to_string()))
            }),
            "{shell:?}: the trainer's workers did not start: {:?}",
            marked("trainer:1:")
        );
        let v = run(shell, None, &runs, &scripts::verify(&j, Epoch(1)));
        assert!(v.contains("@@running"), "{shell:?}: {v}");
        let p = run(
            shell,
            None,
            &runs,
            &scripts::probe(std::slice::from_ref(&j)),
        );
        assert!(
            p.contains("@@run trainer 1 1 -") && p.contains("@@end"),
            "{shell:?}: the probe does not see the run: {p}"
        );

        let fenced = run(shell, None, &runs, &scripts::fence(&j, Epoch(2), 1));
        let left = marked("trainer:1:");
        if !left.is_empty() {
            kill(&left);
        }
        assert!(
            fenced.contains("@@fenced") && fenced.contains("@@stopped 1"),
            "{shell:?}: {fenced}"
        );
        assert!(
            left.is_empty(),
            "{shell:?}: the fence said fenced, yet these processes of the old run live on: {left:?}"
        );
        let v = run(shell, None, &runs, &scripts::verify(&j, Epoch(1)));
        assert!(v.contains("@@not-running"), "{shell:?}: {v}");
        // A second fence finds nothing and says so again.
        let again = run(shell, None, &runs, &scripts::fence(&j, Epoch(2), 1));
        assert!(again.contains("@@fenced"), "{shell:?}: {again}");
    }
}

#[test]
fn fence_names_what_it_could_not_stop_and_never_says_fenced() {
    sshd::ensure_user();
    let user = sshd::USER;
    for shell in SHELLS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let runs = dir.path().join("runs");
        std::fs::create_dir_all(runs.join("survivor")).unwrap();
        // The run's leader belongs to root (the fence, run as the test user, cannot signal
        // it); its worker belongs to the test user and carries the run's marker.
        let mut leader: Child = Command::new("setsid")
            .args([
                "sh",
                "-c",
                &format!("setpriv --reuid={user} --regid={user} --init-groups sleep 1000 & exec sleep 1000"),
            ])
            .env("LIFEBOAT_RUN", format!("survivor:1:{}:", run_key(&runs)))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let lpid = leader.id();
        std::fs::write(runs.join("survivor/e1.pid"), format!("{lpid}\n")).unwrap();
        Command::new("chown")
            .args(["-R", &format!("{user}:"), runs.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(
            eventually(10, || marked("survivor:1:").len() >= 2),
            "{shell:?}: the worker did not start"
        );
        let out = run(
            shell,
            Some(user),
            &runs,
            &scripts::fence(&job(dir.path(), "survivor"), Epoch(2), 1),
        );
        let _ = leader.kill();
        let _ = leader.wait();
        kill(&marked("survivor:1:"));
        assert!(
            !out.contains("@@fenced"),
            "{shell:?}: a fence that left pid {lpid} alive claimed success: {out}"
        );
        assert!(
            out.contains(&format!("@@alive {lpid} ")),
            "{shell:?}: the survivor is not named: {out}"
        );
        assert!(
            runs.join("survivor/e1.pid").exists(),
            "{shell:?}: a run not stopped must not be marked stopped"
        );
    }
}

#[test]
fn a_recycled_leader_pid_is_never_taken_for_the_run() {
    for shell in SHELLS {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        std::fs::create_dir_all(runs.join("recycled")).unwrap();
        // An unrelated session now holds the pid the old run's file names.
        let mut other: Child = Command::new("setsid")
            .args(["sh", "-c", "sleep 1000 & exec sleep 1000"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let opid = other.id();
        std::fs::write(runs.join("recycled/e1.pid"), format!("{opid}\n")).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let out = run(
            shell,
            None,
            &runs,
            &scripts::fence(&job(dir.path(), "recycled"), Epoch(2), 1),
        );
        let alive = !zombie(opid);
        let kids: Vec<u32> = sshd::descendants(opid);
        let _ = other.kill();
        let _ = other.wait();
        kill(&kids);
        assert!(out.contains("@@fenced"), "{shell:?}: {out}");
        assert!(
            alive,
            "{shell:?}: the fence killed an unrelated process that reused the old leader's pid"
        );
    }
}

/// The launch's readiness waits under both shells: for a file the job makes, for its
/// heartbeat to move, and it reports a run that never signals as started (no signal).
#[test]
fn a_launch_waits_for_a_ready_file_or_the_heartbeat_under_dash_and_busybox() {
    use lifeboat::core::fleet::Readiness;
    for shell in SHELLS {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let mut j = job(dir.path(), "ready");
        let ready = dir.path().join("ready");
        j.ready = Readiness::File {
            path: ready.clone(),
        };
        let cmd = "sleep 0.5; touch ready; while :; do sleep 0.2; done";
        let out = run(
            shell,
            None,
            &runs,
            &scripts::launch(&j, Epoch(1), None, cmd),
        );
        assert!(
            out.contains("@@started") && out.contains("@@ready signalled"),
            "{shell:?}: {out}"
        );
        assert!(ready.exists(), "{shell:?}: returned before the file");
        let hb = dir.path().join("hb");
        j.heartbeat = HeartbeatSource::File { path: hb.clone() };
        j.ready = Readiness::Heartbeat;
        std::fs::write(&hb, "7 1\n").unwrap();
        let cmd = "sleep 0.5; echo '8 2' > hb; while :; do sleep 0.2; done";
        let out = run(
            shell,
            None,
            &runs,
            &scripts::launch(&j, Epoch(2), None, cmd),
        );
        assert!(out.contains("@@ready signalled"), "{shell:?}: {out}");
        assert_eq!(std::fs::read_to_string(&hb).unwrap(), "8 2\n", "{shell:?}");
        let out = run(shell, None, &runs, &scripts::fence(&j, Epoch(3), 1));
        assert!(out.contains("@@fenced"), "{shell:?}: {out}");
    }
}
