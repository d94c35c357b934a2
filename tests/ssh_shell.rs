//! The SSH transport against real OpenSSH sshd hosts on loopback: scripts and exit
//! codes, several hosts, connection reuse, host key checks (changed, unknown, accept-new,
//! revoked, hashed), auth (wrong key, agent, passphrase, RSA/ECDSA), dead and frozen
//! hosts, hostile output, and jump hosts.

// Helpers outside #[test] fns may fail loudly too: this whole file is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use lifeboat::core::fleet::{HostKeyPolicy, HostSpec};
use lifeboat::core::ids::HostId;
use lifeboat::runtime::shell::{Shell, ShellError, ShellOutput};
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use sshd::{Options, Sshd};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CAP: usize = 1 << 20;

fn settings() -> SshSettings {
    SshSettings {
        reconnect_backoff: vec![Duration::from_millis(100), Duration::from_millis(200)],
        keepalive_interval: Duration::from_secs(1),
        ..SshSettings::default()
    }
}

fn shell_for(hosts: &[HostSpec]) -> SshShell {
    SshShell::new(hosts.to_vec(), settings())
}

async fn run(sh: &SshShell, host: &HostSpec, script: &str) -> Result<ShellOutput, ShellError> {
    sh.run(host, script, Duration::from_secs(20), CAP).await
}

async fn ok(sh: &SshShell, host: &HostSpec, script: &str) -> ShellOutput {
    match run(sh, host, script).await {
        Ok(o) => o,
        Err(e) => panic!("{script:?} on {} failed: {e}", host.id),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `SHA256:…` of a `.pub` file, from ssh-keygen itself.
fn fingerprint(pubkey: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pubkey)
        .output()
        .expect("ssh-keygen -l");
    text(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_a_script_and_keeps_its_output_and_exit_code() {
    let h = Sshd::start("h1");
    let spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    let out = ok(
        &sh,
        &spec,
        "echo hello\necho oops >&2\necho \"$HOST_NAME $(id -un)\"\nexit 3\n",
    )
    .await;
    assert_eq!(text(&out.stdout), "hello\nh1 lifeboat-test\n");
    assert_eq!(text(&out.stderr), "oops\n");
    assert_eq!(out.exit, Some(3));
    assert!(!out.truncated);
    // A script killed by a signal has no exit status.
    let out = ok(&sh, &spec, "kill -9 $$").await;
    assert_eq!(out.exit, None);
    // The session works in $HOST_DIR and keeps state there between calls.
    ok(&sh, &spec, "echo 42 > \"$HOST_DIR/x\"").await;
    assert_eq!(
        text(&ok(&sh, &spec, "cat \"$HOST_DIR/x\"").await.stdout),
        "42\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_hosts_at_once() {
    let hosts: Vec<Sshd> = (1..=3).map(|i| Sshd::start(&format!("m{i}"))).collect();
    let specs: Vec<HostSpec> = hosts.iter().map(Sshd::spec).collect();
    let sh = shell_for(&specs);
    let mut set = tokio::task::JoinSet::new();
    for spec in specs.clone() {
        for _ in 0..4 {
            let (sh, spec) = (sh.clone(), spec.clone());
            set.spawn(async move {
                (
                    spec.id.clone(),
                    run(&sh, &spec, "sleep 0.2; echo $HOST_NAME").await,
                )
            });
        }
    }
    let mut n = 0;
    while let Some(r) = set.join_next().await {
        let (id, out) = r.unwrap();
        assert_eq!(text(&out.unwrap().stdout).trim(), id.as_str());
        n += 1;
    }
    assert_eq!(n, 12);
    for h in &hosts {
        assert_eq!(h.connections(), 1, "one connection per host:\n{}", h.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_is_reused_across_calls() {
    let h = Sshd::start("reuse");
    let spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    // $PPID of `sh` is the per-connection sshd process: the same one every time.
    let first = text(&ok(&sh, &spec, "echo $PPID").await.stdout);
    for _ in 0..5 {
        assert_eq!(text(&ok(&sh, &spec, "echo $PPID").await.stdout), first);
    }
    // Concurrent calls share it too (more calls than sshd's MaxSessions would allow).
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (sh, spec) = (sh.clone(), spec.clone());
        set.spawn(async move { run(&sh, &spec, "sleep 0.05; echo $PPID").await });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(text(&r.unwrap().unwrap().stdout), first);
    }
    assert_eq!(h.connections(), 1);
    assert!(sh.is_connected(&spec.id));
    assert_eq!(
        h.log().matches("Accepted publickey").count(),
        1,
        "{}",
        h.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_host_key_is_refused_with_both_fingerprints() {
    let mut h = Sshd::start("rekeyed");
    let spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    ok(&sh, &spec, "true").await;
    fs::copy(h.path("host_key.pub"), h.path("old.pub")).unwrap();
    h.regenerate_host_key();
    let old = fingerprint(&h.path("old.pub"));
    let new = fingerprint(&h.path("host_key.pub"));
    assert_ne!(old, new);
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let mut spec = spec.clone();
        spec.ssh.host_key_policy = policy;
        let sh = shell_for(&[spec.clone()]);
        match run(&sh, &spec, "true").await {
            Err(ShellError::HostKey(m)) => {
                assert!(m.contains("CHANGED"), "{m}");
                assert!(m.contains(&old) && m.contains(&new), "{m}");
                let at = format!("{}:1", h.path("known_hosts").display());
                assert!(m.contains(&at), "{m}");
                assert!(m.contains("ssh-keygen -R"), "{m}");
            }
            other => panic!("expected a host key refusal, got {other:?}"),
        }
    }
    // The known_hosts file was not touched.
    assert_eq!(
        fs::read_to_string(h.path("known_hosts"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    // The pooled shell refuses too, once its connection died with the old sshd.
    assert!(matches!(
        run(&sh, &spec, "true").await,
        Err(ShellError::HostKey(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_is_refused_unless_accept_new() {
    let h = Sshd::start("stranger");
    fs::write(h.path("known_hosts"), "").unwrap();
    let mut spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    match run(&sh, &spec, "true").await {
        Err(ShellError::HostKey(m)) => {
            let fix = format!(
                "ssh-keyscan -p {} 127.0.0.1 >> {}",
                h.port,
                h.path("known_hosts").display()
            );
            assert!(m.contains(&fix), "{m}");
            assert!(m.contains(&fingerprint(&h.path("host_key.pub"))), "{m}");
            assert!(m.contains("accept-new"), "{m}");
        }
        other => panic!("expected a host key refusal, got {other:?}"),
    }
    // accept-new: connects and appends the key.
    spec.ssh.host_key_policy = HostKeyPolicy::AcceptNew;
    let sh = shell_for(&[spec.clone()]);
    ok(&sh, &spec, "true").await;
    let kh = fs::read_to_string(h.path("known_hosts")).unwrap();
    let want = format!(
        "[127.0.0.1]:{} {}\n",
        h.port,
        sshd::public_key(&h.path("host_key.pub"))
    );
    assert_eq!(kh, want);
    // Now even a strict shell knows it.
    spec.ssh.host_key_policy = HostKeyPolicy::Strict;
    ok(&shell_for(&[spec.clone()]), &spec, "true").await;
    // A missing file is an empty one, and accept-new creates it (and its folder).
    spec.ssh.known_hosts = Some(h.path("new/dir/known_hosts"));
    spec.ssh.host_key_policy = HostKeyPolicy::AcceptNew;
    ok(&shell_for(&[spec.clone()]), &spec, "true").await;
    assert_eq!(
        fs::read_to_string(h.path("new/dir/known_hosts")).unwrap(),
        want
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_host_key_is_refused() {
    let h = Sshd::start("revoked");
    h.append_known_hosts(&format!(
        "@revoked * {}",
        sshd::public_key(&h.path("host_key.pub"))
    ));
    let mut spec = h.spec();
    spec.ssh.host_key_policy = HostKeyPolicy::AcceptNew;
    match run(&shell_for(&[spec.clone()]), &spec, "true").await {
        Err(ShellError::HostKey(m)) => {
            assert!(m.contains("@revoked"), "{m}");
            assert!(
                m.contains(&format!("{}:2", h.path("known_hosts").display())),
                "{m}"
            );
        }
        other => panic!("expected a revoked-key refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_known_hosts_entry_is_accepted() {
    let h = Sshd::start("hashed");
    let status = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(h.path("known_hosts"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let kh = fs::read_to_string(h.path("known_hosts")).unwrap();
    assert!(kh.starts_with("|1|") && !kh.contains("127.0.0.1"), "{kh}");
    let spec = h.spec();
    ok(&shell_for(&[spec.clone()]), &spec, "true").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_fails_auth_with_a_clear_message() {
    let h = Sshd::start("lockout");
    sshd::keygen(&h.path("other_key"), "ed25519", "");
    let mut spec = h.spec();
    spec.ssh_key = Some(h.path("other_key"));
    match run(&shell_for(&[spec.clone()]), &spec, "true").await {
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
    match run(&shell_for(&[spec.clone()]), &spec, "true").await {
        Err(ShellError::Auth(m)) => assert!(m.contains("cannot read key file"), "{m}"),
        other => panic!("expected an auth failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_host_is_unreachable_then_reconnects_after_restart() {
    let mut h = Sshd::start("phoenix");
    let spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    ok(&sh, &spec, "true").await;
    let call = {
        let (sh, spec) = (sh.clone(), spec.clone());
        tokio::spawn(async move { run(&sh, &spec, "sleep 10; echo late").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    h.kill();
    match call.await.unwrap() {
        Err(ShellError::Unreachable(_)) => {}
        other => panic!("expected Unreachable mid-call, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    // While it is down: refused fast, never hanging.
    for _ in 0..3 {
        let t = Instant::now();
        assert!(matches!(
            run(&sh, &spec, "true").await,
            Err(ShellError::Unreachable(_))
        ));
        assert!(t.elapsed() < Duration::from_secs(2));
    }
    h.restart();
    tokio::time::sleep(Duration::from_millis(250)).await; // past the backoff
    assert_eq!(text(&ok(&sh, &spec, "echo back").await.stdout), "back\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_host_hits_the_deadline_without_hanging() {
    let h = Sshd::start("frozen");
    let spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    ok(&sh, &spec, "true").await;
    h.pause();
    let limit = Duration::from_millis(800);
    // On the open connection…
    let t = Instant::now();
    let r = sh.run(&spec, "echo hi", limit, CAP).await;
    assert_eq!(r, Err(ShellError::Timeout(limit)));
    assert!(
        t.elapsed() < limit + Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // …and on a fresh connect (TCP accepts, the SSH banner never comes).
    let fresh = shell_for(&[spec.clone()]);
    let t = Instant::now();
    assert_eq!(
        fresh.run(&spec, "echo hi", limit, CAP).await,
        Err(ShellError::Timeout(limit))
    );
    assert!(
        t.elapsed() < limit + Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    h.resume();
    assert_eq!(
        text(&ok(&sh, &spec, "echo thawed").await.stdout),
        "thawed\n"
    );
}

/// Peak resident memory of this test process, in bytes.
fn peak_rss() -> usize {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_output_is_bounded() {
    let h = Sshd::start("noisy");
    let spec = h.spec();
    let sh = shell_for(&[spec.clone()]);
    ok(&sh, &spec, "true").await;
    let before = peak_rss();
    let cap = 64 << 10;
    let t = Instant::now();
    let out = sh
        .run(
            &spec,
            "head -c 50000000 /dev/zero; head -c 50000000 /dev/zero >&2; echo end",
            Duration::from_secs(30),
            cap,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), cap);
    assert!(out.stderr.len() <= cap);
    assert!(out.truncated);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 40 << 20, "memory grew by {grown} bytes");
    // A little too much output: cut at the cap, the exit status still arrives.
    let out = sh
        .run(&spec, "seq 1 100000; exit 7", Duration::from_secs(20), 1000)
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.truncated);
    assert_eq!(out.exit, Some(7));
    // Binary junk is just bytes.
    let out = ok(
        &sh,
        &spec,
        "head -c 200000 /dev/urandom; head -c 3000 /dev/urandom >&2",
    )
    .await;
    assert_eq!(out.stdout.len(), 200_000);
    assert_eq!(out.stderr.len(), 3000);
    assert_eq!(out.exit, Some(0));
    // The connection is still good afterwards.
    assert_eq!(text(&ok(&sh, &spec, "echo fine").await.stdout), "fine\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jump_host_carries_the_connection() {
    let bastion = Sshd::start("bastion");
    let target = Sshd::start("inner");
    let mut spec = target.spec();
    spec.ssh.proxy_jump = Some(bastion.spec().id);
    let sh = shell_for(&[bastion.spec(), spec.clone()]);
    let out = ok(&sh, &spec, "echo $HOST_NAME").await;
    assert_eq!(text(&out.stdout), "inner\n");
    // Only the target was asked for, yet the bastion serves a connection: the tunnel.
    assert_eq!(bastion.connections(), 1, "{}", bastion.log());
    assert!(bastion.log().contains("Accepted publickey"));
    // Reused, and the bastion's own connection serves calls to the bastion too.
    ok(&sh, &spec, "true").await;
    assert_eq!(
        text(&ok(&sh, &bastion.spec(), "echo $HOST_NAME").await.stdout),
        "bastion\n"
    );
    assert_eq!(bastion.connections(), 1);
    assert_eq!(target.connections(), 1);
    // A jump host nobody configured is a clear error.
    let mut lost = spec.clone();
    lost.ssh.proxy_jump = Some(HostId::new("nowhere"));
    lost.id = HostId::new("lost");
    match run(&sh, &lost, "true").await {
        Err(ShellError::Other(m)) => assert!(m.contains("\"nowhere\""), "{m}"),
        other => panic!("expected an error, got {other:?}"),
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
            text(
                &ok(&shell_for(&[spec.clone()]), &spec, "echo ok")
                    .await
                    .stdout
            ),
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
    match run(&shell_for(&[spec.clone()]), &spec, "true").await {
        Err(ShellError::Auth(m)) => assert!(m.contains("key_passphrase_env"), "{m}"),
        other => panic!("expected an auth failure, got {other:?}"),
    }
    let var = "LIFEBOAT_TEST_SSH_PASSPHRASE";
    spec.ssh.key_passphrase_env = Some(var.into());
    match run(&shell_for(&[spec.clone()]), &spec, "true").await {
        Err(ShellError::Auth(m)) => {
            assert!(m.contains(var) && m.contains("not set"), "{m}");
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
    std::env::set_var(var, "correct horse");
    ok(&shell_for(&[spec.clone()]), &spec, "true").await;
    // A passphrase given at run time (the console's prompt) works too, and a wrong one
    // is reported without being echoed.
    spec.ssh.key_passphrase_env = None;
    let sh = shell_for(&[spec.clone()]);
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
