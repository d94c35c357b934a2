//! The console's SSH host key: ed25519, generated once into a 0600 file (OpenSSH
//! private-key format) and reused on later starts, so clients can pin it. Its SHA-256
//! fingerprint is what the daemon prints at start and operators compare on first login.

use super::error::{check_mode, SshConsoleError};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{HashAlg, PrivateKey};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The host key's file name inside the state dir.
pub const HOST_KEY_FILE: &str = "console_host_ed25519";

/// A loaded host key and its fingerprint.
#[derive(Clone)]
pub struct HostKey {
    pub path: PathBuf,
    pub key: PrivateKey,
    /// `SHA256:…`, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostKey")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl HostKey {
    /// `<state_dir>/console_host_ed25519`.
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(HOST_KEY_FILE)
    }

    /// Reads the key at `path`, or generates one there (mode 0600) when there is none.
    /// A key file that group or others may read is refused, like sshd does.
    pub fn load_or_create(path: &Path) -> Result<HostKey, SshConsoleError> {
        let err = |message: String| SshConsoleError::HostKey {
            path: path.to_path_buf(),
            message,
        };
        let key = match fs::metadata(path) {
            Ok(meta) => {
                check_mode(path, &meta, 0o077, "accessible")?;
                let text =
                    fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
                let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|e| {
                    err(format!(
                        "it is not an OpenSSH private key ({e}); fix: move it away and restart, and a new key is generated (clients must then re-pin it)"
                    ))
                })?;
                if key.is_encrypted() {
                    return Err(err(
                        "it is protected by a passphrase; fix: remove the passphrase with `ssh-keygen -p -N '' -f FILE`, or move it away to have a new key generated".into(),
                    ));
                }
                key
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path).map_err(err)?,
            Err(e) => return Err(err(format!("cannot read it: {e}"))),
        };
        let fingerprint = fingerprint(&key);
        Ok(HostKey {
            path: path.to_path_buf(),
            key,
            fingerprint,
        })
    }
}

/// `SHA256:…` of the key's public half.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// Generates a key into `path` through a temporary file, so a crash never leaves half a key.
fn create(path: &Path) -> Result<PrivateKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness to generate it: {e}"))?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    key.set_comment("lifeboat console host key");
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| format!("cannot encode a new key: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create its directory {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write a new key: {e}")
    })?;
    Ok(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_generated_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = HostKey::path_in(&dir.path().join("state"));
        let first = HostKey::load_or_create(&path).unwrap();
        assert!(
            first.fingerprint.starts_with("SHA256:"),
            "{}",
            first.fingerprint
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(fs::read_to_string(&path)
            .unwrap()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let again = HostKey::load_or_create(&path).unwrap();
        assert_eq!(again.fingerprint, first.fingerprint);
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn a_key_others_may_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HOST_KEY_FILE);
        HostKey::load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = HostKey::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("mode 644"), "{e}");
        assert!(e.contains(&format!("chmod 600 {}", path.display())), "{e}");
    }

    #[test]
    fn a_file_that_is_no_key_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HOST_KEY_FILE);
        fs::write(&path, "hello").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let e = HostKey::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("not an OpenSSH private key"), "{e}");
        assert!(e.contains("move it away"), "{e}");
    }
}
