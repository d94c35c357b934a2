//! Drills through the real binary on the simulated demo fleet: the catalogue, a dry run
//! that changes nothing, a run that passes with its report, refusals (a viewer, an
//! unknown runbook), and aborts — by `drill abort`, by Ctrl-C, by the daemon stopping —
//! each running the rollbacks and writing an "aborted" report.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/daemon.rs"]
mod daemon;

use daemon::{bin, Daemon};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lifeboat(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn drill_notices(dir: &Path) -> Vec<Value> {
    let Ok(j) = lifeboat::runtime::journal::Journal::open_existing(&dir.join("journal.db")) else {
        return Vec::new();
    };
    j.recent_events(100_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "drill")
        .map(|r| r.body)
        .collect()
}

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn reports(dir: &Path) -> Vec<Value> {
    let mut out: Vec<Value> = std::fs::read_dir(dir.join("drills"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("report.json")).ok())
        .map(|b| serde_json::from_slice(&b).unwrap())
        .collect();
    out.sort_by_key(|r| r["ended"].as_str().unwrap_or("").to_string());
    out
}

#[test]
fn a_job_crash_drill_on_the_demo_fleet_passes_and_reports_what_it_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = dir.to_str().unwrap();

    let out = lifeboat(&["drill", "list", "--demo", "--state-dir", d]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    for name in [
        "job-crash",
        "network-partition",
        "restore-test",
        "fleet-loss",
    ] {
        assert!(said.contains(name), "{said}");
    }
    assert!(said.contains("never run"), "{said}");

    let out = lifeboat(&["drill", "show", "no-such-drill"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("job-crash"), "{}", text(&out));

    // A dry run resolves and checks, and changes nothing.
    let out = lifeboat(&[
        "drill",
        "run",
        "job-crash",
        "--demo",
        "--dry-run",
        "--state-dir",
        d,
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("targets: jobs "), "{said}");
    assert!(said.contains("✓ readiness"), "{said}");
    assert!(said.contains("3. [inject]"), "{said}");
    assert!(
        drill_notices(&dir).is_empty(),
        "a dry run started something"
    );
    assert!(reports(&dir).is_empty());

    let out = lifeboat(&[
        "drill",
        "run",
        "job-crash",
        "--demo",
        "--yes",
        "--json",
        "--state-dir",
        d,
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.iter().any(|l| l["what"] == "injected"), "{said}");
    let last = lines.last().unwrap();
    assert_eq!(last["what"], "finished", "{said}");
    assert!(
        last["detail"].as_str().unwrap().starts_with("passed"),
        "{said}"
    );

    let r = reports(&dir);
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r["status"], "passed", "{r:#}");
    assert_eq!(r["runbook"], "job-crash");
    assert_eq!(r["hash"].as_str().unwrap().len(), 64);
    assert_eq!(r["operator"], "root");
    let m = &r["measures"];
    let detection = m["detection_s"].as_f64().unwrap();
    let rto = m["rto_s"].as_f64().unwrap();
    assert!(detection > 0.0 && detection <= rto, "{m}");
    assert!(m["rpo_steps"].as_u64().is_some(), "{m}");
    assert!(
        r["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["met"] == true),
        "{r:#}"
    );
    assert!(r["rollbacks"][0][1]["Ok"].is_string(), "{r:#}");
    let md = std::fs::read_to_string(
        dir.join("drills")
            .join(r["run"].as_str().unwrap())
            .join("report.md"),
    )
    .unwrap();
    assert!(md.starts_with("# Drill job-crash — PASSED"), "{md}");
    let svg = std::fs::read_to_string(
        dir.join("drills")
            .join(r["run"].as_str().unwrap())
            .join("timeline.svg"),
    )
    .unwrap();
    assert!(
        svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert!(
        svg.contains("detecting") && svg.contains("<polyline"),
        "{svg}"
    );
    assert!(svg.contains("restored step"), "{svg}");
    assert!(!r["timeline"].as_array().unwrap().is_empty(), "{r:#}");
    assert!(md.contains("| detection | RTO |"), "{md}");

    // The catalogue shows the last result.
    let out = lifeboat(&["drill", "list", "--demo", "--state-dir", d]);
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("job-crash"))
        .unwrap()
        .to_string();
    assert!(
        line.contains("last passed") && line.contains("RTO"),
        "{line}"
    );

    // Its report by id, by `last`, as JSON; a wrong id names the runs there.
    let run = r["run"].as_str().unwrap();
    let out = lifeboat(&["drill", "report", run, "--state-dir", d]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), md);
    let out = lifeboat(&["drill", "report", "last", "--json", "--state-dir", d]);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["run"], run);
    let out = lifeboat(&["drill", "report", "nope", "--state-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains(run), "{}", text(&out));
    // `lifeboat history` lists the run as one line, with how it ended.
    let out = lifeboat(&["history", "--state-dir", d]);
    let said = text(&out);
    let runs: Vec<&str> = said
        .lines()
        .filter(|l| l.contains(&format!("job-crash ({run}): passed")))
        .collect();
    assert_eq!(runs.len(), 1, "{said}");
}

/// A drill that waits at its manual step (no --yes), started against `daemon`'s dir.
fn waiting_drill(dir: &Path) -> Child {
    let d = dir.to_str().unwrap();
    // The daemon's fleet settles first (probes, a first verified checkpoint).
    wait_until(90, "the preconditions to pass", || {
        lifeboat(&["drill", "run", "job-crash", "--dry-run", "--state-dir", d])
            .status
            .success()
    });
    let waits = || {
        drill_notices(dir)
            .iter()
            .filter(|n| n["what"] == "waiting")
            .count()
    };
    let before = waits();
    let child = Command::new(bin())
        .args(["drill", "run", "job-crash", "--state-dir", d])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(60, "the drill to wait at its manual step", || {
        waits() > before
    });
    child
}

fn aborted(dir: &Path, why: &str) {
    let r = reports(dir);
    let r = r.last().unwrap();
    assert_eq!(r["status"], "aborted", "{r:#}");
    assert!(r["why"].as_str().unwrap().contains(why), "{r:#}");
    assert!(r["rollbacks"][0][1]["Ok"].is_string(), "{r:#}");
    assert!(
        drill_notices(dir).iter().any(|n| n["what"] == "rollback"),
        "no rollback journaled"
    );
}

#[test]
fn a_drill_is_aborted_by_the_cli_by_ctrl_c_and_by_the_daemon_stopping_and_always_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let d = dir.to_str().unwrap();
    let daemon = Daemon::start(&["--demo", "--chaos", "off"], &dir);

    // A viewer may look but not run one.
    let out = lifeboat(&[
        "--readonly",
        "drill",
        "run",
        "job-crash",
        "--yes",
        "--state-dir",
        d,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("viewer"), "{}", text(&out));

    // By `drill abort`.
    let child = waiting_drill(&dir);
    let out = lifeboat(&["drill", "abort", "--state-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("finished: aborted"), "{}", text(&out));
    aborted(&dir, "asked from the CLI");

    // A second drill cannot start while one runs; by Ctrl-C on the running one.
    let child = waiting_drill(&dir);
    let out = lifeboat(&["drill", "run", "job-crash", "--yes", "--state-dir", d]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("abort it first"), "{}", text(&out));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    aborted(&dir, "Ctrl-C");

    // By the daemon stopping: its rollbacks run before it exits.
    let child = waiting_drill(&dir);
    assert!(daemon.stop().success());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    aborted(&dir, "the supervisor is stopping");
    assert_eq!(reports(&dir).len(), 3);
}

#[test]
fn a_drill_whose_daemon_is_killed_is_rolled_back_by_the_next_one_and_reported_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let first = Daemon::start(&["--demo", "--chaos", "off"], &dir);
    let child = waiting_drill(&dir);
    let inflight: Vec<_> = std::fs::read_dir(dir.join("drills"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("inflight.json").is_file())
        .collect();
    assert_eq!(
        inflight.len(),
        1,
        "the running drill keeps an in-flight record"
    );
    first.signal("KILL");
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    drop(first);
    assert!(
        reports(&dir).is_empty(),
        "nothing wrote a report for the killed run"
    );

    let second = Daemon::start(&["--demo", "--chaos", "off"], &dir);
    wait_until(30, "the interrupted drill's report", || {
        !reports(&dir).is_empty()
    });
    let r = &reports(&dir)[0];
    assert_eq!(r["status"], "interrupted", "{r:#}");
    assert!(
        r["why"]
            .as_str()
            .unwrap()
            .contains("its rollbacks ran when the next one started"),
        "{r:#}"
    );
    assert_eq!(r["rollbacks"][0][0], "clear-faults", "{r:#}");
    assert!(r["rollbacks"][0][1]["Ok"].is_string(), "{r:#}");
    assert!(!inflight[0].path().join("inflight.json").exists());
    assert!(drill_notices(&dir).iter().any(
        |n| n["what"] == "finished" && n["detail"].as_str().unwrap().starts_with("interrupted")
    ));
    assert!(second.stop().success());
}
