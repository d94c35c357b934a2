//! Time as the core sees it: a plain number handed in by the caller, never read
//! from a clock, so simulated-time tests are exact.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Milliseconds since the Unix epoch, as given by the caller of `Core::handle`.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Ts(pub u64);

impl Ts {
    pub fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub fn millis(self) -> u64 {
        self.0
    }

    pub fn plus(self, d: Duration) -> Ts {
        Ts(self
            .0
            .saturating_add(d.as_millis().min(u128::from(u64::MAX)) as u64))
    }

    /// Time elapsed since `earlier`, zero if `earlier` is in the future.
    pub fn since(self, earlier: Ts) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Formats a duration the way operators read it: `850ms`, `4.2s`, `3m05s`, `2h10m`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// A time as RFC 3339 UTC with milliseconds (formatting only: no clock is read).
pub fn rfc3339(ts: Ts) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts.0);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Ts(5).since(Ts(10)), Duration::ZERO);
        assert_eq!(Ts(10).plus(Duration::from_secs(1)), Ts(1010));
    }

    #[test]
    fn human_formats() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human(Duration::from_secs(185)), "3m05s");
        assert_eq!(human(Duration::from_secs(7800)), "2h10m");
    }
}
