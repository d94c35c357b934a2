//! A tmux server of the test's own (its own socket) running one command in a pane, driven
//! by keys and read back as text; on drop, what runs in its panes is stopped with SIGTERM
//! and waited for, then the server is killed.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(cmd: &str, w: u16, h: u16) -> Self {
        let socket = format!("lifeboat-test-{}-{}", std::process::id(), rand_suffix());
        let t = Tmux { socket };
        t.run(&[
            "new-session",
            "-d",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            cmd,
        ]);
        t.run(&["set-option", "-g", "remain-on-exit", "on"]);
        t
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux installed (scripts/test.sh installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "0", k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn text(&self, s: &str) {
        self.run(&["send-keys", "-t", "0", "-l", s]);
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "0"])
    }

    pub fn format(&self, f: &str) -> String {
        self.run(&["display-message", "-p", "-t", "0", f])
            .trim()
            .to_string()
    }

    /// Waits until the screen shows `want`, or fails with what it shows.
    pub fn wait_for(&self, want: &str, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(want) {
                return s;
            }
            if Instant::now() > end {
                panic!("screen never showed {want:?}; it shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // A console that supervises keeps going headless when its terminal hangs up (as
        // kill-server does): stop what runs in the panes with SIGTERM first, and wait.
        let pids = self.run(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        let groups: Vec<&str> = pids.split_whitespace().collect();
        for pid in &groups {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .output();
        }
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end && groups.iter().any(|g| group_alive(g)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Whether a live (not zombie) process is in process group `pgid`.
fn group_alive(pgid: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.first().is_some_and(|s| *s != "Z") && f.get(2) == Some(&pgid)
    })
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000)
        .unwrap_or(0)
}
