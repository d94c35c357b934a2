//! The retention planner: which checkpoints to keep and which to remove, with the reason for
//! each, in restic's calendar semantics (`keep_last` plus hourly/daily/weekly/monthly/yearly
//! buckets, ORed). The newest verified checkpoint is never removed, and an empty policy is
//! refused rather than read as "delete everything". Pure: time comes with the input.

use super::io::CheckpointRef;
use serde::{Deserialize, Serialize};

/// How many of each to keep. Zero means "not by this rule".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub keep: bool,
    /// Why: every rule that keeps it, or why it goes.
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("refusing to prune with an empty retention policy: it would remove every checkpoint but the newest; set keep_last (e.g. 3) or a calendar bucket")]
    EmptyPolicy,
}

impl Retention {
    pub fn is_empty(&self) -> bool {
        self.last == 0
            && self.hourly == 0
            && self.daily == 0
            && self.weekly == 0
            && self.monthly == 0
            && self.yearly == 0
    }
}

/// Days since 1970-01-01 → (year, month) in the proleptic Gregorian calendar (UTC).
fn year_month(days: i64) -> (i64, u32) {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m)
}

/// The calendar period a timestamp falls in, per bucket kind.
fn period(kind: &str, ms: u64) -> i64 {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    match kind {
        "hourly" => secs.div_euclid(3600),
        "daily" => days,
        // Weeks start on Monday; 1970-01-01 was a Thursday.
        "weekly" => (days + 3).div_euclid(7),
        "monthly" => {
            let (y, m) = year_month(days);
            y * 12 + i64::from(m)
        }
        _ => year_month(days).0,
    }
}

/// Plans a prune of `checkpoints` (any order). Only verified checkpoints count toward the
/// rules; an unverified one newer than the newest verified may still be finishing, so it
/// stays; older unverified ones are incomplete leftovers and go.
pub fn plan(
    checkpoints: &[CheckpointRef],
    policy: &Retention,
) -> Result<Vec<Decision>, RetentionError> {
    if policy.is_empty() {
        return Err(RetentionError::EmptyPolicy);
    }
    let mut order: Vec<&CheckpointRef> = checkpoints.iter().collect();
    // Newest first; ties broken by step, then id, so the plan is deterministic.
    order.sort_by(|a, b| (b.created, b.step, &b.id).cmp(&(a.created, a.step, &a.id)));
    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); order.len()];
    let verified: Vec<usize> = (0..order.len()).filter(|&i| order[i].verified).collect();
    if let Some(&newest) = verified.first() {
        reasons[newest].push("newest verified checkpoint (never removed)".into());
    }
    for (n, &i) in verified.iter().enumerate().take(policy.last as usize) {
        reasons[i].push(format!("keep_last {}: #{} newest", policy.last, n + 1));
    }
    for (kind, unit, count) in [
        ("hourly", "hour", policy.hourly),
        ("daily", "day", policy.daily),
        ("weekly", "week", policy.weekly),
        ("monthly", "month", policy.monthly),
        ("yearly", "year", policy.yearly),
    ] {
        let mut seen: Vec<i64> = Vec::new();
        for &i in &verified {
            if seen.len() >= count as usize {
                break;
            }
            let p = period(kind, order[i].created.0);
            if !seen.contains(&p) {
                seen.push(p);
                reasons[i].push(format!("{kind} {count}: newest of its {unit}"));
            }
        }
    }
    let newest_verified_at = verified.first().map(|&i| order[i].created);
    Ok(order
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut r = std::mem::take(&mut reasons[i]);
            let keep = if !c.verified {
                if newest_verified_at.is_none_or(|t| c.created > t) {
                    r.push("not verified yet and newer than every verified one (may still be finishing)".into());
                    true
                } else {
                    r.push("never verified, and a newer verified checkpoint exists".into());
                    false
                }
            } else if r.is_empty() {
                r.push("no rule keeps it".into());
                false
            } else {
                true
            };
            Decision { id: c.id.clone(), keep, reasons: r }
        })
        .collect())
}

/// Whether retention runs by itself now, after a replication pass of one job: when
/// `auto_prune` is on, the pass verified at least one new checkpoint (so the newest kept
/// is a good one) and the plan removes something. It prunes through the same plan and
/// guards as a manual prune, and is journaled the same way.
pub fn prune_after_replication(auto_prune: bool, newly_verified: usize, removals: usize) -> bool {
    auto_prune && newly_verified > 0 && removals > 0
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
