//! Drills on a real fleet: the fault scripts under dash and busybox against real processes
//! (a crash kills, a hang stops and is continued by the rollback or by its dead-man timer
//! on the host), and every shipped runbook run by a daemon on three loopback sshd hosts
//! (with the real S3 server where a store is lost, and `FakeVast` — a fake of Vast's API,
//! not the real service — as the provider that takes a spot host): the real toy job is
//! struck and Lifeboat brings it back, measured.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/failover_bed.rs"]
mod failover_bed;
#[path = "support/fake_vast.rs"]
mod fake_vast;
#[path = "support/http_recorder.rs"]
mod http_recorder;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/sshd.rs"]
mod sshd;

use daemon::{bin, Daemon};
use lifeboat::runtime::drill_faults as df;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The process state letter from /proc (R, S, T …), or None once it is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let c = rest.chars().next()?;
    (c != 'Z').then_some(c)
}

/// Runs `script` with `shell` (["dash"] or ["busybox", "sh"]) fed on stdin.
fn run(shell: &[&str], runs: &Path, script: &str) -> String {
    run_env(shell, runs, script, &[])
}

fn run_env(shell: &[&str], runs: &Path, script: &str, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(shell[0])
        .args(&shell[1..])
        .arg("-s")
        .envs(env.iter().copied())
        .env("LIFEBOAT_RUN_DIR", runs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A stand-in for a job's process, recorded as run e1 of `job`.
fn job_process(runs: &Path, job: &str) -> std::process::Child {
    let child = Command::new("sleep").arg("300").spawn().unwrap();
    let d = runs.join(job);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("e1.pid"), child.id().to_string()).unwrap();
    child
}

#[test]
fn the_fault_scripts_crash_and_hang_a_real_process_under_dash_and_busybox() {
    for shell in [&["dash"][..], &["busybox", "sh"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path();
        let job = "train it's"; // quoted through, like any job name

        let mut p = job_process(runs, job);
        let pid = p.id();
        let out = run(shell, runs, &df::hang(job, Duration::from_secs(300)));
        assert_eq!(
            df::said(&out).unwrap().split(' ').nth(2),
            Some(pid.to_string().as_str()),
            "{shell:?}: {out}"
        );
        wait_until(5, "the process stopped", || state(pid) == Some('T'));
        let timer =
            std::fs::read_to_string(runs.join(job).join(format!(".drill-hang.{pid}.sh.pid")))
                .unwrap();
        let timer: u32 = timer.trim().parse().unwrap();
        assert!(
            state(timer).is_some(),
            "the dead-man timer runs on the host"
        );
        let out = run(shell, runs, &df::unhang(job));
        assert_eq!(
            df::said(&out).unwrap(),
            "continued 1 stopped process(es)",
            "{shell:?}: {out}"
        );
        wait_until(5, "the process continued", || {
            state(pid).is_some_and(|s| s != 'T')
        });
        wait_until(5, "the dead-man timer disarmed", || state(timer).is_none());
        assert!(!runs
            .join(job)
            .join(format!(".drill-hang.{pid}.sh"))
            .exists());

        // Left alone, the dead-man continues it by itself.
        let out = run(shell, runs, &df::hang(job, Duration::from_secs(1)));
        assert!(df::said(&out).is_ok(), "{shell:?}: {out}");
        wait_until(5, "the process stopped", || state(pid) == Some('T'));
        wait_until(10, "the dead-man continued it", || {
            state(pid).is_some_and(|s| s != 'T')
        });
        let _ = run(shell, runs, &df::unhang(job));

        let out = run(shell, runs, &df::crash(job));
        assert_eq!(
            df::said(&out).unwrap(),
            format!("killed pid {pid} (run e1)"),
            "{shell:?}: {out}"
        );
        let _ = p.wait();
        assert!(state(pid).is_none());
        let out = run(shell, runs, &df::crash(job));
        assert!(
            df::said(&out).unwrap_err().contains("no running copy"),
            "{shell:?}: {out}"
        );

        // A planted GPU fault is what the probe reports in its Xid section, labelled
        // injected, until it is removed or expires (then the probe removes it).
        let probe = lifeboat::runtime::scripts::probe(&[]);
        let xids = |p: &str| p.split("@@xid").nth(1).unwrap_or("").to_string();
        let out = run(shell, runs, &df::gpu_lost(Duration::from_secs(300)));
        assert!(
            df::said(&out).unwrap().contains("Xid 79"),
            "{shell:?}: {out}"
        );
        let p = run(shell, runs, &probe);
        assert!(xids(&p).contains(df::GPU_LOST_LINE), "{shell:?}: {p}");
        assert_eq!(
            lifeboat::core::xid::parse_xid_lines(&xids(&p)),
            vec![79],
            "{shell:?}: {p}"
        );
        let out = run(shell, runs, &df::gpu_restore());
        assert_eq!(
            df::said(&out).unwrap(),
            "removed 1 GPU marker(s)",
            "{shell:?}: {out}"
        );
        assert!(!xids(&run(shell, runs, &probe)).contains("LIFEBOAT DRILL"));
        let _ = run(shell, runs, &df::gpu_lost(Duration::from_secs(1)));
        std::thread::sleep(Duration::from_millis(2100));
        assert!(
            !xids(&run(shell, runs, &probe)).contains("LIFEBOAT DRILL"),
            "{shell:?}: expired"
        );
        let left: Vec<_> = std::fs::read_dir(runs)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".drill-xid"))
            .collect();
        assert!(
            left.is_empty(),
            "{shell:?}: the probe removes an expired marker"
        );
    }
}

/// The drill rules the host's firewall holds for `port`.
fn drill_rules(port: u16) -> Vec<String> {
    let out = Command::new("iptables")
        .args(["-S", "INPUT"])
        .output()
        .expect("iptables (scripts/test.sh installs it)");
    assert!(out.status.success(), "iptables -S: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("lifeboat-drill") && l.contains(&format!("--dport {port} ")))
        .map(str::to_string)
        .collect()
}

/// How a connection to `port` goes: "ok", "refused" or "hangs".
fn knock(port: u16) -> &'static str {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(400)) {
        Ok(_) => "ok",
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => "refused",
        Err(_) => "hangs",
    }
}

#[test]
fn a_host_cut_drops_or_refuses_its_ssh_port_and_is_lifted_by_the_rollback_or_its_dead_man() {
    for shell in [&["dash"][..], &["busybox", "sh"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path();
        // Stands in for the host's sshd: the port the connection came in on is cut.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let conn = format!("127.0.0.1 40000 127.0.0.1 {port}");
        let env = [("SSH_CONNECTION", conn.as_str())];
        assert_eq!(knock(port), "ok");

        let out = run_env(
            shell,
            runs,
            &df::net_cut(df::Cut::Refuse, Duration::from_secs(300)),
            &env,
        );
        assert!(
            df::said(&out).unwrap().contains("connections refused"),
            "{shell:?}: {out}"
        );
        wait_until(10, "the port refuses", || knock(port) == "refused");
        assert_eq!(drill_rules(port).len(), 1, "{shell:?}");
        // A second cut of the same port is refused while the first is armed.
        let again = run_env(
            shell,
            runs,
            &df::net_cut(df::Cut::Hang, Duration::from_secs(300)),
            &env,
        );
        assert!(
            df::said(&again).unwrap_err().contains("already armed"),
            "{shell:?}: {again}"
        );
        let out = run_env(shell, runs, &df::net_restore(), &env);
        assert!(
            df::said(&out).unwrap().contains("1 dead-man"),
            "{shell:?}: {out}"
        );
        assert_eq!(knock(port), "ok", "{shell:?}");
        assert!(drill_rules(port).is_empty(), "{shell:?}");

        // Left alone, a hang lifts itself: the dead-man on the host removes the rule.
        let out = run_env(
            shell,
            runs,
            &df::net_cut(df::Cut::Hang, Duration::from_secs(2)),
            &env,
        );
        assert!(
            df::said(&out).unwrap().contains("a hang"),
            "{shell:?}: {out}"
        );
        wait_until(10, "the port hangs", || knock(port) == "hangs");
        wait_until(15, "the dead-man lifted the cut", || knock(port) == "ok");
        assert!(drill_rules(port).is_empty(), "{shell:?}");
        wait_until(5, "the dead-man removed itself", || {
            std::fs::read_dir(runs).unwrap().next().is_none()
        });
        let out = run_env(shell, runs, &df::net_restore(), &env);
        assert!(
            df::said(&out).unwrap().contains("0 dead-man"),
            "{shell:?}: {out}"
        );

        // Without the port, nothing is cut and the drill is told why.
        let out = run(
            shell,
            runs,
            &df::net_cut(df::Cut::Hang, Duration::from_secs(2)),
        );
        assert!(
            df::said(&out).unwrap_err().contains("SSH_CONNECTION"),
            "{shell:?}: {out}"
        );
    }
}

/// The output of the `n`th step of `kind` in report `r`.
fn step_output(r: &Value, kind: &str, n: usize) -> String {
    let steps = r["steps"].as_array().unwrap();
    let s = steps.iter().filter(|s| s["kind"] == kind).nth(n);
    s.unwrap_or_else(|| panic!("no {kind} step {n}: {r:#}"))["output"]
        .as_str()
        .unwrap()
        .to_string()
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

/// Runs the shipped runbook `name` (with `--yes`, and `extra`) through a daemon on `bed`
/// once its preconditions pass; `before` runs just before the drill starts. Returns the
/// daemon, the drill's report, and what `before` returned.
fn drill_on<T>(
    bed: &failover_bed::Bed,
    name: &str,
    extra: &[&str],
    before: impl FnOnce() -> T,
) -> (Daemon, Value, T) {
    drill_on_env(bed, name, extra, &[], before)
}

/// [`drill_on`] with `env` for the daemon (S3 credentials).
fn drill_on_env<T>(
    bed: &failover_bed::Bed,
    name: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    before: impl FnOnce() -> T,
) -> (Daemon, Value, T) {
    let config = bed.config.to_str().unwrap().to_string();
    let state = bed.state.to_str().unwrap().to_string();
    let daemon = Daemon::start_env(&["--config", &config], &bed.state, env);
    let cli = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .args(["--state-dir", &state])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // Probes answered, a first checkpoint verified in the NAS: the preconditions pass.
    wait_until(120, "the preconditions to pass", || {
        cli(&["drill", "run", name, "--dry-run"]).status.success()
    });
    let seen = before();
    let mut args = vec!["drill", "run", name, "--yes"];
    args.extend_from_slice(extra);
    let out = cli(&args);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    let r = reports(&bed.state).remove(0);
    (daemon, r, seen)
}

#[test]
fn the_job_crash_runbook_kills_the_real_job_over_ssh_and_lifeboat_brings_it_back() {
    let bed = failover_bed::start(
        "dr-crash",
        &["restart-in-place", "warm-standby", "escalate"],
    );
    let (daemon, r, before) = drill_on(&bed, "job-crash", &["--json"], || bed.alive(1));
    assert_eq!(before.len(), 1, "{before:?}");
    let r = &r;
    assert_eq!(r["status"], "passed", "{r:#}");
    let inject = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "inject")
        .unwrap();
    assert!(
        inject["output"]
            .as_str()
            .unwrap()
            .contains(&format!("h1: killed pid {}", before[0].1)),
        "{inject}"
    );
    let m = &r["measures"];
    eprintln!("job-crash drill on the loopback fleet measured: {m}");
    assert!(
        m["detection_s"].as_f64().unwrap() <= m["rto_s"].as_f64().unwrap(),
        "{m}"
    );
    assert!(m["rpo_steps"].as_u64().is_some(), "{m}");
    // The RTO's phases from the failover itself, and what its stage step moved.
    let phases: Vec<&str> = m["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_str().unwrap())
        .collect();
    assert!(
        phases.contains(&"fence") && phases.contains(&"launch"),
        "{m}"
    );
    assert!(m["restore_bytes"].as_u64().is_some(), "{m}");
    let md = std::fs::read_to_string(
        bed.state
            .join("drills")
            .join(r["run"].as_str().unwrap())
            .join("report.md"),
    )
    .unwrap();
    assert!(
        md.contains("RTO's phases") && md.contains("Restore: "),
        "{md}"
    );
    // The timeline draws the failover's phases too.
    let svg = std::fs::read_to_string(
        bed.state
            .join("drills")
            .join(r["run"].as_str().unwrap())
            .join("timeline.svg"),
    )
    .unwrap();
    assert!(svg.contains("<title>fence "), "{svg}");
    // Exactly one copy of the job runs, a newer run than the one killed.
    let now = bed.all_alive();
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(now[0].1 > before[0].0, "{now:?} after {before:?}");
    assert!(daemon.stop().success());
}

#[test]
fn the_gpu_failure_runbook_plants_an_xid_79_the_probe_reports_and_the_job_moves_to_the_standby() {
    let bed = failover_bed::start("dr-gpu", &["warm-standby", "cpu-standby", "escalate"]);
    let (daemon, r, ()) = drill_on(&bed, "gpu-failure", &[], || ());
    let r = &r;
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "gpu-failure drill on the loopback fleet measured: {}",
        r["measures"]
    );
    // The job runs on the standby now, once; the marker is gone from the primary.
    let now = bed.all_alive();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, 2, "{now:?}");
    let runs = bed.dir.path().join("runs-h1");
    let left: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".drill-xid"))
        .collect();
    assert!(left.is_empty(), "the rollback removed the marker: {left:?}");
    assert!(daemon.stop().success());
}

#[test]
fn the_restore_test_restores_to_scratch_on_the_standby_verifies_it_and_leaves_nothing() {
    let bed = failover_bed::start("dr-restore", &["warm-standby", "cpu-standby", "escalate"]);
    let (daemon, r, before) = drill_on(&bed, "restore-test", &[], || bed.alive(1));
    let r = &r;
    assert_eq!(r["status"], "passed", "{r:#}");
    let restore = &r["steps"][1];
    eprintln!(
        "restore-test drill on the loopback fleet said: {}",
        restore["output"]
    );
    assert!(
        restore["output"].as_str().unwrap().contains("on h2 in"),
        "{restore}"
    );
    let (host, path) = (
        r["scratch"][0].as_str().unwrap(),
        r["scratch"][1].as_str().unwrap(),
    );
    assert_eq!(host, "h2");
    assert!(!Path::new(path).exists(), "the scratch copy {path} is left");
    assert!(
        r["rollbacks"][0][1]["Ok"]
            .as_str()
            .unwrap()
            .contains("nothing of it is left"),
        "{r:#}"
    );
    // The job was never touched: the same run goes on.
    assert_eq!(bed.alive(1), before);
    assert!(daemon.stop().success());
}

/// Runs a runbook that cuts h1 off (`host-down`, `host-unreachable`): the job moves to the
/// standby, the cut is lifted, and Lifeboat stops the old copy once h1 answers again.
fn a_cut_host_fails_over(name: &str, bed_name: &str) {
    sshd::allow_firewall();
    let bed = failover_bed::start(bed_name, &["warm-standby", "cpu-standby", "escalate"]);
    let port = bed.host(1).port;
    let (daemon, r, before) = drill_on(&bed, name, &[], || bed.alive(1));
    let r = &r;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "{name} drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let inject = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "inject")
        .unwrap();
    assert!(
        inject["output"]
            .as_str()
            .unwrap()
            .contains(&format!("h1: cut SSH port {port}")),
        "{inject}"
    );
    // The rollback waited for h1 and lifted the cut; nothing of it is left there.
    assert!(
        r["rollbacks"][0][1]["Ok"]
            .as_str()
            .unwrap()
            .contains("the host answers again"),
        "{r:#}"
    );
    assert!(drill_rules(port).is_empty(), "the cut is left on h1");
    assert_eq!(knock(port), "ok");
    // One copy: the job runs on the standby, and the old copy on h1 is stopped once
    // Lifeboat sees it again.
    wait_until(60, "exactly one copy, on the standby", || {
        let now = bed.all_alive();
        now.len() == 1 && now[0].0 == 2
    });
    assert!(daemon.stop().success());
}

#[test]
fn the_host_down_runbook_refuses_the_hosts_ssh_port_and_the_job_moves_to_the_standby() {
    a_cut_host_fails_over("host-down", "dr-down");
}

#[test]
fn the_host_unreachable_runbook_drops_the_hosts_ssh_packets_and_the_job_moves_to_the_standby() {
    a_cut_host_fails_over("host-unreachable", "dr-hang");
}

#[test]
fn the_network_partition_runbook_cuts_half_the_fleet_and_automation_freezes_with_no_failover() {
    sshd::allow_firewall();
    let bed = failover_bed::start("dr-split", &["warm-standby", "cpu-standby", "escalate"]);
    let ports = [bed.host(1).port, bed.host(2).port];
    let (daemon, r, before) = drill_on(&bed, "network-partition", &[], || bed.alive(1));
    let r = &r;
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "network-partition drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let inject = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "inject")
        .unwrap();
    for (h, p) in ["h1", "h2"].iter().zip(ports) {
        assert!(
            inject["output"]
                .as_str()
                .unwrap()
                .contains(&format!("{h}: cut SSH port {p}")),
            "{inject}"
        );
        assert!(drill_rules(p).is_empty(), "the cut is left on {h}");
    }
    // Nothing moved: the same run of the job goes on where it was, and no failover began.
    assert_eq!(bed.alive(1), before);
    assert_eq!(bed.all_alive().len(), 1);
    // (The job's first start is journaled as failover steps too: only later ones count.)
    let started = r["started"].as_str().unwrap();
    let steps: Vec<_> = bed
        .journal("failover_step")
        .into_iter()
        .filter(|s| s["ts"].as_str().unwrap() >= started)
        .collect();
    assert!(
        steps.is_empty(),
        "{started}: {steps:?}\n{:#?}\n{:#?}",
        bed.journal("recovery_state"),
        bed.journal("automation_changed")
    );
    let frozen = bed.journal("automation_changed");
    assert!(!frozen.is_empty(), "the partition guard froze automation");
    assert!(daemon.stop().success());
}

/// Adds a real S3 store to `bed`'s config; the server and the daemon's credentials.
fn with_s3(bed: &failover_bed::Bed) -> (s3::S3Server, [(&'static str, &'static str); 2]) {
    let srv = s3::S3Server::start();
    let mut config = std::fs::read_to_string(&bed.config).unwrap();
    config.push_str(&format!(
        "\n[storage.s3]\nbucket = \"{}\"\nregion = \"{}\"\nendpoint = \"{}\"\npath_style = true\nprefix = \"lb\"\n",
        s3::BUCKET,
        s3::REGION,
        srv.endpoint()
    ));
    std::fs::write(&bed.config, config).unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY),
    ];
    (srv, env)
}

#[test]
fn the_checkpoint_corruption_runbook_flips_a_byte_in_the_nas_copy_and_the_scrub_repairs_it_from_s3()
{
    let bed = failover_bed::start("dr-rot", &["warm-standby", "cpu-standby", "escalate"]);
    let (_srv, env) = with_s3(&bed);
    let (daemon, r, before) =
        drill_on_env(&bed, "checkpoint-corruption", &[], &env, || bed.alive(1));
    let r = &r;
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "checkpoint-corruption drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let inject = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "inject")
        .unwrap();
    let said = inject["output"].as_str().unwrap();
    assert!(said.contains("in the NAS copy"), "{inject}");
    // The flipped copy was found bad and copied again: the journal says both.
    let notices = |what: &str| {
        daemon::events(&bed.state, "checkpoint")
            .into_iter()
            .filter(|e| e["what"] == what)
            .count()
    };
    assert!(notices("copy_bad") >= 1, "the scrub reported the bad copy");
    assert!(notices("repaired") >= 1, "the bad copy was repaired");
    // The NAS copy reads back as its manifest says again, and the job never moved.
    let out = Command::new(bin())
        .args(["checkpoints", "list", "--json", "--config"])
        .arg(&bed.config)
        .args(["--state-dir"])
        .arg(&bed.state)
        .envs(env)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("\"bad\""), "{text}");
    assert_eq!(bed.alive(1), before);
    assert!(daemon.stop().success());
}

#[test]
fn the_nas_lost_runbook_moves_the_nas_aside_the_failover_restores_from_s3_and_the_nas_is_repaired()
{
    let bed = failover_bed::start("dr-nas", &["warm-standby", "cpu-standby", "escalate"]);
    let (_srv, env) = with_s3(&bed);
    let (daemon, r, before) = drill_on_env(&bed, "nas-lost", &[], &env, || bed.alive(1));
    let r = &r;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "nas-lost drill on the loopback fleet measured: {}",
        r["measures"]
    );
    // The failover restored the checkpoint from S3: the NAS was gone.
    let started_ms = r["started_ms"].as_u64().unwrap();
    let restored: Vec<_> = daemon::events(&bed.state, "checkpoint")
        .into_iter()
        .filter(|e| e["what"] == "restored")
        .collect();
    assert!(
        restored.iter().any(|e| e["store"] == "s3"),
        "after {started_ms}: {restored:?}"
    );
    assert!(restored.iter().all(|e| e["store"] != "nas"), "{restored:?}");
    // And the failover's stage step says so.
    let started = r["started"].as_str().unwrap();
    let stages: Vec<_> = bed
        .journal("failover_step")
        .into_iter()
        .filter(|s| s["ts"].as_str().unwrap() >= started && s["step"] == "stage")
        .collect();
    assert!(
        stages
            .iter()
            .any(|s| s["ok"] == true && s["detail"].as_str().unwrap().contains("restored from s3")),
        "{stages:?}"
    );
    // The NAS is back where it was, nothing of the drill is left beside it or in the
    // state dir, and the job runs once, on the standby.
    assert!(bed.nas.is_dir());
    let aside = format!("{}.lifeboat-drill-lost", bed.nas.display());
    assert!(!Path::new(&aside).exists(), "{aside} is left");
    assert!(!bed.state.join(".drill-nas.sh").exists());
    let now = bed.all_alive();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, 2, "{now:?}");
    assert!(daemon.stop().success());
}

#[test]
fn the_nas_scripts_move_it_aside_and_back_and_refuse_a_link_under_dash_and_busybox() {
    use lifeboat::runtime::drill_nas as nas;
    for shell in [&["dash"][..], &["busybox", "sh"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("nas");
        let state = tmp.path().join("state");
        std::fs::create_dir_all(root.join("job")).unwrap();
        std::fs::write(root.join("job").join("f"), "data").unwrap();
        let aside = tmp.path().join("nas.lifeboat-drill-lost");

        let out = run(
            shell,
            tmp.path(),
            &nas::lose(&root, &state, Duration::from_secs(300)).unwrap(),
        );
        assert!(
            nas::said(&out).unwrap().contains("aside"),
            "{shell:?}: {out}"
        );
        assert!(!root.exists() && aside.join("job").join("f").exists());
        let again = run(
            shell,
            tmp.path(),
            &nas::lose(&root, &state, Duration::from_secs(300)).unwrap(),
        );
        assert!(nas::said(&again).is_err(), "{shell:?}: {again}");
        let out = run(shell, tmp.path(), &nas::give_back(&root, &state).unwrap());
        assert!(
            nas::said(&out).unwrap().contains("back"),
            "{shell:?}: {out}"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("job").join("f")).unwrap(),
            "data"
        );
        assert!(!aside.exists());

        // Left alone, the dead-man gives it back.
        let out = run(
            shell,
            tmp.path(),
            &nas::lose(&root, &state, Duration::from_secs(1)).unwrap(),
        );
        assert!(nas::said(&out).is_ok(), "{shell:?}: {out}");
        wait_until(10, "the dead-man gave the NAS back", || {
            root.join("job").join("f").exists() && !state.join(".drill-nas.sh").exists()
        });

        // A link is never followed.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        let out = run(
            shell,
            tmp.path(),
            &nas::lose(&link, &state, Duration::from_secs(300)).unwrap(),
        );
        assert!(
            nas::said(&out).unwrap_err().contains("link"),
            "{shell:?}: {out}"
        );
        assert!(root.join("job").join("f").exists());
    }
}

/// A team runbook dir beside `bed` with `host-down` as shipped but cut for `duration`,
/// named `name`, with `extra` TOML appended; the bed's config points at it.
fn team_host_down(bed: &failover_bed::Bed, name: &str, duration: &str, extra: &str) {
    let dir = bed.dir.path().join("runbooks");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/runbooks/host-down.toml"
    ))
    .unwrap();
    let text = shipped.replace("duration = \"150s\"", &format!("duration = \"{duration}\""));
    assert_ne!(
        text, shipped,
        "the shipped host-down runbook's duration moved"
    );
    std::fs::write(dir.join(format!("{name}.toml")), format!("{text}\n{extra}")).unwrap();
    let config = std::fs::read_to_string(&bed.config).unwrap();
    let config = config.replacen(
        "profile = \"lan\"\n",
        &format!("profile = \"lan\"\nrunbooks = \"{}\"\n", dir.display()),
        1,
    );
    std::fs::write(&bed.config, config).unwrap();
}

#[test]
fn a_stop_condition_firing_aborts_the_drill_and_its_rollback_lifts_the_cut() {
    sshd::allow_firewall();
    let bed = failover_bed::start("dr-stop", &["warm-standby", "cpu-standby", "escalate"]);
    let port = bed.host(1).port;
    // Recovery cannot be this fast: the stop condition fires.
    team_host_down(
        &bed,
        "host-down-strict",
        "30s",
        "[[stop]]\nwhen = \"rto-exceeds\"\nlimit = \"1s\"\n",
    );
    let config = bed.config.to_str().unwrap().to_string();
    let state = bed.state.to_str().unwrap().to_string();
    let daemon = Daemon::start(&["--config", &config], &bed.state);
    let cli = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .args(["--state-dir", &state])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    wait_until(120, "the preconditions to pass", || {
        cli(&["drill", "run", "host-down-strict", "--dry-run"])
            .status
            .success()
    });
    let out = cli(&["drill", "run", "host-down-strict", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = reports(&bed.state).remove(0);
    assert_eq!(r["status"], "aborted", "{r:#}");
    assert!(r["why"].as_str().unwrap().contains("rto-exceeds"), "{r:#}");
    assert!(
        r["rollbacks"][0][1]["Ok"]
            .as_str()
            .unwrap()
            .contains("the host answers again"),
        "{r:#}"
    );
    assert!(drill_rules(port).is_empty(), "the cut is left on h1");
    wait_until(90, "exactly one copy of the job", || {
        bed.all_alive().len() == 1
    });
    assert!(daemon.stop().success());
}

#[test]
fn a_daemon_killed_mid_cut_leaves_it_to_the_dead_man_and_the_next_daemon_rolls_back() {
    sshd::allow_firewall();
    let bed = failover_bed::start("dr-kill", &["warm-standby", "cpu-standby", "escalate"]);
    let port = bed.host(1).port;
    team_host_down(&bed, "host-down-short", "30s", "");
    let config = bed.config.to_str().unwrap().to_string();
    let state = bed.state.to_str().unwrap().to_string();
    let first = Daemon::start(&["--config", &config], &bed.state);
    let cli = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .args(["--state-dir", &state])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    wait_until(120, "the preconditions to pass", || {
        cli(&["drill", "run", "host-down-short", "--dry-run"])
            .wait()
            .unwrap()
            .success()
    });
    let mut run = cli(&["drill", "run", "host-down-short", "--yes"]);
    // Once the cut is recorded in flight and made, the daemon dies.
    let inflight = || -> Vec<Value> {
        std::fs::read_dir(bed.state.join("drills"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("inflight.json")).ok())
            .map(|b| serde_json::from_slice(&b).unwrap())
            .collect()
    };
    wait_until(60, "the cut made and recorded", || {
        !drill_rules(port).is_empty()
            && inflight()
                .iter()
                .any(|r| !r["injected"].as_array().unwrap().is_empty())
    });
    first.signal("KILL");
    let _ = run.wait();
    drop(first);
    // With nothing of Lifeboat alive, the host's own dead-man lifts the cut.
    wait_until(60, "the dead-man lifted the cut", || {
        drill_rules(port).is_empty()
    });
    assert!(
        reports(&bed.state).is_empty(),
        "no report for the killed run yet"
    );
    // The next daemon runs the rollback and reports the run interrupted.
    let second = Daemon::start(&["--config", &config], &bed.state);
    wait_until(90, "the interrupted drill's report", || {
        !reports(&bed.state).is_empty()
    });
    let r = reports(&bed.state).remove(0);
    assert_eq!(r["status"], "interrupted", "{r:#}");
    let rb = &r["rollbacks"][0][1];
    assert!(
        rb["Ok"]
            .as_str()
            .is_some_and(|s| s.contains("the host answers again")),
        "{r:#}"
    );
    assert!(inflight().is_empty(), "the in-flight record is gone");
    wait_until(90, "exactly one copy of the job", || {
        bed.all_alive().len() == 1
    });
    assert!(drill_rules(port).is_empty());
    assert!(second.stop().success());
}

#[test]
fn schedules_run_a_due_drill_skip_one_whose_preconditions_fail_and_tell_the_team() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hook = rt.block_on(http_recorder::HttpRecorder::start(vec![]));
    let bed = failover_bed::start("dr-sched", &["warm-standby", "cpu-standby", "escalate"]);
    // A team runbook that can never start: no checkpoint is ever a millisecond old.
    let dir = bed.dir.path().join("runbooks");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/runbooks/restore-test.toml"
    ))
    .unwrap();
    let never = shipped.replace("max_age = \"30m\"", "max_age = \"1ms\"");
    assert_ne!(never, shipped);
    std::fs::write(dir.join("never-ready.toml"), never).unwrap();
    let config = std::fs::read_to_string(&bed.config).unwrap().replacen(
        "profile = \"lan\"\n",
        &format!("profile = \"lan\"\nrunbooks = \"{}\"\n", dir.display()),
        1,
    );
    let config = format!(
        "{config}\n[[notify]]\nkind = \"webhook\"\nurl = \"{}/hook\"\n\n[[drill]]\nrunbook = \"never-ready\"\nevery = \"1h\"\n\n[[drill]]\nrunbook = \"restore-test\"\nevery = \"1h\"\nwindow = \"daily 00:00-24:00\"\n",
        hook.url()
    );
    std::fs::write(&bed.config, config).unwrap();
    let daemon = Daemon::start(&["--config", bed.config.to_str().unwrap()], &bed.state);
    // The first look is 30 s after the start: never-ready is skipped, restore-test runs.
    wait_until(180, "a scheduled restore test's report", || {
        reports(&bed.state)
            .iter()
            .any(|r| r["runbook"] == "restore-test")
    });
    let r = reports(&bed.state).remove(0);
    assert_eq!(r["status"], "passed", "{r:#}");
    assert_eq!(r["operator"], "scheduler", "{r:#}");
    let skipped: Vec<Value> = daemon::events(&bed.state, "drill")
        .into_iter()
        .filter(|e| e["what"] == "skipped")
        .collect();
    assert_eq!(
        skipped.len(),
        1,
        "skipped once, not every tick: {skipped:?}"
    );
    assert_eq!(skipped[0]["runbook"], "never-ready");
    assert!(
        skipped[0]["detail"]
            .as_str()
            .unwrap()
            .contains("checkpoint-fresh"),
        "{skipped:?}"
    );
    // The team heard both: the skip and, once it ended, the result.
    wait_until(60, "the result told", || {
        hook.requests()
            .iter()
            .any(|q| q.text().contains("Scheduled drill restore-test passed"))
    });
    let said: Vec<String> = hook.requests().iter().map(|q| q.text()).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("Scheduled drill never-ready skipped")),
        "{said:?}"
    );
    // History shows both as lines.
    let out = Command::new(bin())
        .args(["history", "--state-dir"])
        .arg(&bed.state)
        .output()
        .unwrap();
    let h = String::from_utf8_lossy(&out.stdout);
    assert!(h.contains("never-ready skipped by its schedule"), "{h}");
    assert!(h.contains("restore-test ("), "{h}");
    assert!(daemon.stop().success());
    drop(rt);
}

#[test]
fn the_job_hang_runbook_stops_the_real_job_and_lifeboat_restarts_it_once() {
    let bed = failover_bed::start(
        "dr-stall",
        &["restart-in-place", "warm-standby", "escalate"],
    );
    // A hang is a heartbeat that stops moving: judged after 15 s here, not the profile's 2 min.
    let config = std::fs::read_to_string(&bed.config).unwrap().replacen(
        "[recovery]\n",
        "[detection]\nheartbeat_hang_timeout = \"15s\"\n\n[recovery]\n",
        1,
    );
    std::fs::write(&bed.config, config).unwrap();
    let (daemon, r, before) = drill_on(&bed, "job-hang", &[], || bed.alive(1));
    let r = &r;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "job-hang drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let inject = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "inject")
        .unwrap();
    assert!(
        inject["output"]
            .as_str()
            .unwrap()
            .contains(&format!("stopped pid {}", before[0].1)),
        "{inject}"
    );
    // The stopped copy was fenced, not left stopped; one newer run goes on.
    assert!(state(before[0].1).is_none(), "the hung copy is left");
    let now = bed.all_alive();
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(now[0].1 > before[0].0, "{now:?} after {before:?}");
    assert!(daemon.stop().success());
}

#[test]
fn the_supervisor_loss_runbook_replaces_the_daemon_mid_failover_and_the_next_one_finishes_it_once()
{
    let bed = failover_bed::start("dr-super", &["warm-standby", "escalate"]);
    let (daemon, r, before) = drill_on(&bed, "supervisor-loss", &["--json"], || bed.alive(1));
    let r = &r;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "supervisor-loss drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let out = |kind: &str, n: usize| step_output(r, kind, n);
    // The kill landed while the failover was past its fence, with a step under way.
    let kill = out("inject", 1);
    assert!(kill.contains("was replaced"), "{kill}");
    assert!(kill.contains("FAILING_OVER ("), "{kill}");
    assert!(
        ["stage under way", "launch under way", "verify under way"]
            .iter()
            .any(|s| kill.contains(s)),
        "{kill}"
    );
    // The same process, a new image: the daemon answered again and went on with the run.
    assert!(failover_bed::alive(daemon.pid()), "the daemon lives on");
    let said = daemon.stderr();
    assert!(
        said.matches("Watching").count() >= 2,
        "started twice:\n{said}"
    );
    assert!(
        out("verify", 1).contains("one failover since epoch"),
        "{r:#}"
    );
    // Exactly once: one failover finished past the killed run's epoch (the first launch
    // is journaled as one too), one copy of the job runs, newer than the one killed.
    let finished: Vec<Value> = bed
        .journal("failover_finished")
        .into_iter()
        .filter(|f| f["epoch"].as_u64() > Some(before[0].0))
        .collect();
    assert_eq!(finished.len(), 1, "{finished:#?}");
    eprintln!("the supervisor-kill step said: {kill}");
    let now = bed.all_alive();
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(now[0].1 > before[0].0, "{now:?} after {before:?}");
    assert!(std::fs::read_dir(bed.state.join("drills"))
        .unwrap()
        .flatten()
        .all(|e| !e.path().join("inflight.json").exists()));
    assert!(daemon.stop().success());
}

#[test]
fn the_fleet_loss_runbook_takes_the_jobs_hosts_and_the_nas_and_the_job_comes_back_from_s3_alone() {
    sshd::allow_firewall();
    let bed = failover_bed::start("dr-fleet", &["warm-standby", "cpu-standby", "escalate"]);
    let port = bed.host(1).port;
    let (_srv, env) = with_s3(&bed);
    let (daemon, r, before) = drill_on_env(&bed, "fleet-loss", &[], &env, || bed.alive(1));
    let r = &r;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "fleet-loss drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let out = |kind: &str, n: usize| step_output(r, kind, n);
    let inject = out("inject", 0);
    assert!(inject.contains("moved the NAS folder"), "{inject}");
    eprintln!("the fleet-loss injection said: {inject}");
    assert!(
        inject.contains(&format!("h1: cut SSH port {port}")),
        "{inject}"
    );
    // The checkpoint came from S3: the NAS and the job's host were gone.
    assert!(out("verify", 1).contains("restored from s3"), "{r:#}");
    // The site is back: the cut lifted, the NAS where it was, nothing of the drill left,
    // and the job runs once, on the standby (the stale copy on h1 was fenced).
    assert!(drill_rules(port).is_empty(), "the cut is left on h1");
    assert!(bed.nas.is_dir());
    let aside = format!("{}.lifeboat-drill-lost", bed.nas.display());
    assert!(!Path::new(&aside).exists(), "{aside} is left");
    wait_until(60, "exactly one copy, on the standby", || {
        let now = bed.all_alive();
        now.len() == 1 && now[0].0 == 2
    });
    assert!(daemon.stop().success());
}

#[test]
fn the_spot_preemption_runbook_has_the_provider_take_the_host_and_the_job_moves_to_the_standby() {
    const KEY: &str = "fake-vast-key-drill-0123456789";
    const KEY_ENV: &str = "LIFEBOAT_DRILL_VAST_KEY";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(fake_vast::FakeVast::start(KEY));
    let bed = failover_bed::start("dr-spot", &["warm-standby", "cpu-standby", "escalate"]);
    // h1 is a spot instance (6001) of the fake provider.
    let config = std::fs::read_to_string(&bed.config).unwrap().replacen(
        "name = \"h1\"\n",
        "name = \"h1\"\nprovider = \"vast\"\ninstance = \"6001\"\n",
        1,
    ) + &format!(
        "\n[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key_env = \"{KEY_ENV}\"\napi_url = \"{}\"\npoll_every = \"1s\"\n",
        fake.base_url()
    );
    std::fs::write(&bed.config, config).unwrap();
    fake.set(6001, Some("running"), "running");
    let (daemon, r, before) = drill_on_env(&bed, "spot-preemption", &[], &[(KEY_ENV, KEY)], || {
        bed.alive(1)
    });
    let r = &r;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(r["status"], "passed", "{r:#}");
    eprintln!(
        "spot-preemption drill on the loopback fleet measured: {}",
        r["measures"]
    );
    let inject = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "inject")
        .unwrap();
    assert!(
        inject["output"]
            .as_str()
            .unwrap()
            .contains("h1: instance 6001 stopped through vast"),
        "{inject}"
    );
    // Through the provider's API: stopped by the drill, started again by its rollback.
    let states: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.method == "PUT" && c.target == "/api/v0/instances/6001/")
        .map(|c| c.body["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(states, ["stopped", "running"], "{:?}", fake.call_lines());
    assert_eq!(fake.intended(6001).as_deref(), Some("running"));
    // One copy: on the standby; the copy on the taken host was fenced.
    wait_until(60, "exactly one copy, on the standby", || {
        let now = bed.all_alive();
        now.len() == 1 && now[0].0 == 2
    });
    assert!(daemon.stop().success());
}
