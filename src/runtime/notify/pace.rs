//! Pacing for one destination: the token bucket that keeps under a chat's rate limit and
//! the exponential backoff between attempts. Pure: every call takes `now`.

use std::time::Duration;
use tokio::time::Instant;

/// At most `burst` messages at once, refilled evenly over `per` (20 per minute: one token
/// every 3 s, up to 20 saved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn per_minute(n: u32) -> Self {
        Self {
            burst: n,
            per: Duration::from_secs(60),
        }
    }

    /// No limit at all.
    pub const UNLIMITED: Rate = Rate {
        burst: 1,
        per: Duration::ZERO,
    };
}

/// A token bucket: one token per message sent.
#[derive(Clone, Debug)]
pub struct Bucket {
    tokens: f64,
    cap: f64,
    /// Time to earn one token; zero means unlimited.
    refill: Duration,
    last: Instant,
}

impl Bucket {
    /// A full bucket (a quiet destination may send a burst at once).
    pub fn new(rate: Rate, now: Instant) -> Self {
        let burst = rate.burst.max(1);
        Self {
            tokens: f64::from(burst),
            cap: f64::from(burst),
            refill: rate.per / burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        if !self.refill.is_zero() {
            let earned = dt.as_secs_f64() / self.refill.as_secs_f64();
            self.tokens = (self.tokens + earned).min(self.cap);
        }
    }

    /// Takes a token if one is there.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.refill.is_zero() {
            return true;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token is there (zero when one is).
    pub fn wait(&mut self, now: Instant) -> Duration {
        if self.refill.is_zero() {
            return Duration::ZERO;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            self.refill.mul_f64(1.0 - self.tokens)
        }
    }
}

/// Waits between attempts: `first`, then doubling, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after failed attempt number `failed` (1 for the first failure).
    pub fn delay(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        self.first
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The wait when the server named one (`Retry-After`, Telegram's `retry_after`): its
    /// word is kept, up to `ceiling`, and never below `first` so a "0" cannot spin.
    pub fn after(&self, failed: u32, server: Option<Duration>, ceiling: Duration) -> Duration {
        match server {
            Some(s) => s.min(ceiling).max(self.first),
            None => self.delay(failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_full_bucket_allows_a_burst_then_refills_evenly() {
        let t0 = Instant::now();
        let mut b = Bucket::new(Rate::per_minute(20), t0);
        assert!((0..20).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0));
        assert_eq!(b.wait(t0), 3 * S);
        assert!(!b.try_take(t0 + 2 * S));
        let left = b.wait(t0 + 2 * S);
        assert!(left.abs_diff(S) < Duration::from_millis(1), "{left:?}");
        assert!(b.try_take(t0 + 3 * S));
        assert!(!b.try_take(t0 + 3 * S));
    }

    #[test]
    fn the_bucket_never_saves_more_than_its_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            Rate {
                burst: 2,
                per: 2 * S,
            },
            t0,
        );
        let later = t0 + 3600 * S;
        assert!(b.try_take(later) && b.try_take(later));
        assert!(!b.try_take(later));
    }

    #[test]
    fn a_clock_that_steps_back_earns_nothing() {
        let t0 = Instant::now() + 10 * S;
        let mut b = Bucket::new(Rate { burst: 1, per: S }, t0);
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0 - 5 * S));
        assert_eq!(b.wait(t0), S);
    }

    #[test]
    fn unlimited_never_waits() {
        let t0 = Instant::now();
        let mut b = Bucket::new(Rate::UNLIMITED, t0);
        assert!((0..1000).all(|_| b.try_take(t0)));
        assert_eq!(b.wait(t0), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let b = Backoff {
            first: S,
            max: 5 * S,
        };
        let d: Vec<u64> = (1..=6).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 5, 5, 5]);
        assert_eq!(b.delay(u32::MAX), 5 * S);
        assert_eq!(b.delay(0), S);
    }

    #[test]
    fn a_server_named_wait_wins_within_bounds() {
        let b = Backoff {
            first: S,
            max: 5 * S,
        };
        assert_eq!(b.after(1, Some(30 * S), 60 * S), 30 * S);
        assert_eq!(b.after(1, Some(3600 * S), 60 * S), 60 * S);
        assert_eq!(b.after(1, Some(Duration::ZERO), 60 * S), S);
        assert_eq!(b.after(3, None, 60 * S), 4 * S);
    }
}
