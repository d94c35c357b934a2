//! What the API reads back from the journal (read only, off the async threads): a job's
//! last failover, and each strategy's recovery times measured on this fleet.

use crate::core::ids::JobId;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn open(state_dir: &Path) -> Option<crate::runtime::journal::Journal> {
    let path = state_dir.join("journal.db");
    path.exists()
        .then(|| crate::runtime::journal::Journal::open_existing(&path).ok())
        .flatten()
}

/// How far back a job's last failover is looked for.
const RECENT: usize = 5000;

/// The newest `failover_finished` of `job` among the recent events, as journaled.
pub fn last_failover(state_dir: &Path, job: &JobId) -> Option<Value> {
    let rows = open(state_dir)?.recent_events(RECENT).ok()?;
    rows.into_iter()
        .rev()
        .find(|r| r.kind == "failover_finished" && r.job.as_deref() == Some(job.as_str()))
        .map(|r| r.body)
}

/// Each strategy's successful recovery times (ms, evidence to running again), oldest
/// first: a failover's strategy is the one its last step before it finished ran under.
pub fn recovery_times(state_dir: &Path) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let Some(j) = open(state_dir) else {
        return out;
    };
    let mut strategy: BTreeMap<String, String> = BTreeMap::new();
    let _ = j.each_event(&["health_changed", "checkpoint_recorded"], |r| {
        let Some(job) = r.job.clone() else { return };
        match r.kind.as_str() {
            "failover_step" => {
                if let Some(s) = r.body.get("strategy").and_then(Value::as_str) {
                    strategy.insert(job, s.to_string());
                }
            }
            "failover_finished" if r.body.get("ok") == Some(&Value::Bool(true)) => {
                if let (Some(s), Some(ms)) = (
                    strategy.get(&job),
                    r.body.get("rto_ms").and_then(Value::as_u64),
                ) {
                    out.entry(s.clone()).or_default().push(ms);
                }
            }
            _ => {}
        }
    });
    out
}

/// The events after sequence number `since`, oldest first, at most `limit`.
pub fn since(
    state_dir: &Path,
    since: i64,
    limit: usize,
) -> Result<Vec<crate::runtime::journal::EventRow>, String> {
    let Some(j) = open(state_dir) else {
        return Ok(Vec::new());
    };
    j.events_after(since, limit).map_err(|e| e.to_string())
}

/// The `q` quantile (0..=1) of `v` by nearest rank.
pub fn quantile(v: &[u64], q: f64) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    Some(s[rank - 1])
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantiles_by_nearest_rank() {
        let v = [5, 1, 4, 2, 3];
        assert_eq!(super::quantile(&v, 0.5), Some(3));
        assert_eq!(super::quantile(&v, 0.95), Some(5));
        assert_eq!(super::quantile(&[], 0.5), None);
    }
}
