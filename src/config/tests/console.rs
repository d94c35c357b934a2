//! `[console]`: the console over SSH — listen address and keys file.

use super::*;
use crate::config::ConsoleConfig;
use std::path::PathBuf;

#[test]
fn a_console_table_gives_the_address_and_the_keys_file() {
    let c = ok(&with(
        "[console]\nlisten = \"127.0.0.1:2222\"\nauthorized_keys = \"/etc/lifeboat/keys\"\n",
    ));
    assert_eq!(
        c.console,
        Some(ConsoleConfig {
            listen: "127.0.0.1:2222".parse().unwrap(),
            authorized_keys: PathBuf::from("/etc/lifeboat/keys"),
        })
    );
    let c = ok(&with(
        "[console]\nlisten = \"[::1]:22\"\nauthorized_keys = \"k\"\n",
    ));
    assert_eq!(c.console.unwrap().listen, "[::1]:22".parse().unwrap());
    assert_eq!(ok(BASE).console, None);
}

#[test]
fn a_relative_keys_file_is_next_to_the_config_file() {
    // `ok` reads the text as /etc/lifeboat/t.toml.
    let c = ok(&with(
        "[console]\nlisten = \"0.0.0.0:2222\"\nauthorized_keys = \"console_keys\"\n",
    ));
    assert_eq!(
        c.console.unwrap().authorized_keys,
        PathBuf::from("/etc/lifeboat/console_keys")
    );
}

#[test]
fn without_listen_the_console_is_off() {
    let c = ok(&with("[console]\nauthorized_keys = \"console_keys\"\n"));
    assert_eq!(c.console, None);
}

#[test]
fn listen_needs_an_ip_address_and_a_port() {
    let p = one(&with(
        "[console]\nlisten = \"localhost:2222\"\nauthorized_keys = \"k\"\n",
    ));
    check(
        &p,
        19,
        "console.listen",
        &["listen \"localhost:2222\" names a host, not an IP address"],
        &["listen = \"127.0.0.1:2222\"", "\"[::1]:2222\""],
    );
    let p = one(&with(
        "[console]\nlisten = \"127.0.0.1\"\nauthorized_keys = \"k\"\n",
    ));
    check(
        &p,
        19,
        "console.listen",
        &["listen \"127.0.0.1\" has no port"],
        &["listen = \"127.0.0.1:2222\""],
    );
    let p = one(&with(
        "[console]\nlisten = \"2222\"\nauthorized_keys = \"k\"\n",
    ));
    check(
        &p,
        19,
        "console.listen",
        &["listen \"2222\" is not an address and port"],
        &["e.g. listen = \"127.0.0.1:2222\""],
    );
}

#[test]
fn listen_without_authorized_keys_is_refused() {
    let p = one(&with("[console]\nlisten = \"127.0.0.1:2222\"\n"));
    check(
        &p,
        19,
        "console.authorized_keys",
        &["no authorized_keys says who may log in"],
        &[
            "authorized_keys = \"console_keys\"",
            "role=operator,name=alice",
        ],
    );
    let p = one(&with(
        "[console]\nlisten = \"127.0.0.1:2222\"\nauthorized_keys = \" \"\n",
    ));
    check(
        &p,
        20,
        "console.authorized_keys",
        &["authorized_keys is empty"],
        &[],
    );
}

#[test]
fn unknown_console_keys_are_refused_with_the_known_ones() {
    let p = one(&with("[console]\nlisten = \"127.0.0.1:2222\"\nport = 22\n"));
    assert_eq!(p.key, "console.port", "{p:#?}");
    assert_eq!(p.at.map(|a| a.line), Some(20), "{p:#?}");
    assert!(
        p.fix.contains("listen") && p.fix.contains("authorized_keys"),
        "{p:#?}"
    );
}

#[test]
fn the_summary_says_where_the_console_listens() {
    let c = ok(&with(
        "[console]\nlisten = \"127.0.0.1:2222\"\nauthorized_keys = \"console_keys\"\n",
    ));
    let s = crate::config::summary(&c);
    assert!(
        s.contains(
            "console over SSH: 127.0.0.1:2222 (keys and roles in /etc/lifeboat/console_keys)"
        ),
        "{s}"
    );
}
