//! The NAS store: checkpoints as files under a mounted folder, `<root>/<job>/<id>/<path>`.
//! Each file is written under a temp name in its final folder, hashed as it is written,
//! fsynced and renamed, then the folder fsynced: a crash leaves a complete file or none.
//! All filesystem work runs on blocking threads; the async side only moves chunks.

#[path = "nas_fs.rs"]
mod disk;
#[path = "nas_flush.rs"]
mod flush;
#[path = "nas_safe.rs"]
mod safe;

use super::{Listed, Store, StoreError, StoreKind, Written};
use crate::core::manifest::{check_name, check_path, hex, Manifest, MANIFEST_NAME};
use async_trait::async_trait;
use bytes::Bytes;
use disk::{io_error, read_into, require_root, subfolders, sync_dir, write_atomic};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chunks queued between the async pump and the writer thread.
const WRITER_DEPTH: usize = 4;

/// Checkpoints in a folder on a mounted NAS (or any local folder).
#[derive(Clone, Debug)]
pub struct NasStore {
    root: PathBuf,
}

/// What the async side feeds the writer thread. Only `Commit` makes a file visible: a
/// feed that just stops (the put was cancelled) removes the temp file.
enum Feed {
    Data(Bytes),
    Commit,
}

impl NasStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A drill's corruption: XORs the byte at `offset` of file `path` of checkpoint
    /// `job/id` with `mask` (never through a link, never outside the root), fsynced.
    /// Returns the byte before and after.
    pub fn drill_xor(
        &self,
        job: &str,
        id: &str,
        path: &str,
        offset: u64,
        mask: u8,
    ) -> Result<(u8, u8), StoreError> {
        use std::os::unix::fs::FileExt;
        let rel = Path::new(job).join(id).join(path);
        let target = self.root.join(&rel);
        let f = safe::open_beneath_as(&self.root, &rel, true)?;
        let io = |e: std::io::Error| StoreError::Other(format!("{}: {e}", target.display()));
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, offset).map_err(io)?;
        let was = b[0];
        if mask != 0 {
            f.write_all_at(&[was ^ mask], offset).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        Ok((was, was ^ mask))
    }

    /// Bytes available to us on the NAS's filesystem, or `None` if it cannot be asked.
    pub async fn free_bytes(&self) -> Option<u64> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let st = rustix::fs::statvfs(&root).ok()?;
            st.f_bavail.checked_mul(st.f_frsize)
        })
        .await
        .ok()
        .flatten()
    }

    /// `job/id` relative to the root, after checking both are single safe names.
    fn checkpoint_rel(job: &str, id: &str) -> Result<PathBuf, StoreError> {
        check_name("job", job).map_err(refused)?;
        check_name("id", id).map_err(refused)?;
        Ok(Path::new(job).join(id))
    }

    fn file_rel(job: &str, id: &str, path: &str) -> Result<PathBuf, StoreError> {
        check_path(path).map_err(refused)?;
        Ok(Self::checkpoint_rel(job, id)?.join(path))
    }
}

fn refused(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("refused to touch the NAS: {e}"))
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Other(format!("NAS worker thread failed: {e}"))
}

/// The writer thread's loop: hash and write each chunk until `Commit`.
fn write_feed(
    mut feed: mpsc::Receiver<Feed>,
    done: &AtomicU64,
    file: &mut File,
    target: &Path,
) -> Result<Written, StoreError> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut flusher = flush::Flusher::new();
    loop {
        match feed.blocking_recv() {
            Some(Feed::Data(chunk)) => {
                hasher.update(&chunk);
                file.write_all(&chunk)
                    .map_err(|e| io_error("write", target, &e))?;
                bytes += chunk.len() as u64;
                done.store(bytes, Ordering::Relaxed);
                flusher.wrote(file, chunk.len() as u64);
            }
            Some(Feed::Commit) => {
                flusher
                    .finish()
                    .map_err(|e| io_error("write", target, &e))?;
                break;
            }
            None => {
                return Err(StoreError::Aborted(format!(
                    "writing {} was cancelled",
                    target.display()
                )))
            }
        }
    }
    Ok(Written {
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

/// How feeding the writer ended.
enum Pumped {
    /// Exactly `size` bytes, then the end of the stream.
    Complete,
    /// The writer stopped taking chunks: its own result says why.
    WriterGone,
    Aborted(StoreError),
}

/// Moves chunks from `input` to the writer, checking the stream against `size`.
async fn pump(
    label: &str,
    size: u64,
    mut input: mpsc::Receiver<Result<Bytes, String>>,
    feed: &mpsc::Sender<Feed>,
    done: &AtomicU64,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Pumped {
    let mut total = 0u64;
    let mut reported = 0u64;
    loop {
        let chunk = match input.recv().await {
            None if total == size => return Pumped::Complete,
            None => {
                return Pumped::Aborted(StoreError::Aborted(format!(
                    "{label}: the stream ended after {total} of {size} bytes"
                )))
            }
            Some(Err(e)) => {
                return Pumped::Aborted(StoreError::Aborted(format!(
                    "{label}: the sender failed: {e}"
                )))
            }
            Some(Ok(chunk)) => chunk,
        };
        total += chunk.len() as u64;
        if total > size {
            return Pumped::Aborted(StoreError::Aborted(format!(
                "{label}: the stream is longer than the expected {size} bytes"
            )));
        }
        if feed.send(Feed::Data(chunk)).await.is_err() {
            return Pumped::WriterGone;
        }
        let now = done.load(Ordering::Relaxed);
        if now != reported {
            reported = now;
            progress(now);
        }
    }
}

#[async_trait]
impl Store for NasStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Nas
    }

    fn locate(&self, job: &str, id: &str) -> String {
        self.root.join(job).join(id).display().to_string()
    }

    async fn put(
        &self,
        job: &str,
        id: &str,
        path: &str,
        size: u64,
        input: mpsc::Receiver<Result<Bytes, String>>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Written, StoreError> {
        let rel = Self::file_rel(job, id, path)?;
        if path == MANIFEST_NAME {
            return Err(refused(format!(
                "{MANIFEST_NAME:?} is reserved for the manifest (put_manifest writes it)"
            )));
        }
        let label = self.root.join(&rel).display().to_string();
        let (feed_tx, feed_rx) = mpsc::channel(WRITER_DEPTH);
        let done = Arc::new(AtomicU64::new(0));
        let root = self.root.clone();
        let writer_done = done.clone();
        let writer = tokio::task::spawn_blocking(move || {
            write_atomic(&root, &rel, |file, target| {
                write_feed(feed_rx, &writer_done, file, target)
            })
        });
        let pumped = pump(&label, size, input, &feed_tx, &done, progress).await;
        let commit = match pumped {
            Pumped::Complete => feed_tx.send(Feed::Commit).await.is_ok(),
            Pumped::WriterGone => false,
            Pumped::Aborted(e) => {
                // Closing the feed without Commit makes the writer remove its temp file.
                drop(feed_tx);
                let _ = writer.await;
                return Err(e);
            }
        };
        drop(feed_tx);
        let result = writer.await.map_err(join_error)?;
        if commit {
            if let Ok(w) = &result {
                progress(w.bytes);
            }
        }
        result
    }

    async fn get(
        &self,
        job: &str,
        id: &str,
        path: &str,
        output: mpsc::Sender<Result<Bytes, String>>,
    ) -> Result<u64, StoreError> {
        let rel = Self::file_rel(job, id, path)?;
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let result = safe::open_beneath(&root, &rel)
                .and_then(|f| read_into(f, &root.join(&rel), &output));
            if let Err(e) = &result {
                // A consumer that only watches the channel learns of the failure too.
                let _ = output.blocking_send(Err(e.to_string()));
            }
            result
        })
        .await
        .map_err(join_error)?
    }

    async fn size(&self, job: &str, id: &str, path: &str) -> Result<u64, StoreError> {
        let rel = Self::file_rel(job, id, path)?;
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let f = safe::open_beneath(&root, &rel)?;
            f.metadata()
                .map(|m| m.len())
                .map_err(|e| io_error("read", &root.join(&rel), &e))
        })
        .await
        .map_err(join_error)?
    }

    async fn put_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        manifest.check().map_err(refused)?;
        let rel = Self::checkpoint_rel(&manifest.job, &manifest.id)?.join(MANIFEST_NAME);
        let bytes = manifest.to_bytes();
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            write_atomic(&root, &rel, |file, target| {
                file.write_all(&bytes)
                    .map_err(|e| io_error("write", target, &e))?;
                Ok(Written {
                    bytes: bytes.len() as u64,
                    sha256: String::new(),
                })
            })
        })
        .await
        .map_err(join_error)?
        .map(|_| ())
    }

    async fn get_manifest(&self, job: &str, id: &str) -> Result<Manifest, StoreError> {
        let rel = Self::checkpoint_rel(job, id)?.join(MANIFEST_NAME);
        let root = self.root.clone();
        let file = root.join(&rel);
        let bytes = tokio::task::spawn_blocking(move || safe::read_manifest(&root, &rel))
            .await
            .map_err(join_error)??;
        Manifest::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", file.display())))
    }

    async fn list(&self, job: &str) -> Result<Vec<Listed>, StoreError> {
        check_name("job", job).map_err(refused)?;
        let root = self.root.clone();
        let job_rel = PathBuf::from(job);
        let job_dir = root.join(job);
        tokio::task::spawn_blocking(move || {
            require_root(&root)?;
            // A linked job folder would list (and later read) another tree.
            safe::real_dirs(&root, &job_rel)?;
            // Neither a link nor a FIFO counts as a manifest.
            let is_file = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file());
            let mut out: Vec<Listed> = subfolders(&job_dir)?
                .into_iter()
                .map(|id| {
                    let manifest = job_dir.join(&id).join(MANIFEST_NAME);
                    Listed {
                        has_manifest: is_file(&manifest),
                        refused: safe::refusal(&manifest),
                        id,
                    }
                })
                .collect();
            // Links and special files where checkpoint folders belong: listed as refused.
            out.extend(
                safe::strangers(&job_dir)
                    .into_iter()
                    .map(|(id, why)| Listed {
                        id,
                        has_manifest: false,
                        refused: Some(why),
                    }),
            );
            out.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(out)
        })
        .await
        .map_err(join_error)?
    }

    async fn jobs(&self) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            require_root(&root)?;
            let mut out = subfolders(&root)?;
            out.sort();
            Ok(out)
        })
        .await
        .map_err(join_error)?
    }

    async fn delete(&self, job: &str, id: &str) -> Result<(), StoreError> {
        let root = self.root.clone();
        let rel = Self::checkpoint_rel(job, id)?;
        let dir = root.join(&rel);
        tokio::task::spawn_blocking(move || {
            require_root(&root)?;
            // Through a linked job folder the delete would land outside the root.
            safe::real_dirs(&root, &rel)?;
            let manifest = dir.join(MANIFEST_NAME);
            match fs::remove_file(&manifest) {
                // Durable before any data goes, so a crash never leaves a listed-as-
                // restorable checkpoint with files missing.
                Ok(()) => sync_dir(&dir)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("delete", &manifest, &e)),
            }
            match fs::remove_dir_all(&dir) {
                Ok(()) => dir.parent().map_or(Ok(()), sync_dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error("delete", &dir, &e)),
            }
        })
        .await
        .map_err(join_error)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused_before_any_path_is_built() {
        for (job, id, path) in [
            ("..", "a", "f"),
            ("j", "../x", "f"),
            ("j", "a", "../../etc/passwd"),
            ("j", "a", "/etc/passwd"),
            ("j/k", "a", "f"),
            (".hidden", "a", "f"),
        ] {
            assert!(
                NasStore::file_rel(job, id, path).is_err(),
                "{job} {id} {path}"
            );
        }
        assert_eq!(
            NasStore::file_rel("j", "a", "d/f.bin").ok(),
            Some(PathBuf::from("j/a/d/f.bin"))
        );
    }
}
