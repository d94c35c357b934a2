//! Real OpenSSH clients: one under `script` (a pty of 160×48 whose output the bench reads
//! byte by byte) to time a login to its first full frame or to its exit; and sessions in
//! a private tmux server at 160×48 that stay attached while the daemon is measured.

use crate::procfs;
use crate::tmux_driver::{children, Tmux};
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `cmd` in a new pty of 160×48 (`script -qfc`), its output piped to the bench and its
/// input held open (a closed input would end the session).
fn spawn_in_pty(cmd: &str) -> Child {
    Command::new("script")
        .args([
            "-qefc",
            &format!("stty cols 160 rows 48; exec {cmd}"),
            "/dev/null",
        ])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) installed")
}

/// Terminal output with escape sequences (CSI, OSC, two-byte ESC) taken out: the text
/// the cells hold, in the order they were drawn.
#[derive(Default)]
pub struct Text {
    pub text: Vec<u8>,
    state: u8,
}

impl Text {
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (0, 0x1b) => 1,
                (0, _) => {
                    self.text.push(b);
                    0
                }
                (1, b'[') => 2,
                (1, b']') => 3,
                (1, _) => 0,
                (2, 0x40..=0x7e) => 0,
                (2, _) => 2,
                (3, 0x07) => 0,
                (3, 0x1b) => 1,
                (3, _) => 3,
                _ => 0,
            };
        }
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.text
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }
}

/// Seconds from spawning `ssh -tt` (under `script`) to the moment its terminal output
/// holds the header's "1 Fleet" and the footer's "q quit" (the last row drawn), and the
/// bytes read by then. The session is then quit with `q`.
pub fn first_frame(cmd: &str) -> (f64, usize) {
    let t0 = Instant::now();
    let mut child = spawn_in_pty(cmd);
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = Text::default();
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        let mut sent = false;
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
            text.push(&buf[..n]);
            if !sent && text.contains("1 Fleet") && text.contains("q quit") {
                sent = true;
                let _ = tx.send((t0.elapsed().as_secs_f64(), total));
            }
        }
        String::from_utf8_lossy(&text.text).into_owned()
    });
    let got = rx.recv_timeout(Duration::from_secs(30));
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"q");
    let _ = stdin.flush();
    let exited = wait_or_kill(&mut child, Duration::from_secs(10));
    drop(stdin);
    let text = reader.join().unwrap_or_default();
    let got =
        got.unwrap_or_else(|_| panic!("no full frame within 30 s; the terminal showed:\n{text}"));
    assert!(exited.is_some(), "ssh did not exit after q");
    got
}

/// Seconds from spawning `cmd` (under `script`) to its exit, what it printed, and whether
/// it exited 0.
pub fn to_exit(cmd: &str) -> (f64, String, bool) {
    let t0 = Instant::now();
    let mut child = spawn_in_pty(cmd);
    let mut out = child.stdout.take().unwrap();
    let stdin = child.stdin.take();
    let mut text = Vec::new();
    // Its output ends when `script` exits.
    let _ = out.read_to_end(&mut text);
    let secs = t0.elapsed().as_secs_f64();
    let status = wait_or_kill(&mut child, Duration::from_secs(30));
    drop(stdin);
    let text = String::from_utf8_lossy(&text).into_owned();
    let Some(status) = status else {
        panic!("{cmd} did not exit:\n{text}");
    };
    (secs, text, status.success())
}

/// Its exit status, or None when it had to be killed.
fn wait_or_kill(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// `n` console sessions over SSH in one private tmux server, 160×48 each.
pub struct Sessions {
    pub tmux: Tmux,
    pub names: Vec<String>,
    /// The `ssh` client of each session.
    pub pids: Vec<u32>,
}

impl Sessions {
    /// Opens them and returns once each shows its first frame.
    pub fn open(ssh: &str, n: usize) -> Sessions {
        let tmux = Tmux::new();
        let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        for name in &names {
            tmux.session(name, 160, 48, &format!("TERM=xterm-256color exec {ssh}"));
        }
        for name in &names {
            tmux.wait(name, "a full frame", 60, |s| {
                s.contains("1 Fleet") && s.contains("q quit")
            });
        }
        let pids = names.iter().map(|name| client_pid(&tmux, name)).collect();
        Sessions { tmux, names, pids }
    }

    /// (rchar, wchar) of every client, summed: the encrypted bytes read from the
    /// connection, and the terminal bytes written to tmux (plus its few bytes back).
    pub fn io(&self) -> (u64, u64) {
        self.pids
            .iter()
            .filter_map(|p| procfs::io(*p))
            .fold((0, 0), |(r, w), (a, b)| (r + a, w + b))
    }

    /// Quits each session with `q`, then ends the tmux server.
    pub fn close(self) {
        for name in &self.names {
            self.tmux.run(&["send-keys", "-t", name, "q"]);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while self
            .pids
            .iter()
            .any(|p| procfs::comm(*p).as_deref() == Some("ssh"))
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The pane's process when it is `ssh` (the shell exec'd it), else its `ssh` child.
fn client_pid(tmux: &Tmux, name: &str) -> u32 {
    let pane: u32 = tmux.format(name, "#{pane_pid}").parse().unwrap();
    if procfs::comm(pane).as_deref() == Some("ssh") {
        return pane;
    }
    children(pane)
        .into_iter()
        .find(|p| procfs::comm(*p).as_deref() == Some("ssh"))
        .unwrap_or_else(|| panic!("no ssh client in session {name}"))
}

/// `cmd` alone in a private tmux server at 160×48, and its pane's pid (for `top`).
pub fn pane(cmd: &str) -> (Tmux, u32) {
    let tmux = Tmux::new();
    tmux.session("p", 160, 48, cmd);
    std::thread::sleep(Duration::from_millis(500));
    let pid = tmux.format("p", "#{pane_pid}").parse().unwrap();
    (tmux, pid)
}
