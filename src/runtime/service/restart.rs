//! A supervisor-loss drill's kill: the daemon's process is replaced by a fresh start of
//! the same command line (exec), as a `kill -9` followed by systemd's restart would do
//! it. Nothing in memory survives and nothing is shut down cleanly: every socket and SSH
//! connection closes with the old image (all are close-on-exec), the state lock goes
//! with its descriptor, and the new supervisor knows only what the journal knows.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

/// Replaces this process; returns only if it could not be replaced.
pub fn exec_self() -> std::io::Error {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return e,
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    std::process::Command::new(exe).args(args).exec()
}
