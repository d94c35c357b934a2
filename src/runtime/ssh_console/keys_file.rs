//! The console's keys-and-roles file, authorized_keys style: one key a line, options
//! first — `role=operator,name=alice ssh-ed25519 AAAA… [comment]`. Roles are viewer,
//! operator or admin; names are letters, digits, `.`, `_`, `-`; `#` starts a comment
//! line. [`AuthorizedKeys::parse`] is pure; [`AuthorizedKeys::load`] also refuses a file
//! that group or others may write (like sshd's StrictModes).

use super::error::{check_mode, SshConsoleError};
use crate::protocol::identity::Role;
use russh::keys::{HashAlg, PublicKey};
use std::fmt;
use std::path::{Path, PathBuf};

/// One accepted key and who it is.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    pub name: String,
    pub role: Role,
    pub key: PublicKey,
    /// `SHA256:…` of the key.
    pub fingerprint: String,
    /// Where it is in the file (1-based).
    pub line: usize,
}

/// Every key that may log in to the console.
#[derive(Clone, Debug)]
pub struct AuthorizedKeys {
    pub path: PathBuf,
    entries: Vec<KeyEntry>,
}

/// Why the file was refused: each problem is one line naming `file:line`, the bad value
/// and the fix.
#[derive(Debug, thiserror::Error)]
pub enum KeysFileError {
    #[error("cannot read the console's keys file {path}: {source}; fix: create it (one line per key: role=operator,name=alice ssh-ed25519 AAAA…) or correct [console] authorized_keys")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the console's keys file {}:\n{}", path.display(), Lines(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

struct Lines<'a>(&'a [String]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for p in self.0 {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}

const ROLE_FIX: &str = "use role=viewer, role=operator or role=admin";
const LINE_EXAMPLE: &str = "role=operator,name=alice ssh-ed25519 AAAA… alice@laptop";

impl AuthorizedKeys {
    /// Reads and checks the file at `path`; refuses it if group or others may write it.
    pub fn load(path: &Path) -> Result<AuthorizedKeys, SshConsoleError> {
        let read_err = |source| KeysFileError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        check_mode(path, &meta, 0o022, "writable")?;
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        Ok(AuthorizedKeys::parse(&text, path)?)
    }

    /// Parses the file's text; `path` is only named in messages. Reports every bad line.
    pub fn parse(text: &str, path: &Path) -> Result<AuthorizedKeys, KeysFileError> {
        let file = path.display().to_string();
        let mut problems = Vec::new();
        let mut entries: Vec<KeyEntry> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = match parse_line(line, n) {
                Ok(e) => e,
                Err(p) => {
                    problems.push(format!("{file}:{n}: {p}"));
                    continue;
                }
            };
            if let Some(other) = entries
                .iter()
                .find(|e| e.key.key_data() == entry.key.key_data())
            {
                problems.push(format!(
                    "{file}:{n}: key {} is already listed at line {} (name \"{}\"); fix: keep one line per key",
                    entry.fingerprint, other.line, other.name
                ));
            } else if let Some(other) = entries.iter().find(|e| e.name == entry.name) {
                problems.push(format!(
                    "{file}:{n}: name \"{}\" is already used at line {}; fix: give each key its own name (the name is who the event log says acted)",
                    entry.name, other.line
                ));
            } else {
                entries.push(entry);
            }
        }
        if entries.is_empty() && problems.is_empty() {
            problems.push(format!(
                "{file}: lists no keys, so nobody could log in; fix: add a line like {LINE_EXAMPLE}"
            ));
        }
        if !problems.is_empty() {
            return Err(KeysFileError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(AuthorizedKeys {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The entry for `key`, if it may log in.
    pub fn find(&self, key: &PublicKey) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .find(|e| e.key.key_data() == key.key_data())
    }

    /// The entry for the key with this `SHA256:…` fingerprint.
    pub fn by_fingerprint(&self, fingerprint: &str) -> Option<&KeyEntry> {
        self.entries.iter().find(|e| e.fingerprint == fingerprint)
    }

    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }
}

fn looks_like_key_type(s: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-"].iter().any(|p| s.starts_with(p))
}

/// A value as messages quote it, shortened when long (base64 keys).
fn quote(s: &str) -> String {
    let short: String = s.chars().take(24).collect();
    if short.len() < s.len() {
        format!("\"{}…\"", short.escape_debug())
    } else {
        format!("\"{}\"", s.escape_debug())
    }
}

fn parse_line(line: &str, n: usize) -> Result<KeyEntry, String> {
    let mut fields = line.split_whitespace();
    let first = fields.next().unwrap_or_default();
    if looks_like_key_type(first) {
        return Err(format!(
            "the key has no role and name; fix: put them first, e.g. {LINE_EXAMPLE}"
        ));
    }
    if first.contains('"') {
        return Err(format!(
            "options {} hold quotes, which this file does not take (no command=\"…\" or from=\"…\"); fix: write only role=…,name=… before the key",
            quote(first)
        ));
    }
    let (mut role, mut name) = (None, None);
    for opt in first.split(',') {
        let Some((k, v)) = opt.split_once('=') else {
            return Err(format!(
                "option {} is not key=value; fix: write role=…,name=… before the key, e.g. {LINE_EXAMPLE}",
                quote(opt)
            ));
        };
        let slot = match k {
            "role" => &mut role,
            "name" => &mut name,
            _ => {
                return Err(format!(
                    "unknown option {}; fix: only role=… and name=… are understood",
                    quote(k)
                ))
            }
        };
        if slot.replace(v).is_some() {
            return Err(format!("{k}= is given twice; fix: give it once"));
        }
    }
    let role = match role {
        None => return Err(format!("the line has no role=; fix: add one ({ROLE_FIX})")),
        Some(r) => Role::parse(r)
            .ok_or_else(|| format!("role {} is not a role; fix: {ROLE_FIX}", quote(r)))?,
    };
    let name = match name {
        None => {
            return Err(
                "the line has no name=; fix: add one, e.g. name=alice (it is who the event log says acted)"
                    .into(),
            )
        }
        Some(v) => valid_name(v)?,
    };
    let Some(kind) = fields.next() else {
        return Err(format!(
            "no key follows the options; fix: paste the user's .pub line after them, e.g. {LINE_EXAMPLE}"
        ));
    };
    let Some(data) = fields.next() else {
        return Err(format!(
            "the key data is missing after {}; fix: paste the whole line of the user's .pub file (e.g. ~/.ssh/id_ed25519.pub)",
            quote(kind)
        ));
    };
    if looks_like_key_type(data) {
        return Err(format!(
            "{} stands where the key type should be: the options hold a space; fix: write them as one word, e.g. {LINE_EXAMPLE}",
            quote(kind)
        ));
    }
    let key = PublicKey::from_openssh(&format!("{kind} {data}")).map_err(|e| {
        format!(
            "{} {} is not a public key Lifeboat can read ({e}); fix: paste the whole line of the user's .pub file (e.g. ~/.ssh/id_ed25519.pub)",
            quote(kind),
            quote(data)
        )
    })?;
    Ok(KeyEntry {
        name,
        role,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        key,
        line: n,
    })
}

fn valid_name(v: &str) -> Result<String, String> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "name {} is not a valid name; fix: use up to 64 letters, digits, '.', '_' or '-', e.g. name=alice",
            quote(v)
        ))
    }
}

#[cfg(test)]
#[path = "keys_file_tests.rs"]
mod tests;
