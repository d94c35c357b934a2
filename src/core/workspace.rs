//! Workspace sync for the CPU standby (seed 003): a job's code, configs and small state,
//! kept on its CPU standby and brought back to a GPU host before the job returns there.
//! Pure: parses both sides' listings and plans what to create, send and remove so the
//! destination matches the source; `runtime::workspace` moves the bytes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[path = "workspace_exclude.rs"]
mod exclude;
pub use exclude::{check_pattern, inside, Excludes, SYNC_TMP};

/// Syncing more often than this only burns the hosts' disks and the link.
pub const MIN_EVERY: Duration = Duration::from_secs(10);
/// How often a workspace is synced when the job does not say.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);

/// A job's `workspace = { path, every, exclude }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSync {
    /// The workspace folder, the same path on every host (a leading `$VAR/` or `~/` is
    /// expanded on each).
    pub path: PathBuf,
    pub every: Duration,
    /// Patterns as written (checked by the config loader); see [`Excludes`].
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl WorkspaceSync {
    /// What a sync leaves alone: the patterns, the job's checkpoint folder when it lies
    /// inside the workspace, and the sync's scratch folder.
    pub fn excludes(&self, checkpoint_dir: &str) -> Excludes {
        Excludes::for_job(&self.exclude, &self.path.to_string_lossy(), checkpoint_dir)
    }
}

/// The first line of a listing; records follow.
pub const LIST_HEADER: &str = "@@ws-list 1";
/// Printed instead when the workspace folder does not exist.
pub const NO_DIR: &str = "@@nodir";
/// `find -printf` format of one record: type, size, mtime, mode (octal), link target and
/// path, each NUL-terminated (no name can hold a NUL, so tabs and newlines are safe).
pub const LIST_FORMAT: &str = r"%y\0%s\0%T@\0%m\0%l\0%P\0";
const FIELDS: usize = 6;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
}

/// One listed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub size: u64,
    /// Whole seconds: tar keeps no finer, so finer would never compare equal.
    pub mtime: i64,
    /// Permission bits.
    pub mode: u32,
    /// A link's target (empty otherwise).
    pub target: String,
}

impl Entry {
    /// Whether `other` (at the destination) already holds what this (at the source) has.
    /// Folders are compared by kind only: their mtimes move whenever a file lands.
    pub fn same_as(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && match self.kind {
                Kind::File => self.size == other.size && self.mtime == other.mtime,
                Kind::Dir => true,
                Kind::Link => self.target == other.target,
            }
    }
}

/// A listed workspace: relative path → entry, and what could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
    pub skipped: Vec<String>,
}

/// Parses what the listing script printed: `None` when the folder does not exist.
pub fn parse_listing(out: &[u8]) -> Result<Option<Tree>, String> {
    let header = format!("{LIST_HEADER}\n");
    let Some(at) = find(out, header.as_bytes()) else {
        if find(out, NO_DIR.as_bytes()).is_some() {
            return Ok(None);
        }
        let start: String = String::from_utf8_lossy(out).chars().take(200).collect();
        return Err(format!("no listing in the output: {start:?}"));
    };
    let body = &out[at + header.len()..];
    let mut fields: Vec<&[u8]> = body.split(|b| *b == 0).collect();
    // What follows the last NUL is not a field (empty, or a record cut short).
    let rest = fields.pop().unwrap_or_default();
    let mut tree = Tree::default();
    if !rest.iter().all(u8::is_ascii_whitespace) || !fields.len().is_multiple_of(FIELDS) {
        tree.skipped.push("a record cut short".into());
    }
    for rec in fields.chunks_exact(FIELDS) {
        match record(rec) {
            Ok((path, e)) => {
                tree.entries.insert(path, e);
            }
            Err(why) => tree.skipped.push(why),
        }
    }
    Ok(Some(tree))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn record(f: &[&[u8]]) -> Result<(String, Entry), String> {
    let text = std::str::from_utf8;
    let path = text(f[5]).map_err(|_| "a name that is not UTF-8".to_string())?;
    let bad = || format!("unreadable record for {:?}", clip(path));
    let (Ok(kind), Ok(size), Ok(mtime), Ok(mode), Ok(target)) =
        (text(f[0]), text(f[1]), text(f[2]), text(f[3]), text(f[4]))
    else {
        return Err(bad());
    };
    let kind = match kind {
        "f" => Kind::File,
        "d" => Kind::Dir,
        "l" => Kind::Link,
        other => {
            return Err(format!(
                "{:?} is not a file, folder or link ({other})",
                clip(path)
            ))
        }
    };
    let size: u64 = size.parse().map_err(|_| bad())?;
    let mtime: f64 = mtime.parse().map_err(|_| bad())?;
    let mode = u32::from_str_radix(mode, 8).map_err(|_| bad())?;
    if !mtime.is_finite() {
        return Err(bad());
    }
    check_path(path).map_err(|why| format!("{:?}: {why}", clip(path)))?;
    let entry = Entry {
        kind,
        size: if kind == Kind::File { size } else { 0 },
        mtime: mtime.floor() as i64,
        mode: mode & 0o7777,
        target: if kind == Kind::Link {
            target.to_string()
        } else {
            String::new()
        },
    };
    Ok((path.to_string(), entry))
}

/// A path a sync may write or remove: relative, with no empty, `.` or `..` part (a
/// hostile listing must never reach outside the workspace). Any other character is fine:
/// every name is quoted in scripts and NUL-separated in tar's file list.
pub fn check_path(p: &str) -> Result<(), &'static str> {
    if p.is_empty() || p.starts_with('/') {
        return Err("not a relative path");
    }
    if p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err("an empty, . or .. part");
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// How a destination path is removed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// A file or a link (`rm -f`).
    File,
    /// A folder gone at the source: removed only once empty, so excluded files in it
    /// (a checkpoint the replicator staged) stay.
    EmptyDir,
    /// A folder where the source now has a file or link: removed with all it holds.
    Tree,
}

/// What one sync does to the destination, in this order: remove, create folders, send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Children before their folders.
    pub delete: Vec<(String, Removal)>,
    /// Parents before children, with their permission bits.
    pub mkdirs: Vec<(String, u32)>,
    /// Files and links to send, in path order.
    pub copy: Vec<String>,
    /// Files sent, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Symbolic links at the source, `path -> target`: never synced (the destination
    /// would follow them to its own files), each named to the operator.
    pub refused: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.mkdirs.is_empty() && self.copy.is_empty()
    }
}

/// What makes `dst` match `src`, leaving excluded paths alone on both sides. When the
/// source listing was not complete (`src_complete` false: a folder could not be read),
/// nothing is removed for being gone at the source, as rsync does after an IO error.
pub fn plan(src: &Tree, dst: &Tree, ex: &Excludes, src_complete: bool) -> Plan {
    let mut p = Plan::default();
    let mut delete: BTreeMap<&str, Removal> = BTreeMap::new();
    for (path, s) in &src.entries {
        if ex.excludes(path) {
            continue;
        }
        if s.kind == Kind::Link {
            p.refused.push(format!("{path} -> {}", s.target));
            continue;
        }
        let d = dst.entries.get(path);
        if d.is_some_and(|d| s.same_as(d)) {
            continue;
        }
        // A link in the way is removed too: `mv` onto a link to a folder would move the
        // file into that folder.
        if let Some(d) = d.filter(|d| d.kind != s.kind || d.kind == Kind::Link) {
            let how = if d.kind == Kind::Dir {
                Removal::Tree
            } else {
                Removal::File
            };
            delete.insert(path, how);
        }
        match s.kind {
            Kind::Dir => p.mkdirs.push((path.clone(), s.mode)),
            Kind::Link => {}
            Kind::File => {
                p.copy.push(path.clone());
                p.files += 1;
                p.bytes += s.size;
            }
        }
    }
    if src_complete {
        for (path, d) in &dst.entries {
            // A link at the source is refused, so whatever the destination has there goes.
            let synced = src.entries.get(path).is_some_and(|s| s.kind != Kind::Link);
            if synced || ex.excludes(path) {
                continue;
            }
            let how = if d.kind == Kind::Dir {
                Removal::EmptyDir
            } else {
                Removal::File
            };
            delete.insert(path, how);
        }
    }
    // A folder removed whole takes its contents with it.
    let trees: Vec<String> = delete
        .iter()
        .filter(|(_, how)| **how == Removal::Tree)
        .map(|(path, _)| format!("{path}/"))
        .collect();
    p.delete = delete
        .into_iter()
        .rev()
        .filter(|(path, _)| !trees.iter().any(|t| path.starts_with(t.as_str())))
        .map(|(path, how)| (path.to_string(), how))
        .collect();
    p
}

#[cfg(test)]
#[path = "workspace_tests.rs"]
mod tests;
