//! `[storage]`, `[storage.s3]` and `[storage.nas_retention]` → [`StorageConfig`]: where
//! checkpoints are copied, how (how many at once, in which order, how often re-hashed) and
//! how many are kept.

use super::retention::{self, Keep};
use super::values::{self, quote};
use super::Ctx;
use crate::config::duration::{self, DURATION_FIX};
use crate::config::keypath::KeyPath;
use crate::config::raw::{Num, RawS3, RawStorage, Str};
use crate::config::{ReplicaOrder, S3Config, StorageConfig};
use std::time::Duration;

pub fn build(ctx: &mut Ctx<'_>, raw: Option<&RawStorage>, has_jobs: bool) -> StorageConfig {
    let k = KeyPath::at("storage");
    let Some(raw) = raw else {
        if has_jobs {
            ctx.report(
                None,
                &k,
                "there is no [storage] table, so checkpoints would be kept nowhere",
                "add [storage] with nas = \"/mnt/nas/checkpoints\" and/or a [storage.s3] table with bucket and region",
            );
        }
        return StorageConfig::default();
    };
    let nas = raw
        .nas
        .as_ref()
        .map(|s| values::local_abs_path(ctx, &k.clone().key("nas"), s));
    let retention = retention::base(ctx, &k, &Keep::of_storage(raw));
    let s3 = raw.s3.as_ref().map(|s| s3(ctx, &k.clone().key("s3"), s));
    if has_jobs && nas.is_none() && s3.is_none() {
        ctx.report_path(
            &k,
            "[storage] names no store, so checkpoints would be kept nowhere",
            "add nas = \"/mnt/nas/checkpoints\" and/or a [storage.s3] table with bucket and region",
        );
    }
    let nas_retention = raw.nas_retention.as_ref().map(|r| {
        let key = k.clone().key("nas_retention");
        if nas.is_none() {
            ctx.report_path(
                &key,
                "[storage.nas_retention] is set, but [storage] has no nas store for it to prune",
                "add nas = \"/mnt/nas/checkpoints\" to [storage], or remove [storage.nas_retention]",
            );
        }
        retention::overriding(
            ctx,
            &key,
            &Keep::of_table(r),
            "[storage.nas_retention]",
            "[storage]'s keep_* keys",
        )
    });
    let parallel = raw
        .parallel
        .as_ref()
        .map_or(StorageConfig::DEFAULT_PARALLEL, |n| {
            let v = in_range(
                ctx,
                &k.clone().key("parallel"),
                n,
                (1, 16),
                "checkpoints replicated at once",
                "parallel = 2",
            );
            v.map_or(StorageConfig::DEFAULT_PARALLEL, |v| v as usize)
        });
    let order = raw.order.as_ref().map_or(ReplicaOrder::default(), |s| {
        let names = ReplicaOrder::ALL.map(ReplicaOrder::as_str);
        values::choice(ctx, &k.clone().key("order"), s, &names, "replication order")
            .and_then(|o| ReplicaOrder::ALL.into_iter().find(|r| r.as_str() == o))
            .unwrap_or_default()
    });
    let scrub_every = match &raw.scrub_every {
        None => Some(StorageConfig::DEFAULT_SCRUB_EVERY),
        Some(s) => scrub_every(ctx, &k.clone().key("scrub_every"), s),
    };
    let scrub_fraction = raw
        .scrub_fraction
        .as_ref()
        .and_then(|n| {
            in_range(
                ctx,
                &k.clone().key("scrub_fraction"),
                n,
                (1, 1000),
                "each scrub re-hashes about 1/N of the copies; 1 = all of them",
                "scrub_fraction = 12",
            )
        })
        .unwrap_or(StorageConfig::DEFAULT_SCRUB_FRACTION);
    let manifest_key_env = raw.manifest_key_env.as_ref().map(|s| {
        let key = k.clone().key("manifest_key_env");
        values::env_name(ctx, &key, s, "LIFEBOAT_MANIFEST_KEY")
    });
    StorageConfig {
        nas,
        s3,
        keep_last: retention.last,
        retention,
        nas_retention,
        parallel,
        order,
        scrub_every,
        scrub_fraction,
        manifest_key_env,
        auto_prune: raw.auto_prune.as_ref().is_none_or(|b| *b.get_ref()),
    }
}

/// A whole number in `lo..=hi` (`what` says what it counts), or a problem.
fn in_range(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    n: &Num,
    (lo, hi): (u32, u32),
    what: &str,
    example: &str,
) -> Option<u32> {
    let v = *n.get_ref();
    if (lo..=hi).contains(&v) {
        return Some(v);
    }
    let k = key.last_key().unwrap_or("value");
    ctx.report_at(
        n,
        key,
        format!("{k} = {v} is out of range: {lo} to {hi} ({what})"),
        format!("use {lo} to {hi}, e.g. {example}"),
    );
    None
}

/// `"6h"` and the like, or `"off"` (None); zero is refused.
fn scrub_every(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> Option<Duration> {
    let v = s.get_ref();
    if v == "off" {
        return None;
    }
    match duration::parse(v) {
        Ok(d) if d.is_zero() => {
            ctx.report_at(
                s,
                key,
                format!("scrub_every = {} would re-hash the copies without pause", quote(v)),
                "to turn scrubbing off, write scrub_every = \"off\"; otherwise give a period, e.g. scrub_every = \"6h\"",
            );
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            ctx.report_at(
                s,
                key,
                format!("{} is not a duration: {e}", quote(v)),
                format!("{DURATION_FIX}; or \"off\" to never scrub"),
            );
            None
        }
    }
}

fn s3(ctx: &mut Ctx<'_>, k: &KeyPath, raw: &RawS3) -> S3Config {
    let bucket = raw.bucket.get_ref();
    if let Some(rest) = bucket.strip_prefix("s3://") {
        let (b, p) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = if p.is_empty() {
            String::new()
        } else {
            format!(" and prefix = \"{}\"", p.trim_end_matches('/'))
        };
        ctx.report_at(
            &raw.bucket,
            &k.clone().key("bucket"),
            format!("{} is a URL, not a bucket name", quote(bucket)),
            format!("write bucket = \"{b}\"{prefix}"),
        );
    } else if !valid_bucket(bucket) {
        ctx.report_at(
            &raw.bucket,
            &k.clone().key("bucket"),
            format!("{} is not a valid S3 bucket name", quote(bucket)),
            "use 3 to 63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit, e.g. bucket = \"dc1-gate0-checkpoints\"",
        );
    }
    let region = raw.region.get_ref();
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        ctx.report_at(&raw.region, &k.clone().key("region"), format!("{} is not an S3 region", quote(region)), "write the region code, e.g. region = \"me-south-1\" (\"auto\" or \"us-east-1\" for most S3-compatible servers)");
    }
    let endpoint = raw.endpoint.as_ref().map(|e| {
        values::url(
            ctx,
            &k.clone().key("endpoint"),
            e,
            "endpoint = \"https://s3.eu-central-003.backblazeb2.com\"",
        )
    });
    let prefix = match &raw.prefix {
        None => "lifeboat".to_string(),
        Some(p) => {
            let v = p.get_ref();
            if v.starts_with('/') || v.contains("//") || v.chars().any(char::is_whitespace) {
                ctx.report_at(
                    p,
                    &k.clone().key("prefix"),
                    format!("{} is not a usable key prefix", quote(v)),
                    format!(
                        "write it without a leading '/', spaces or '//', e.g. prefix = \"{}\"",
                        v.split_whitespace()
                            .collect::<Vec<_>>()
                            .join("-")
                            .trim_matches('/')
                    ),
                );
            }
            v.trim_end_matches('/').to_string()
        }
    };
    let profile = raw
        .profile
        .as_ref()
        .map(|p| values::non_empty(ctx, &k.clone().key("profile"), p, "profile = \"backup\""));
    let keep = Keep::of_s3(raw);
    let retention = keep.any().then(|| {
        retention::overriding(
            ctx,
            k,
            &keep,
            "the keep_* keys from [storage.s3]",
            "[storage]'s",
        )
    });
    S3Config {
        bucket: bucket.clone(),
        region: region.clone(),
        endpoint,
        prefix,
        path_style: raw.path_style.unwrap_or(false),
        profile,
        retention,
    }
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}
