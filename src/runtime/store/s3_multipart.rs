//! Uploading one file to S3: small files in one PutObject, big ones in a multipart upload
//! with a few parts in flight. Every object or part carries its SHA-256 so the server
//! refuses corrupt bytes; the whole stream is hashed as it arrives (on blocking threads);
//! a failed or cancelled multipart upload is aborted; the result is checked with a HEAD.

use super::S3Store;
use crate::core::manifest::hex;
use crate::runtime::store::{StoreError, Written, CHUNK};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// S3 allows at most this many parts in one upload.
const MAX_PARTS: u64 = 10_000;

fn b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The part size for a `size`-byte file: `wanted`, grown so the parts fit in 10,000.
pub(super) fn part_size_for(size: u64, wanted: u64) -> usize {
    let needed = size.div_ceil(MAX_PARTS).next_multiple_of(1 << 20);
    usize::try_from(wanted.max(needed).max(1)).unwrap_or(usize::MAX)
}

/// Reads the input stream in parts, checking it against the expected size and hashing
/// the whole stream and each part off the async threads.
struct Reader {
    input: mpsc::Receiver<Result<Bytes, String>>,
    size: u64,
    received: u64,
    ended: bool,
    /// The rest of a chunk that straddled a part boundary.
    pending: Option<Bytes>,
    whole: Sha256,
    label: String,
}

impl Reader {
    async fn recv(&mut self) -> Result<Option<Bytes>, StoreError> {
        while !self.ended {
            match self.input.recv().await {
                None if self.received < self.size => {
                    return Err(StoreError::Aborted(format!(
                        "{}: the stream ended after {} of {} bytes",
                        self.label, self.received, self.size
                    )))
                }
                None => self.ended = true,
                Some(Err(e)) => {
                    return Err(StoreError::Aborted(format!(
                        "{}: the sender failed: {e}",
                        self.label
                    )))
                }
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if self.received > self.size {
                        return Err(StoreError::Aborted(format!(
                            "{}: the stream is longer than the expected {} bytes",
                            self.label, self.size
                        )));
                    }
                    return Ok(Some(chunk));
                }
            }
        }
        Ok(None)
    }

    /// The next up to `limit` bytes and their base64 SHA-256; `None` at the end.
    async fn next(&mut self, limit: usize) -> Result<Option<(Bytes, String)>, StoreError> {
        let left = self.size.saturating_sub(self.received) as usize;
        let pending = self.pending.as_ref().map_or(0, Bytes::len);
        let mut buf = BytesMut::with_capacity(limit.min(left.saturating_add(pending)));
        let mut part = Sha256::new();
        let mut hashed = 0;
        while buf.len() < limit {
            let mut chunk = match self.pending.take() {
                Some(c) => c,
                None => match self.recv().await? {
                    Some(c) => c,
                    None => break,
                },
            };
            let room = limit - buf.len();
            if chunk.len() > room {
                self.pending = Some(chunk.split_off(room));
            }
            buf.extend_from_slice(&chunk);
            // Hash in CHUNK-sized batches, however small the pieces that arrive.
            if buf.len() - hashed >= CHUNK {
                (part, buf) = self.hash(part, buf, hashed).await?;
                hashed = buf.len();
            }
        }
        if buf.len() > hashed {
            (part, buf) = self.hash(part, buf, hashed).await?;
        }
        if buf.is_empty() {
            return Ok(None);
        }
        Ok(Some((buf.freeze(), b64(&part.finalize()))))
    }

    /// Adds `buf[from..]` to the whole-stream and the part hash, on a blocking thread.
    async fn hash(
        &mut self,
        mut part: Sha256,
        buf: BytesMut,
        from: usize,
    ) -> Result<(Sha256, BytesMut), StoreError> {
        let mut whole = std::mem::take(&mut self.whole);
        let (whole, part, buf) = tokio::task::spawn_blocking(move || {
            whole.update(&buf[from..]);
            part.update(&buf[from..]);
            (whole, part, buf)
        })
        .await
        .map_err(|e| StoreError::Other(format!("{}: hashing failed: {e}", self.label)))?;
        self.whole = whole;
        Ok((part, buf))
    }

    /// Confirms the stream ends here (no more bytes, no late error from the sender).
    async fn finish(&mut self) -> Result<Written, StoreError> {
        if self.pending.is_some() || self.recv().await?.is_some() {
            return Err(StoreError::Aborted(format!(
                "{}: the stream is longer than the expected {} bytes",
                self.label, self.size
            )));
        }
        Ok(Written {
            bytes: self.received,
            sha256: hex(&std::mem::take(&mut self.whole).finalize()),
        })
    }
}

/// Uploads the stream as `key`, in one request or in parts depending on `size`.
pub(super) async fn put(
    store: &S3Store,
    key: &str,
    size: u64,
    input: mpsc::Receiver<Result<Bytes, String>>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Written, StoreError> {
    let mut reader = Reader {
        input,
        size,
        received: 0,
        ended: false,
        pending: None,
        whole: Sha256::new(),
        label: format!("PUT {}", store.url(key)),
    };
    let written = if size <= store.multipart_threshold {
        let limit = usize::try_from(size).unwrap_or(usize::MAX);
        let (body, sha) = match reader.next(limit).await? {
            Some(part) => part,
            None => (Bytes::new(), b64(&Sha256::digest(b""))),
        };
        let written = reader.finish().await?;
        put_object(store, key, body, sha).await?;
        written
    } else {
        multipart(store, key, &mut reader, progress).await?
    };
    verify(store, key, written.bytes).await?;
    progress(written.bytes);
    Ok(written)
}

/// One PutObject of bytes already in memory (a manifest), checksum and check included.
pub(super) async fn put_small(store: &S3Store, key: &str, body: Bytes) -> Result<(), StoreError> {
    let len = body.len() as u64;
    let hashed = body.clone();
    let sha = tokio::task::spawn_blocking(move || b64(&Sha256::digest(&hashed)))
        .await
        .map_err(|e| StoreError::Other(format!("hashing failed: {e}")))?;
    put_object(store, key, body, sha).await?;
    verify(store, key, len).await
}

async fn put_object(
    store: &S3Store,
    key: &str,
    body: Bytes,
    sha: String,
) -> Result<(), StoreError> {
    let sent = store
        .client
        .put_object()
        .bucket(&store.bucket)
        .key(key)
        .content_length(body.len() as i64)
        .checksum_sha256(sha)
        .body(ByteStream::from(body))
        .customize()
        // The SHA-256 checksum header (signed) already covers the body: no second hash.
        .disable_payload_signing()
        .send()
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = store.sdk(&e, "PUT", key);
            if matches!(e, StoreError::Corrupt(_)) {
                // Some servers (s3s-fs) keep the object they just refused.
                let _ = store.delete_key(key).await;
            }
            Err(e)
        }
    }
}

/// HEADs the new object: a size other than what we sent means it is not what we wrote.
async fn verify(store: &S3Store, key: &str, bytes: u64) -> Result<(), StoreError> {
    let head = store
        .client
        .head_object()
        .bucket(&store.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| store.sdk(&e, "HEAD", key))?;
    let stored = head.content_length().and_then(|n| u64::try_from(n).ok());
    if stored == Some(bytes) {
        return Ok(());
    }
    let _ = store.delete_key(key).await;
    Err(StoreError::Corrupt(format!(
        "PUT {}: stored {} bytes but {bytes} were sent; the object was deleted",
        store.url(key),
        stored.map_or_else(|| "an unknown number of".into(), |n| n.to_string()),
    )))
}

/// Aborts the multipart upload if dropped armed (the put was cancelled mid-way), so no
/// orphaned parts keep costing storage.
struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    armed: bool,
}

impl AbortOnDrop {
    async fn abort(mut self) {
        self.armed = false;
        let _ = self.request().send().await;
    }

    fn request(
        &self,
    ) -> aws_sdk_s3::operation::abort_multipart_upload::builders::AbortMultipartUploadFluentBuilder
    {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if self.armed {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let req = self.request();
                rt.spawn(async move {
                    let _ = req.send().await;
                });
            }
        }
    }
}

async fn multipart(
    store: &S3Store,
    key: &str,
    reader: &mut Reader,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Written, StoreError> {
    let created = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|e| store.sdk(&e, "PUT", key))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| StoreError::Other(format!("PUT {}: no upload id", store.url(key))))?
        .to_string();
    let guard = AbortOnDrop {
        client: store.client.clone(),
        bucket: store.bucket.clone(),
        key: key.to_string(),
        upload_id,
        armed: true,
    };
    match upload_parts(store, &guard, reader, progress).await {
        Ok(written) => {
            let mut guard = guard;
            guard.armed = false;
            Ok(written)
        }
        Err(e) => {
            guard.abort().await;
            Err(e)
        }
    }
}

async fn upload_parts(
    store: &S3Store,
    up: &AbortOnDrop,
    reader: &mut Reader,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Written, StoreError> {
    let part_size = part_size_for(reader.size, store.part_size);
    let mut tasks: JoinSet<Result<(CompletedPart, u64), StoreError>> = JoinSet::new();
    let mut parts = Vec::new();
    let mut uploaded = 0u64;
    let mut number = 0i32;
    while let Some((body, sha)) = reader.next(part_size).await? {
        while tasks.len() >= store.parts_in_flight.max(1) {
            uploaded += collect(&mut tasks, &mut parts).await?;
            progress(uploaded);
        }
        number += 1;
        let req = store
            .client
            .upload_part()
            .bucket(&up.bucket)
            .key(&up.key)
            .upload_id(&up.upload_id)
            .part_number(number)
            .content_length(body.len() as i64)
            .checksum_sha256(sha.clone());
        let verb = format!("PUT part {number} of");
        let key = up.key.clone();
        let store = store.clone();
        let len = body.len() as u64;
        tasks.spawn(async move {
            let out = req
                .body(ByteStream::from(body))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| store.sdk(&e, &verb, &key))?;
            let part = CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(String::from))
                .checksum_sha256(sha)
                .build();
            Ok((part, len))
        });
    }
    let written = reader.finish().await?;
    while !tasks.is_empty() {
        uploaded += collect(&mut tasks, &mut parts).await?;
        progress(uploaded);
    }
    parts.sort_by_key(|p| p.part_number());
    store
        .client
        .complete_multipart_upload()
        .bucket(&up.bucket)
        .key(&up.key)
        .upload_id(&up.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(|e| store.sdk(&e, "PUT", &up.key))?;
    Ok(written)
}

/// Waits for one part upload; its byte count on success.
async fn collect(
    tasks: &mut JoinSet<Result<(CompletedPart, u64), StoreError>>,
    parts: &mut Vec<CompletedPart>,
) -> Result<u64, StoreError> {
    match tasks.join_next().await {
        Some(Ok(Ok((part, len)))) => {
            parts.push(part);
            Ok(len)
        }
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(StoreError::Other(format!("part upload task failed: {e}"))),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_grows_to_fit_ten_thousand_parts() {
        assert_eq!(part_size_for(100 << 20, 16 << 20), 16 << 20);
        let big = 500u64 << 30;
        let p = part_size_for(big, 16 << 20) as u64;
        assert!(
            big.div_ceil(p) <= MAX_PARTS && p.is_multiple_of(1 << 20),
            "{p}"
        );
    }

    #[test]
    fn checksums_are_base64_sha256() {
        assert_eq!(
            b64(&Sha256::digest(b"")),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
