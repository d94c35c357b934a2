//! SSH settings of hosts: access, known_hosts, host_key_policy, key_passphrase_env and
//! proxy_jump (another host, not itself, no loops).

use super::*;
use crate::core::fleet::{Access, HostKeyPolicy};
use crate::core::ids::HostId;

const BASTION: &str =
    "[[host]]\nname = \"bastion\"\naddress = \"gw.example.com:2222\"\nrole = \"cpu-standby\"\n";

#[test]
fn ssh_options_reach_the_host_spec() {
    let text = edit(
        "gpus = 2",
        "gpus = 2\nssh_key = \"/k/id\"\nknown_hosts = \"/k/known_hosts\"\nhost_key_policy = \"accept-new\"\nkey_passphrase_env = \"PC1_KEY_PASS\"\nproxy_jump = \"bastion\"",
    );
    let c = ok(&format!("{text}\n{BASTION}"));
    let h = &c.fleet.hosts[0];
    assert_eq!(
        h.ssh.known_hosts.as_deref(),
        Some(std::path::Path::new("/k/known_hosts"))
    );
    assert_eq!(h.ssh.host_key_policy, HostKeyPolicy::AcceptNew);
    assert_eq!(h.ssh.key_passphrase_env.as_deref(), Some("PC1_KEY_PASS"));
    assert_eq!(h.ssh.proxy_jump, Some(HostId::new("bastion")));
    assert_eq!(h.access, Access::Ssh);
    let b = &c.fleet.hosts[1];
    assert_eq!(b.ssh.host_key_policy, HostKeyPolicy::Strict);
    assert_eq!(b.ssh.proxy_jump, None);
    assert_eq!(b.ssh.known_hosts, None);
    let c = ok(&edit("gpus = 2", "gpus = 2\naccess = \"local\""));
    assert_eq!(c.fleet.hosts[0].access, Access::Local);
}

#[test]
fn access_and_host_key_policy_suggest_the_right_word() {
    let p = one(&edit(
        "gpus = 2",
        "gpus = 2\nhost_key_policy = \"accept_new\"",
    ));
    check(
        &p,
        5,
        "host \"pc1\".host_key_policy",
        &[
            "unknown host_key_policy \"accept_new\"",
            "did you mean \"accept-new\"?",
        ],
        &["\"strict\", \"accept-new\""],
    );
    let p = one(&edit("gpus = 2", "gpus = 2\naccess = \"locl\""));
    check(
        &p,
        5,
        "host \"pc1\".access",
        &["unknown access \"locl\"", "did you mean \"local\"?"],
        &["\"ssh\", \"local\""],
    );
}

#[test]
fn known_hosts_must_be_absolute() {
    let p = one(&edit(
        "gpus = 2",
        "gpus = 2\nknown_hosts = \"~/.ssh/known_hosts\"",
    ));
    check(
        &p,
        5,
        "host \"pc1\".known_hosts",
        &["not an absolute path"],
        &["\"~\" is not expanded", "/home/you/.ssh/known_hosts"],
    );
}

#[test]
fn key_passphrase_env_holds_a_name_never_the_passphrase() {
    for secret in [
        "correct horse battery staple",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "my-pass!",
    ] {
        let text = edit(
            "gpus = 2",
            &format!("gpus = 2\nssh_key = \"/k/id\"\nkey_passphrase_env = \"{secret}\""),
        );
        let p = one(&text);
        check(
            &p,
            6,
            "host \"pc1\".key_passphrase_env",
            &[
                "must be the name of an environment variable",
                "secrets never live",
            ],
            &["key_passphrase_env = \"PC1_KEY_PASSPHRASE\""],
        );
        let whole = parse_str(&text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(!whole.contains(secret), "{whole}");
    }
    // A name, but nothing to unlock.
    let p = one(&edit(
        "gpus = 2",
        "gpus = 2\nkey_passphrase_env = \"PC1_PASS\"",
    ));
    check(
        &p,
        5,
        "host \"pc1\".key_passphrase_env",
        &["ssh_key is missing"],
        &["add ssh_key", "ssh-agent"],
    );
    // `key_passphrase = …` itself is refused as a secret key, pointing at the _env one.
    let p = one(&edit("gpus = 2", "gpus = 2\nkey_passphrase = \"hunter2\""));
    assert!(p.message.contains("secrets never live"), "{p:#?}");
    assert!(p.fix.contains("key_passphrase_env"), "{p:#?}");
    assert!(!p.fix.contains("hunter2") && !p.message.contains("hunter2"));
}

#[test]
fn proxy_jump_names_another_known_host() {
    let p = one(&format!(
        "{}\n{BASTION}",
        edit("gpus = 2", "gpus = 2\nproxy_jump = \"bastoin\"")
    ));
    check(
        &p,
        5,
        "host \"pc1\".proxy_jump",
        &[
            "no host named \"bastoin\"",
            "did you mean \"bastion\"?",
            "known hosts: \"bastion\"",
        ],
        &["add a [[host]] for the jump host (name = \"bastoin\""],
    );
    let p = one(&edit("gpus = 2", "gpus = 2\nproxy_jump = \"pc1\""));
    check(
        &p,
        5,
        "host \"pc1\".proxy_jump",
        &["\"pc1\" cannot jump through itself"],
        &["another [[host]]"],
    );
}

#[test]
fn proxy_jump_loops_are_reported_once() {
    let text = format!(
        "{}\n{BASTION}proxy_jump = \"pc1\"\n",
        edit("gpus = 2", "gpus = 2\nproxy_jump = \"bastion\"")
    );
    let p = one(&text);
    check(
        &p,
        5,
        "host \"pc1\".proxy_jump",
        &["proxy_jump makes a loop: pc1 → bastion → pc1"],
        &["without proxy_jump"],
    );
    // A chain that ends is fine: pc1 → mid → bastion.
    let mid = "[[host]]\nname = \"mid\"\naddress = \"10.0.0.3\"\nrole = \"cpu-standby\"\nproxy_jump = \"bastion\"\n";
    let text = format!(
        "{}\n{mid}\n{BASTION}",
        edit("gpus = 2", "gpus = 2\nproxy_jump = \"mid\"")
    );
    let c = ok(&text);
    assert_eq!(
        c.fleet.hosts[1].ssh.proxy_jump,
        Some(HostId::new("bastion"))
    );
}

#[test]
fn local_hosts_neither_jump_nor_are_jumped_through() {
    let local = "[[host]]\nname = \"here\"\naddress = \"localhost\"\nrole = \"cpu-standby\"\naccess = \"local\"\n";
    let p = one(&format!(
        "{}\n{local}",
        edit("gpus = 2", "gpus = 2\nproxy_jump = \"here\"")
    ));
    check(
        &p,
        5,
        "host \"pc1\".proxy_jump",
        &["jump host \"here\" is access = \"local\""],
        &["remove proxy_jump"],
    );
    let p = one(&format!(
        "{}\n{BASTION}",
        edit(
            "gpus = 2",
            "gpus = 2\naccess = \"local\"\nproxy_jump = \"bastion\""
        )
    ));
    check(
        &p,
        6,
        "host \"pc1\".proxy_jump",
        &["no effect on an access = \"local\" host"],
        &[],
    );
}
