//! A bed for the console over SSH: the server on a free loopback port with a temp state
//! dir, client keys made by `ssh-keygen`, a known_hosts that pins the server's key, and
//! the test screen (`console_screen`). Stopped and removed on drop.
//!
//! Include it with its siblings:
//! `#[path = "support/console_screen.rs"] mod console_screen;`,
//! `#[path = "support/ssh_keys.rs"] mod ssh_keys;`,
//! `#[path = "support/console_bed.rs"] mod console_bed;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use crate::console_screen::TestScreens;
pub use crate::ssh_keys::{keygen, keygen_fingerprint, public_line};
use lifeboat::runtime::ssh_console::{
    bind, AuthorizedKeys, HostKey, ServeOptions, SshConsoleError,
};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The server, its keys and files.
pub struct Bed {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub fingerprint: String,
    pub host_key: PathBuf,
    pub known_hosts: PathBuf,
    pub screens: Arc<TestScreens>,
    shutdown: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<Result<(), SshConsoleError>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Bed {
    /// Keys for alice (operator), bob (viewer) and a stranger (not listed); the server
    /// started on 127.0.0.1 at a free port.
    pub fn start() -> Bed {
        // The server's log goes with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("lifeboat=debug")
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for who in ["alice", "bob", "stranger"] {
            keygen(&d.join(who));
        }
        let keys_file = d.join("console_keys");
        fs::write(
            &keys_file,
            format!(
                "# console keys\nrole=operator,name=alice {} alice@laptop\nrole=viewer,name=bob {}\n",
                public_line(&d.join("alice.pub")),
                public_line(&d.join("bob.pub"))
            ),
        )
        .unwrap();
        fs::set_permissions(&keys_file, fs::Permissions::from_mode(0o600)).unwrap();
        let host_key = HostKey::path_in(&d.join("state"));
        let key = HostKey::load_or_create(&host_key).unwrap();
        let mut opts = ServeOptions::new(
            "127.0.0.1:0".parse().unwrap(),
            key,
            AuthorizedKeys::load(&keys_file).unwrap(),
        );
        opts.auth_rejection_time = Duration::from_millis(200);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(bind(opts)).unwrap();
        let port = listener.local_addr().port();
        let fingerprint = listener.fingerprint().to_string();
        let known_hosts = d.join("known_hosts");
        let pinned = HostKey::load_or_create(&host_key).unwrap();
        fs::write(
            &known_hosts,
            format!(
                "[127.0.0.1]:{port} {}\n",
                pinned.key.public_key().to_openssh().unwrap()
            ),
        )
        .unwrap();
        let screens = Arc::new(TestScreens::default());
        let (shutdown, rx) = watch::channel(false);
        let server = rt.spawn(listener.run(screens.clone(), rx));
        Bed {
            dir,
            port,
            fingerprint,
            host_key,
            known_hosts,
            screens,
            shutdown,
            server: Some(server),
            rt: Some(rt),
        }
    }

    /// `ssh` arguments for `who`'s key: pinned host key, no user config, no agent.
    pub fn ssh_args(&self, who: &str) -> Vec<String> {
        let d = self.dir.path();
        let mut a: Vec<String> = ["-F", "/dev/null", "-p", &self.port.to_string(), "-i"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(d.join(who).display().to_string());
        for o in [
            "IdentitiesOnly=yes".to_string(),
            "IdentityAgent=none".to_string(),
            "BatchMode=yes".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
        ] {
            a.push("-o".into());
            a.push(o);
        }
        a
    }

    /// Runs `ssh` without a terminal and returns what it did.
    pub fn ssh_output(&self, who: &str, extra: &[&str]) -> Output {
        let mut cmd = Command::new("ssh");
        cmd.args(self.ssh_args(who))
            .args(extra)
            .stdin(Stdio::null())
            .env_remove("SSH_AUTH_SOCK");
        cmd.output().expect("ssh runs")
    }

    /// A shell command line for tmux: `ssh -tt` as `who`, then its exit status.
    pub fn ssh_line(&self, who: &str, extra: &str) -> String {
        format!(
            "TERM=xterm-256color ssh -tt {} {extra} op@127.0.0.1; echo \"ssh exited $?\"",
            self.ssh_args(who).join(" ")
        )
    }

    /// Asks the server to shut down and waits for `serve` to return.
    pub fn shutdown(&mut self) {
        let _ = self.shutdown.send(true);
        if let (Some(rt), Some(server)) = (&self.rt, self.server.take()) {
            let r = rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), server).await })
                .expect("serve returned within 20 s of shutdown");
            r.expect("serve did not panic").expect("serve ended Ok");
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}
