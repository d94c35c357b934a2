//! The russh client handler: checks the server's host key against the host's
//! known_hosts file (and appends it under `accept-new`), wording every refusal with
//! the fingerprints, the file and line, and the command that fixes it.

use super::known_hosts::{self, Verdict};
use crate::core::fleet::{HostKeyPolicy, HostSpec};
use crate::runtime::shell::ShellError;
use russh::client;
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

/// Why a handshake ended: russh's own error, or our refusal of the host.
#[derive(Debug)]
pub enum HandshakeError {
    Ssh(russh::Error),
    Refused(ShellError),
}

impl From<russh::Error> for HandshakeError {
    fn from(e: russh::Error) -> Self {
        HandshakeError::Ssh(e)
    }
}

/// Everything needed to judge one host's key.
#[derive(Clone, Debug)]
pub struct HostKeyCheck {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub file: PathBuf,
    pub policy: HostKeyPolicy,
}

impl HostKeyCheck {
    pub fn new(host: &HostSpec, file: PathBuf) -> Self {
        Self {
            host: host.id.to_string(),
            address: host.address.clone(),
            port: host.port,
            file,
            policy: host.ssh.host_key_policy,
        }
    }

    /// The file's text; a missing file is an empty one.
    pub async fn read(&self) -> Result<String, ShellError> {
        match tokio::fs::read(&self.file).await {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(ShellError::HostKey(format!(
                "cannot read known_hosts file {}: {e}; fix: make it readable, or point known_hosts at another file in this [[host]]",
                self.file.display()
            ))),
        }
    }

    /// Accepts the key (`Ok`) or says why not.
    pub async fn verify(&self, key: &PublicKey) -> Result<(), ShellError> {
        let text = self.read().await?;
        match known_hosts::check(&text, &self.address, self.port, key) {
            Verdict::Known => Ok(()),
            Verdict::Revoked { line } => Err(self.revoked(key, line)),
            Verdict::Changed { old, line } => Err(self.changed(key, &old, line)),
            Verdict::Unknown => match self.policy {
                HostKeyPolicy::Strict => Err(self.unknown(key)),
                HostKeyPolicy::AcceptNew => self.append(&text, key).await,
            },
        }
    }

    fn who(&self) -> String {
        format!("host \"{}\" ({}:{})", self.host, self.address, self.port)
    }

    fn keyscan(&self) -> String {
        format!(
            "ssh-keyscan -p {} {} >> {}",
            self.port,
            self.address,
            self.file.display()
        )
    }

    fn unknown(&self, key: &PublicKey) -> ShellError {
        ShellError::HostKey(format!(
            "{} is not in {} (it offered the {} key {}); fix: check that fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add it with `{}`, or set host_key_policy = \"accept-new\" for this [[host]] to trust the first key seen",
            self.who(),
            self.file.display(),
            key.algorithm().as_str(),
            known_hosts::fingerprint(key),
            self.keyscan()
        ))
    }

    fn changed(&self, key: &PublicKey, old: &PublicKey, line: usize) -> ShellError {
        ShellError::HostKey(format!(
            "the host key of {} has CHANGED: it offered the {} key {}, but {}:{line} holds the {} key {}. Someone may be intercepting the connection, or the host was reinstalled; fix: only if you know the host was re-keyed, remove the old entry with `ssh-keygen -R \"{}\" -f {}` and add the new key with `{}`",
            self.who(),
            key.algorithm().as_str(),
            known_hosts::fingerprint(key),
            self.file.display(),
            old.algorithm().as_str(),
            known_hosts::fingerprint(old),
            known_hosts::host_name(&self.address, self.port),
            self.file.display(),
            self.keyscan()
        ))
    }

    fn revoked(&self, key: &PublicKey, line: usize) -> ShellError {
        ShellError::HostKey(format!(
            "{} offered the {} key {}, which {}:{line} marks @revoked; fix: give the host a new host key and add that one to known_hosts (or delete the @revoked line if it is a mistake)",
            self.who(),
            key.algorithm().as_str(),
            known_hosts::fingerprint(key),
            self.file.display()
        ))
    }

    /// `accept-new`: trust the first key seen by appending one line.
    async fn append(&self, text: &str, key: &PublicKey) -> Result<(), ShellError> {
        let mut line = known_hosts::entry_line(&self.address, self.port, key);
        line.push('\n');
        if !text.is_empty() && !text.ends_with('\n') {
            line.insert(0, '\n');
        }
        let fail = |e: std::io::Error| {
            ShellError::HostKey(format!(
                "cannot add the key of {} to {}: {e}; fix: make the file (and its folder) writable, or add the key yourself with `{}`",
                self.who(),
                self.file.display(),
                self.keyscan()
            ))
        };
        if let Some(dir) = self.file.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(fail)?;
        }
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .await
            .map_err(fail)?;
        f.write_all(line.as_bytes()).await.map_err(fail)?;
        f.flush().await.map_err(fail)?;
        tracing::info!(
            host = %self.host,
            fingerprint = %known_hosts::fingerprint(key),
            file = %self.file.display(),
            "host key accepted (accept-new) and added to known_hosts"
        );
        Ok(())
    }
}

/// The russh handler of one connection: only the host key check is ours.
pub struct Client {
    pub check: HostKeyCheck,
}

impl client::Handler for Client {
    type Error = HandshakeError;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            // We never ask for certificates; judge one by the key it certifies.
            PublicKeyOrCertificate::Certificate(c) => PublicKey::new(c.public_key().clone(), ""),
        };
        self.check
            .verify(&key)
            .await
            .map(|()| true)
            .map_err(HandshakeError::Refused)
    }
}
