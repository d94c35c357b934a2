//! The S3 store: checkpoints as objects `<prefix>/<job>/<id>/<path>` in one bucket, any
//! S3-compatible server. Uploads carry SHA-256 checksums the server checks (see
//! `s3_multipart.rs`); reads stream; listings page; errors say retry, missing, corrupt
//! or fix-your-credentials (see `s3_error.rs`).

#[path = "s3_error.rs"]
mod error;
#[path = "s3_list.rs"]
mod list;
#[path = "s3_multipart.rs"]
mod multipart;

use super::{Listed, Store, StoreError, StoreKind, Written, CHUNK};
use crate::config::S3Config;
use crate::core::manifest::{check_name, check_path, Manifest, MANIFEST_NAME, MAX_MANIFEST_BYTES};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use std::time::Duration;
use tokio::sync::mpsc;

/// Objects up to this size go in one PutObject; bigger ones in a multipart upload.
pub const MULTIPART_THRESHOLD: u64 = 16 << 20;
/// The size of one multipart part (grown when a file would need more than 10,000).
pub const PART_SIZE: u64 = 16 << 20;
/// Parts uploading at once for one file.
pub const PARTS_IN_FLIGHT: usize = 4;
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
    /// from the SDK's default chain or, when `profile` is set, from that profile alone
    /// (never from the config file).
    pub async fn from_config(cfg: &S3Config) -> Result<Self, StoreError> {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(cfg.region.clone()))
            .timeout_config(timeouts);
        if let Some(profile) = &cfg.profile {
            // The default chain would let AWS_* variables win over the named profile.
            let creds = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build();
            loader = loader.profile_name(profile).credentials_provider(creds);
        }
        Self::from_sdk_config(cfg, &loader.load().await)
    }

    /// `cfg`'s bucket, prefix, endpoint and path style over an SDK config already loaded
    /// (its credentials, region, retries and timeouts).
    pub fn from_sdk_config(
        cfg: &S3Config,
        shared: &aws_config::SdkConfig,
    ) -> Result<Self, StoreError> {
        if cfg.bucket.is_empty() {
            return Err(StoreError::Other(
                "[storage.s3] bucket is empty: name the bucket".into(),
            ));
        }
        let mut conf = aws_sdk_s3::config::Builder::from(shared).force_path_style(cfg.path_style);
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
        // Bounded: an oversized manifest is refused by its length, or once it exceeds
        // the bound while read, never gathered whole.
        let too_big = |n: u64| {
            StoreError::Corrupt(format!(
                "refused {}: {n} bytes is more than the {MAX_MANIFEST_BYTES} a manifest may have; not read",
                self.url(&key)
            ))
        };
        if let Some(n) = out.content_length().and_then(|n| u64::try_from(n).ok()) {
            if n > MAX_MANIFEST_BYTES {
                return Err(too_big(n));
            }
        }
        let mut body = out.body;
        let mut bytes = BytesMut::new();
        while let Some(piece) = body
            .next()
            .await
            .transpose()
            .map_err(|e| error::body(&e, &what))?
        {
            bytes.extend_from_slice(&piece);
            if bytes.len() as u64 > MAX_MANIFEST_BYTES {
                return Err(too_big(bytes.len() as u64));
            }
        }
        Manifest::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.url(&key))))
    }

    async fn list(&self, job: &str) -> Result<Vec<Listed>, StoreError> {
        check_name("job", job).map_err(refused)?;
        let dir = format!("{}/", self.key(&[job]));
        let ids = self.subprefixes(&dir).await?;
        let keys = ids
            .iter()
            .map(|id| self.key(&[job, id, MANIFEST_NAME]))
            .collect();
        let found = self.exist_all(keys).await?;
        let mut out: Vec<Listed> = ids
            .into_iter()
            .zip(found)
            .map(|(id, has_manifest)| Listed {
                id,
                has_manifest,
                refused: None,
            })
            .collect();
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
        self.delete_keys(&dir, &keys).await
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
