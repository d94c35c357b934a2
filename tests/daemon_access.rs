//! Who may reach the daemon besides its own user, and how a reload changes that: the state
//! dir's socket shared with a group (0660; members get the group's role, others cannot
//! connect at all), and SIGHUP re-reading the SSH console's keys file (a new key logs in,
//! a removed key's open connection is ended, a broken file keeps the keys in force).
//! Clients are real: the `lifeboat` CLI run as other users, and OpenSSH's `ssh`.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/ssh_keys.rs"]
mod ssh_keys;
#[path = "support/sshd.rs"]
mod sshd;

use daemon::{bin, events, Daemon};
use lifeboat::runtime::ssh_console::HostKey;
use ssh_keys::{free_port, keygen, public_line};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `id -u NAME` and `id -g NAME`.
fn ids(name: &str) -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    (id("-u"), id("-g"))
}

/// The CLI as another user (the test runs as root, as the sshd tests do).
fn cli_as(uid: u32, gid: u32, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .env("HOME", "/nonexistent")
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_socket_shared_with_a_group_gives_its_members_the_groups_role_and_nobody_else_a_way_in() {
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "this test runs the CLI as other users: run the suite as root (scripts/test.sh does)"
    );
    sshd::ensure_user();
    let (uid, gid) = ids(sshd::USER);
    let tmp = tempfile::tempdir().unwrap();
    // Other users may pass through the test's folder; the state dir is the daemon's to open.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let dir = tmp.path().join("state");
    let d = Daemon::start(
        &[
            "--demo",
            "--chaos",
            "off",
            "--socket-group",
            sshd::USER,
            "--socket-group-role",
            "operator",
        ],
        &dir,
    );
    let sock = std::fs::metadata(dir.join("lifeboat.sock")).unwrap();
    assert_eq!(sock.mode() & 0o777, 0o660, "{:o}", sock.mode());
    assert_eq!(sock.gid(), gid);
    let state = std::fs::metadata(&dir).unwrap();
    assert!(
        state.mode() & 0o001 != 0 || (state.gid() == gid && state.mode() & 0o010 != 0),
        "the group cannot pass through the state dir: {:o} gid {}",
        state.mode(),
        state.gid()
    );

    // A member acts, as an operator, and the journal names them.
    let out = cli_as(uid, gid, &dir, &["pause", "llm-pretrain"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("{} (operator, cli, uid {uid})", sshd::USER)),
        "{said}"
    );
    let accepted = events(&dir, "command_accepted");
    assert!(
        accepted
            .iter()
            .any(|e| e["operator"] == sshd::USER && e["role"] == "operator"),
        "{accepted:?}"
    );
    let out = cli_as(uid, gid, &dir, &["resume", "llm-pretrain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Anyone else is stopped by the kernel before the daemon reads a byte, and told why.
    let out = cli_as(65534, 65534, &dir, &["pause", "llm-pretrain"]);
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("ermission denied"), "{said}");
    assert_eq!(
        events(&dir, "command_accepted")
            .iter()
            .filter(|e| e["command"].as_str().unwrap_or("").contains("pause"))
            .count(),
        1
    );
    assert!(d.stop().success());
}

struct Keys {
    tmp: tempfile::TempDir,
    port: u16,
    known_hosts: std::path::PathBuf,
}

impl Keys {
    fn file(&self) -> std::path::PathBuf {
        self.tmp.path().join("console_keys")
    }

    /// Writes the keys file: `role=R,name=WHO KEY` for each.
    fn write(&self, lines: &[(&str, &str)]) {
        let mut text = String::new();
        for (role, who) in lines {
            let key = public_line(&self.tmp.path().join(format!("{who}.pub")));
            text.push_str(&format!("role={role},name={who} {key}\n"));
        }
        std::fs::write(self.file(), text).unwrap();
        std::fs::set_permissions(self.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn ssh(&self, who: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(["-F", "/dev/null", "-p", &self.port.to_string(), "-i"])
            .arg(self.tmp.path().join(who))
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
            ])
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .arg(format!("{who}@127.0.0.1"))
            .stdin(Stdio::null());
        c
    }

    /// A login that runs a command: a key that is let in gets the console's refusal of
    /// commands (exit 1); one that is not gets OpenSSH's "Permission denied" (exit 255).
    fn logs_in(&self, who: &str) -> bool {
        let out = self.ssh(who).args(["-T", "true"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(1) if err.contains("runs no commands") => true,
            Some(255) if err.contains("Permission denied") => false,
            _ => panic!("{who}: {}", text(&out)),
        }
    }
}

#[test]
fn sighup_rereads_the_ssh_consoles_keys_and_ends_the_sessions_it_no_longer_lets_in() {
    let tmp = tempfile::tempdir().unwrap();
    for who in ["alice", "bob", "carol"] {
        keygen(&tmp.path().join(who));
    }
    let port = free_port();
    let keys = Keys {
        known_hosts: tmp.path().join("known_hosts"),
        tmp,
        port,
    };
    keys.write(&[("operator", "alice"), ("viewer", "bob")]);
    let dir = keys.tmp.path().join("state");
    let listen = format!("127.0.0.1:{port}");
    let d = Daemon::start(
        &[
            "--demo",
            "--chaos",
            "off",
            "--log-stderr",
            "--console-listen",
            &listen,
            "--console-keys",
            keys.file().to_str().unwrap(),
        ],
        &dir,
    );
    let host = HostKey::load_or_create(&HostKey::path_in(&dir)).unwrap();
    std::fs::write(
        &keys.known_hosts,
        format!(
            "[127.0.0.1]:{port} {}\n",
            host.key.public_key().to_openssh().unwrap()
        ),
    )
    .unwrap();
    assert!(keys.logs_in("alice"));
    assert!(!keys.logs_in("carol"));

    // Bob holds a connection open (no session, nothing to draw): it must not outlive
    // his key.
    let mut bob: Child = keys
        .ssh("bob")
        .arg("-N")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(20, "bob's login", || {
        d.stderr().contains("console login: bob (viewer)")
    });

    keys.write(&[("operator", "alice"), ("viewer", "carol")]);
    d.signal("HUP");
    wait_until(30, "the keys reloaded", || {
        events(&dir, "access_changed")
            .iter()
            .any(|e| e["detail"].as_str().unwrap_or("").contains("2 keys"))
    });
    wait_until(20, "bob's connection ended", || {
        matches!(bob.try_wait(), Ok(Some(_)))
    });
    let mut err = String::new();
    std::io::Read::read_to_string(bob.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("your key was removed from the console's keys file"),
        "{err}"
    );
    assert!(keys.logs_in("carol"));
    assert!(!keys.logs_in("bob"));
    assert!(keys.logs_in("alice"));

    // A broken file is refused with its line; the keys in force stay.
    std::fs::write(keys.file(), "role=operator,name=alice not-a-key\n").unwrap();
    d.signal("HUP");
    wait_until(30, "the broken keys refused", || {
        events(&dir, "config_reload_failed").iter().any(|e| {
            let t = e["detail"].as_str().unwrap_or("");
            t.contains("console_keys:1") && t.contains("the keys in force stay")
        })
    });
    assert!(keys.logs_in("alice"));
    assert!(keys.logs_in("carol"));
    assert!(d.stop().success());
}
