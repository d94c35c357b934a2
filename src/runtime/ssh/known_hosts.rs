//! OpenSSH `known_hosts` as data: parsing lines, matching a host (plain names, `*`/`?`
//! wildcards, `!` negation, hashed `|1|salt|hash` entries, `[host]:port` for other ports)
//! and deciding whether a server key is known, new, changed or revoked. Pure: the text
//! comes in as a string, so every rule is tested without files.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

/// What known_hosts says about one server key for one host.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// A line for this host holds exactly this key.
    Known,
    /// No line for this host at all.
    Unknown,
    /// Lines for this host hold other keys: `old` is the one at `line` (1-based).
    Changed { old: Box<PublicKey>, line: usize },
    /// An `@revoked` line for this host holds this key.
    Revoked { line: usize },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One usable line: its number, marker, host patterns and key.
#[derive(Clone, Debug)]
struct Entry {
    line: usize,
    marker: Marker,
    hosts: String,
    key: PublicKey,
}

/// How known_hosts names a host: `host` on port 22, `[host]:port` otherwise.
pub fn host_name(address: &str, port: u16) -> String {
    let address = address.to_ascii_lowercase();
    if port == 22 {
        address
    } else {
        format!("[{address}]:{port}")
    }
}

/// The line to append for a newly accepted key: `[host]:port keytype base64`.
pub fn entry_line(address: &str, port: u16, key: &PublicKey) -> String {
    let mut plain = key.clone();
    plain.set_comment("");
    let openssh = plain
        .to_openssh()
        .unwrap_or_else(|_| format!("{} ?", key.algorithm().as_str()));
    format!("{} {}", host_name(address, port), openssh.trim())
}

/// `SHA256:…`, as `ssh-keygen -l` and OpenSSH's warnings print it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Decides what `text` (a known_hosts file) says about `key` presented by `address:port`.
pub fn check(text: &str, address: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = host_name(address, port);
    let entries: Vec<Entry> = parse(text)
        .into_iter()
        .filter(|e| e.marker != Marker::CertAuthority && host_matches(&name, &e.hosts))
        .collect();
    if let Some(e) = entries
        .iter()
        .find(|e| e.marker == Marker::Revoked && same_key(&e.key, key))
    {
        return Verdict::Revoked { line: e.line };
    }
    let plain: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.marker == Marker::None)
        .collect();
    if plain.iter().any(|e| same_key(&e.key, key)) {
        return Verdict::Known;
    }
    // Prefer an old key of the same type for the message; any other key still counts.
    let old = plain
        .iter()
        .find(|e| same_kind(&e.key.algorithm(), &key.algorithm()))
        .or_else(|| plain.first());
    match old {
        Some(e) => Verdict::Changed {
            old: Box::new(e.key.clone()),
            line: e.line,
        },
        None => Verdict::Unknown,
    }
}

/// Host key algorithms known for this host (not revoked), so the client can ask the
/// server for a key it can verify rather than a new type of key.
pub fn known_algorithms(text: &str, address: &str, port: u16) -> Vec<Algorithm> {
    let name = host_name(address, port);
    let mut out: Vec<Algorithm> = Vec::new();
    for e in parse(text) {
        if e.marker == Marker::None && host_matches(&name, &e.hosts) {
            let a = e.key.algorithm();
            if !out.iter().any(|o| same_kind(o, &a)) {
                out.push(a);
            }
        }
    }
    out
}

/// Whether two algorithms name the same kind of key (RSA hashes are one kind).
pub fn same_kind(a: &Algorithm, b: &Algorithm) -> bool {
    match (a, b) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        _ => a == b,
    }
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

/// The lines that parse; comments, blanks and malformed lines are skipped, as OpenSSH does.
fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| parse_line(i + 1, l))
        .collect()
}

fn parse_line(line: usize, text: &str) -> Option<Entry> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let mut fields = t.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let kind = fields.next()?;
    let blob = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{kind} {blob}")).ok()?;
    Some(Entry {
        line,
        marker,
        hosts: first.to_string(),
        key,
    })
}

/// OpenSSH's rule: any negated pattern that matches rejects; else any positive match.
fn host_matches(name: &str, patterns: &str) -> bool {
    if let Some(hashed) = patterns.strip_prefix("|1|") {
        return hashed_matches(name, hashed);
    }
    let mut matched = false;
    for p in patterns.split(',').filter(|p| !p.is_empty()) {
        let p = p.to_ascii_lowercase();
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard(neg.as_bytes(), name.as_bytes()) {
                return false;
            }
        } else if wildcard(p.as_bytes(), name.as_bytes()) {
            matched = true;
        }
    }
    matched
}

/// `salt|hash` (both base64): HMAC-SHA1 of the host name keyed with the salt.
fn hashed_matches(name: &str, rest: &str) -> bool {
    let Some((salt, hash)) = rest.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// `*` (any run) and `?` (one character) glob matching, iterative with backtracking.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A hashed host field for `name` with `salt`, as `ssh-keygen -H` writes it (for tests
/// and for tools that want to write hashed entries).
pub fn hashed_host(name: &str, salt: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(salt).ok()?;
    mac.update(name.as_bytes());
    let hash = mac.finalize().into_bytes();
    Some(format!("|1|{}|{}", B64.encode(salt), B64.encode(hash)))
}

#[cfg(test)]
#[path = "known_hosts_tests.rs"]
mod tests;
