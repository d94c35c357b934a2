//! `lifeboat daemon` as a child process of the test: started on a state dir, waited for
//! until its socket answers, signalled, and stopped with SIGTERM (then waited for) on drop.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    child: Option<Child>,
    pub dir: PathBuf,
    /// Its stderr (the start line, errors).
    pub err: PathBuf,
}

/// The bodies of the journal's events of `kind` in state dir `dir`, oldest first.
pub fn events(dir: &Path, kind: &str) -> Vec<serde_json::Value> {
    let j = lifeboat::runtime::journal::Journal::open_existing(&dir.join("journal.db")).unwrap();
    j.recent_events(100_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.body)
        .collect()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lifeboat")
}

impl Daemon {
    /// `lifeboat daemon ARGS --state-dir DIR`, waited for until it answers.
    pub fn start(args: &[&str], dir: &Path) -> Daemon {
        Self::start_env(args, dir, &[])
    }

    /// [`Daemon::start`] with `env` added to its environment.
    pub fn start_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Daemon {
        let err = dir.with_extension("daemon.err");
        let child = Command::new(bin())
            .envs(env.iter().copied())
            .arg("daemon")
            .args(args)
            .arg("--state-dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("the lifeboat binary");
        let d = Daemon {
            child: Some(child),
            dir: dir.to_path_buf(),
            err,
        };
        d.wait_answering(30);
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Until `status` says a supervisor is live.
    pub fn wait_answering(&self, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let sock = self.dir.join("lifeboat.sock");
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                return;
            }
            if Instant::now() > end {
                panic!(
                    "the daemon never answered on {}:\n{}",
                    sock.display(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status();
    }

    /// SIGTERM, then its exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait(20).expect("the daemon stopped after SIGTERM")
    }

    pub fn wait(&mut self, secs: u64) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return Some(st);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        self.signal("TERM");
        if self.wait(20).is_none() {
            if let Some(c) = self.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
