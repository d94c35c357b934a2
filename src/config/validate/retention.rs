//! The `keep_*` keys → [`Retention`]: `[storage]`'s policy, and the overrides that replace
//! it whole for one store (`[storage.s3]`, `[storage.nas_retention]`) or one job
//! (`retention = { … }`).

use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::{Num, RawRetention, RawS3, RawStorage};
use crate::config::StorageConfig;
use crate::core::retention::Retention;

/// The keys, in the order of [`Keep`]'s values.
const KEYS: [&str; 6] = [
    "keep_last",
    "keep_hourly",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
];

/// The `keep_*` values one table gives, in the order of [`KEYS`].
pub struct Keep<'a>([Option<&'a Num>; 6]);

impl<'a> Keep<'a> {
    pub fn of_storage(r: &'a RawStorage) -> Self {
        Self([
            r.keep_last.as_ref(),
            r.keep_hourly.as_ref(),
            r.keep_daily.as_ref(),
            r.keep_weekly.as_ref(),
            r.keep_monthly.as_ref(),
            r.keep_yearly.as_ref(),
        ])
    }

    pub fn of_s3(r: &'a RawS3) -> Self {
        Self([
            r.keep_last.as_ref(),
            r.keep_hourly.as_ref(),
            r.keep_daily.as_ref(),
            r.keep_weekly.as_ref(),
            r.keep_monthly.as_ref(),
            r.keep_yearly.as_ref(),
        ])
    }

    pub fn of_table(r: &'a RawRetention) -> Self {
        Self([
            r.keep_last.as_ref(),
            r.keep_hourly.as_ref(),
            r.keep_daily.as_ref(),
            r.keep_weekly.as_ref(),
            r.keep_monthly.as_ref(),
            r.keep_yearly.as_ref(),
        ])
    }

    /// Whether any `keep_*` key is written.
    pub fn any(&self) -> bool {
        self.0.iter().any(Option::is_some)
    }

    /// The counts, with `missing` for keys not written.
    fn counts(&self, missing: [u32; 6]) -> [u32; 6] {
        let mut c = missing;
        for (slot, v) in c.iter_mut().zip(self.0) {
            if let Some(n) = v {
                *slot = *n.get_ref();
            }
        }
        c
    }
}

fn policy([last, hourly, daily, weekly, monthly, yearly]: [u32; 6]) -> Retention {
    Retention {
        last,
        hourly,
        daily,
        weekly,
        monthly,
        yearly,
    }
}

/// `[storage]`'s own policy: keep_last defaults to 3 and must be at least 1; the
/// calendar buckets default to 0 (not by this rule).
pub fn base(ctx: &mut Ctx<'_>, table: &KeyPath, keep: &Keep<'_>) -> Retention {
    let default_last = StorageConfig::DEFAULT_KEEP_LAST;
    let mut counts = keep.counts([default_last, 0, 0, 0, 0, 0]);
    if let Some(n) = keep.0[0].filter(|n| *n.get_ref() == 0) {
        ctx.report_at(
            n,
            &table.clone().key("keep_last"),
            "keep_last = 0 would delete every checkpoint",
            "keep at least one, e.g. keep_last = 3",
        );
        counts[0] = default_last;
    }
    policy(counts)
}

/// An override that replaces the policy whole: keys left out count as 0, keep_last is
/// at least 1 when written, and a policy that keeps nothing is refused. `instead` says
/// what applies when the override is removed (for the fix).
pub fn overriding(
    ctx: &mut Ctx<'_>,
    table: &KeyPath,
    keep: &Keep<'_>,
    remove: &str,
    instead: &str,
) -> Retention {
    let counts = keep.counts([0; 6]);
    if let Some(n) = keep.0[0].filter(|n| *n.get_ref() == 0) {
        ctx.report_at(
            n,
            &table.clone().key("keep_last"),
            "keep_last = 0 would keep no checkpoint by count (0 does not mean \"all\")",
            "keep at least one, e.g. keep_last = 5, or leave keep_last out to keep by the calendar alone (e.g. keep_daily = 7)",
        );
        return policy(counts);
    }
    let kept = policy(counts);
    if kept.is_empty() {
        let message =
            "this retention policy keeps nothing, so pruning would delete every checkpoint but the newest";
        let fix = format!(
            "keep some, e.g. keep_last = 5 or keep_daily = 7; or remove {remove} to use {instead}"
        );
        match KEYS.iter().zip(keep.0).find_map(|(k, v)| v.map(|v| (k, v))) {
            Some((k, n)) => ctx.report_at(n, &table.clone().key(k), message, fix),
            None => ctx.report_path(table, message, fix),
        }
    }
    kept
}
