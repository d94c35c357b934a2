//! Host keys: a changed key is refused with both fingerprints, an unknown one unless
//! accept-new (which appends it), a revoked one always; hashed entries are matched.

use super::*;
use lifeboat::core::fleet::HostKeyPolicy;
use std::fs;
use std::process::Stdio;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_host_key_is_refused_with_both_fingerprints() {
    let mut h = Sshd::start("rekeyed");
    let spec = h.spec();
    let sh = shell(&spec);
    ok(&sh, &spec, "true").await;
    fs::copy(h.path("host_key.pub"), h.path("old.pub")).unwrap();
    h.regenerate_host_key();
    let old = fingerprint(&h.path("old.pub"));
    let new = fingerprint(&h.path("host_key.pub"));
    assert_ne!(old, new);
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let mut spec = spec.clone();
        spec.ssh.host_key_policy = policy;
        let sh = shell(&spec);
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
    let sh = shell(&spec);
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
    let sh = shell(&spec);
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
    ok(&shell(&spec), &spec, "true").await;
    // A missing file is an empty one, and accept-new creates it (and its folder).
    spec.ssh.known_hosts = Some(h.path("new/dir/known_hosts"));
    spec.ssh.host_key_policy = HostKeyPolicy::AcceptNew;
    ok(&shell(&spec), &spec, "true").await;
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
    match run(&shell(&spec), &spec, "true").await {
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
    ok(&shell(&spec), &spec, "true").await;
}
