//! CPU use of an idle console: the demo fleet on screen (in tmux), nobody typing, for 30 s.
//! Run with `cargo bench --bench idle_cpu`; under `cargo test` it only checks it can start.
//! Goal: under 1 % of one core. Reported beside `top -d 1` in the same terminal, the tool
//! an operator would otherwise leave running.

use std::process::Command;
use std::time::{Duration, Instant};

fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Starts `cmd` in its own tmux server; returns (socket, pid of the pane's process).
fn start(cmd: &str) -> Option<(String, u32)> {
    let socket = format!("lifeboat-bench-{}-{}", std::process::id(), cmd.len());
    Command::new("tmux")
        .args([
            "-L",
            &socket,
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "48",
            cmd,
        ])
        .status()
        .ok()?;
    std::thread::sleep(Duration::from_millis(500));
    let out = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "display-message",
            "-p",
            "-t",
            "0",
            "#{pane_pid}",
        ])
        .output()
        .ok()?;
    let pid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((socket, pid))
}

/// Stops the pane's processes with SIGTERM (a console that supervises would keep going
/// headless on the hang-up kill-server sends), waits for them, then the tmux server.
fn stop(socket: &str, pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{pid}")])
        .status();
    let end = Instant::now() + Duration::from_secs(10);
    while ticks(pid).is_some() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("tmux")
        .args(["-L", socket, "kill-server"])
        .status();
}

/// Percent of one core used by `cmd` over `secs`, after a warm-up.
fn measure(cmd: &str, warmup: Duration, secs: u64) -> Option<f64> {
    let (socket, pid) = start(cmd)?;
    std::thread::sleep(warmup);
    let t0 = Instant::now();
    let a = ticks(pid);
    std::thread::sleep(Duration::from_secs(secs));
    let b = ticks(pid);
    let wall = t0.elapsed().as_secs_f64();
    stop(&socket, pid);
    Some((b? - a?) as f64 / clk_tck() / wall * 100.0)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let dir = std::env::temp_dir().join(format!("lifeboat-idle-{}", std::process::id()));
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    let console = format!("{bin} --demo --chaos off --state-dir {}", dir.display());
    let secs = if bench { 30 } else { 2 };
    let warmup = Duration::from_secs(if bench { 5 } else { 1 });
    let ours = measure(&console, warmup, secs);
    let top = if bench {
        measure("top -d 1", warmup, secs)
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(&dir);
    match ours {
        Some(p) if !bench => {
            println!("idle console smoke check (unoptimised, {secs} s): started and measured ({p:.2} %); `cargo bench --bench idle_cpu` gives the number");
        }
        Some(p) => {
            println!(
                "idle console (demo fleet, 160x48, {secs} s): {p:.2} % of one core (goal < 1 %)"
            );
            if let Some(t) = top {
                println!("top -d 1 in the same terminal:            {t:.2} % of one core");
                if t > 0.0 {
                    println!("ratio lifeboat / top: {:.2}", p / t);
                }
            }
        }
        None => println!("idle console: could not measure (is tmux installed?)"),
    }
}
