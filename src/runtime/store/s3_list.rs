//! Listing and deleting in the S3 store: one level of "folders" (common prefixes) at a
//! time, existence checks fanned out a few at a time, deletes in batches of 1,000.

use super::{S3Store, StoreError};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use tokio::task::JoinSet;

/// HeadObject requests at once when listing checkpoints.
const HEADS_IN_FLIGHT: usize = 16;
/// Keys one DeleteObjects request may carry.
const DELETE_BATCH: usize = 1000;

impl S3Store {
    /// The names under `prefix` one level down (`a/` of `prefix/a/…`), every page.
    pub(super) async fn subprefixes(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
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
                if let Some(name) =
                    name.filter(|n| crate::core::manifest::check_name("id", n).is_ok())
                {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every key under `prefix`, every page.
    pub(super) async fn keys_under(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
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
    pub(super) async fn exists(&self, key: &str) -> Result<bool, StoreError> {
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

    pub(super) async fn delete_key(&self, key: &str) -> Result<(), StoreError> {
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

    /// Whether each of `keys` exists, in order: one HEAD per key, a few at a time, so a
    /// listing costs one request per checkpoint, not per file.
    pub(super) async fn exist_all(&self, keys: Vec<String>) -> Result<Vec<bool>, StoreError> {
        let mut heads = JoinSet::new();
        let mut found = vec![false; keys.len()];
        for (i, key) in keys.into_iter().enumerate() {
            while heads.len() >= HEADS_IN_FLIGHT {
                let (at, yes) = next_head(&mut heads).await?;
                found[at] = yes;
            }
            let store = self.clone();
            heads.spawn(async move { Ok((i, store.exists(&key).await?)) });
        }
        while !heads.is_empty() {
            let (at, yes) = next_head(&mut heads).await?;
            found[at] = yes;
        }
        Ok(found)
    }

    /// Deletes `keys` (all under `dir`) in DeleteObjects batches.
    pub(super) async fn delete_keys(&self, dir: &str, keys: &[String]) -> Result<(), StoreError> {
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Other(format!("DELETE {}: {e}", self.url(dir))))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StoreError::Other(format!("DELETE {}: {e}", self.url(dir))))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.sdk(&e, "DELETE", dir))?;
            if let Some(failed) = out.errors().first() {
                return Err(StoreError::Unavailable(format!(
                    "DELETE {}: {} of {} objects not deleted, first {:?}: {}",
                    self.url(dir),
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

async fn next_head(
    heads: &mut JoinSet<Result<(usize, bool), StoreError>>,
) -> Result<(usize, bool), StoreError> {
    match heads.join_next().await {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(StoreError::Other(format!("listing task failed: {e}"))),
        None => Err(StoreError::Other("listing task missing".into())),
    }
}
