//! Real failovers on real sshd hosts: a job that advances a step counter and writes
//! checkpoints dies (its process killed, its host's sshd killed, its host frozen), and
//! each time Lifeboat fences the old copy, restores the newest verified checkpoint on a
//! standby, relaunches there and proves it runs. The step counter goes on from the
//! checkpoint, exactly one copy runs, and the journal holds the RTO breakdown.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/failover_bed.rs"]
mod failover_bed;

use failover_bed::{eventually, Bed, Console};
use serde_json::Value;
use std::time::Duration;

const CHAIN: &[&str] = &["warm-standby", "cpu-standby", "escalate"];

/// Waits until the job runs on h1 and a checkpoint of it has been verified in the NAS;
/// returns that checkpoint's step.
fn primed(bed: &Bed, c: &mut Console) -> u64 {
    c.wait(40, |v| {
        v["kind"] == "recovery_state" && v["to"] == "RESOLVED"
    });
    let job = bed.job.clone();
    let ck = c.wait(60, |v| {
        v["kind"] == "checkpoint_recorded" && v["job"] == job
    });
    ck["step"].as_u64().unwrap()
}

/// The reason the job's incident opened with, and whether it waited out reconnects.
fn incident(c: &Console) -> (String, bool) {
    let cause = c
        .seen
        .iter()
        .find(|v| v["kind"] == "recovery_state" && v["to"] == "INTERRUPTION_DETECTED")
        .and_then(|v| v["reason"].as_str())
        .unwrap_or_default()
        .to_string();
    let reconnected = c.count(|v| v["kind"] == "recovery_state" && v["to"] == "RECONNECTING") > 0;
    (cause, reconnected)
}

/// Waits for the failover to finish well; returns its event.
fn failed_over(c: &mut Console, secs: u64) -> Value {
    let done = c.wait(secs, |v| v["kind"] == "failover_finished");
    assert_eq!(done["ok"], true, "{done}\n{:#?}", c.seen);
    done
}

/// The checkpoint step the run of `epoch` on host `n` resumed after (from its log).
fn resumed_after(bed: &Bed, n: usize, epoch: u64) -> u64 {
    let log = bed.log(n, epoch);
    let line = log
        .lines()
        .find_map(|l| l.strip_prefix("toy job: resuming after step "))
        .unwrap_or_else(|| panic!("run e{epoch} on h{n} logged: {log:?}"));
    line.trim().parse().unwrap()
}

/// What must hold after a failover to host `n`: the new run resumed from a verified
/// checkpoint at least as new as `floor`, it advances past it, it is the only copy, and
/// the journal has the breakdown.
fn check_resumed(bed: &Bed, done: &Value, n: usize, floor: u64) {
    let epoch = done["epoch"].as_u64().unwrap();
    let host = done["target"]["host"].as_str().unwrap();
    assert!(
        host.ends_with(&format!("h{n}")) || host == format!("h{n}"),
        "{done}"
    );
    let from = resumed_after(bed, n, epoch);
    assert!(
        from >= floor && from > 0,
        "resumed after {from}, want ≥ {floor}"
    );
    // The restored file is on the standby because Lifeboat put it there.
    let restored = bed
        .work(n)
        .join("ckpt")
        .join(format!("step-{from:08}.ckpt"));
    assert!(restored.exists(), "{} missing", restored.display());
    eventually(20, "the step counter goes on from the checkpoint", || {
        bed.step(n).is_some_and(|s| s > from)
    });
    eventually(20, "exactly one copy runs", || {
        let all = bed.all_alive();
        all.len() == 1 && all[0].0 == n && all[0].1 == epoch
    });
    // Not one process of an older run is left, its workers included (one of them
    // ignores SIGTERM), looked up in /proc rather than in Lifeboat's pid files.
    eventually(20, "no process of an older run is left", || {
        bed.run_processes().iter().all(|(e, _)| *e == epoch)
    });
    assert!(
        bed.run_processes()
            .iter()
            .filter(|(e, _)| *e == epoch)
            .count()
            >= 3,
        "the new run and its two workers: {:?}",
        bed.run_processes()
    );
    let finished = bed.journal("failover_finished");
    let last = finished.last().expect("failover_finished in the journal");
    let shares: Vec<&str> = last["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    for step in ["fence", "stage", "launch", "verify"] {
        assert!(shares.contains(&step), "{step} missing from {last}");
    }
    assert!(last["rto_ms"].as_u64().unwrap() > 0, "{last}");
}

#[test]
fn a_killed_job_resumes_on_the_warm_standby_from_its_newest_checkpoint() {
    let bed = failover_bed::start("fo-kill", CHAIN);
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    bed.signal_runs(1, "KILL");
    let done = failed_over(&mut c, 60);
    check_resumed(&bed, &done, 2, floor);
}

/// With the periodic probe ten minutes away, only the host's exit watch can notice the
/// kill: the failover starts from its hint, and the probe it asks for is what detects it.
#[test]
fn a_killed_job_is_noticed_by_its_hosts_exit_watch_without_waiting_for_the_next_probe() {
    let bed = failover_bed::start_tuned(
        "fo-watch",
        CHAIN,
        &["h2:0", "h3"],
        "",
        "[detection]\nprobe_interval = \"10m\"\nprobe_timeout = \"5s\"\n\n",
    );
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    // The watch starts once the job's host is seen healthy with the job on it.
    std::thread::sleep(std::time::Duration::from_secs(2));
    bed.signal_runs(1, "KILL");
    let done = failed_over(&mut c, 60);
    check_resumed(&bed, &done, 2, floor);
}

#[test]
fn a_dead_sshd_fails_the_job_over_and_the_copy_left_behind_is_fenced_when_it_returns() {
    let mut bed = failover_bed::start("fo-sshd", CHAIN);
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    // sshd dies; the job on it goes on, out of reach.
    bed.host_mut(1).kill();
    let done = failed_over(&mut c, 60);
    // Refused to Lifeboat and to the standby: lost, no reconnect attempts.
    let (why, reconnected) = incident(&c);
    assert!(
        why.contains("lost: 2 probe(s) missed")
            && why.contains("refused the connection")
            && why.contains("peer: down: h2 cannot connect to it"),
        "{why}"
    );
    assert!(!reconnected, "{why}");
    let epoch = done["epoch"].as_u64().unwrap();
    let fence = c
        .seen
        .iter()
        .find(|v| v["kind"] == "failover_step" && v["step"] == "fence")
        .cloned()
        .unwrap();
    assert!(
        fence["detail"].as_str().unwrap().contains("revoked"),
        "{fence}"
    );
    assert_eq!(bed.alive(1).len(), 1, "the unreachable copy still runs");
    // The host comes back: its stale copy is stopped; only the new one runs.
    bed.host_mut(1).restart();
    eventually(30, "the stale copy on h1 is fenced", || {
        bed.alive(1).is_empty()
    });
    check_resumed(&bed, &done, 2, floor);
    assert!(bed.alive(2).iter().any(|(e, _)| *e == epoch));
}

#[test]
fn a_frozen_host_fails_over_and_its_late_checkpoints_are_never_replicated() {
    let bed = failover_bed::start("fo-stop", CHAIN);
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    bed.host(1).pause();
    bed.signal_runs(1, "STOP");
    // Silent to Lifeboat (TCP accepted, no banner) and to the standby: lost at once.
    let done = failed_over(&mut c, 90);
    let (why, reconnected) = incident(&c);
    assert!(
        why.contains("lost: 2 probe(s) missed")
            && why.contains("accepts TCP but sends no SSH banner")
            && why.contains("peer: down: silent to h2 too"),
        "{why}"
    );
    assert!(!reconnected, "{why}");
    // While frozen, the old copy "writes" a checkpoint far ahead of the new one.
    let late = bed.work(1).join("ckpt").join("step-00099950.ckpt");
    std::fs::write(&late, vec![7u8; 4096]).unwrap();
    bed.host(1).resume();
    bed.signal_runs(1, "CONT");
    eventually(30, "the thawed copy on h1 is fenced", || {
        bed.alive(1).is_empty()
    });
    check_resumed(&bed, &done, 2, floor);
    // Two discovery rounds later the late checkpoint is still nowhere in the stores.
    std::thread::sleep(Duration::from_secs(12));
    let nas = bed.nas.join(&bed.job);
    let ids: Vec<String> = std::fs::read_dir(&nas)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(!ids.iter().any(|i| i.contains("99950")), "{ids:?}");
    let recorded = bed.journal("checkpoint_recorded");
    assert!(
        recorded.iter().all(|v| v["step"].as_u64() != Some(99950)),
        "{recorded:?}"
    );
}

/// Drops Lifeboat's own packets to one port (root's: the tests run as root, the hosts'
/// sessions as their user), as a partition between Lifeboat and a host would; gone on drop.
struct Cut {
    rule: Vec<String>,
}

impl Cut {
    fn lifeboat_from(port: u16) -> Self {
        let rule: Vec<String> = format!(
            "OUTPUT -p tcp -d 127.0.0.1 --dport {port} -m owner --uid-owner 0 -m comment --comment lifeboat-test-cut -j DROP"
        )
        .split(' ')
        .map(str::to_string)
        .collect();
        let cut = Cut { rule };
        cut.iptables("-I");
        cut
    }

    fn iptables(&self, how: &str) {
        let ok = std::process::Command::new("iptables")
            .arg(how)
            .args(&self.rule)
            .status()
            .expect("iptables (scripts/test.sh installs it)");
        assert!(ok.success(), "iptables {how} {:?}", self.rule);
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        self.iptables("-D");
    }
}

#[test]
fn a_host_cut_off_from_lifeboat_alone_keeps_its_job_while_the_standby_sees_it_run() {
    let bed = failover_bed::start("fo-cut", CHAIN);
    let mut c = bed.console("150s");
    primed(&bed, &mut c);
    c.drain();
    let before = c.seen.len();
    let cut = Cut::lifeboat_from(bed.host(1).port);
    c.wait(20, |v| {
        v["kind"] == "health_changed" && v["host"] == "h1" && v["to"] == "suspect"
    });
    // Well past the `lan` ceiling (3 misses) and the reconnect attempts (31 s).
    std::thread::sleep(Duration::from_secs(40));
    c.drain();
    let since_cut = |c: &Console, kind: &str, to: &str| {
        c.seen[before..]
            .iter()
            .filter(|v| v["kind"] == kind && (to.is_empty() || v["to"] == to))
            .count()
    };
    let failed = since_cut(&c, "health_changed", "failed");
    let interrupted = since_cut(&c, "recovery_state", "INTERRUPTION_DETECTED");
    assert_eq!((failed, interrupted), (0, 0), "{:#?}", &c.seen[before..]);
    drop(cut);
    c.wait(30, |v| {
        v["kind"] == "health_changed" && v["host"] == "h1" && v["to"] == "healthy"
    });
    c.drain();
    let steps = since_cut(&c, "failover_step", "");
    assert_eq!(steps, 0, "{:#?}", &c.seen[before..]);
    assert_eq!(bed.alive(1).len(), 1, "the job ran on where it was");
    assert!(bed.alive(2).is_empty());
}

#[test]
fn with_the_warm_standby_down_the_cpu_standby_takes_the_job_and_gives_it_back() {
    let mut bed = failover_bed::start_full(
        "fo-cpu",
        CHAIN,
        &["h2:0", "h3"],
        "workspace = { every = \"10s\" }",
    );
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    // The GPU standby is gone first; the job's host dies next.
    bed.host_mut(2).kill();
    c.wait(20, |v| {
        v["kind"] == "health_changed" && v["host"] == "h2" && v["to"] == "failed"
    });
    bed.signal_runs(1, "KILL");
    let done = failed_over(&mut c, 60);
    let picked = c
        .seen
        .iter()
        .filter(|v| v["kind"] == "failover_step" && v["step"] == "select_target")
        .map(|v| (v["strategy"].to_string(), v["ok"] == true))
        .collect::<Vec<_>>();
    assert!(
        picked.contains(&("\"warm-standby\"".into(), false))
            && picked.contains(&("\"cpu-standby\"".into(), true)),
        "{picked:?}"
    );
    check_resumed(&bed, &done, 3, floor);
    // Work done on the CPU standby's workspace goes back with the job.
    std::fs::write(bed.work(3).join("notes.txt"), "written on the CPU standby").unwrap();
    let on_cpu = done["epoch"].as_u64().unwrap();
    let from_cpu = resumed_after(&bed, 3, on_cpu);
    // h1 has been healthy all along: after `return_after` (15 s here) the job goes home.
    let back = c.wait(90, |v| v["kind"] == "failover_finished");
    assert_eq!(back["ok"], true, "{back}");
    let sync = c
        .seen
        .iter()
        .find(|v| v["kind"] == "failover_step" && v["step"] == "sync")
        .cloned()
        .unwrap();
    assert_eq!(sync["ok"], true, "{sync}");
    assert_eq!(
        std::fs::read_to_string(bed.work(1).join("notes.txt")).unwrap(),
        "written on the CPU standby"
    );
    check_resumed(&bed, &back, 1, from_cpu);
}

#[test]
fn a_lifeboat_with_a_fresh_state_folder_follows_the_moved_job_and_never_restarts_it() {
    let bed = failover_bed::start("fo-fresh", CHAIN);
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    bed.signal_runs(1, "KILL");
    let done = failed_over(&mut c, 60);
    check_resumed(&bed, &done, 2, floor);
    let epoch = done["epoch"].as_u64().unwrap();
    c.crash();
    // Its state is lost: another Lifeboat starts from nothing on the same fleet.
    let fresh = bed.dir.path().join("state-fresh");
    let mut again = bed.console_in("60s", &fresh);
    let learned = again.wait(40, |v| {
        v["kind"] == "decision"
            && v["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("learned e{epoch}")))
    });
    assert!(
        learned["reason"].as_str().unwrap().contains("h2"),
        "{learned}"
    );
    // A few probe rounds later: nothing was relaunched or fenced; the moved copy runs on.
    std::thread::sleep(Duration::from_secs(8));
    again.drain();
    assert_eq!(
        again.count(|v| v["kind"] == "failover_started" || v["kind"] == "failover_step"),
        0,
        "{:?}",
        again.seen
    );
    assert!(
        bed.alive(1).is_empty(),
        "relaunched on h1: {:?}",
        bed.alive(1)
    );
    let runs = bed.run_processes();
    assert!(
        !runs.is_empty() && runs.iter().all(|(e, _)| *e == epoch),
        "{runs:?}"
    );
    assert!(bed.alive(2).iter().any(|(e, _)| *e == epoch));
}

#[test]
fn a_checkpoint_planted_in_the_nas_is_never_a_failovers_restore_source() {
    use lifeboat::core::manifest::{hex, Manifest, ManifestFile, FORMAT};
    use sha2::Digest;
    let bed = failover_bed::start("fo-plant", CHAIN);
    let mut c = bed.console("150s");
    let floor = primed(&bed, &mut c);
    // The supervisor goes away (verify is refused beside a live one); the job runs on.
    c.crash();
    // Someone else's checkpoint, a far higher step, with a valid manifest.
    let id = "step-99999999.ckpt";
    let data = b"not this job's".to_vec();
    let m = Manifest {
        format: FORMAT,
        job: bed.job.clone(),
        id: id.into(),
        step: 99_999_999,
        created: 1_700_000_000_000,
        source_host: "h1".into(),
        epoch: 1,
        single_file: true,
        files: vec![ManifestFile {
            path: id.into(),
            size: data.len() as u64,
            sha256: hex(&sha2::Sha256::digest(&data)),
            mode: None,
        }],
        mac: None,
    };
    let d = bed.nas.join(&bed.job).join(id);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(id), &data).unwrap();
    std::fs::write(d.join("manifest.json"), m.to_bytes()).unwrap();
    // `checkpoints verify` catalogues it, as found and not restorable.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(&bed.config)
        .arg("--state-dir")
        .arg(&bed.state)
        .args(["checkpoints", "verify"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("FOUND {}/{id} [nas]", bed.job)),
        "{said}"
    );
    // The next supervisor starts on that catalogue, planted one included, and goes on
    // recording the job's own checkpoints.
    let mut c = bed.console("150s");
    let job = bed.job.clone();
    c.wait(60, |v| {
        v["kind"] == "checkpoint_recorded"
            && v["job"] == job
            && v["step"]
                .as_u64()
                .is_some_and(|s| s > floor && s < 99_999_999)
    });
    bed.signal_runs(1, "KILL");
    let done = failed_over(&mut c, 60);
    check_resumed(&bed, &done, 2, floor);
    let epoch = done["epoch"].as_u64().unwrap();
    assert!(resumed_after(&bed, 2, epoch) < 99_999_999);
}
