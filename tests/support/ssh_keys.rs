//! Client keys for the console over SSH, made by OpenSSH's own `ssh-keygen`, and a free
//! loopback port for a server to listen on.
//!
//! Include it with `#[path = "support/ssh_keys.rs"] mod ssh_keys;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};

/// `ssh-keygen` an ed25519 key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "ssh-keygen failed (is openssh-client installed?)");
}

/// The `type base64` of a `.pub` file.
pub fn public_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut f = text.split_whitespace();
    format!("{} {}", f.next().unwrap(), f.next().unwrap())
}

/// The SHA256 fingerprint `ssh-keygen -lf` prints for a key file.
pub fn keygen_fingerprint(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
