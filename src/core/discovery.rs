//! Which checkpoints on a job's host are complete and worth pulling: parses the listing
//! the discovery script prints, groups files into checkpoints (a folder, or one file), and
//! decides completeness by the job's marker file or by a size and mtime that held still
//! across two listings. Pure: the previous listing is the only memory.

use super::manifest::{check_name, check_path, MANIFEST_NAME, MAX_FILES};
use std::collections::BTreeMap;

/// One checkpoint as listed on its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub id: String,
    pub single_file: bool,
    /// Relative paths inside the checkpoint (for a single file: its own name) and sizes.
    pub files: Vec<(String, u64)>,
    /// Each file's permission bits on the host, by path (a restore gives them back).
    pub modes: BTreeMap<String, u32>,
    /// Newest modification time of any file, unix milliseconds.
    pub mtime: u64,
    /// The job's completion marker is there.
    pub marked: bool,
}

impl Listing {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }

    /// The training step in the name: its last run of digits (`step-000120` → 120).
    pub fn step(&self) -> u64 {
        step_of(&self.id)
    }

    fn signature(&self) -> (u64, u64, usize) {
        (self.bytes(), self.mtime, self.files.len())
    }
}

/// The last run of digits in `name` (`ckpt_e3_s4500.pt` → 4500), or 0.
pub fn step_of(name: &str) -> u64 {
    let stem = name.split('.').next().unwrap_or(name);
    let digits: String = stem
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or(0)
}

/// Files a writer is still busy with, by the usual naming conventions.
fn looks_temporary(name: &str) -> bool {
    name.starts_with('.')
        || [".tmp", ".partial", ".lock", ".part", ".incomplete"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// What the listing said, besides the checkpoints: entries skipped and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub checkpoints: Vec<Listing>,
    pub skipped: Vec<String>,
    /// Checkpoints refused whole, and why: a symlink or special file in them (or as
    /// them), or more files than a manifest may list. Never replicated.
    pub refused: Vec<(String, String)>,
}

/// Parses NUL-terminated records `<type>\t<size>\t<mtime secs[.frac]>\t<mode, octal>\t<relative path>`
/// (`find -printf '%y\t%s\t%T@\t%m\t%P\0'`): type `f` or `d`. Anything else (a link,
/// FIFO, socket, device) refuses the checkpoint it is in: its bytes are never followed.
pub fn parse_listing(out: &[u8], marker: Option<&str>) -> Parsed {
    let mut groups: BTreeMap<String, Listing> = BTreeMap::new();
    let mut markers: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    for rec in out.split(|b| *b == 0) {
        let Ok(rec) = std::str::from_utf8(rec) else {
            skipped.push("a name that is not UTF-8".into());
            continue;
        };
        let rec = rec.trim_start_matches('\n');
        if rec.is_empty() {
            continue;
        }
        let mut parts = rec.splitn(5, '\t');
        let (Some(kind), Some(size), Some(mtime), Some(mode), Some(path)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            skipped.push(format!("unreadable record {:?}", clip(rec)));
            continue;
        };
        let (Ok(size), Some(mtime), Ok(mode)) = (
            size.parse::<u64>(),
            parse_mtime(mtime),
            u32::from_str_radix(mode, 8),
        ) else {
            skipped.push(format!("unreadable record {:?}", clip(rec)));
            continue;
        };
        if check_path(path).is_err() {
            skipped.push(format!("unsafe name {:?}", clip(path)));
            continue;
        }
        let (top, rest) = match path.split_once('/') {
            Some((t, r)) => (t, Some(r)),
            None => (path, None),
        };
        if looks_temporary(top) {
            continue;
        }
        if kind != "f" && kind != "d" {
            let what = if kind == "l" {
                "a symbolic link"
            } else {
                "not a regular file (a FIFO, socket or device)"
            };
            refused.entry(top.to_string()).or_insert_with(|| {
                format!(
                    "{} is {what}; Lifeboat never follows or reads it",
                    clip(path)
                )
            });
            continue;
        }
        match (kind, rest) {
            ("d", None) => {
                groups.entry(top.to_string()).or_insert_with(|| Listing {
                    id: top.to_string(),
                    single_file: false,
                    files: Vec::new(),
                    modes: BTreeMap::new(),
                    mtime,
                    marked: false,
                });
            }
            ("d", Some(_)) => {}
            ("f", None) => {
                if let Some(m) = marker {
                    if let Some(base) = top.strip_suffix(&format!(".{m}")) {
                        markers.push(base.to_string());
                        continue;
                    }
                }
                if check_name("id", top).is_err() {
                    skipped.push(format!("unsafe name {:?}", clip(top)));
                    continue;
                }
                groups.insert(
                    top.to_string(),
                    Listing {
                        id: top.to_string(),
                        single_file: true,
                        files: vec![(top.to_string(), size)],
                        modes: BTreeMap::from([(top.to_string(), mode)]),
                        mtime,
                        marked: false,
                    },
                );
            }
            ("f", Some(rel)) => {
                let g = groups.entry(top.to_string()).or_insert_with(|| Listing {
                    id: top.to_string(),
                    single_file: false,
                    files: Vec::new(),
                    modes: BTreeMap::new(),
                    mtime,
                    marked: false,
                });
                if Some(rel) == marker {
                    g.marked = true;
                    continue;
                }
                if rel == MANIFEST_NAME {
                    // Lifeboat's own marker name in stores; a job's file of that name
                    // would collide, so it is left on the host.
                    skipped.push(format!("{top}/{MANIFEST_NAME} (name reserved)"));
                    continue;
                }
                if g.files.len() >= MAX_FILES {
                    refused.entry(top.to_string()).or_insert_with(|| {
                        format!(
                            "{top} has more than {MAX_FILES} files, more than a manifest may list"
                        )
                    });
                    continue;
                }
                g.files.push((rel.to_string(), size));
                g.modes.insert(rel.to_string(), mode);
                g.mtime = g.mtime.max(mtime);
            }
            _ => skipped.push(format!("{path:?} is not a file or folder")),
        }
    }
    for base in markers {
        if let Some(g) = groups.get_mut(&base) {
            g.marked = g.single_file;
        }
    }
    let mut checkpoints: Vec<Listing> = groups
        .into_values()
        .filter(|g| {
            !g.files.is_empty() && check_name("id", &g.id).is_ok() && !refused.contains_key(&g.id)
        })
        .collect();
    for c in &mut checkpoints {
        c.files.sort();
    }
    Parsed {
        checkpoints,
        skipped,
        refused: refused.into_iter().collect(),
    }
}

fn parse_mtime(s: &str) -> Option<u64> {
    let secs: f64 = s.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Remembers the previous listing of each job to tell still-growing checkpoints from
/// finished ones when a job has no marker.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    previous: BTreeMap<String, BTreeMap<String, (u64, u64, usize)>>,
}

impl Discovery {
    /// The complete checkpoints in `listing` of `job`: marked ones when the job has a
    /// marker, else those whose size, mtime and file count match the previous listing.
    pub fn complete(&mut self, job: &str, listing: &[Listing], has_marker: bool) -> Vec<Listing> {
        let now: BTreeMap<String, (u64, u64, usize)> = listing
            .iter()
            .map(|l| (l.id.clone(), l.signature()))
            .collect();
        let before = self.previous.insert(job.to_string(), now);
        listing
            .iter()
            .filter(|l| {
                if has_marker {
                    l.marked
                } else {
                    before
                        .as_ref()
                        .and_then(|b| b.get(&l.id))
                        .is_some_and(|sig| *sig == l.signature())
                }
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
