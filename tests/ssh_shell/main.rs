//! The SSH transport against real OpenSSH sshd hosts on loopback: scripts and exit
//! codes, several hosts, connection reuse and jump hosts here; host keys, auth, and
//! faults (dead, frozen, hostile output) in the modules below.

// Helpers outside #[test] fns may fail loudly too: this whole target is a test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "../support/sshd.rs"]
mod sshd;

mod auth;
mod faults;
mod host_keys;
mod nvidia_hang;
mod stream;

use lifeboat::core::fleet::HostSpec;
use lifeboat::core::ids::HostId;
use lifeboat::runtime::shell::{Shell, ShellError, ShellOutput};
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use sshd::Sshd;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub const CAP: usize = 1 << 20;

pub fn settings() -> SshSettings {
    SshSettings {
        reconnect_backoff: vec![Duration::from_millis(100), Duration::from_millis(200)],
        keepalive_interval: Duration::from_secs(1),
        ..SshSettings::default()
    }
}

pub fn shell_for(hosts: &[HostSpec]) -> SshShell {
    SshShell::new(hosts.to_vec(), settings())
}

pub fn shell(spec: &HostSpec) -> SshShell {
    shell_for(std::slice::from_ref(spec))
}

pub async fn run(sh: &SshShell, host: &HostSpec, script: &str) -> Result<ShellOutput, ShellError> {
    sh.run(host, script, Duration::from_secs(20), CAP).await
}

pub async fn ok(sh: &SshShell, host: &HostSpec, script: &str) -> ShellOutput {
    match run(sh, host, script).await {
        Ok(o) => o,
        Err(e) => panic!("{script:?} on {} failed: {e}", host.id),
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `SHA256:…` of a `.pub` file, from ssh-keygen itself.
pub fn fingerprint(pubkey: &Path) -> String {
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
    let sh = shell(&spec);
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
async fn stand_ins_come_first_on_the_session_path() {
    let standins = tempfile::tempdir().unwrap();
    let tool = standins.path().join("nvidia-smi");
    std::fs::write(&tool, "#!/bin/sh\necho \"stand-in on $HOST_NAME\"\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        standins.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let h = Sshd::with(
        "gpu0",
        sshd::Options {
            standins: Some(standins.path().to_path_buf()),
            ..sshd::Options::default()
        },
    );
    let spec = h.spec();
    let out = ok(&shell(&spec), &spec, "nvidia-smi; echo \"$PATH\"").await;
    let want = format!(
        "stand-in on gpu0\n{}:/usr/local/bin:/usr/bin:/bin\n",
        standins.path().display()
    );
    assert_eq!(text(&out.stdout), want);
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
    let sh = shell(&spec);
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
