//! `[console]` → [`ConsoleConfig`]: the address the console's SSH server listens on
//! and the keys-and-roles file (its path only; the file is read when the server starts);
//! and [`SocketGroup`]: the group the state dir's socket is shared with, and its role.

use super::values::quote;
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::RawConsole;
use crate::config::{ConsoleConfig, SocketGroup};
use crate::core::identity::Role;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

fn listen_fix(port: u16) -> String {
    format!("give an IP address and a port, e.g. listen = \"127.0.0.1:{port}\" (every interface: \"0.0.0.0:{port}\", IPv6: \"[::1]:{port}\")")
}

/// `None` when there is no `[console]` or it has no `listen` (the console is off).
pub fn build(ctx: &mut Ctx<'_>, raw: Option<&RawConsole>, source: &Path) -> Option<ConsoleConfig> {
    let raw = raw?;
    let at = KeyPath::at("console");
    let keys = raw.authorized_keys.as_ref().and_then(|s| {
        let k = at.clone().key("authorized_keys");
        if s.get_ref().trim().is_empty() {
            ctx.report_at(
                s,
                &k,
                "authorized_keys is empty",
                "name the keys-and-roles file, e.g. authorized_keys = \"console_keys\" (next to this config file)",
            );
            return None;
        }
        let path = PathBuf::from(s.get_ref());
        Some(match source.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        })
    });
    let listen = raw.listen.as_ref()?;
    let addr = listen_addr(ctx, &at.clone().key("listen"), listen, 2222);
    let Some(keys) = keys else {
        if raw.authorized_keys.is_none() {
            ctx.report_at(
                listen,
                &at.key("authorized_keys"),
                "the console listens but no authorized_keys says who may log in",
                "add authorized_keys = \"console_keys\" to [console]: a file with one line per key, like role=operator,name=alice ssh-ed25519 AAAA…",
            );
        }
        return None;
    };
    Some(ConsoleConfig {
        listen: addr?,
        authorized_keys: keys,
    })
}

/// `socket_group` (and `socket_group_role`, viewer unless said): `None` without it.
pub fn socket_group(ctx: &mut Ctx<'_>, raw: Option<&RawConsole>) -> Option<SocketGroup> {
    let raw = raw?;
    let at = KeyPath::at("console");
    let role = match &raw.socket_group_role {
        None => Some(Role::Viewer),
        Some(r) => {
            let v = r.get_ref().trim();
            let role = Role::parse(v);
            if role.is_none() {
                ctx.report_at(
                    r,
                    &at.clone().key("socket_group_role"),
                    format!("socket_group_role {} is not a role", quote(v)),
                    "use viewer (look only), operator (act on jobs) or admin (also reload and stop the supervisor)",
                );
            } else if raw.socket_group.is_none() {
                ctx.report_at(
                    r,
                    &at.clone().key("socket_group"),
                    "socket_group_role is set but no socket_group says whose role it is",
                    "add socket_group = \"lifeboat\" (a group in /etc/group), or remove socket_group_role",
                );
            }
            role
        }
    };
    let group = raw.socket_group.as_ref()?;
    let name = group.get_ref().trim();
    let valid = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        ctx.report_at(
            group,
            &at.key("socket_group"),
            format!("socket_group {} is not a group name", quote(name)),
            "name a group in /etc/group, e.g. socket_group = \"lifeboat\" (letters, digits, _ - .)",
        );
        return None;
    }
    Some(SocketGroup {
        name: name.to_string(),
        role: role?,
    })
}

/// `listen`'s address; `port` is the one examples in the messages use.
pub(super) fn listen_addr(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    s: &crate::config::raw::Str,
    port: u16,
) -> Option<SocketAddr> {
    let v = s.get_ref().trim();
    if let Ok(a) = v.parse::<SocketAddr>() {
        return Some(a);
    }
    let (message, fix) = if let Ok(ip) = v.parse::<IpAddr>() {
        let example = SocketAddr::new(ip, port);
        (
            format!("listen {} has no port", quote(v)),
            format!("add one, e.g. listen = \"{example}\""),
        )
    } else if v
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
    {
        (
            format!("listen {} names a host, not an IP address", quote(v)),
            listen_fix(port),
        )
    } else {
        (
            format!("listen {} is not an address and port", quote(v)),
            listen_fix(port),
        )
    };
    ctx.report_at(s, key, message, fix);
    None
}
