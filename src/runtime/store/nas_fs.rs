//! The NAS store's filesystem work, all blocking (run on blocking threads): atomic
//! writes (temp name in the final folder, fsync, rename, fsync the folder), folder
//! creation that survives a crash, listings that skip temp files, chunked reads, and what
//! an IO error means for the caller.

use super::refused;
use crate::core::manifest::check_name;
use crate::runtime::store::{StoreError, Written, CHUNK};
use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Marks our temp files, so listings skip them and an operator can tell what they are.
const TEMP_MARK: &str = ".lifeboat-tmp-";

/// Maps an IO error on `path` to what the caller can do about it.
pub(super) fn io_error(what: &str, path: &Path, e: &io::Error) -> StoreError {
    use io::ErrorKind as K;
    let p = path.display();
    match e.kind() {
        K::StorageFull | K::QuotaExceeded => StoreError::Full(format!(
            "cannot {what} {p}: the NAS is full ({e}); free space on it or lower \
             [storage] keep_last so older checkpoints are deleted"
        )),
        K::NotFound => StoreError::NotFound(p.to_string()),
        K::PermissionDenied | K::ReadOnlyFilesystem => StoreError::Other(format!(
            "cannot {what} {p}: {e}; check that the NAS is mounted read-write and that \
             lifeboat's user may write there"
        )),
        K::InvalidInput
        | K::InvalidFilename
        | K::AlreadyExists
        | K::IsADirectory
        | K::NotADirectory => StoreError::Other(format!("cannot {what} {p}: {e}")),
        // EIO, ESTALE, timeouts, a mount gone away: worth trying again later.
        _ => StoreError::Unavailable(format!(
            "cannot {what} {p}: {e} (is the NAS mounted and reachable?)"
        )),
    }
}

/// The root must exist: if the NAS is not mounted we must not fill the empty mount point.
pub(super) fn require_root(root: &Path) -> Result<(), StoreError> {
    if root.is_dir() {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "NAS folder {} is missing: is the NAS mounted?",
            root.display()
        )))
    }
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync folder", dir, &e))
}

/// Creates the folders of `rel` under `root` one by one, fsyncs the parent of each one
/// created so the new entries survive a crash too, and returns those created.
fn ensure_dirs(root: &Path, rel: &Path) -> Result<Vec<PathBuf>, StoreError> {
    require_root(root)?;
    let mut dir = root.to_path_buf();
    let mut created = Vec::new();
    for part in rel.components() {
        dir.push(part);
        match fs::create_dir(&dir) {
            Ok(()) => created.push(dir.clone()),
            // A real folder only: a planted link would take the write out of the root.
            Err(e)
                if e.kind() == io::ErrorKind::AlreadyExists
                    && fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir()) => {}
            Err(e) => {
                remove_empty(&created);
                return Err(io_error("create folder", &dir, &e));
            }
        }
    }
    for d in &created {
        if let Err(e) = d.parent().map_or(Ok(()), sync_dir) {
            remove_empty(&created);
            return Err(e);
        }
    }
    Ok(created)
}

/// Removes folders this put created, deepest first, where still empty (another put may
/// have started writing into them).
fn remove_empty(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// Removes the temp file unless the write was committed.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    dir.join(format!(".{name}{TEMP_MARK}{pid}-{seq}-{nanos:08x}"))
}

/// Removes temp files of `name` in `dir` left by a writer that died (a console killed
/// mid-replication): their PID, on this machine, is gone. A live writer's are kept.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}{TEMP_MARK}");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn is_temp_or_hidden(name: &str) -> bool {
    name.starts_with('.') || name.contains(TEMP_MARK)
}

/// Writes `root/rel` atomically: `fill` writes the bytes into a fresh temp file in the
/// same folder and returns the count and SHA-256; then fsync, rename, fsync the folder.
pub(super) fn write_atomic(
    root: &Path,
    rel: &Path,
    fill: impl FnOnce(&mut File, &Path) -> Result<Written, StoreError>,
) -> Result<Written, StoreError> {
    let target = root.join(rel);
    let (Some(dir_rel), Some(name)) = (rel.parent(), target.file_name()) else {
        return Err(refused(format!("no file name in {}", rel.display())));
    };
    let dir = root.join(dir_rel);
    remove_stale_temps(&dir, &name.to_string_lossy());
    let tmp = temp_path(&dir, &name.to_string_lossy());
    let mut created = ensure_dirs(root, dir_rel)?;
    // Checkpoints are the job's data: readable by Lifeboat's user only.
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
    };
    let mut opened = open();
    if matches!(&opened, Err(e) if e.kind() == io::ErrorKind::NotFound) {
        // A failing put beside us removed the folder it had just made: make it again.
        created = ensure_dirs(root, dir_rel)?;
        opened = open();
    }
    let mut file = opened.map_err(|e| {
        remove_empty(&created);
        io_error("create", &tmp, &e)
    })?;
    let mut guard = TempFile {
        path: tmp.clone(),
        keep: false,
    };
    let result = fill(&mut file, &target).and_then(|w| {
        file.sync_all()
            .map_err(|e| io_error("write", &target, &e))?;
        fs::rename(&tmp, &target).map_err(|e| io_error("rename into", &target, &e))?;
        Ok(w)
    });
    drop(file);
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            drop(guard);
            remove_empty(&created);
            return Err(e);
        }
    };
    guard.keep = true;
    sync_dir(&dir)?;
    Ok(written)
}

/// Names of the checkpoint-like subfolders of `dir` (none if `dir` is absent).
pub(super) fn subfolders(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("list", dir, &e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && !is_temp_or_hidden(&name) && check_name("id", &name).is_ok() {
            out.push(name);
        }
    }
    Ok(out)
}

/// Streams the opened `f` (at `file`) into `output` in [`CHUNK`] pieces; Ok with the
/// count so far if the receiver goes away.
pub(super) fn read_into(
    mut f: File,
    file: &Path,
    output: &mpsc::Sender<Result<Bytes, String>>,
) -> Result<u64, StoreError> {
    let mut sent = 0u64;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match f.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error("read", file, &e)),
            }
        }
        if filled == 0 {
            return Ok(sent);
        }
        buf.truncate(filled);
        if output.blocking_send(Ok(Bytes::from(buf))).is_err() {
            return Ok(sent);
        }
        sent += filled as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_and_quota_are_full_with_a_fix() {
        for errno in [28, 122] {
            let e = io::Error::from_raw_os_error(errno);
            let got = io_error("write", Path::new("/mnt/nas/a/b/x.bin"), &e);
            let StoreError::Full(msg) = got else {
                panic!("errno {errno}: {got:?}")
            };
            assert!(msg.contains("/mnt/nas/a/b/x.bin"), "{msg}");
            assert!(
                msg.contains("NAS is full") && msg.contains("keep_last"),
                "{msg}"
            );
        }
    }

    #[test]
    fn other_io_errors_name_the_path() {
        let p = Path::new("/mnt/nas/j");
        let e = io_error("read", p, &io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(e, StoreError::NotFound("/mnt/nas/j".into()));
        let e = io_error("write", p, &io::Error::from_raw_os_error(13));
        assert!(
            matches!(&e, StoreError::Other(m) if m.contains("/mnt/nas/j")),
            "{e:?}"
        );
        let e = io_error("write", p, &io::Error::from_raw_os_error(5));
        assert!(
            e.is_transient() && e.to_string().contains("/mnt/nas/j"),
            "{e:?}"
        );
    }

    #[test]
    fn temp_names_are_hidden_from_listings() {
        let t = temp_path(Path::new("/x"), "w.bin");
        let name = t.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(name.as_deref().is_some_and(is_temp_or_hidden));
        assert!(!is_temp_or_hidden("step-120"));
    }
}
