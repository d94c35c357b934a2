//! What /proc says about a process: CPU ticks (utime + stime), resident memory, bytes
//! read and written (`rchar`/`wchar`), and a sampling window over all of them.

#![allow(dead_code)] // shared by the service, scale, checkpoint and probe benches, each using part of it

use std::process::Command;
use std::time::{Duration, Instant};

/// utime + stime of `pid`, in clock ticks.
pub fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// utime + stime of `pid` (with `children`, also of the children it has waited for), in
/// seconds at the usual 100 ticks a second; 0 for a process that is gone.
pub fn cpu_secs(pid: u32, children: bool) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, a)| a)
        .unwrap_or("")
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let g = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    g(11) + g(12) + if children { g(13) + g(14) } else { 0.0 }
}

pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// VmRSS of `pid` in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

/// VmHWM of `pid` in MiB: the most resident memory it ever had.
pub fn peak_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmHWM:")
}

/// A `kB` field of `/proc/PID/status`, in MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// (rchar, wchar) of `pid`: every byte it read and wrote through syscalls.
pub fn io(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .parse()
            .ok()
    };
    Some((field("rchar:")?, field("wchar:")?))
}

/// The 1-minute load average.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// One process over one window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    pub secs: f64,
    /// Percent of one core.
    pub cpu: f64,
    pub rss_start: f64,
    pub rss_end: f64,
    pub rss_max: f64,
    /// The 1-minute load average at the window's end.
    pub load: f64,
}

/// Samples `pid` for `len`: CPU from its ticks at both ends, RSS once a second.
pub fn sample(pid: u32, len: Duration) -> Window {
    let t0 = Instant::now();
    let a = ticks(pid).unwrap_or(0);
    let rss_start = rss_mib(pid).unwrap_or(f64::NAN);
    let mut rss_max = rss_start;
    let end = t0 + len;
    while Instant::now() < end {
        std::thread::sleep(
            Duration::from_secs(1).min(end.saturating_duration_since(Instant::now())),
        );
        if let Some(r) = rss_mib(pid) {
            rss_max = rss_max.max(r);
        }
    }
    let b = ticks(pid).unwrap_or(a);
    let secs = t0.elapsed().as_secs_f64();
    Window {
        secs,
        cpu: (b - a) as f64 / clk_tck() / secs * 100.0,
        rss_start,
        rss_end: rss_mib(pid).unwrap_or(f64::NAN),
        rss_max,
        load: loadavg(),
    }
}
