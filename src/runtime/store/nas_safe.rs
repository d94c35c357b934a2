//! Opening files beneath the NAS root without ever leaving it: every folder below the
//! root is opened with `O_NOFOLLOW | O_DIRECTORY` one component at a time and the file
//! itself with `O_NOFOLLOW | O_NONBLOCK`, so a planted symlink (to `/etc/shadow`, or a
//! symlinked folder) is refused, a FIFO never blocks, and only regular files are read.

use super::disk::io_error;
use crate::core::manifest::MAX_MANIFEST_BYTES;
use crate::runtime::store::StoreError;
use rustix::fs::{Mode, OFlags, CWD};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path};

/// Why a path beneath the root is refused: a link or something not a regular file.
pub(super) fn refusal(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    let t = meta.file_type();
    if t.is_symlink() {
        Some(format!(
            "refused {}: it is a symbolic link, and Lifeboat never follows links in a \
             store (remove it, or put the real file there)",
            path.display()
        ))
    } else if !t.is_file() && !t.is_dir() {
        Some(format!(
            "refused {}: it is not a regular file (a FIFO, socket or device); remove it",
            path.display()
        ))
    } else {
        None
    }
}

fn refused_or(root: &Path, rel: &Path, what: &str, e: &io::Error) -> StoreError {
    match first_refusal(root, rel) {
        Some(why) => StoreError::Corrupt(why),
        None => io_error(what, &root.join(rel), e),
    }
}

/// The first refusable component of `rel` under `root` (a link or special file), from the
/// top; the root itself may be a link (an operator's mount point).
fn first_refusal(root: &Path, rel: &Path) -> Option<String> {
    let mut at = root.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if let Some(why) = refusal(&at) {
            return Some(why);
        }
    }
    None
}

/// Opens `root/rel` for reading: `rel`'s folders without following links, the file
/// only if it is a regular file (never a link, FIFO, socket or device).
pub(super) fn open_beneath(root: &Path, rel: &Path) -> Result<File, StoreError> {
    open_beneath_as(root, rel, false)
}

/// [`open_beneath`], for reading and writing when `write`.
pub(super) fn open_beneath_as(root: &Path, rel: &Path, write: bool) -> Result<File, StoreError> {
    let target = root.join(rel);
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(p) => Ok(p),
            _ => Err(StoreError::Other(format!(
                "refused to touch the NAS: {} is not a plain relative path",
                rel.display()
            ))),
        })
        .collect::<Result<_, _>>()?;
    let Some((name, dirs)) = parts.split_last() else {
        return Err(StoreError::Other(
            "refused to touch the NAS: empty path".into(),
        ));
    };
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = rustix::fs::openat(CWD, root, dir_flags, Mode::empty())
        .map_err(|e| io_error("open", root, &e.into()))?;
    for d in dirs {
        dir = rustix::fs::openat(&dir, *d, dir_flags | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|e| refused_or(root, rel, "open", &e.into()))?;
    }
    let mode = if write { OFlags::RDWR } else { OFlags::RDONLY };
    let flags = mode | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = rustix::fs::openat(&dir, *name, flags | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| refused_or(root, rel, "read", &e.into()))?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| io_error("read", &target, &e))?;
    if !meta.file_type().is_file() {
        return Err(StoreError::Corrupt(format!(
            "refused {}: it is not a regular file (a folder, FIFO, socket or device)",
            target.display()
        )));
    }
    Ok(file)
}

/// Reads the manifest at `root/rel`, refusing one over [`MAX_MANIFEST_BYTES`] before
/// reading it (and never reading more than that, should it grow meanwhile).
pub(super) fn read_manifest(root: &Path, rel: &Path) -> Result<Vec<u8>, StoreError> {
    let target = root.join(rel);
    let file = open_beneath(root, rel)?;
    let len = file
        .metadata()
        .map_err(|e| io_error("read", &target, &e))?
        .len();
    if len > MAX_MANIFEST_BYTES {
        return Err(too_big(&target, len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("read", &target, &e))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_big(&target, bytes.len() as u64));
    }
    Ok(bytes)
}

fn too_big(path: &Path, len: u64) -> StoreError {
    StoreError::Corrupt(format!(
        "refused {}: {len} bytes is more than the {MAX_MANIFEST_BYTES} a manifest may have; \
         not read",
        path.display()
    ))
}

/// The entries of `dir` with checkpoint-like names that are links or special files, and
/// why each is refused (Lifeboat's own hidden temp files aside).
pub(super) fn strangers(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.starts_with('.') || crate::core::manifest::check_name("id", &name).is_err() {
                return None;
            }
            let t = e.file_type().ok()?;
            if t.is_dir() || t.is_file() {
                return None;
            }
            Some((name, refusal(&e.path())?))
        })
        .collect()
}

/// Checks that every folder of `rel` that exists under `root` is a real folder, not a
/// link out of the root; the missing tail (to be created) is fine.
pub(super) fn real_dirs(root: &Path, rel: &Path) -> Result<(), StoreError> {
    let mut at = root.to_path_buf();
    for c in rel.components() {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => {
                return Err(StoreError::Corrupt(refusal(&at).unwrap_or_else(|| {
                    format!("refused {}: it is a file, not a folder", at.display())
                })))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("open", &at, &e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_and_fifos_beneath_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("nas"), dir.path().join("secret"));
        fs::create_dir_all(root.join("j/a/sub")).unwrap();
        fs::write(&outside, b"secret").unwrap();
        fs::write(root.join("j/a/ok.bin"), b"ok").unwrap();
        symlink(&outside, root.join("j/a/link.bin")).unwrap();
        symlink(dir.path(), root.join("j/a/up")).unwrap();
        let fifo = root.join("j/a/fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let mut s = String::new();
        open_beneath(&root, Path::new("j/a/ok.bin"))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "ok");
        for rel in ["j/a/link.bin", "j/a/up/secret", "j/a/fifo", "j/a/sub"] {
            let e = open_beneath(&root, Path::new(rel)).unwrap_err();
            assert!(
                matches!(&e, StoreError::Corrupt(m) if m.starts_with("refused")),
                "{rel}: {e:?}"
            );
        }
        let e = open_beneath(&root, Path::new("j/a/link.bin")).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // The root itself may be a link (a mount point): followed, and never blamed.
        let mnt = dir.path().join("mnt");
        symlink(&root, &mnt).unwrap();
        assert!(open_beneath(&mnt, Path::new("j/a/ok.bin")).is_ok());
        let e = open_beneath(&mnt, Path::new("j/a/up/secret")).unwrap_err();
        assert!(
            e.to_string().contains("j/a/up: it is a symbolic link"),
            "{e}"
        );
        assert!(real_dirs(&root, Path::new("j/a/new/deeper")).is_ok());
        assert!(real_dirs(&root, Path::new("j/a/up/x")).is_err());
    }

    #[test]
    fn an_oversized_manifest_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::create(dir.path().join("manifest.json")).unwrap();
        f.set_len(MAX_MANIFEST_BYTES + 1).unwrap();
        let e = read_manifest(dir.path(), Path::new("manifest.json")).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }
}
