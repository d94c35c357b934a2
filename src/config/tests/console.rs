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

#[test]
fn a_socket_group_shares_the_socket_with_a_role_viewer_unless_said() {
    use crate::config::SocketGroup;
    use crate::core::identity::Role;
    let c = ok(&with("[console]\nsocket_group = \"ops\"\n"));
    assert_eq!(
        c.socket_group,
        Some(SocketGroup {
            name: "ops".into(),
            role: Role::Viewer
        })
    );
    assert_eq!(c.console, None, "no listen: no console over SSH");
    let c = ok(&with(
        "[console]\nsocket_group = \"ops\"\nsocket_group_role = \"operator\"\n",
    ));
    assert_eq!(c.socket_group.unwrap().role, Role::Operator);
    assert_eq!(ok(BASE).socket_group, None);
}

#[test]
fn a_bad_socket_group_or_role_is_refused_with_the_fix() {
    let p = one(&with(
        "[console]\nsocket_group = \"ops\"\nsocket_group_role = \"root\"\n",
    ));
    check(
        &p,
        20,
        "console.socket_group_role",
        &["socket_group_role \"root\" is not a role"],
        &["viewer", "operator", "admin"],
    );
    let p = one(&with("[console]\nsocket_group = \"a b\"\n"));
    check(
        &p,
        19,
        "console.socket_group",
        &["socket_group \"a b\" is not a group name"],
        &["/etc/group"],
    );
    let p = one(&with("[console]\nsocket_group_role = \"operator\"\n"));
    check(
        &p,
        19,
        "console.socket_group",
        &["no socket_group says whose role it is"],
        &["socket_group = \"lifeboat\""],
    );
}

#[test]
fn drill_notifications_and_the_team_runbooks_come_from_settings() {
    use crate::core::drill::DrillNotify;
    assert_eq!(ok(BASE).drill_notify, DrillNotify::Mark);
    assert_eq!(ok(BASE).runbooks, None);
    let c = ok(&format!(
        "[settings]\ndrill_notifications = \"hold\"\nrunbooks = \"drills\"\n{BASE}"
    ));
    assert_eq!(c.drill_notify, DrillNotify::Hold);
    assert_eq!(c.runbooks, Some(PathBuf::from("/etc/lifeboat/drills")));
    let p = one(&format!(
        "[settings]\ndrill_notifications = \"loud\"\n{BASE}"
    ));
    check(
        &p,
        2,
        "settings.drill_notifications",
        &["drill_notifications \"loud\" is not a choice"],
        &["mark", "deliver", "hold"],
    );
}
