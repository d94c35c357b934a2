//! The service bench's report: three markdown tables (attach latency, the daemon's CPU
//! and memory by screens attached, bytes per second per session) under a header naming
//! the command, the machine and its load, written into BENCHMARKS.md between markers.

use crate::procfs::Window;
use std::path::Path;

/// One way to attach, timed `secs.len()` times.
pub struct Latency {
    pub path: String,
    pub timed: String,
    pub secs: Vec<f64>,
    /// Bytes received by the first full frame (median), where it means something.
    pub bytes: Option<f64>,
}

/// The daemon (or, for the baseline, `top`) over one window.
pub struct Load {
    pub what: String,
    /// Screens added over the first row (0: no per-screen figure for this row).
    pub added: usize,
    pub window: Window,
    /// Snapshots each socket screen received per second.
    pub snapshots_per_s: Option<f64>,
}

/// What one session receives per second.
pub struct Rate {
    pub session: String,
    pub window: String,
    /// Bytes written to its terminal (SSH), or frame bytes read (socket).
    pub terminal: f64,
    /// Encrypted bytes read from the connection (SSH only).
    pub wire: Option<f64>,
    pub snapshots_per_s: Option<f64>,
}

pub struct Report {
    pub started: String,
    pub binary: String,
    pub settle: u64,
    pub window: u64,
    pub latency: Vec<Latency>,
    pub loads: Vec<Load>,
    pub rates: Vec<Rate>,
    pub loads_seen: Vec<f64>,
    pub notes: Vec<String>,
}

impl Report {
    /// Adds a row and says so on stderr (a long run shows its progress).
    pub fn add_load(&mut self, l: Load) {
        let w = &l.window;
        eprintln!(
            "{}: {:.2} % of one core, RSS {:.1} MiB, load {:.2}",
            l.what, w.cpu, w.rss_end, w.load
        );
        self.loads.push(l);
    }

    pub fn add_rate(&mut self, x: Rate) {
        eprintln!("{} ({}): {:.0} B/s", x.session, x.window, x.terminal);
        self.rates.push(x);
    }

    pub fn add_latency(&mut self, l: Latency) {
        eprintln!(
            "{}: p50 {:.1} ms, p95 {:.1} ms",
            l.path,
            pct(&l.secs, 50.0) * 1000.0,
            pct(&l.secs, 95.0) * 1000.0
        );
        self.latency.push(l);
    }
}

/// The `p`-th percentile (nearest rank) of `xs`.
pub fn pct(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or("—".into(), |v| format!("{v:.digits$}"))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "?".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or("?".into(), |k| {
            format!("{:.0} GiB RAM", k / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, {mem}")
}

pub fn render(r: &Report) -> String {
    let lo = r.loads_seen.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = r
        .loads_seen
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let mut t = format!(
        "Command: `cargo bench --bench service` — date: {} — machine: {} — binary: `{}` — \
         1-minute load average during the run {lo:.1}–{hi:.1} (other work shares the machine).\n\n\
         The demo fleet, `lifeboat daemon --demo --chaos off`, serving the console over SSH on \
         loopback (`--console-listen`); the demo simulates its 6 hosts and 4 jobs inside the \
         daemon, so the daemon's figures include the simulator. SSH clients are OpenSSH's \
         `ssh`.\n\n",
        r.started,
        machine(),
        r.binary,
    );
    for n in &r.notes {
        t.push_str(&format!("{n}\n\n"));
    }
    t.push_str(
        "**Attach latency.** Each run is a fresh connection; the SSH rows alternate run by run, \
         so load from elsewhere falls on all alike. The SSH console's first frame is found in \
         the client's own terminal output (read byte by byte from `script`, escape sequences \
         removed), not by polling the screen. Our server runs no commands, so a plain \
         `ssh host true` cannot be timed against it: two logins stand beside it instead.\n\n\
         | Path | What is timed | Runs | p50 (ms) | p95 (ms) | Bytes by the first frame (median) |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for l in &r.latency {
        t.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {} |\n",
            l.path,
            l.timed,
            l.secs.len(),
            pct(&l.secs, 50.0) * 1000.0,
            pct(&l.secs, 95.0) * 1000.0,
            opt(l.bytes, 0),
        ));
    }
    t.push_str(&format!(
        "\n**The daemon's CPU and memory by screens attached.** Screens are attached, left \
         {} s to settle, then the daemon's `/proc/PID/stat` utime+stime and `VmRSS` are read \
         over {} s. Socket screens are the bench's own readers (they decode every frame); SSH \
         screens are `ssh -tt` clients in tmux at 160×48 (their own CPU, and tmux's, is not \
         counted: the SSH console is drawn inside the daemon). \"Per added screen\" is the CPU above \
         the first no-screen row, divided by the screens. The last row is `top -d 1` in tmux \
         at 160×48 (its own CPU and memory), the tool an operator would otherwise leave \
         running.\n\n\
         | Screens attached | CPU % of one core | Per added screen (% of a core) | RSS MiB (start → end, max) | Snapshots/s per socket screen | Load (1 min) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n",
        r.settle, r.window
    ));
    let base = r.loads.first().map_or(0.0, |l| l.window.cpu);
    for l in &r.loads {
        let w = &l.window;
        let per = (l.added > 0).then(|| (w.cpu - base) / l.added as f64);
        t.push_str(&format!(
            "| {} | {:.2} | {} | {:.1} → {:.1}, {:.1} | {} | {:.2} |\n",
            l.what,
            w.cpu,
            opt(per, 2),
            w.rss_start,
            w.rss_end,
            w.rss_max,
            opt(l.snapshots_per_s, 2),
            w.load,
        ));
    }
    t.push_str(
        "\n**Bytes per second per session, 160×48.** SSH: the client's `/proc/PID/io` — \
         `wchar` is what it writes to its terminal (the console's escape sequences, plus a few \
         bytes of window updates back to the server), `rchar` what it reads from the \
         connection (encrypted, with SSH framing). Socket: the frames the reader receives \
         (4-byte length + JSON). With 10 sessions, the total divided by 10. The failover is \
         a `gpu-lost` injected into the same daemon through its socket (the request the demo \
         console's `x` sends), 5 s into the window; times are from the window's start.\n\n\
         | Session | Window | Bytes/s to the terminal (socket: frame bytes/s) | Bytes/s on the wire | Snapshots/s |\n\
         | --- | --- | ---: | ---: | ---: |\n",
    );
    for x in &r.rates {
        t.push_str(&format!(
            "| {} | {} | {:.0} | {} | {} |\n",
            x.session,
            x.window,
            x.terminal,
            opt(x.wire, 0),
            opt(x.snapshots_per_s, 2),
        ));
    }
    t
}

const MARK_BEGIN: &str =
    "<!-- service bench: generated by `cargo bench --bench service`, begin -->";
const MARK_END: &str = "<!-- service bench: end -->";

/// Puts `text` into BENCHMARKS.md between the markers (a new section the first time).
pub fn write(text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let gen = format!("{MARK_BEGIN}\n{text}{MARK_END}");
    let new = match (old.find(MARK_BEGIN), old.find(MARK_END)) {
        (Some(a), Some(z)) if a < z => {
            format!("{}{gen}{}", &old[..a], &old[z + MARK_END.len()..])
        }
        _ => format!("{}\n\n## The service (issue 12)\n\n{gen}\n", old.trim_end()),
    };
    std::fs::write(&path, new).unwrap();
}

pub fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
