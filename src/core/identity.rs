//! Who asked: a name, the role the runtime enforces for it, and where the request came
//! from (local uid, SSH key, CLI, API token). Every request and its journal line carry it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a requester may do. Ordered: each role may do everything the one below may.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees everything, acts on nothing.
    Viewer,
    /// Failover, switchover, pause/resume, cancel, acknowledge, restore, demo faults.
    Operator,
    /// Also prune checkpoints and reload the config.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do what `needed` allows.
    pub fn may(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Origin {
    /// A console on this machine, over the state dir's Unix socket (uid from SO_PEERCRED).
    Local { uid: u32 },
    /// The console served over SSH: the key's SHA-256 fingerprint and the peer address.
    Ssh { fingerprint: String, addr: String },
    /// A one-shot CLI command over the Unix socket.
    Cli { uid: u32 },
    /// An HTTP API request, by the token's configured name.
    Api { token: String, addr: String },
    /// The supervisor itself (automation, config reload on SIGHUP).
    Daemon,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Local { uid } => write!(f, "local console, uid {uid}"),
            Origin::Ssh { fingerprint, addr } => write!(f, "ssh {fingerprint} from {addr}"),
            Origin::Cli { uid } => write!(f, "cli, uid {uid}"),
            Origin::Api { token, addr } => write!(f, "api token {token} from {addr}"),
            Origin::Daemon => f.write_str("the supervisor"),
        }
    }
}

/// A requester: the name shown in the event log ("alice: failover …"), the role enforced
/// where the request is executed, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    pub origin: Origin,
}

impl Identity {
    /// A console or CLI on this machine, by user name and uid.
    pub fn local(name: &str, uid: u32, role: Role) -> Identity {
        Identity {
            name: name.into(),
            role,
            origin: Origin::Local { uid },
        }
    }

    /// The supervisor acting on its own (a reload, automation).
    /// Who starts a `[[drill]]` schedule's runs: an operator, as a person would.
    pub fn scheduler() -> Identity {
        Identity {
            name: "scheduler".into(),
            role: Role::Operator,
            origin: Origin::Daemon,
        }
    }

    pub fn daemon() -> Identity {
        Identity {
            name: "lifeboat".into(),
            role: Role::Admin,
            origin: Origin::Daemon,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.role, self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_their_names() {
        assert!(Role::Admin.may(Role::Operator));
        assert!(Role::Operator.may(Role::Operator));
        assert!(!Role::Viewer.may(Role::Operator));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
