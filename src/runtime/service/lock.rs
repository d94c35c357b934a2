//! One supervisor per state dir: an exclusive `flock` on `lifeboat.lock`, held for the
//! process's life and released by the kernel if it dies. The holder writes who it is into
//! the file so a refused second start can name it and say how to attach instead.

use crate::core::time::Ts;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const LOCK: &str = "lifeboat.lock";

/// Who holds (or last held) a state dir.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: Ts,
    /// `daemon`, `console` (embedded) …
    pub what: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("state dir {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", held_message(dir, holder.as_ref()))]
    Held {
        dir: PathBuf,
        holder: Option<Holder>,
    },
}

fn held_message(dir: &Path, holder: Option<&Holder>) -> String {
    let who = match holder {
        Some(h) => format!(
            "{} pid {} on {} since {}",
            h.what,
            h.pid,
            h.host,
            crate::core::time::rfc3339(h.started)
        ),
        None => "another process".into(),
    };
    format!(
        "state dir {} is already supervised by {who}; only one supervisor may run per state dir.\n  Attach a console to it instead: lifeboat --state-dir {}",
        dir.display(),
        dir.display()
    )
}

/// The held lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    pub dir: PathBuf,
    pub holder: Holder,
}

/// This machine's name, for holders and the console's header.
pub fn hostname() -> String {
    let uts = rustix::system::uname();
    uts.nodename().to_string_lossy().into_owned()
}

impl StateLock {
    /// Takes the lock without waiting, creating the dir; `Held` names the holder.
    pub fn acquire(dir: &Path, what: &str, now: Ts) -> Result<StateLock, LockError> {
        let io = |source| LockError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOCK);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) =
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        {
            if e == rustix::io::Errno::WOULDBLOCK {
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: read_holder(&mut file),
                });
            }
            return Err(io(e.into()));
        }
        let holder = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: now,
            what: what.into(),
        };
        let body = serde_json::to_vec(&holder).unwrap_or_default();
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&body).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(StateLock {
            _file: file,
            dir: dir.to_path_buf(),
            holder,
        })
    }

    /// Whether some process holds `dir`'s lock now, and who it said it was.
    pub fn probe(dir: &Path) -> Option<Option<Holder>> {
        let mut file = File::open(dir.join(LOCK)).ok()?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared) {
            Ok(()) => {
                let _ = rustix::fs::flock(&file, rustix::fs::FlockOperation::Unlock);
                None
            }
            Err(_) => Some(read_holder(&mut file)),
        }
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path(), "daemon", Ts(1_700_000_000_000)).unwrap();
        assert_eq!(
            StateLock::probe(dir.path()),
            Some(Some(first.holder.clone()))
        );
        let err = StateLock::acquire(dir.path(), "console", Ts(2)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("daemon pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("lifeboat --state-dir"), "{text}");
        drop(first);
        assert_eq!(StateLock::probe(dir.path()), None);
        StateLock::acquire(dir.path(), "console", Ts(3)).unwrap();
    }
}
