//! `[storage]` and `[storage.s3]` → [`StorageConfig`]: where checkpoints are copied and
//! how many are kept.

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::{RawS3, RawStorage};
use crate::config::{S3Config, StorageConfig};

const DEFAULT_KEEP_LAST: u32 = 3;

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
        return StorageConfig {
            keep_last: DEFAULT_KEEP_LAST,
            ..StorageConfig::default()
        };
    };
    let nas = raw
        .nas
        .as_ref()
        .map(|s| values::local_abs_path(ctx, &k.clone().key("nas"), s));
    let keep_last = match &raw.keep_last {
        None => DEFAULT_KEEP_LAST,
        Some(n) if *n.get_ref() == 0 => {
            ctx.report_at(
                n,
                &k.clone().key("keep_last"),
                "keep_last = 0 would delete every checkpoint",
                "keep at least one, e.g. keep_last = 3",
            );
            DEFAULT_KEEP_LAST
        }
        Some(n) => *n.get_ref(),
    };
    let s3 = raw.s3.as_ref().map(|s| s3(ctx, &k.clone().key("s3"), s));
    if has_jobs && nas.is_none() && s3.is_none() {
        ctx.report_path(
            &k,
            "[storage] names no store, so checkpoints would be kept nowhere",
            "add nas = \"/mnt/nas/checkpoints\" and/or a [storage.s3] table with bucket and region",
        );
    }
    StorageConfig { nas, s3, keep_last }
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
    S3Config {
        bucket: bucket.clone(),
        region: region.clone(),
        endpoint,
        prefix,
        path_style: raw.path_style.unwrap_or(false),
        profile,
    }
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}
