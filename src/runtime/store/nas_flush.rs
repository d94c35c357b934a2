//! Write-back while a NAS file is still streaming in: every [`EVERY`] bytes a helper
//! thread asks the kernel to write what is dirty so far (`fdatasync` on a second handle),
//! so the closing fsync finds little left and the transfer does not end with a wait for
//! the whole file to reach the disk.
//!
//! The helper's handle shares the writer's open file, and with it the file's write-back
//! error state: an error it sees would not be reported again to the closing fsync. So
//! the first error it meets is kept and handed to the writer, which fails the file.

use std::fs::File;
use std::io;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::thread::JoinHandle;

/// Bytes written between two write-back requests.
pub(super) const EVERY: u64 = 64 << 20;

/// Starts write-back behind a writer; the thread is started at the first request, so a
/// small file costs nothing.
pub(super) struct Flusher {
    since: u64,
    worker: Option<(SyncSender<()>, JoinHandle<io::Result<()>>)>,
    /// The handle could not be cloned or the thread not started: the closing fsync does
    /// it all, as without a flusher.
    off: bool,
}

impl Flusher {
    pub(super) fn new() -> Self {
        Self {
            since: 0,
            worker: None,
            off: false,
        }
    }

    /// `n` more bytes were written to `file`.
    pub(super) fn wrote(&mut self, file: &File, n: u64) {
        self.since += n;
        if self.since < EVERY || self.off {
            return;
        }
        self.since = 0;
        if self.worker.is_none() {
            self.worker = start(file);
            self.off = self.worker.is_none();
        }
        if let Some((tx, _)) = &self.worker {
            // One in flight is enough: a request while it runs is covered by it or the next.
            if let Err(TrySendError::Disconnected(())) = tx.try_send(()) {
                self.off = true;
            }
        }
    }

    /// Waits for the helper; its first write-back error, if any.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some((tx, thread)) = self.worker.take() else {
            return Ok(());
        };
        drop(tx);
        thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the write-back thread failed")))
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // A cancelled write: the temp file goes; only the thread must not outlive it.
        let _ = self.stop();
    }
}

fn start(file: &File) -> Option<(SyncSender<()>, JoinHandle<io::Result<()>>)> {
    let handle = file.try_clone().ok()?;
    let (tx, rx) = sync_channel::<()>(1);
    let thread = std::thread::Builder::new()
        .name("nas-write-back".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                handle.sync_data()?;
            }
            Ok(())
        })
        .ok()?;
    Some((tx, thread))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_big_file_is_written_back_as_it_grows_and_a_small_one_starts_no_thread() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = File::create(dir.path().join("big")).unwrap();
        let mut flusher = Flusher::new();
        let block = vec![7u8; 1 << 20];
        for _ in 0..(EVERY >> 20) * 2 + 1 {
            f.write_all(&block).unwrap();
            flusher.wrote(&f, block.len() as u64);
        }
        assert!(flusher.worker.is_some(), "started after {EVERY} bytes");
        flusher.finish().unwrap();

        let mut small = Flusher::new();
        small.wrote(&f, EVERY - 1);
        assert!(small.worker.is_none());
        small.finish().unwrap();
    }
}
