//! The daemon at fleet scale, measured on the real binary: `lifeboat daemon --demo
//! --chaos off --fleet-size N` (N simulated hosts of 8 GPUs, probed at 1 Hz) with a
//! console attached in tmux at 160×48, once every host is healthy and every job runs.
//! Over 30 s it reads the daemon's and the console's CPU from /proc, the daemon's memory
//! (RSS now, and its peak), and the supervisor's own counts from `/metrics` (probes,
//! snapshots and the time spent building them, journal transactions and bytes); then the
//! time SIGTERM takes to stop it. The simulated hosts' own work (writing and copying
//! checkpoint bytes) runs on a thread of its own (`lifeboat-sim`), read apart from the
//! rest; what is left is Lifeboat's (the simulator's fake `nvidia-smi` text is still in
//! it, so it is an upper bound on what the runtime and core use).
//!
//! `cargo bench --bench scale` (~8 min) writes its table into BENCHMARKS.md ("Scale");
//! `LIFEBOAT_BENCH_HOSTS=100,1000` picks the fleets. Under `cargo test` it runs one
//! 20-host fleet without a console for a few seconds and checks the counts move.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "../tests/support/curl.rs"]
mod curl;
#[path = "../tests/support/daemon.rs"]
mod daemon;
#[path = "support/demo_api.rs"]
mod demo_api;
#[path = "service/procfs.rs"]
mod procfs;
#[path = "../tests/support/tmux.rs"]
mod tmux;

use daemon::Daemon;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef0123";
const ENV: &str = "LIFEBOAT_BENCH_API_TOKEN";
/// The simulator's thread (`lifeboat::sim::world_thread::NAME`).
const SIM_THREAD: &str = lifeboat::sim::world_thread::NAME;

struct Row {
    hosts: usize,
    gpus: u64,
    console: bool,
    daemon_cpu: f64,
    /// Of `daemon_cpu`, the simulated hosts' own work.
    sim_cpu: f64,
    console_cpu: Option<f64>,
    probes_per_s: f64,
    cpu_us_per_probe: f64,
    snapshots_per_s: f64,
    build_ms: f64,
    writes_per_s: f64,
    journal_kib_per_s: f64,
    journal_snapshots_per_s: f64,
    rss_mib: f64,
    peak_mib: f64,
    stop_s: f64,
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let fleets: Vec<usize> = match std::env::var("LIFEBOAT_BENCH_HOSTS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("LIFEBOAT_BENCH_HOSTS: numbers, comma-separated")
            })
            .collect(),
        Err(_) if bench => vec![100, 1000],
        Err(_) => vec![20],
    };
    let window = if bench { 30 } else { 3 };
    let mut rows = Vec::new();
    for hosts in fleets {
        let row = run(hosts, bench, window);
        println!(
            "{} hosts: daemon {:.1} % of a core ({:.1} % simulated hosts), {:.0} µs per probe, RSS {:.0} MiB (peak {:.0}), stop {:.1} s",
            row.hosts,
            row.daemon_cpu * 100.0,
            row.sim_cpu * 100.0,
            row.cpu_us_per_probe,
            row.rss_mib,
            row.peak_mib,
            row.stop_s
        );
        if !bench {
            assert!(row.probes_per_s > 0.0, "no probe was counted");
            assert!(row.snapshots_per_s > 0.0, "no snapshot was counted");
        }
        rows.push(row);
    }
    if bench {
        let table = table(&rows);
        println!("{table}");
        write_benchmarks(&table);
    }
}

fn run(hosts: usize, console: bool, window: u64) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let size = hosts.to_string();
    let mut d = Daemon::start_env(
        &[
            "--demo",
            "--chaos",
            "off",
            "--fleet-size",
            &size,
            "--api",
            "127.0.0.1:0",
            "--api-token-env",
            ENV,
        ],
        &state,
        &[(ENV, TOKEN)],
    );
    let base = curl::api_base(&d);
    let gpus = demo_api::wait_for_fleet(&base, TOKEN, hosts);
    let screen = console.then(|| {
        let cmd = format!("{} --state-dir {}", daemon::bin(), state.display());
        let t = tmux::Tmux::start(&cmd, 160, 48);
        t.wait_for("node-", 60);
        let pid: u32 = t.format("#{pane_pid}").trim().parse().unwrap();
        (t, pid)
    });
    // Settle: the console's first pictures and the journal's catch-up are not the steady state.
    std::thread::sleep(Duration::from_secs(if console { 10 } else { 1 }));
    let tck = procfs::clk_tck();
    let pid = d.pid();
    let console_pid = screen.as_ref().map(|(_, p)| *p);
    let before = counts(&base);
    let (t0, c0) = (
        procfs::ticks(pid).unwrap(),
        console_pid.and_then(procfs::ticks),
    );
    let s0 = thread_ticks(pid, SIM_THREAD);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(window));
    let (t1, c1) = (
        procfs::ticks(pid).unwrap(),
        console_pid.and_then(procfs::ticks),
    );
    let s1 = thread_ticks(pid, SIM_THREAD);
    let secs = start.elapsed().as_secs_f64();
    let after = counts(&base);
    let delta =
        |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
    let daemon_cpu = (t1 - t0) as f64 / tck / secs;
    let sim_cpu = s1.saturating_sub(s0) as f64 / tck / secs;
    let console_cpu = c0.zip(c1).map(|(a, b)| (b - a) as f64 / tck / secs);
    let probes = delta("lifeboat_supervisor_probes");
    let snapshots = delta("lifeboat_supervisor_snapshots");
    let rss_mib = procfs::rss_mib(pid).unwrap_or(f64::NAN);
    let peak_mib = procfs::peak_mib(pid).unwrap_or(f64::NAN);
    drop(screen);
    let stopping = Instant::now();
    d.signal("TERM");
    let stopped = d.wait(120);
    let stop_s = stopping.elapsed().as_secs_f64();
    assert!(stopped.is_some(), "the daemon did not stop within 120 s");
    Row {
        hosts,
        gpus,
        console,
        daemon_cpu,
        sim_cpu,
        console_cpu,
        probes_per_s: probes / secs,
        cpu_us_per_probe: (daemon_cpu - sim_cpu) * secs / probes.max(1.0) * 1e6,
        snapshots_per_s: snapshots / secs,
        build_ms: delta("lifeboat_supervisor_snapshot_build_seconds") / snapshots.max(1.0) * 1e3,
        writes_per_s: delta("lifeboat_journal_writes") / secs,
        journal_kib_per_s: delta("lifeboat_journal_written_bytes") / secs / 1024.0,
        journal_snapshots_per_s: delta("lifeboat_journal_snapshots") / secs,
        rss_mib,
        peak_mib,
        stop_s,
    }
}

/// The scrape's unlabelled samples, by name.
fn counts(base: &str) -> BTreeMap<String, f64> {
    demo_api::get(base, TOKEN, "/metrics")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains('{'))
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// utime + stime of the threads of `pid` named `name`, in clock ticks.
fn thread_ticks(pid: u32, name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let after = stat.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = after.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "Measured {} on this machine ({} cores, load {:.1} before the run), release build. \
         `cargo bench --bench scale`: `lifeboat daemon --demo --chaos off --fleet-size N`, \
         probed at 1 Hz, a console attached in tmux at 160×48, 30 s once every host is \
         healthy and every job runs. CPU from `/proc/PID/stat`; the supervisor's counts from \
         its `/metrics`. Goal (issue 15): at 1,000 hosts, Lifeboat ≤ 25 % of one core and ≤ 150 MB.\n\n\
         | hosts | GPUs | daemon CPU (% of a core) | of it, simulated hosts | Lifeboat | console CPU | \
         µs per probe | probes/s | snapshots/s | build ms each | journal writes/s | journal KiB/s \
         | journal snapshots/s | RSS MiB (peak) | stop s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        date(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        procfs::loadavg(),
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {:.2} | {:.0} ({:.0}) | {:.1} |\n",
            r.hosts,
            r.gpus,
            r.daemon_cpu * 100.0,
            r.sim_cpu * 100.0,
            (r.daemon_cpu - r.sim_cpu) * 100.0,
            match (r.console, r.console_cpu) {
                (true, Some(c)) => format!("{:.1} %", c * 100.0),
                _ => "none".into(),
            },
            r.cpu_us_per_probe,
            r.probes_per_s,
            r.snapshots_per_s,
            r.build_ms,
            r.writes_per_s,
            r.journal_kib_per_s,
            r.journal_snapshots_per_s,
            r.rss_mib,
            r.peak_mib,
            r.stop_s,
        ));
    }
    out
}

fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the "Scale (issue 15)" section's table of BENCHMARKS.md (or adds the section
/// at the end); the reading below the table's marker is kept.
fn write_benchmarks(table: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let head = "## Scale (issue 15)";
    let end_mark = "<!-- end of the scale bench's table -->";
    let section = format!("{head}\n\n{table}\n{end_mark}\n");
    let new = match text.find(head) {
        Some(at) => {
            let rest = &text[at..];
            let end = rest
                .find(end_mark)
                .map(|e| at + e + end_mark.len() + 1)
                .or_else(|| {
                    rest[head.len()..]
                        .find("\n## ")
                        .map(|e| at + head.len() + e + 1)
                })
                .unwrap_or(text.len());
            format!("{}{section}{}", &text[..at], &text[end.min(text.len())..])
        }
        None => format!(
            "{}\n{section}",
            text.trim_end_matches('\n').to_string() + "\n"
        ),
    };
    std::fs::write(path, new).unwrap();
}
