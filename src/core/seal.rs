//! When a checkpoint already on a host may be trusted without reading it again.
//!
//! Lifeboat hashes a copy on its host before it restores from it. Re-hashing a pre-staged
//! 1 GiB copy on the failover's path costs over a second, so a copy Lifeboat verified
//! itself carries a *seal*: each file's size, modification and change times (nanoseconds),
//! inode and device, read on the host just before and just after that verification read
//! it (the two must agree). At restore the host is asked the same again; the copy is
//! trusted unread only if every figure is unchanged. Any doubt means it is hashed:
//!
//! - times with no fraction of a second (busybox `stat`): a write in the same second
//!   would not show;
//! - a time less than [`SETTLE_NS`] before the seal was taken ("racy", as git calls it:
//!   the filesystem's clock is coarse, so a later write could carry the same time);
//! - anything different, missing, or unreadable.
//!
//! A write to a file changes its change time (ctime), which no unprivileged program can
//! set back; renaming or replacing it changes its inode. What a seal cannot see is a
//! change made by someone who can set the clock or edit the block device: that is root
//! on the host, which could equally change what the job reads after the restore.

use serde::{Deserialize, Serialize};

/// A file's times must be at least this much older than the seal (1 s).
pub const SETTLE_NS: u128 = 1_000_000_000;

/// What a host said of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub size: u64,
    /// Modification and change times, nanoseconds since the epoch; `None` when the host
    /// gave whole seconds only.
    pub mtime_ns: Option<u128>,
    pub ctime_ns: Option<u128>,
    pub inode: u64,
    pub device: u64,
}

/// A copy's files as they were when Lifeboat verified them, in manifest order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    pub files: Vec<FileStat>,
    /// The host's clock when the seal was taken, nanoseconds since the epoch.
    pub at_ns: u128,
}

/// Whether a copy on a host may be trusted without hashing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Unchanged since Lifeboat verified it there.
    Sealed,
    /// Hash it: the reason names what is in doubt.
    Doubt(String),
}

/// Reads `seconds.fraction` as nanoseconds; whole seconds give `None`.
fn nanos(text: &str) -> Option<u128> {
    let (s, frac) = text.split_once('.')?;
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u128 = s.parse().ok()?;
    let frac: u128 = format!("{frac:0<9}").parse().ok()?;
    Some(secs * 1_000_000_000 + frac)
}

impl FileStat {
    /// Parses `SIZE MTIME CTIME INODE DEVICE` as `stat -c '%s %.9Y %.9Z %i %d'` prints it.
    pub fn parse(line: &str) -> Result<FileStat, String> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [size, m, c, inode, device] = f.as_slice() else {
            return Err(format!(
                "not a file's size, times, inode and device: {line:?}"
            ));
        };
        let num = |what: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{what} {v:?} is not a number"))
        };
        Ok(FileStat {
            size: num("size", size)?,
            mtime_ns: nanos(m),
            ctime_ns: nanos(c),
            inode: num("inode", inode)?,
            device: num("device", device)?,
        })
    }
}

impl Seal {
    /// A seal from the stats read before and after a verification that passed, or why
    /// none can be made (the copy changed while it was read, or its times are unsure).
    pub fn settled(
        before: Vec<FileStat>,
        after: Vec<FileStat>,
        at_text: &str,
    ) -> Result<Seal, String> {
        if before != after {
            return Err("the copy changed while it was verified".into());
        }
        let at_ns = nanos(at_text.trim())
            .ok_or_else(|| format!("the host's clock {at_text:?} has no fraction of a second"))?;
        let seal = Seal {
            files: after,
            at_ns,
        };
        match seal.files.iter().find_map(|f| unsure(f, at_ns)) {
            Some(why) => Err(why),
            None => Ok(seal),
        }
    }

    /// Whether the copy as the host describes it `now` is the one sealed, for a manifest
    /// whose files have `sizes`.
    pub fn judge(&self, now: &[FileStat], sizes: &[u64]) -> Trust {
        if now.len() != self.files.len() || sizes.len() != self.files.len() {
            return Trust::Doubt(format!(
                "the seal names {} files, the host {}, the manifest {}",
                self.files.len(),
                now.len(),
                sizes.len()
            ));
        }
        for (i, ((was, is), size)) in self.files.iter().zip(now).zip(sizes).enumerate() {
            if let Some(why) = unsure(was, self.at_ns) {
                return Trust::Doubt(why);
            }
            let changed = [
                ("size", was.size != is.size || is.size != *size),
                ("modification time", was.mtime_ns != is.mtime_ns),
                ("change time", was.ctime_ns != is.ctime_ns),
                ("inode", was.inode != is.inode),
                ("device", was.device != is.device),
            ];
            if let Some((what, _)) = changed.iter().find(|(_, c)| *c) {
                return Trust::Doubt(format!(
                    "file {} changed since it was sealed: its {what}",
                    i + 1
                ));
            }
        }
        Trust::Sealed
    }
}

/// Why a file's times cannot vouch for it at a seal taken at `at_ns`.
fn unsure(f: &FileStat, at_ns: u128) -> Option<String> {
    let (Some(m), Some(c)) = (f.mtime_ns, f.ctime_ns) else {
        return Some("the host's stat gives whole seconds only".into());
    };
    (m.max(c) + SETTLE_NS > at_ns)
        .then(|| "a file changed less than a second before the seal (racy)".into())
}

#[cfg(test)]
#[path = "seal_tests.rs"]
mod tests;
