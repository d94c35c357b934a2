//! What the service costs, measured on the real binary and the demo fleet (`lifeboat
//! daemon --demo --chaos off`, serving the console over SSH on loopback), once the
//! daemon's snapshot has stopped growing (its steady state, ~5 min in):
//!
//! 1. attach latency, connect → first full frame: over the Unix socket (50 attaches) and
//!    over SSH with OpenSSH's `ssh -tt` (10), beside two plain logins: our server's
//!    one-line refusal of `ssh -T`, and `ssh -tt host true` against a loopback `sshd`;
//! 2. the daemon's CPU and memory with 0, 1 and 10 screens attached (socket readers, then
//!    SSH sessions in tmux at 160×48), beside an idle `top -d 1`;
//! 3. bytes per second per session at 160×48, idle and during a failover. The fault is
//!    injected into the same warmed daemon over its socket (the demo console's `x`), not
//!    with `--inject`, whose schedule counts from the start of a fresh, small daemon.
//!
//! `cargo bench --bench service` (~10 min) writes its tables into BENCHMARKS.md; under
//! `cargo test` it only starts a daemon, attaches once, reads a frame and stops it.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "../tests/support/daemon.rs"]
mod daemon;
#[path = "../tests/support/ssh_keys.rs"]
mod ssh_keys;

#[path = "../tests/support/sshd.rs"]
mod sshd;

#[path = "../tests/support/tmux_driver.rs"]
mod tmux_driver;

#[path = "service/procfs.rs"]
mod procfs;

#[path = "service/report.rs"]
mod report;

#[path = "service/rig.rs"]
mod rig;

#[path = "service/socket.rs"]
mod socket;

#[path = "service/ssh.rs"]
mod ssh;

use lifeboat::protocol::fault::FaultKind;
use report::{Latency, Load, Rate, Report};
use rig::Rig;
use socket::Readers;
use ssh::Sessions;
use std::time::{Duration, SystemTime};
use tokio::runtime::Runtime;

/// Seconds screens get to settle before a window, and each window's length.
const SETTLE: u64 = 5;
const WINDOW: u64 = 30;
/// The failover: which job loses its GPU, how far into its window, and the window.
const FAILOVER_JOB: &str = "llm-pretrain";
const FAILOVER_AFTER: u64 = 5;
const FAILOVER_WINDOW: u64 = 20;
/// The longest wait for the demo's snapshot to stop growing.
const WARM_MAX: u64 = 480;
const UNIX_ATTACHES: usize = 50;
const SSH_ATTACHES: usize = 10;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        smoke();
        return;
    }
    let mut r = Report {
        started: report::now_utc(),
        binary: daemon::bin().to_string(),
        settle: SETTLE,
        window: WINDOW,
        latency: Vec::new(),
        loads: Vec::new(),
        rates: Vec::new(),
        loads_seen: vec![procfs::loadavg()],
        notes: Vec::new(),
    };
    let rt = socket::runtime();
    let rig = Rig::start(&[]);
    warm_up(&rt, &rig, &mut r);
    latency(&rt, &rig, &mut r);
    r.loads_seen.push(procfs::loadavg());
    loads(&rt, &rig, &mut r);
    failover(&rt, &rig, &mut r);
    rig.stop();
    top_baseline(&mut r);
    r.loads_seen.push(procfs::loadavg());
    r.loads_seen.extend(r.loads.iter().map(|l| l.window.load));
    let text = report::render(&r);
    println!("{text}");
    report::write(&text);
}

/// Under `cargo test`: a daemon starts, a screen attaches over the socket and reads a
/// snapshot, and the daemon stops cleanly.
fn smoke() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let d = daemon::Daemon::start(&["--demo", "--chaos", "off"], &state);
    let rt = socket::runtime();
    let (secs, bytes) = socket::attach_once(&rt, &state);
    drop(rt);
    assert!(d.stop().success(), "the daemon did not stop cleanly");
    println!(
        "service smoke check: attached over the socket and had its first snapshot in {:.0} ms, {bytes} bytes with the welcome (unoptimised); `cargo bench --bench service` gives the numbers",
        secs * 1000.0
    );
}

/// Runs the daemon until its snapshot stops growing, so that what follows measures a
/// daemon in its steady state rather than a young one.
fn warm_up(rt: &Runtime, rig: &Rig, r: &mut Report) {
    eprintln!("running the daemon until its snapshot stops growing (up to {WARM_MAX} s)");
    let (secs, bytes, steady) =
        socket::wait_steady(rt, &rig.state(), Duration::from_secs(WARM_MAX));
    r.notes.push(format!(
        "Before anything is measured, the daemon runs until its snapshot stops growing: {secs:.0} s here, \
         to a snapshot frame of {bytes} bytes{}. A young demo daemon's snapshot is smaller: each job \
         keeps its newest 50 checkpoints in the snapshot, and the demo writes one every few seconds.",
        if steady { "" } else { " (still growing when the wait ended)" }
    ));
}

fn median(xs: &[f64]) -> f64 {
    report::pct(xs, 50.0)
}

fn latency(rt: &Runtime, rig: &Rig, r: &mut Report) {
    let state = rig.state();
    let unix: Vec<(f64, usize)> = (0..UNIX_ATTACHES)
        .map(|_| socket::attach_once(rt, &state))
        .collect();
    let sshd = sshd::Sshd::start("bench");
    let plain = format!(
        "ssh -tt {} {}@{} true",
        rig::ssh_options(
            &sshd.path("client_key"),
            &sshd.path("known_hosts"),
            sshd.port
        ),
        sshd::USER,
        sshd.address
    );
    let (mut ours, mut refused, mut openssh) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SSH_ATTACHES {
        ours.push(ssh::first_frame(&rig.ssh_console()));
        let (secs, text, _) = ssh::to_exit(&rig.ssh_refused());
        assert!(
            text.contains(lifeboat::runtime::ssh_console::NEEDS_TTY),
            "ssh -T was not refused as expected:\n{text}"
        );
        refused.push(secs);
        let (secs, text, ok) = ssh::to_exit(&plain);
        assert!(ok, "ssh -tt … true to the loopback sshd failed:\n{text}");
        openssh.push(secs);
    }
    drop(sshd);
    r.add_latency(Latency {
        path: "Unix socket (`attach::connect`, as a console; bytes: welcome + snapshot)".into(),
        timed: "connect → greeting → welcome (with the recent history) → first `Snapshot` frame"
            .into(),
        secs: unix.iter().map(|u| u.0).collect(),
        bytes: Some(median(&unix.iter().map(|u| u.1 as f64).collect::<Vec<_>>())),
    });
    r.add_latency(Latency {
        path: "SSH console, `ssh -tt` under `script` (160×48)".into(),
        timed: "spawn `ssh` → header \"1 Fleet\" and footer \"q quit\" both in its terminal output (TCP, key exchange, public-key auth, pty, shell, first frame)".into(),
        secs: ours.iter().map(|o| o.0).collect(),
        bytes: Some(median(&ours.iter().map(|o| o.1 as f64).collect::<Vec<_>>())),
    });
    r.add_latency(Latency {
        path: "Baseline: our SSH server, `ssh -T`".into(),
        timed: "spawn `ssh` → exit, after the one-line refusal (a shell without a pty): the same TCP, key exchange, auth and channel, no console".into(),
        secs: refused,
        bytes: None,
    });
    r.add_latency(Latency {
        path: "Baseline: OpenSSH `sshd` on loopback, `ssh -tt host true`".into(),
        timed: "spawn `ssh` → exit: login, pty, `bash -c true`, close (the familiar cost of an SSH login)".into(),
        secs: openssh,
        bytes: None,
    });
}

fn loads(rt: &Runtime, rig: &Rig, r: &mut Report) {
    let pid = rig.daemon.pid();
    let idle = |r: &mut Report, what: &str| {
        settle();
        r.add_load(Load {
            what: what.into(),
            added: 0,
            window: procfs::sample(pid, Duration::from_secs(WINDOW)),
            snapshots_per_s: None,
        });
    };
    idle(r, "none");
    socket_screens(rt, rig, 1, r);
    socket_screens(rt, rig, 10, r);
    ssh_sessions(rig, 1, "", r);
    ssh_sessions(rig, 10, "", r);
    idle(r, "none, again (after the screens left)");
    ssh_sessions(rig, 10, ", again", r);
}

fn settle() {
    std::thread::sleep(Duration::from_secs(SETTLE));
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n > 1 { "s" } else { "" })
}

/// `n` socket screens attached through one window.
fn socket_screens(rt: &Runtime, rig: &Rig, n: usize, r: &mut Report) {
    let readers = Readers::start(rt, &rig.state(), n);
    settle();
    let a = readers.counts.now();
    let w = procfs::sample(rig.daemon.pid(), Duration::from_secs(WINDOW));
    let b = readers.counts.now();
    readers.stop(rt);
    let per = |x: u64| x as f64 / n as f64 / w.secs;
    let snaps = per(b.2 - a.2);
    r.add_load(Load {
        what: plural(n, "socket screen"),
        added: n,
        window: w,
        snapshots_per_s: Some(snaps),
    });
    r.add_rate(Rate {
        session: format!("Socket, {n} attached, idle"),
        window: format!("{:.0} s", w.secs),
        terminal: per(b.0 - a.0),
        wire: None,
        snapshots_per_s: Some(snaps),
    });
}

/// `n` SSH sessions in tmux attached through one window.
fn ssh_sessions(rig: &Rig, n: usize, again: &str, r: &mut Report) {
    let sessions = Sessions::open(&rig.ssh_console(), n);
    settle();
    let a = sessions.io();
    let w = procfs::sample(rig.daemon.pid(), Duration::from_secs(WINDOW));
    let b = sessions.io();
    sessions.close();
    let per = |x: u64| x as f64 / n as f64 / w.secs;
    r.add_load(Load {
        what: format!("{}{again}", plural(n, "SSH session")),
        added: n,
        window: w,
        snapshots_per_s: None,
    });
    r.add_rate(Rate {
        session: format!("SSH, {n} attached, idle{again}"),
        window: format!("{:.0} s", w.secs),
        terminal: per(b.1 - a.1),
        wire: Some(per(b.0 - a.0)),
        snapshots_per_s: None,
    });
}

/// `top -d 1` in tmux at 160×48: its own CPU and memory.
fn top_baseline(r: &mut Report) {
    let (tmux, top) = ssh::pane("exec top -d 1");
    std::thread::sleep(Duration::from_secs(SETTLE));
    let w = procfs::sample(top, Duration::from_secs(WINDOW));
    drop(tmux);
    r.add_load(Load {
        what: "baseline: `top -d 1` in tmux, its own".into(),
        added: 0,
        window: w,
        snapshots_per_s: None,
    });
}

/// One failover on the same daemon, injected over the socket (as the demo console's `x`
/// does) 5 s into a 20 s window, with one SSH session and one socket screen attached.
fn failover(rt: &Runtime, rig: &Rig, r: &mut Report) {
    let state = rig.state();
    let readers = Readers::start(rt, &state, 1);
    let sessions = Sessions::open(&rig.ssh_console(), 1);
    settle();
    let t0 = SystemTime::now();
    let (io_a, c_a) = (sessions.io(), readers.counts.now());
    let w = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_secs(FAILOVER_AFTER));
            socket::inject(rt, &state, FaultKind::GpuLost, FAILOVER_JOB);
        });
        procfs::sample(rig.daemon.pid(), Duration::from_secs(FAILOVER_WINDOW))
    });
    let (io_b, c_b) = (sessions.io(), readers.counts.now());
    sessions.close();
    readers.stop(rt);
    let ms0 = t0
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let at = |kind: &str| {
        rig.events(kind)
            .iter()
            .find(|e| e.ts >= ms0)
            .map(|e| (e.ts - ms0) as f64 / 1000.0)
    };
    let injected = at("fault_injected").expect("the fault was injected in the window");
    let finished = at("failover_finished");
    let window = format!(
        "{:.0} s: fault at +{injected:.1} s, failover finished at +{}",
        w.secs,
        finished.map_or("(not in the window)".into(), |f| format!("{f:.1} s"))
    );
    let per = |x: u64| x as f64 / w.secs;
    r.add_rate(Rate {
        session: format!("SSH, 1 attached, a failover (gpu-lost on {FAILOVER_JOB})"),
        window: window.clone(),
        terminal: per(io_b.1 - io_a.1),
        wire: Some(per(io_b.0 - io_a.0)),
        snapshots_per_s: None,
    });
    r.add_rate(Rate {
        session: "Socket, 1 attached beside it, the same failover".into(),
        window,
        terminal: per(c_b.0 - c_a.0),
        wire: None,
        snapshots_per_s: Some(per(c_b.2 - c_a.2)),
    });
    r.add_load(Load {
        what: format!(
            "1 socket screen + 1 SSH session, a failover in the window ({FAILOVER_WINDOW} s)"
        ),
        added: 0,
        window: w,
        snapshots_per_s: Some(per(c_b.2 - c_a.2)),
    });
}
