//! What can go wrong starting the console's SSH server, each worded with the file or
//! address it concerns and the fix.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SshConsoleError {
    /// The host key file could not be read, written or decoded.
    #[error("console host key {path}: {message}")]
    HostKey { path: PathBuf, message: String },
    /// The keys-and-roles file could not be read or has bad lines (one per line).
    #[error("{0}")]
    Keys(#[from] super::keys_file::KeysFileError),
    /// A key file is open to other users.
    #[error("{path} is {what} by group or others (mode {mode:o}); fix: chmod 600 {path}")]
    Permissions {
        path: PathBuf,
        what: &'static str,
        mode: u32,
    },
    /// The listen address could not be bound.
    #[error("cannot listen for the console on {addr}: {source}; fix: pick a free address and port for [console] listen")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Refuses `path` when its mode has any of `forbidden` bits (group/other).
pub(super) fn check_mode(
    path: &std::path::Path,
    meta: &std::fs::Metadata,
    forbidden: u32,
    what: &'static str,
) -> Result<(), SshConsoleError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & forbidden != 0 {
        return Err(SshConsoleError::Permissions {
            path: path.to_path_buf(),
            what,
            mode,
        });
    }
    Ok(())
}
