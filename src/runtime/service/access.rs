//! Who may reach the supervisor besides its own user and root: the console over SSH (its
//! address and keys file), the group the state dir's socket is shared with, and the HTTP
//! API (its address and tokens). The first two are read at the start and again on every
//! reload; the API at the start.

use crate::config::{ApiConfig, ConsoleConfig, SocketGroup};
use crate::core::identity::Role;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// What the config (or the daemon's flags, which win) says about access.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub ssh: Option<ConsoleConfig>,
    pub group: Option<SocketGroup>,
    pub api: Option<ApiConfig>,
}

impl Access {
    /// `self` where it says something, else `under`.
    pub fn over(&self, under: Access) -> Access {
        Access {
            ssh: self.ssh.clone().or(under.ssh),
            group: self.group.clone().or(under.group),
            api: self.api.clone().or(under.api),
        }
    }
}

/// The socket's group, resolved: members connect with `role`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub name: String,
    pub gid: u32,
    pub role: Role,
}

/// The role a local peer gets: the supervisor's own user and root administer it; members
/// of the socket's group get its role; anyone else who could connect may only look.
pub fn local_role(uid: u32, gid: u32, grant: Option<&Grant>) -> Role {
    let own = rustix::process::geteuid().as_raw();
    if uid == own || uid == 0 {
        return Role::Admin;
    }
    match grant {
        Some(g) => {
            // Membership is read now, so a user removed from the group loses the role.
            let members = super::users::group(&g.name)
                .filter(|(gid, _)| *gid == g.gid)
                .map(|(_, m)| m);
            match members {
                Some(m) if super::users::in_group(uid, gid, g.gid, &m) => g.role,
                _ => Role::Viewer,
            }
        }
        None => Role::Viewer,
    }
}

/// Shares the socket with `group` (its gid, mode 0660; the state dir made searchable by
/// the group) or keeps it to the supervisor's user (0600). Returns the grant and warnings
/// about folders above the state dir that members could not pass through.
pub fn apply(
    socket: &Path,
    dir: &Path,
    group: Option<&SocketGroup>,
) -> Result<(Option<Grant>, Vec<String>), String> {
    let Some(group) = group else {
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make {} 0600: {e}", socket.display()))?;
        return Ok((None, Vec::new()));
    };
    let Some((gid, _)) = super::users::group(&group.name) else {
        return Err(format!(
            "[console] socket_group \"{}\": no such group in /etc/group; fix: create it (groupadd {}) or name an existing group",
            group.name, group.name
        ));
    };
    let denied = |what: &Path, e: std::io::Error| {
        format!(
            "cannot give {} to group {}: {e}; fix: run the supervisor as root or as a member of {} (usermod -aG {} USER)",
            what.display(),
            group.name,
            group.name,
            group.name
        )
    };
    std::os::unix::fs::chown(socket, None, Some(gid)).map_err(|e| denied(socket, e))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("cannot make {} 0660: {e}", socket.display()))?;
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !searchable(meta.mode(), meta.gid(), gid) {
        std::os::unix::fs::chown(dir, None, Some(gid)).map_err(|e| denied(dir, e))?;
        let mode = (meta.mode() & 0o7777) | 0o010;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            format!(
                "cannot let group {} into {}: {e}",
                group.name,
                dir.display()
            )
        })?;
    }
    let mut warnings = Vec::new();
    for up in dir.ancestors().skip(1) {
        if let Ok(m) = std::fs::metadata(up) {
            if !searchable(m.mode(), m.gid(), gid) {
                warnings.push(format!(
                    "members of {} cannot reach the socket: {} (mode {:04o}) does not let them through; fix: chmod o+x {} or move the state dir",
                    group.name,
                    up.display(),
                    m.mode() & 0o7777,
                    up.display()
                ));
            }
        }
    }
    Ok((
        Some(Grant {
            name: group.name.clone(),
            gid,
            role: group.role,
        }),
        warnings,
    ))
}

/// Whether members of `gid` may pass through a folder of this mode and group.
fn searchable(mode: u32, dir_gid: u32, gid: u32) -> bool {
    mode & 0o001 != 0 || (dir_gid == gid && mode & 0o010 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_lets_a_group_through_by_others_or_by_its_own_group_bit() {
        assert!(searchable(0o711, 5, 7));
        assert!(searchable(0o710, 7, 7));
        assert!(!searchable(0o710, 5, 7));
        assert!(!searchable(0o700, 7, 7));
    }

    #[test]
    fn flags_win_over_the_config_key_by_key() {
        let g = SocketGroup {
            name: "ops".into(),
            role: Role::Operator,
        };
        let flags = Access {
            group: Some(g.clone()),
            ..Access::default()
        };
        let config = Access {
            group: Some(SocketGroup {
                name: "other".into(),
                role: Role::Viewer,
            }),
            ..Access::default()
        };
        assert_eq!(flags.over(config).group, Some(g));
        assert_eq!(Access::default().over(flags.clone()), flags);
    }

    #[test]
    fn the_supervisors_own_user_and_root_administer_and_strangers_only_look() {
        let own = rustix::process::geteuid().as_raw();
        assert_eq!(local_role(own, 12345, None), Role::Admin);
        assert_eq!(local_role(0, 0, None), Role::Admin);
        assert_eq!(local_role(4_000_000, 4_000_000, None), Role::Viewer);
        // A grant whose group is not in /etc/group gives nobody its role.
        let g = Grant {
            name: "lifeboat-no-such-group".into(),
            gid: 4_000_001,
            role: Role::Operator,
        };
        assert_eq!(local_role(4_000_000, 4_000_001, Some(&g)), Role::Viewer);
    }
}
