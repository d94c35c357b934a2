//! Real terminals for tests: a private tmux server (its `-S` socket in its own temp dir)
//! whose panes run `ssh` clients, driven by keys and read by `capture-pane`; and the
//! process helpers to find, stop and continue those clients.
//!
//! Include it with `#[path = "support/tmux_driver.rs"] mod tmux_driver;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A private tmux server whose socket lives in its own temp dir; the server is killed
/// and the dir removed on drop.
pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    pub fn new() -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux installed (scripts/test.sh installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new session `name` of `w`×`h` running `cmd`; its pane stays after it exits.
    pub fn session(&self, name: &str, w: u16, h: u16, cmd: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            cmd,
        ]);
        self.run(&["set-option", "-t", name, "remain-on-exit", "on"]);
    }

    pub fn keys(&self, target: &str, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", target, k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn literal(&self, target: &str, text: &str) {
        self.run(&["send-keys", "-t", target, "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn hex(&self, target: &str, bytes: &[u8]) {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut args = vec!["send-keys", "-t", target, "-H"];
        args.extend(hex.iter().map(String::as_str));
        self.run(&args);
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn screen(&self, target: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", target])
    }

    /// The screen and the history above it.
    pub fn history(&self, target: &str) -> String {
        self.run(&["capture-pane", "-p", "-S", "-", "-t", target])
    }

    pub fn screen_with_styles(&self, target: &str) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", target])
    }

    pub fn format(&self, target: &str, f: &str) -> String {
        self.run(&["display-message", "-p", "-t", target, f])
            .trim()
            .to_string()
    }

    /// Waits until `target`'s screen satisfies `ok`, or fails showing it.
    pub fn wait(&self, target: &str, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen(target);
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "{target}'s screen never showed {what}; it shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for(&self, target: &str, want: &str, secs: u64) -> String {
        self.wait(target, &format!("{want:?}"), secs, |s| s.contains(want))
    }

    /// The pid of the `ssh` client in `target`'s pane.
    pub fn ssh_pid(&self, target: &str) -> u32 {
        let pane: u32 = self.format(target, "#{pane_pid}").parse().unwrap();
        children(pane)
            .into_iter()
            .find(|p| comm(*p).as_deref() == Some("ssh"))
            .unwrap_or_else(|| panic!("no ssh under pane pid {pane}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The number after "frame " on a screen.
pub fn frame_number(screen: &str) -> Option<u64> {
    screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("frame "))
        .and_then(|n| n.trim().parse().ok())
}

fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Direct children of `pid`, from /proc.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let ppid = fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u32>().ok())
            });
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

/// `kill -SIG pid`.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Continues a stopped process when dropped, so a failing test leaves nothing frozen.
pub struct Stopped(pub u32);

impl Stopped {
    pub fn stop(pid: u32) -> Stopped {
        signal(pid, "STOP");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}
