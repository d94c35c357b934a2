//! Logging in: a wrong key, RSA and ECDSA keys, a passphrase from the named env var
//! or given at run time, and the ssh-agent.

use super::*;
use sshd::Options;
use std::process::Stdio;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_fails_auth_with_a_clear_message() {
    let h = Sshd::start("lockout");
    sshd::keygen(&h.path("other_key"), "ed25519", "");
    let mut spec = h.spec();
    spec.ssh_key = Some(h.path("other_key"));
    match run(&shell(&spec), &spec, "true").await {
        Err(ShellError::Auth(m)) => {
            assert!(
                m.contains(&format!("lifeboat-test@127.0.0.1:{}", h.port)),
                "{m}"
            );
            assert!(
                m.contains(&h.path("other_key").display().to_string()),
                "{m}"
            );
            assert!(m.contains("authorized_keys"), "{m}");
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
    // A key file that does not exist says so.
    spec.ssh_key = Some(h.path("nope"));
    match run(&shell(&spec), &spec, "true").await {
        Err(ShellError::Auth(m)) => assert!(m.contains("cannot read key file"), "{m}"),
        other => panic!("expected an auth failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_and_ecdsa_keys_work() {
    for (host, client) in [("rsa", "rsa"), ("ecdsa", "ecdsa")] {
        let h = Sshd::with(
            &format!("k-{host}"),
            Options {
                host_key_type: host,
                client_key_type: client,
                ..Options::default()
            },
        );
        let spec = h.spec();
        assert_eq!(
            text(&ok(&shell(&spec), &spec, "echo ok").await.stdout),
            "ok\n"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passphrase_comes_from_the_named_env_var() {
    let h = Sshd::with(
        "locked-key",
        Options {
            client_passphrase: Some("correct horse".into()),
            ..Options::default()
        },
    );
    let mut spec = h.spec();
    // No passphrase source: the message says how to give one.
    match run(&shell(&spec), &spec, "true").await {
        Err(ShellError::Auth(m)) => assert!(m.contains("key_passphrase_env"), "{m}"),
        other => panic!("expected an auth failure, got {other:?}"),
    }
    let var = "LIFEBOAT_TEST_SSH_PASSPHRASE";
    spec.ssh.key_passphrase_env = Some(var.into());
    match run(&shell(&spec), &spec, "true").await {
        Err(ShellError::Auth(m)) => {
            assert!(m.contains(var) && m.contains("not set"), "{m}");
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
    std::env::set_var(var, "correct horse");
    ok(&shell(&spec), &spec, "true").await;
    // A passphrase given at run time (the console's prompt) works too, and a wrong one
    // is reported without being echoed.
    spec.ssh.key_passphrase_env = None;
    let sh = shell(&spec);
    sh.set_passphrase(&h.path("client_key"), "wrong staple".into());
    match run(&sh, &spec, "true").await {
        Err(ShellError::Auth(m)) => {
            assert!(
                m.contains("right one") && !m.contains("wrong staple"),
                "{m}"
            );
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
    sh.set_passphrase(&h.path("client_key"), "correct horse".into());
    sh.disconnect(&spec.id).await;
    ok(&sh, &spec, "true").await;
}

/// `ssh-agent -D` in the foreground, killed by PID when dropped.
struct Agent {
    child: std::process::Child,
    socket: std::path::PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent_with(dir: &Path, key: &Path) -> Agent {
    let socket = dir.join("agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let until = Instant::now() + Duration::from_secs(5);
    while !socket.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let added = Command::new("ssh-add")
        .arg(key)
        .env("SSH_AUTH_SOCK", &socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ssh-add");
    assert!(added.success());
    Agent { child, socket }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ssh_agent_is_used_when_no_key_file_is_set() {
    let h = Sshd::start("agent");
    let agent = agent_with(h.dir.path(), &h.path("client_key"));
    let mut spec = h.spec();
    spec.ssh_key = None;
    let sh = SshShell::new(
        vec![spec.clone()],
        SshSettings {
            agent_socket: Some(agent.socket.clone()),
            ..settings()
        },
    );
    assert_eq!(
        text(&ok(&sh, &spec, "echo via-agent").await.stdout),
        "via-agent\n"
    );
    // An agent without the right key: the message lists what was tried.
    sshd::keygen(&h.path("stranger_key"), "ed25519", "");
    let other = agent_with(&h.path("host"), &h.path("stranger_key"));
    let sh = SshShell::new(
        vec![spec.clone()],
        SshSettings {
            agent_socket: Some(other.socket.clone()),
            ..settings()
        },
    );
    match run(&sh, &spec, "true").await {
        Err(ShellError::Auth(m)) => {
            assert!(
                m.contains("ssh-agent") && m.contains("lifeboat-test@"),
                "{m}"
            );
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
}
