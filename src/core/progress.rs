//! Progress of background work as a pure reducer: bytes done of a total, a smoothed rate
//! and the ETA. The runtime, the console and tests share this one definition of "done".

use super::time::Ts;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub started: Ts,
    pub updated: Ts,
    /// Bytes per second, smoothed.
    pub rate: f64,
}

impl Progress {
    pub fn start(now: Ts, total: u64) -> Self {
        Self {
            done: 0,
            total,
            started: now,
            updated: now,
            rate: 0.0,
        }
    }

    /// Folds in a report of `done` of `total` bytes at `now`.
    pub fn update(&mut self, now: Ts, done: u64, total: u64) {
        let dt = now.since(self.updated).as_secs_f64();
        let moved = done.saturating_sub(self.done) as f64;
        if dt > 0.0 {
            let instant = moved / dt;
            // A light EWMA: steady enough to read, quick to follow a slowdown.
            self.rate = if self.rate == 0.0 {
                instant
            } else {
                0.7 * self.rate + 0.3 * instant
            };
            self.updated = now;
        } else if self.rate == 0.0 && moved > 0.0 {
            let since = now.since(self.started).as_secs_f64().max(0.001);
            self.rate = done as f64 / since;
        }
        self.done = done.max(self.done);
        self.total = total.max(self.done);
    }

    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
    }

    /// Time left at the current rate, if it can be told.
    pub fn eta(&self) -> Option<Duration> {
        if self.rate <= 0.0 || self.total == 0 {
            return None;
        }
        let left = self.total.saturating_sub(self.done) as f64;
        Some(Duration::from_secs_f64(left / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_the_reports() {
        let mut p = Progress::start(Ts(0), 1000);
        p.update(Ts(1000), 100, 1000);
        assert_eq!(p.rate, 100.0);
        assert_eq!(p.eta(), Some(Duration::from_secs(9)));
        p.update(Ts(2000), 300, 1000);
        assert!((p.rate - 130.0).abs() < 1e-9, "{}", p.rate);
        assert!((p.fraction() - 0.3).abs() < 1e-9);
        p.update(Ts(3000), 1000, 1000);
        assert_eq!(p.eta(), Some(Duration::ZERO));
    }

    #[test]
    fn never_goes_backwards_or_divides_by_zero() {
        let mut p = Progress::start(Ts(0), 0);
        assert_eq!(p.eta(), None);
        assert_eq!(p.fraction(), 0.0);
        p.update(Ts(0), 50, 0);
        p.update(Ts(10), 20, 0);
        assert_eq!(p.done, 50);
        assert_eq!(p.total, 50);
    }
}
