//! A checkpoint's `manifest.json`: every file with its size and SHA-256, the training step,
//! when and where it was written, and under which epoch. Written last, it is the
//! completion marker: a checkpoint without a valid manifest is never restorable.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The name of the manifest inside a checkpoint's folder in a store.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The manifest format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The largest manifest read from a store or a host: bigger ones are refused before
/// they are read into memory (100 000 files at ~150 bytes each fit with room to spare).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// The most files one checkpoint may list.
pub const MAX_FILES: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub job: String,
    /// The checkpoint's name in the job's `checkpoint_dir` (a folder or a single file).
    pub id: String,
    pub step: u64,
    /// Unix milliseconds when the checkpoint was complete on its host.
    pub created: u64,
    pub source_host: String,
    pub epoch: u64,
    /// True when the checkpoint is one file (`id` itself), false when a folder of `files`.
    #[serde(default)]
    pub single_file: bool,
    pub files: Vec<ManifestFile>,
    /// HMAC-SHA256 (hex) of the canonical manifest without this field, under the team's
    /// key (`[storage] manifest_key_env`): proves Lifeboat, not a stranger, wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// What a manifest's `mac` says about who wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacCheck {
    /// No key is configured, so nothing can be proven.
    NoKey,
    /// The manifest carries no mac.
    Absent,
    /// The mac matches under the key.
    Valid,
    /// The mac does not match: written by someone without the key, or altered.
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative path inside the checkpoint, `/`-separated, no `..`.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// Permission bits on the source host (`0o600`); a restore gives the file these,
    /// never wider. Absent in manifests written before modes were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON for format {FORMAT}: {0}")]
    Json(String),
    #[error("manifest format {0} is not supported (this build reads {FORMAT})")]
    Format(u32),
    #[error("manifest is {0} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have; refused unread")]
    TooBig(u64),
    #[error("manifest {field} {value:?} is not allowed: {why}")]
    Bad {
        field: &'static str,
        value: String,
        why: &'static str,
    },
}

impl Manifest {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Canonical bytes (pretty JSON); their SHA-256 names the whole checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// The canonical bytes without the mac: what the mac and the digest cover.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let unsigned = Manifest {
            mac: None,
            ..self.clone()
        };
        unsigned.to_bytes()
    }

    /// SHA-256 of the canonical bytes (the mac aside): one hash that proves every file
    /// (each is listed with its own hash).
    pub fn digest(&self) -> String {
        hex(&Sha256::digest(self.canonical_bytes()))
    }

    fn compute_mac(&self, key: &[u8]) -> Option<String> {
        let mut mac = hmac::Hmac::<sha2_11::Sha256>::new_from_slice(key).ok()?;
        mac.update(&self.canonical_bytes());
        Some(hex(&mac.finalize().into_bytes()))
    }

    /// Sets the mac under `key`.
    pub fn sign(&mut self, key: &[u8]) {
        self.mac = self.compute_mac(key);
    }

    /// Checks the mac under `key` (`None`: no key configured), in constant time.
    pub fn authenticate(&self, key: Option<&[u8]>) -> MacCheck {
        let (Some(key), Some(mac)) = (key, &self.mac) else {
            return if key.is_none() {
                MacCheck::NoKey
            } else {
                MacCheck::Absent
            };
        };
        let Ok(mut m) = hmac::Hmac::<sha2_11::Sha256>::new_from_slice(key) else {
            return MacCheck::Invalid;
        };
        m.update(&self.canonical_bytes());
        let Some(given) = unhex(mac) else {
            return MacCheck::Invalid;
        };
        if m.verify_slice(&given).is_ok() {
            MacCheck::Valid
        } else {
            MacCheck::Invalid
        }
    }

    /// Parses and checks a manifest read from a store or a host.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooBig(bytes.len() as u64));
        }
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        m.check()?;
        Ok(m)
    }

    /// Every name is safe to join under a store's folder, every hash well formed.
    pub fn check(&self) -> Result<(), ManifestError> {
        if self.format != FORMAT {
            return Err(ManifestError::Format(self.format));
        }
        check_name("job", &self.job)?;
        check_name("id", &self.id)?;
        if self.files.is_empty() {
            return Err(bad("files", "[]", "a checkpoint has at least one file"));
        }
        if self.files.len() > MAX_FILES {
            return Err(bad(
                "files",
                &self.files.len().to_string(),
                "more files than a checkpoint may have (100000)",
            ));
        }
        if self.mac.as_deref().is_some_and(|m| !is_sha256(m)) {
            return Err(bad(
                "mac",
                self.mac.as_deref().unwrap_or(""),
                "expected 64 lower-case hex digits",
            ));
        }
        if self.single_file && (self.files.len() != 1 || self.files[0].path != self.id) {
            return Err(bad(
                "files",
                &self.id,
                "a single-file checkpoint lists exactly its own name",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.files {
            check_path(&f.path)?;
            if !self.single_file && f.path == MANIFEST_NAME {
                return Err(bad("path", &f.path, "the manifest's own name is reserved"));
            }
            if !is_sha256(&f.sha256) {
                return Err(bad(
                    "sha256",
                    &f.sha256,
                    "expected 64 lower-case hex digits",
                ));
            }
            if f.mode.is_some_and(|m| m > 0o7777) {
                return Err(bad(
                    "mode",
                    &format!("{:o}", f.mode.unwrap_or(0)),
                    "not permission bits",
                ));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(bad("path", &f.path, "listed twice"));
            }
        }
        Ok(())
    }
}

fn bad(field: &'static str, value: &str, why: &'static str) -> ManifestError {
    ManifestError::Bad {
        field,
        value: value.chars().take(200).collect(),
        why,
    }
}

/// A job or checkpoint name: one path component, printable, no leading dot.
pub fn check_name(field: &'static str, s: &str) -> Result<(), ManifestError> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('.')
        && !s.contains('/')
        && !s.contains('\\')
        && !s.chars().any(|c| c.is_control());
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            s,
            "must be one path component without control characters or a leading dot",
        ))
    }
}

/// A relative path of components that are each a valid name.
pub fn check_path(p: &str) -> Result<(), ManifestError> {
    if p.is_empty() || p.len() > 4096 || p.starts_with('/') {
        return Err(bad("path", p, "must be relative and non-empty"));
    }
    for part in p.split('/') {
        if part == ".." || part == "." || part.is_empty() {
            return Err(bad("path", p, "must not contain empty, . or .. components"));
        }
        if part.chars().any(|c| c.is_control() || c == '\\') {
            return Err(bad("path", p, "must not contain control characters"));
        }
    }
    Ok(())
}

pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
