//! The console over SSH, served by the real daemon: real OpenSSH `ssh` clients in tmux log
//! in with their keys; roles are enforced (and refusals journaled) by the supervisor; what
//! one operator does, another sees live; a frozen client slows nobody.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/ssh_keys.rs"]
mod ssh_keys;
#[path = "support/tmux_driver.rs"]
mod tmux_driver;

use daemon::{bin, events, Daemon};
use lifeboat::runtime::ssh_console::HostKey;
use serde_json::Value;
use ssh_keys::{free_port, keygen, public_line};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tmux_driver::{Stopped, Tmux};

fn snapshot_time(dir: &Path) -> u64 {
    let out = Command::new(bin())
        .args(["status", "--json", "--state-dir"])
        .arg(dir)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["now"].as_u64().unwrap_or(0)
}

struct Bed {
    tmp: tempfile::TempDir,
    port: u16,
    known_hosts: std::path::PathBuf,
}

impl Bed {
    fn ssh(&self, who: &str) -> String {
        let d = self.tmp.path();
        format!(
            "TERM=xterm-256color ssh -tt -F /dev/null -p {} -i {} -o IdentitiesOnly=yes -o IdentityAgent=none \
             -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} \
             -o GlobalKnownHostsFile=/dev/null {who}@127.0.0.1; echo \"ssh exited $?\"",
            self.port,
            d.join(who).display(),
            self.known_hosts.display()
        )
    }
}

#[test]
fn operators_share_the_console_over_ssh_with_roles_enforced_by_the_supervisor() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for who in ["alice", "bob", "stranger"] {
        keygen(&d.join(who));
    }
    let keys = d.join("console_keys");
    std::fs::write(
        &keys,
        format!(
            "role=operator,name=alice {}\nrole=viewer,name=bob {}\n",
            public_line(&d.join("alice.pub")),
            public_line(&d.join("bob.pub"))
        ),
    )
    .unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let state = d.join("state");
    let listen = format!("127.0.0.1:{port}");
    let daemon = Daemon::start(
        &[
            "--demo",
            "--chaos",
            "off",
            "--console-listen",
            &listen,
            "--console-keys",
            keys.to_str().unwrap(),
        ],
        &state,
    );
    let err = daemon.stderr();
    assert!(
        err.contains(&format!("console over SSH on {listen}, host key SHA256:")),
        "{err}"
    );
    // Pin the host key the daemon made (and kept 0600) in the state dir.
    let key_path = HostKey::path_in(&state);
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "host key readable by others: {mode:o}");
    let key = HostKey::load_or_create(&key_path).unwrap();
    let known_hosts = d.join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "[127.0.0.1]:{port} {}\n",
            key.key.public_key().to_openssh().unwrap()
        ),
    )
    .unwrap();
    let bed = Bed {
        tmp,
        port,
        known_hosts,
    };

    // An unknown key is refused.
    let stranger = Command::new("sh")
        .args(["-c", &bed.ssh("stranger")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&stranger.stdout).contains("ssh exited 255"),
        "{stranger:?}"
    );

    let t = Tmux::new();
    t.session("alice", 120, 40, &bed.ssh("alice"));
    t.session("bob", 80, 24, &bed.ssh("bob"));
    t.wait_for("alice", "Fleet", 20);
    t.wait_for("bob", "Fleet", 20);

    // The viewer asks for a failover: the supervisor refuses it and journals the refusal.
    let fail_over = |who: &str| {
        t.keys(who, &[":"]);
        t.literal(who, "failover llm-pretrain");
        t.keys(who, &["Enter"]);
        t.wait_for(who, "Fail over llm-pretrain", 10);
        t.keys(who, &["Tab", "Tab"]);
        t.literal(who, "llm-pretrain");
        t.keys(who, &["Tab", "Enter"]);
    };
    fail_over("bob");
    t.wait_for("bob", "bob is a viewer", 10);
    let refused = events(&state, "command_rejected");
    assert!(
        refused
            .iter()
            .any(|e| e["operator"] == "bob" && e["origin"]["via"] == "ssh"),
        "{refused:?}"
    );

    // The operator's failover is accepted, and the viewer sees it live.
    fail_over("alice");
    t.keys("bob", &["5"]);
    t.wait_for("bob", "alice: failover llm-pretrain", 15);
    let accepted = events(&state, "command_accepted");
    assert!(
        accepted
            .iter()
            .any(|e| e["operator"] == "alice" && e["role"] == "operator"),
        "{accepted:?}"
    );

    // Over SSH too the Drills view lists the runbooks (asked of the supervisor), and the
    // viewer may look but not start one.
    t.keys("bob", &["6"]);
    t.wait_for("bob", "RTO TREND", 15);
    t.wait_for("bob", "never run", 15);
    t.keys("bob", &["s"]);
    t.wait_for("bob", "bob is a viewer: starting a drill", 10);

    // Freeze bob's client: alice's session and the daemon's probes go on.
    let frozen = Stopped::stop(t.ssh_pid("bob"));
    let before = snapshot_time(&state);
    let alice_before = t.screen("alice");
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        snapshot_time(&state) > before,
        "the daemon stopped publishing"
    );
    let end = Instant::now() + Duration::from_secs(10);
    while t.screen("alice") == alice_before {
        assert!(
            Instant::now() < end,
            "alice's screen froze with bob's client"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(frozen);

    // A window change resizes the session's console.
    t.run(&["resize-window", "-t", "alice", "-x", "90", "-y", "30"]);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let s = t.screen("alice");
        let first = s.lines().next().unwrap_or_default().to_string();
        if s.lines().all(|l| l.chars().count() <= 90)
            && first.contains("1 Fleet")
            && first.trim_end().chars().count() > 80
        {
            break;
        }
        assert!(Instant::now() < end, "never redrawn at 90 columns:\n{s}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Quitting leaves the client's terminal clean.
    for who in ["alice", "bob"] {
        t.keys(who, &["q"]);
        t.wait_for(who, "ssh exited 0", 15);
        assert_eq!(
            t.format(who, "#{alternate_on}"),
            "0",
            "{who} left in the alternate screen"
        );
    }
    assert!(daemon.stop().success());
}
