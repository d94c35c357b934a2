//! The S3 store: checkpoints as objects `<prefix>/<job>/<id>/<path>` in one bucket, any
//! S3-compatible server. Uploads carry SHA-256 checksums the server checks (see
//! `s3_multipart.rs`); reads stream; listings page; errors say retry, missing, corrupt
//! or fix-your-credentials (see `s3_error.rs`).

#[path = "s3_error.rs"]
mod error;
#[path = "s3_multipart.rs"]
mod multipart;

use super::{Listed, Store, StoreError, StoreKind, Written, CHUNK};
use crate::config::S3Config;
use crate::core::manifest::{check_name, check_path, Manifest, MANIFEST_NAME};
use async_trait::async_trait;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Objects up to this size go in one PutObject; bigger ones in a multipart upload.
pub const MULTIPART_THRESHOLD: u64 = 16 << 20;
/// The size of one multipart part (grown when a file would need more than 10,000).
pub const PART_SIZE: u64 = 16 << 20;
/// Parts uploading at once for one file.
pub const PARTS_IN_FLIGHT: usize = 4;
/// HeadObject requests at once when listing checkpoints.
const HEADS_IN_FLIGHT: usize = 16;
/// Keys one DeleteObjects request may carry.
const DELETE_BATCH: usize = 1000;
/// How long to wait for a TCP connection before calling the server away.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Checkpoints in an S3 bucket under a prefix.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Without leading or trailing `/`; may be empty.
    prefix: String,
    multipart_threshold: u64,
    part_size: u64,
    parts_in_flight: usize,
}

impl S3Store {
    /// A client for `cfg`: its region, optional endpoint and path style, and credentials
    /// from the SDK's default chain or the named profile (never from the config file).
    pub async fn from_config(cfg: &S3Config) -> Result<Self, StoreError> {
        if cfg.bucket.is_empty() {
            return Err(StoreError::Other(
                "[storage.s3] bucket is empty: name the bucket".into(),
            ));
        }
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(cfg.region.clone()))
            .timeout_config(timeouts);
        if let Some(profile) = &cfg.profile {
            loader = loader.profile_name(profile);
        }
        let shared = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&shared).force_path_style(cfg.path_style);
        if let Some(endpoint) = &cfg.endpoint {
            conf = conf.endpoint_url(endpoint);
        }
        Ok(Self::with_client(
            Client::from_conf(conf.build()),
            cfg.bucket.clone(),
            cfg.prefix.clone(),
        ))
    }

    /// A store over a ready client (tests, or a caller with its own SDK config).
    pub fn with_client(
        client: Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into().trim_matches('/').to_string(),
            multipart_threshold: MULTIPART_THRESHOLD,
            part_size: PART_SIZE,
            parts_in_flight: PARTS_IN_FLIGHT,
        }
    }

    /// Files bigger than `threshold` go up in parts of `part_size` (S3 wants ≥ 5 MiB
    /// for every part but the last).
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> Self {
        self.multipart_threshold = threshold;
        self.part_size = part_size.max(1);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of `parts` joined under the prefix (names already checked).
    fn key(&self, parts: &[&str]) -> String {
        join_key(&self.prefix, parts)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn file_key(&self, job: &str, id: &str, path: &str) -> Result<String, StoreError> {
        check_ids(job, id)?;
        check_path(path).map_err(refused)?;
        Ok(self.key(&[job, id, path]))
    }

    fn sdk<E>(&self, err: &aws_sdk_s3::error::SdkError<E>, verb: &str, key: &str) -> StoreError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let url = self.url(key);
        error::sdk(err, &self.bucket, &format!("{verb} {url}"), &url)
    }

    /// The names under `prefix` one level down (`a/` of `prefix/a/…`), every page.
    async fn subprefixes(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.sdk(&e, "LIST", prefix))?;
            for p in page.common_prefixes() {
                let name = p
                    .prefix()
                    .and_then(|s| s.strip_prefix(prefix))
                    .map(|s| s.trim_end_matches('/'));
                if let Some(name) = name.filter(|n| check_name("id", n).is_ok()) {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every key under `prefix`, every page.
    async fn keys_under(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.sdk(&e, "LIST", prefix))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(String::from)),
            );
        }
        Ok(keys)
    }

    /// Whether `key` exists (HeadObject; 404 is `false`).
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match self.sdk(&e, "HEAD", key) {
                StoreError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn delete_key(&self, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match self.sdk(&e, "DELETE", key) {
                StoreError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// `prefix/a/b` (or `a/b` with an empty prefix).
fn join_key(prefix: &str, parts: &[&str]) -> String {
    let mut key = String::from(prefix);
    for part in parts {
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str(part);
    }
    key
}

fn refused(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("refused to touch S3: {e}"))
}

fn check_ids(job: &str, id: &str) -> Result<(), StoreError> {
    check_name("job", job).map_err(refused)?;
    check_name("id", id).map_err(refused)
}

#[async_trait]
impl Store for S3Store {
    fn kind(&self) -> StoreKind {
        StoreKind::S3
    }

    fn locate(&self, job: &str, id: &str) -> String {
        self.url(&self.key(&[job, id]))
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
        let key = self.file_key(job, id, path)?;
        if path == MANIFEST_NAME {
            return Err(refused(format!(
                "{MANIFEST_NAME:?} is reserved for the manifest (put_manifest writes it)"
            )));
        }
        multipart::put(self, &key, size, input, progress).await
    }

    async fn get(
        &self,
        job: &str,
        id: &str,
        path: &str,
        output: mpsc::Sender<Result<Bytes, String>>,
    ) -> Result<u64, StoreError> {
        let key = self.file_key(job, id, path)?;
        let result = self.stream(&key, &output).await;
        if let Err(e) = &result {
            // A consumer that only watches the channel learns of the failure too.
            let _ = output.send(Err(e.to_string())).await;
        }
        result
    }

    async fn size(&self, job: &str, id: &str, path: &str) -> Result<u64, StoreError> {
        let key = self.file_key(job, id, path)?;
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.sdk(&e, "HEAD", &key))?;
        Ok(head
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    async fn put_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        manifest.check().map_err(refused)?;
        let key = self.key(&[&manifest.job, &manifest.id, MANIFEST_NAME]);
        multipart::put_small(self, &key, Bytes::from(manifest.to_bytes())).await
    }

    async fn get_manifest(&self, job: &str, id: &str) -> Result<Manifest, StoreError> {
        check_ids(job, id)?;
        let key = self.key(&[job, id, MANIFEST_NAME]);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.sdk(&e, "GET", &key))?;
        let what = format!("GET {}", self.url(&key));
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| error::body(&e, &what))?
            .into_bytes();
        Manifest::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.url(&key))))
    }

    async fn list(&self, job: &str) -> Result<Vec<Listed>, StoreError> {
        check_name("job", job).map_err(refused)?;
        let dir = format!("{}/", self.key(&[job]));
        let ids = self.subprefixes(&dir).await?;
        // One HEAD per checkpoint, a few at a time: cost grows with checkpoints, not
        // with the files inside them.
        let mut heads = JoinSet::new();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            while heads.len() >= HEADS_IN_FLIGHT {
                out.push(next_listed(&mut heads).await?);
            }
            let store = self.clone();
            let key = self.key(&[job, &id, MANIFEST_NAME]);
            heads.spawn(async move {
                let has_manifest = store.exists(&key).await?;
                Ok(Listed { id, has_manifest })
            });
        }
        while !heads.is_empty() {
            out.push(next_listed(&mut heads).await?);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn jobs(&self) -> Result<Vec<String>, StoreError> {
        let root = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        self.subprefixes(&root).await
    }

    async fn delete(&self, job: &str, id: &str) -> Result<(), StoreError> {
        check_ids(job, id)?;
        // The manifest first: a half-deleted checkpoint is then never restorable.
        self.delete_key(&self.key(&[job, id, MANIFEST_NAME]))
            .await?;
        let dir = format!("{}/", self.key(&[job, id]));
        let keys = self.keys_under(&dir).await?;
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Other(format!("DELETE {}: {e}", self.url(&dir))))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StoreError::Other(format!("DELETE {}: {e}", self.url(&dir))))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.sdk(&e, "DELETE", &dir))?;
            if let Some(failed) = out.errors().first() {
                return Err(StoreError::Unavailable(format!(
                    "DELETE {}: {} of {} objects not deleted, first {:?}: {}",
                    self.url(&dir),
                    out.errors().len(),
                    batch.len(),
                    failed.key().unwrap_or("?"),
                    failed.message().unwrap_or("no reason given"),
                )));
            }
        }
        Ok(())
    }
}

async fn next_listed(
    heads: &mut JoinSet<Result<Listed, StoreError>>,
) -> Result<Listed, StoreError> {
    match heads.join_next().await {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(StoreError::Other(format!("listing task failed: {e}"))),
        None => Err(StoreError::Other("listing task missing".into())),
    }
}

impl S3Store {
    /// GetObject `key` into `output`, regrouped into [`CHUNK`]-sized pieces.
    async fn stream(
        &self,
        key: &str,
        output: &mpsc::Sender<Result<Bytes, String>>,
    ) -> Result<u64, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.sdk(&e, "GET", key))?;
        let expected = out.content_length().and_then(|n| u64::try_from(n).ok());
        let what = format!("GET {}", self.url(key));
        let mut body = out.body;
        let mut buf = BytesMut::new();
        let mut sent = 0u64;
        loop {
            let piece = body
                .next()
                .await
                .transpose()
                .map_err(|e| error::body(&e, &what))?;
            let done = piece.is_none();
            if let Some(piece) = piece {
                buf.extend_from_slice(&piece);
            }
            while buf.len() >= CHUNK || (done && !buf.is_empty()) {
                let chunk = buf.split_to(buf.len().min(CHUNK)).freeze();
                let n = chunk.len() as u64;
                if output.send(Ok(chunk)).await.is_err() {
                    return Ok(sent);
                }
                sent += n;
            }
            if done {
                break;
            }
        }
        match expected {
            Some(n) if n != sent => Err(StoreError::Unavailable(format!(
                "{what}: got {sent} of {n} bytes"
            ))),
            _ => Ok(sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_under_the_prefix_without_stray_slashes() {
        assert_eq!(
            join_key("lifeboat", &["train", "step-1", "a/b.bin"]),
            "lifeboat/train/step-1/a/b.bin"
        );
        assert_eq!(join_key("", &["train", "step-1"]), "train/step-1");
        assert_eq!(join_key("a/b", &[]), "a/b");
    }

    #[test]
    fn hostile_names_are_refused() {
        for (job, id, path) in [
            ("..", "a", "f"),
            ("j", "../x", "f"),
            ("j", "a", "../../x"),
            ("j", "a", "/x"),
            ("j/k", "a", "f"),
        ] {
            assert!(
                check_ids(job, id)
                    .and_then(|()| check_path(path).map_err(refused))
                    .is_err(),
                "{job} {id} {path}"
            );
        }
    }
}
