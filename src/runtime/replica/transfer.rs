//! Moving one file's bytes: from a host (over its shell) or from a store, into one or
//! more stores at once (a tee of shared `Bytes`, so a second store costs no copy), or from
//! a store onto a host. Hashing happens in the stores, on the host that receives, or on
//! a blocking thread here.

use crate::core::fleet::HostSpec;
use crate::core::manifest::hex;
use crate::runtime::shell::{Shell, ShellError};
use crate::runtime::store::{Store, StoreError, Written, CHANNEL_DEPTH};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// No byte moving for this long means the other side is stuck.
pub const STALL: Duration = Duration::from_secs(60);

type Chunk = Result<Bytes, String>;

/// Where a file's bytes come from.
pub enum Source<'a> {
    Host {
        shell: &'a dyn Shell,
        host: &'a HostSpec,
        path: String,
    },
    Store {
        store: &'a dyn Store,
        job: &'a str,
        id: &'a str,
        path: &'a str,
    },
}

impl Source<'_> {
    /// Streams the bytes into `tx`; an error is also sent down the stream so that
    /// writers abort instead of keeping a short file.
    async fn pump(self, tx: mpsc::Sender<Chunk>) -> Result<(), String> {
        let result = match self {
            Source::Host { shell, host, path } => {
                let cmd = super::remote::read_file(&path);
                match shell.read_stream(host, &cmd, tx.clone(), STALL).await {
                    Ok(out) if out.exit == Some(0) => Ok(()),
                    Ok(out) => Err(format!(
                        "{}: cannot read {path}: {}",
                        host.id,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )),
                    Err(e) => Err(format!("{}: reading {path}: {e}", host.id)),
                }
            }
            Source::Store {
                store,
                job,
                id,
                path,
            } => store
                .get(job, id, path, tx.clone())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = &result {
            let _ = tx.send(Err(e.clone())).await;
        }
        result
    }
}

/// Counts bytes for a progress callback shared by several writers (the slowest counts).
#[derive(Default)]
pub struct Meter {
    pub done: AtomicU64,
}

impl Meter {
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

/// The outcome of a fan-out: what the source said, and each destination's result.
pub struct FanOut {
    pub source: Result<(), String>,
    pub written: Vec<Result<Written, StoreError>>,
}

/// Copies one file from `src` into every store in `dests` at once, as `job/id/path`.
/// `meter` advances with the bytes read from the source.
pub async fn to_stores(
    src: Source<'_>,
    dests: &[&dyn Store],
    job: &str,
    id: &str,
    path: &str,
    size: u64,
    meter: &Meter,
) -> FanOut {
    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_DEPTH);
    let mut outs = Vec::new();
    let mut puts = Vec::new();
    for d in dests {
        let (dtx, drx) = mpsc::channel::<Chunk>(CHANNEL_DEPTH);
        outs.push(Some(dtx));
        puts.push(d.put(job, id, path, size, drx, &|_| {}));
    }
    let tee = async move {
        while let Some(chunk) = rx.recv().await {
            if let Ok(b) = &chunk {
                meter.add(b.len() as u64);
            }
            let mut live = false;
            for o in outs.iter_mut() {
                if let Some(s) = o {
                    // A writer that gave up (full, failed) is dropped; the rest go on.
                    if s.send(chunk.clone()).await.is_err() {
                        *o = None;
                    } else {
                        live = true;
                    }
                }
            }
            if !live {
                break;
            }
        }
    };
    let all_puts = futures::future::join_all(puts);
    let (source, (), written) = tokio::join!(src.pump(tx), tee, all_puts);
    FanOut { source, written }
}

/// The hashing thread's answer: `(bytes, sha256)` or the first error chunk.
pub type HashTask = tokio::task::JoinHandle<Result<(u64, String), String>>;

/// Hashes chunks on a blocking thread; gives the hex SHA-256 and byte count, or the
/// first error chunk.
pub fn hasher() -> (mpsc::Sender<Chunk>, HashTask) {
    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_DEPTH);
    let task = tokio::task::spawn_blocking(move || {
        let mut h = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            let b = chunk?;
            n += b.len() as u64;
            h.update(&b);
        }
        Ok((n, hex(&h.finalize())))
    });
    (tx, task)
}

/// Reads `path` of `job/id` from `store` and hashes it: `(bytes, sha256)`.
pub async fn hash_in_store(
    store: &dyn Store,
    job: &str,
    id: &str,
    path: &str,
) -> Result<(u64, String), StoreError> {
    let (tx, task) = hasher();
    let got = store.get(job, id, path, tx).await;
    let hashed = task
        .await
        .map_err(|e| StoreError::Other(format!("hashing stopped: {e}")))?;
    got?;
    hashed.map_err(StoreError::Aborted)
}

/// What a copy onto a host read and sent, and what the host's command printed.
pub struct Landed {
    pub bytes: u64,
    pub remote: String,
}

/// Streams `from` (a store's file) onto `host`, written by `write_cmd` (which reads
/// stdin). Nothing is hashed here: the host hashes what it wrote, and that is the check
/// that counts (a second hash of the same bytes here would only cost a core).
pub async fn store_to_host(
    from: Source<'_>,
    shell: &dyn Shell,
    host: &HostSpec,
    write_cmd: &str,
    meter: &Arc<Meter>,
) -> Result<Landed, String> {
    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_DEPTH);
    let (wtx, wrx) = mpsc::channel::<Chunk>(CHANNEL_DEPTH);
    let m = meter.clone();
    let tee = async move {
        let mut sent = 0u64;
        while let Some(chunk) = rx.recv().await {
            if let Ok(b) = &chunk {
                m.add(b.len() as u64);
                sent += b.len() as u64;
            }
            if wtx.send(chunk).await.is_err() {
                break;
            }
        }
        sent
    };
    let path = match &from {
        Source::Store { path, .. } => (*path).to_string(),
        Source::Host { path, .. } => path.clone(),
    };
    let (read, bytes, wrote) = tokio::join!(
        from.pump(tx),
        tee,
        shell.write_stream(host, write_cmd, wrx, STALL)
    );
    read?;
    let out = wrote.map_err(|e: ShellError| format!("{}: writing {path}: {e}", host.id))?;
    if out.exit != Some(0) {
        return Err(format!(
            "{}: writing {path} failed: {}",
            host.id,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Landed {
        bytes,
        remote: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}
