//! Where checkpoints are kept: a NAS directory and S3, behind one small trait.
//! Layout in every store: `<root or prefix>/<job>/<checkpoint-id>/<files…>` plus
//! `manifest.json`, written last as the completion marker.
//!
//! Bytes move as bounded streams of chunks (`Bytes`), so a 100 GiB checkpoint never sits
//! in memory; every store hashes what it writes and reads with SHA-256.

pub mod nas;
pub mod s3;

use crate::core::manifest::Manifest;
use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

pub use nas::NasStore;
pub use s3::S3Store;

/// Chunks in flight between a reader and a writer (each up to [`CHUNK`] bytes).
pub const CHANNEL_DEPTH: usize = 16;
/// The size of one streamed chunk.
pub const CHUNK: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Nas,
    S3,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Nas => "nas",
            StoreKind::S3 => "s3",
        }
    }
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The object or file is not there.
    #[error("{0}: not found")]
    NotFound(String),
    /// The store is out of space (ENOSPC, EDQUOT): retrying will not help until freed.
    #[error("{0}")]
    Full(String),
    /// The bytes did not match the SHA-256 they were sent or stored with.
    #[error("{0}")]
    Corrupt(String),
    /// The store could not be reached or answered with an error worth retrying.
    #[error("{0}")]
    Unavailable(String),
    /// The input stream ended early or its producer failed.
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// Worth trying again later (the store was away), as opposed to a data problem.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// What a store wrote: its own count and SHA-256 of the bytes it received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
}

/// One checkpoint folder found in a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    /// Whether `manifest.json` is present (not yet whether it parses).
    pub has_manifest: bool,
    /// Why the store will not read it (a symlinked folder or manifest in the NAS).
    pub refused: Option<String>,
}

/// A place checkpoints are kept. Every method may be cancelled at any await point and
/// must then leave no partial object visible under its final name.
#[async_trait]
pub trait Store: Send + Sync {
    fn kind(&self) -> StoreKind;

    /// Where a checkpoint lives, for people: `/mnt/nas/train/step-120`,
    /// `s3://bucket/prefix/train/step-120`.
    fn locate(&self, job: &str, id: &str) -> String;

    /// Writes the chunks from `input` as `path` of checkpoint `job/id`, hashing as it
    /// goes; visible under its name only when complete (NAS: temp name, fsync, rename,
    /// fsync the folder; S3: one PUT or a multipart upload, SHA-256 checksum on every
    /// object or part). `size` is the expected length; a stream that ends short of it,
    /// or whose sender is dropped with an error, is `Aborted` and leaves nothing.
    /// `progress(bytes)` is called as bytes are written.
    async fn put(
        &self,
        job: &str,
        id: &str,
        path: &str,
        size: u64,
        input: mpsc::Receiver<Result<Bytes, String>>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Written, StoreError>;

    /// Streams `path` of checkpoint `job/id` into `output` in chunks; returns the bytes
    /// sent. Stops quietly (Ok) if the receiver goes away.
    async fn get(
        &self,
        job: &str,
        id: &str,
        path: &str,
        output: mpsc::Sender<Result<Bytes, String>>,
    ) -> Result<u64, StoreError>;

    /// The size of `path` of `job/id` as stored.
    async fn size(&self, job: &str, id: &str, path: &str) -> Result<u64, StoreError>;

    /// Writes `manifest.json` of `manifest.job/manifest.id` (last, as the marker).
    async fn put_manifest(&self, manifest: &Manifest) -> Result<(), StoreError>;

    /// Reads and checks `manifest.json`; `NotFound` when absent, `Corrupt` when it does
    /// not parse.
    async fn get_manifest(&self, job: &str, id: &str) -> Result<Manifest, StoreError>;

    /// The checkpoint folders of `job`, sorted by id.
    async fn list(&self, job: &str) -> Result<Vec<Listed>, StoreError>;

    /// The job names that have checkpoints here, sorted.
    async fn jobs(&self) -> Result<Vec<String>, StoreError>;

    /// Deletes checkpoint `job/id`: the manifest first (so a half-deleted checkpoint is
    /// never listed as restorable), then every file, then the folder.
    async fn delete(&self, job: &str, id: &str) -> Result<(), StoreError>;
}
