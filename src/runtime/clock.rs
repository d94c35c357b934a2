//! The runtime's clock: wall time at start plus tokio's monotonic time since, so the core
//! sees real timestamps in production and exact simulated ones under `start_paused` tests.

use crate::core::time::Ts;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall_at_start: u64,
    started: Instant,
}

impl Clock {
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            wall_at_start: wall,
            started: Instant::now(),
        }
    }

    pub fn now(&self) -> Ts {
        Ts(self.wall_at_start + self.started.elapsed().as_millis() as u64)
    }

    /// The tokio instant at which `ts` falls.
    pub fn instant_at(&self, ts: Ts) -> Instant {
        let offset = ts.0.saturating_sub(self.wall_at_start);
        self.started + std::time::Duration::from_millis(offset)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 3339 with milliseconds, UTC.
pub use crate::core::time::rfc3339;

/// RFC 3339 with milliseconds in the local time zone, for people reading a terminal
/// (JSON output keeps [`rfc3339`]'s UTC).
pub fn local_rfc3339(ts: Ts) -> String {
    let utc = i64::try_from(ts.0)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis);
    match utc {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => rfc3339(ts),
    }
}
