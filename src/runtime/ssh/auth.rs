//! Logging in: the host's key file (ed25519, RSA, ECDSA; a passphrase from the env var
//! the config names, or one the operator typed), else the ssh-agent, else the usual
//! `~/.ssh/id_*` files. Failures say who, where, what was tried and how to fix it.
//! Passphrases and keys are never logged.

use super::host_key::Client;
use crate::core::fleet::HostSpec;
use crate::runtime::shell::ShellError;
use russh::client::Handle;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A decoded key and the file's modification time when it was read.
type Decoded = (Option<SystemTime>, Arc<PrivateKey>);

/// Decoded private keys (decoding an encrypted key costs a bcrypt run) and passphrases
/// given at run time, keyed by key file.
#[derive(Default)]
pub struct Keys {
    decoded: Mutex<HashMap<PathBuf, Decoded>>,
    passphrases: Mutex<HashMap<PathBuf, String>>,
}

impl Keys {
    /// Remembers a passphrase for `key` (e.g. typed into the console) for this process.
    pub fn set_passphrase(&self, key: &Path, passphrase: String) {
        if let Ok(mut p) = self.passphrases.lock() {
            p.insert(key.to_path_buf(), passphrase);
        }
        if let Ok(mut d) = self.decoded.lock() {
            d.remove(key);
        }
    }

    fn passphrase(&self, key: &Path, env: Option<&str>) -> Result<Option<String>, String> {
        if let Some(p) = self
            .passphrases
            .lock()
            .ok()
            .and_then(|p| p.get(key).cloned())
        {
            return Ok(Some(p));
        }
        match env {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(v) => Ok(Some(v)),
                Err(_) => Err(format!(
                    "key_passphrase_env names ${var}, but it is not set in Lifeboat's environment"
                )),
            },
        }
    }

    /// Loads (or reuses) the private key at `path`.
    async fn load(&self, path: &Path, env: Option<&str>) -> Result<Arc<PrivateKey>, String> {
        let mtime = tokio::fs::metadata(path)
            .await
            .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?
            .modified()
            .ok();
        if let Some((m, k)) = self.decoded.lock().ok().and_then(|d| d.get(path).cloned()) {
            if m == mtime {
                return Ok(k);
            }
        }
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
        let pass = self.passphrase(path, env)?;
        let has_pass = pass.is_some();
        let decoded = tokio::task::spawn_blocking(move || {
            russh::keys::decode_secret_key(&text, pass.as_deref())
        })
        .await
        .map_err(|e| format!("decoding {} failed: {e}", path.display()))?;
        let key = match decoded {
            Ok(k) => Arc::new(k),
            Err(russh::keys::Error::KeyIsEncrypted) if !has_pass => {
                return Err(format!(
                    "{} is protected by a passphrase and none was given (set key_passphrase_env in this [[host]] to the name of an environment variable holding it, or load the key into ssh-agent and leave ssh_key out)",
                    path.display()
                ))
            }
            Err(e) if has_pass => {
                return Err(format!(
                    "cannot decrypt {} with the given passphrase ({e}); is it the right one?",
                    path.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "{} is not a private key Lifeboat can read ({e}); use an OpenSSH ed25519, ECDSA or RSA key",
                    path.display()
                ))
            }
        };
        if let Ok(mut d) = self.decoded.lock() {
            d.insert(path.to_path_buf(), (mtime, key.clone()));
        }
        Ok(key)
    }
}

/// The remote login name: the host's `user`, else the local one.
pub fn user_of(host: &HostSpec) -> Result<String, ShellError> {
    if let Some(u) = &host.user {
        return Ok(u.clone());
    }
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .ok_or_else(|| {
            ShellError::Auth(format!(
                "no user to log in to host \"{}\" as; fix: set user = \"…\" in its [[host]]",
                host.id
            ))
        })
}

/// Authenticates `handle` as the host's user, trying what the host's config allows.
pub async fn login(
    handle: &mut Handle<Client>,
    host: &HostSpec,
    keys: &Keys,
    agent_socket: Option<&Path>,
) -> Result<(), ShellError> {
    let user = user_of(host)?;
    let who = format!(
        "{user}@{}:{} (host \"{}\")",
        host.address, host.port, host.id
    );
    let mut tried: Vec<String> = Vec::new();
    if let Some(path) = &host.ssh_key {
        let key = keys
            .load(path, host.ssh.key_passphrase_env.as_deref())
            .await
            .map_err(|why| ShellError::Auth(format!("cannot log in to {who}: {why}")))?;
        if try_key(handle, &user, key).await? {
            return Ok(());
        }
        return Err(ShellError::Auth(format!(
            "{who} refused the key {}; fix: add {}.pub to ~{user}/.ssh/authorized_keys on the host (e.g. `ssh-copy-id -i {} -p {} {user}@{}`), or set ssh_key to the key the host knows",
            path.display(),
            path.display(),
            path.display(),
            host.port,
            host.address
        )));
    }
    let socket = agent_socket
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from));
    match socket {
        Some(sock) => match try_agent(handle, &user, &sock).await {
            Ok(true) => return Ok(()),
            Ok(false) => tried.push(format!("the keys in ssh-agent ({})", sock.display())),
            Err(why) => tried.push(format!("ssh-agent at {} ({why})", sock.display())),
        },
        None => tried.push("no ssh-agent (SSH_AUTH_SOCK is not set)".into()),
    }
    let mut found_default = false;
    for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
        let Some(path) = home().map(|h| h.join(".ssh").join(name)) else {
            break;
        };
        if !path.exists() {
            continue;
        }
        found_default = true;
        match keys.load(&path, None).await {
            Ok(key) => {
                if try_key(handle, &user, key).await? {
                    return Ok(());
                }
                tried.push(path.display().to_string());
            }
            Err(why) => tried.push(format!("{} ({why})", path.display())),
        }
    }
    if !found_default {
        tried.push("no ~/.ssh/id_ed25519, id_ecdsa or id_rsa".into());
    }
    Err(ShellError::Auth(format!(
        "cannot log in to {who}: no key was accepted; tried {}; fix: set ssh_key = \"/path/to/private_key\" in this [[host]] (with its .pub in ~{user}/.ssh/authorized_keys on the host), or load that key into ssh-agent",
        tried.join("; ")
    )))
}

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

async fn handle_rsa_hash(handle: &Handle<Client>) -> Option<HashAlg> {
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

async fn try_key(
    handle: &mut Handle<Client>,
    user: &str,
    key: Arc<PrivateKey>,
) -> Result<bool, ShellError> {
    let hash = if key.algorithm().is_rsa() {
        handle_rsa_hash(handle).await
    } else {
        None
    };
    handle
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map(|r| r.success())
        .map_err(|e| ShellError::Unreachable(format!("connection lost while logging in: {e}")))
}

async fn try_agent(handle: &mut Handle<Client>, user: &str, socket: &Path) -> Result<bool, String> {
    let mut agent = AgentClient::connect_uds(socket)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let ids = agent
        .request_identities()
        .await
        .map_err(|e| format!("cannot list keys: {e}"))?;
    if ids.is_empty() {
        return Err("it holds no keys".into());
    }
    for id in ids {
        let key = id.public_key().into_owned();
        let hash = if key.algorithm().is_rsa() {
            handle_rsa_hash(handle).await
        } else {
            None
        };
        match handle
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
        {
            Ok(r) if r.success() => return Ok(true),
            Ok(_) => {}
            Err(e) => return Err(format!("signing failed: {e}")),
        }
    }
    Ok(false)
}
