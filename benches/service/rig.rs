//! The bench's daemon: `lifeboat daemon --demo --chaos off` on a fresh state dir, serving
//! the console over SSH on a loopback port to one key (made by `ssh-keygen`), with its
//! host key pinned in a known_hosts; and the `ssh` command lines that log in to it.

use crate::daemon::Daemon;
use crate::ssh_keys::{free_port, keygen, public_line};
use lifeboat::runtime::journal::EventRow;
use lifeboat::runtime::ssh_console::HostKey;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Fields drop in order: the daemon (SIGTERM, waited for) before its temp dir.
pub struct Rig {
    pub daemon: Daemon,
    pub port: u16,
    pub tmp: tempfile::TempDir,
}

/// The options every `ssh` of the bench shares: no config, no agent, only this key,
/// and the pinned host key.
pub fn ssh_options(key: &Path, known_hosts: &Path, port: u16) -> String {
    format!(
        "-F /dev/null -p {port} -i {} -o IdentitiesOnly=yes -o IdentityAgent=none \
         -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} \
         -o GlobalKnownHostsFile=/dev/null",
        key.display(),
        known_hosts.display()
    )
}

impl Rig {
    /// A demo daemon serving the console over SSH; `extra` goes after `daemon`.
    pub fn start(extra: &[&str]) -> Rig {
        let tmp = tempfile::Builder::new()
            .prefix("lifeboat-bench-service-")
            .tempdir()
            .unwrap();
        let d = tmp.path();
        keygen(&d.join("op"));
        let keys = d.join("console_keys");
        let line = format!(
            "role=viewer,name=bench {}\n",
            public_line(&d.join("op.pub"))
        );
        std::fs::write(&keys, line).unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "--demo",
            "--chaos",
            "off",
            "--console-listen",
            &listen,
            "--console-keys",
            keys.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let state = d.join("state");
        let daemon = Daemon::start(&args, &state);
        let key = HostKey::load_or_create(&HostKey::path_in(&state)).unwrap();
        std::fs::write(
            d.join("known_hosts"),
            format!(
                "[127.0.0.1]:{port} {}\n",
                key.key.public_key().to_openssh().unwrap()
            ),
        )
        .unwrap();
        Rig { daemon, port, tmp }
    }

    pub fn state(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    /// `ssh -tt` to the console (a pty, then the shell request: the console).
    pub fn ssh_console(&self) -> String {
        format!("ssh -tt {} bench@127.0.0.1", self.options())
    }

    /// `ssh -T`: logs in, asks for a shell without a pty, and is refused in one line.
    pub fn ssh_refused(&self) -> String {
        format!("ssh -T {} bench@127.0.0.1", self.options())
    }

    fn options(&self) -> String {
        let d = self.tmp.path();
        ssh_options(&d.join("op"), &d.join("known_hosts"), self.port)
    }

    /// The journal's events of `kind`, oldest first.
    pub fn events(&self, kind: &str) -> Vec<EventRow> {
        let path = self.state().join("journal.db");
        lifeboat::runtime::journal::Journal::open_existing(&path)
            .and_then(|j| j.recent_events(100_000))
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// SIGTERM, waited for; the daemon must exit cleanly.
    pub fn stop(self) {
        let Rig { daemon, tmp, .. } = self;
        let st = daemon.stop();
        assert!(st.success(), "the daemon exited with {st}");
        drop(tmp);
    }
}
