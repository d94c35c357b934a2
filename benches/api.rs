//! The HTTP API under load, measured on the real binary: `lifeboat daemon --demo
//! --fleet-size 1000 --chaos off --api …` (1,000 simulated hosts, 8 GPUs each beyond the
//! demo's six), 64 concurrent clients from `wrk` (Debian's package) for 20 s each on
//! `GET /hosts`, `GET /metrics` and, as the floor of the stack, `GET /liveness` (no
//! auth, no snapshot); the scrape's size and time as `curl` sees it; and the 401 for two
//! wrong tokens of the right length, one wrong in its first byte and one in its last
//! (the comparison is constant-time, so the two should not differ beyond noise).
//!
//! `cargo bench --bench api` (~3 min) prints the table and writes it into BENCHMARKS.md
//! ("HTTP API (issue 14)"); `LIFEBOAT_BENCH_HOSTS=N` changes the fleet. Under `cargo
//! test` it only starts a 60-host daemon, scrapes it once and stops it.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "../tests/support/curl.rs"]
mod curl_support;
#[path = "../tests/support/daemon.rs"]
mod daemon;
#[path = "support/demo_api.rs"]
mod demo_api;

use daemon::Daemon;
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef0123";
const ENV: &str = "LIFEBOAT_BENCH_API_TOKEN";
const CLIENTS: u32 = 64;
const SECONDS: u32 = 20;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let hosts: usize = match std::env::var("LIFEBOAT_BENCH_HOSTS") {
        Ok(n) => n.parse().expect("LIFEBOAT_BENCH_HOSTS is a number"),
        Err(_) if bench => 1000,
        Err(_) => 60,
    };
    if bench && Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is missing: apt-get install wrk");
        std::process::exit(1);
    }
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
    let base = curl_support::api_base(&d);
    demo_api::wait_for_fleet(&base, TOKEN, hosts);
    if !bench {
        let (bytes, _) = scrape(&base);
        assert!(bytes > 1000, "a scrape of {bytes} bytes");
        println!("API smoke check: {hosts} hosts, one scrape of {bytes} bytes; `cargo bench --bench api` gives the numbers");
        assert!(d.stop().success());
        return;
    }
    // Let the probes of every host land a few times before measuring.
    std::thread::sleep(Duration::from_secs(10));
    let mut rows = Vec::new();
    let auth = format!("Authorization: Bearer {TOKEN}");
    for (path, header) in [
        ("/liveness", None),
        ("/hosts", Some(auth.as_str())),
        ("/metrics", Some(auth.as_str())),
    ] {
        rows.push(wrk(&base, path, header, &d));
    }
    let wrong_first = format!("Authorization: Bearer X{}", &TOKEN[1..]);
    let wrong_last = format!("Authorization: Bearer {}X", &TOKEN[..TOKEN.len() - 1]);
    let mut denied = Vec::new();
    for (label, header) in [
        ("wrong first byte", wrong_first.as_str()),
        ("wrong last byte", wrong_last.as_str()),
    ] {
        let mut r = wrk(&base, "/hosts", Some(header), &d);
        r.path = format!("/hosts, 401, {label}");
        denied.push(r);
    }
    let scrapes: Vec<(u64, f64)> = (0..20).map(|_| scrape(&base)).collect();
    let mut times: Vec<f64> = scrapes.iter().map(|s| s.1).collect();
    times.sort_by(f64::total_cmp);
    let bytes = scrapes[0].0;
    let rss = rss_mb(d.pid());
    let mut table = report(hosts, &rows, &denied, bytes, &times, rss);
    // How long it takes to stop is measured, not assumed.
    let t0 = Instant::now();
    d.signal("TERM");
    let stopped = d.wait(120).map(|s| s.success());
    table.push_str(&format!(
        "\nStopping the daemon (SIGTERM to exit): {:.1} s, {}.\n",
        t0.elapsed().as_secs_f64(),
        match stopped {
            Some(true) => "clean",
            Some(false) => "exit with an error",
            None => "still running after 120 s (killed)",
        }
    ));
    println!("{table}");
    write_benchmarks(&table);
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One `/metrics` scrape: bytes and seconds as curl saw them.
fn scrape(base: &str) -> (u64, f64) {
    let auth = format!("Authorization: Bearer {TOKEN}");
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{size_download} %{time_total}",
        "-H",
        &auth,
        &format!("{base}/metrics"),
    ]);
    let mut it = out.split_whitespace();
    let bytes = it.next().and_then(|b| b.parse().ok()).unwrap_or(0);
    let secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    (bytes, secs)
}

struct Row {
    path: String,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The daemon's CPU over the run, in cores.
    cpu: f64,
    non_2xx: u64,
}

/// `wrk -t2 -c64 -d20s --latency` on `path`.
fn wrk(base: &str, path: &str, header: Option<&str>, d: &Daemon) -> Row {
    let url = format!("{base}{path}");
    let (c, s) = (format!("-c{CLIENTS}"), format!("-d{SECONDS}s"));
    let mut args = vec!["-t2", c.as_str(), s.as_str(), "--latency"];
    if let Some(h) = header {
        args.extend_from_slice(&["-H", h]);
    }
    args.push(&url);
    let before = cpu_ticks(d.pid());
    let t0 = Instant::now();
    let out = Command::new("wrk").args(&args).output().expect("wrk");
    let cpu = (cpu_ticks(d.pid()) - before) as f64 / 100.0 / t0.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
            .map(str::to_string)
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("wrk said:\n{text}"));
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Row {
        path: path.to_string(),
        rps,
        p50_ms: ms(&field("50%").unwrap_or_default()),
        p99_ms: ms(&field("99%").unwrap_or_default()),
        cpu,
        non_2xx,
    }
}

/// wrk's "1.23ms", "456.00us", "1.02s" in milliseconds.
fn ms(v: &str) -> f64 {
    let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// utime + stime of `pid`, in clock ticks (100 a second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn report(
    hosts: usize,
    rows: &[Row],
    denied: &[Row],
    bytes: u64,
    times: &[f64],
    rss: f64,
) -> String {
    let mut t = format!(
        "Measured {} on this machine ({} cores): `cargo bench --bench api`, release build, `lifeboat daemon --demo --fleet-size {hosts} --chaos off` ({hosts} simulated hosts probed at 1 Hz), `wrk -t2 -c{CLIENTS} -d{SECONDS}s --latency` on the same machine (so wrk's own CPU competes with the daemon's).\n\n",
        now_utc(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    t.push_str("| request | requests/s | p50 | p99 | daemon CPU (cores) | not 2xx |\n|---|---|---|---|---|---|\n");
    for r in rows.iter().chain(denied) {
        t.push_str(&format!(
            "| `GET {}` | {:.0} | {:.2} ms | {:.2} ms | {:.2} | {} |\n",
            r.path, r.rps, r.p50_ms, r.p99_ms, r.cpu, r.non_2xx
        ));
    }
    let med = times[times.len() / 2] * 1000.0;
    let max = times.last().copied().unwrap_or(0.0) * 1000.0;
    t.push_str(&format!(
        "\nOne `/metrics` scrape of the {hosts}-host fleet: {bytes} bytes ({:.1} KiB), {med:.1} ms median and {max:.1} ms slowest of 20 sequential `curl` scrapes. Daemon RSS at the end: {rss:.0} MB.\n",
        bytes as f64 / 1024.0
    ));
    if let [a, b] = denied {
        t.push_str(&format!(
            "\nWrong tokens: p50 {:.3} ms (first byte wrong) against {:.3} ms (last byte wrong), a difference of {:.3} ms; p99 {:.2} against {:.2} ms.\n",
            a.p50_ms,
            b.p50_ms,
            (a.p50_ms - b.p50_ms).abs(),
            a.p99_ms,
            b.p99_ms
        ));
    }
    t
}

fn now_utc() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    out
}

/// Replaces the "HTTP API (issue 14)" section of BENCHMARKS.md (or adds it at the end).
fn write_benchmarks(table: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let head = "## HTTP API (issue 14)";
    let section = format!("{head}\n\n{table}");
    let new = match text.find(head) {
        Some(at) => {
            let rest = &text[at + head.len()..];
            let end = rest
                .find("\n## ")
                .map_or(text.len(), |e| at + head.len() + e + 1);
            format!("{}{section}{}", &text[..at], &text[end..])
        }
        None => format!(
            "{}\n{section}",
            text.trim_end_matches('\n').to_string() + "\n"
        ),
    };
    std::fs::write(path, new).unwrap();
}
