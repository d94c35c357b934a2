//! What the store tests share: random data, SHA-256 in hex, chunked streams, put and get
//! of a whole file, a manifest over some files, and the files left under a folder.

use bytes::Bytes;
use lifeboat::core::manifest::{hex, Manifest, ManifestFile, FORMAT};
use lifeboat::runtime::store::{Store, StoreError, Written, CHUNK};
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::sync::mpsc;

pub(crate) const MIB: usize = 1 << 20;
/// The smallest part S3 accepts (but for the last).
pub(crate) const PART: u64 = 5 << 20;

/// Bytes that do not compress or repeat (xorshift), different per seed.
pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A stream of `bytes` in `chunk`-sized pieces, then `tail` (an error, or nothing).
pub(crate) fn stream(
    bytes: Vec<u8>,
    chunk: usize,
    tail: Option<&str>,
) -> mpsc::Receiver<Result<Bytes, String>> {
    let (tx, rx) = mpsc::channel(16);
    let tail = tail.map(String::from);
    tokio::spawn(async move {
        let all = Bytes::from(bytes);
        let mut at = 0;
        while at < all.len() {
            let end = (at + chunk).min(all.len());
            if tx.send(Ok(all.slice(at..end))).await.is_err() {
                return;
            }
            at = end;
        }
        if let Some(e) = tail {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

pub(crate) async fn put(
    store: &dyn Store,
    job: &str,
    id: &str,
    path: &str,
    bytes: &[u8],
) -> Result<Written, StoreError> {
    let input = stream(bytes.to_vec(), CHUNK, None);
    store
        .put(job, id, path, bytes.len() as u64, input, &|_| {})
        .await
}

pub(crate) async fn get(
    store: &dyn Store,
    job: &str,
    id: &str,
    path: &str,
) -> Result<Vec<u8>, StoreError> {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, String>>(16);
    let reader = async {
        let mut out = Vec::new();
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk.map_err(StoreError::Other)?;
            assert!(chunk.len() <= CHUNK, "a chunk of {} bytes", chunk.len());
            out.extend_from_slice(&chunk);
        }
        Ok::<_, StoreError>(out)
    };
    let (sent, got) = tokio::join!(store.get(job, id, path, tx), reader);
    let sent = sent?;
    let got = got?;
    assert_eq!(sent, got.len() as u64);
    Ok(got)
}

pub(crate) fn manifest(job: &str, id: &str, files: &[(&str, &[u8])]) -> Manifest {
    Manifest {
        format: FORMAT,
        job: job.into(),
        id: id.into(),
        step: 120,
        created: 1_700_000_000_000,
        source_host: "pc1".into(),
        epoch: 3,
        single_file: false,
        files: files
            .iter()
            .map(|(p, b)| ManifestFile {
                path: (*p).into(),
                size: b.len() as u64,
                sha256: sha(b),
                mode: None,
            })
            .collect(),
        mac: None,
    }
}

pub(crate) fn ids(listed: &[lifeboat::runtime::store::Listed]) -> Vec<(&str, bool)> {
    listed
        .iter()
        .map(|l| (l.id.as_str(), l.has_manifest))
        .collect()
}

pub(crate) fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}
