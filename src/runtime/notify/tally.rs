//! How many notifications each destination sent, failed, dropped or held, since the
//! process started, for `/metrics`. Process-wide (as a metrics registry is): the delivery
//! tasks of every config (a reload builds new ones under the same names) count into it.
//! Destinations are the config's `[[notify]]` entries, so the set of keys stays small.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

/// What became of one notification at one destination.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fate {
    /// The destination took it.
    Sent,
    /// Not delivered after every attempt, or refused outright.
    Failed,
    /// The destination's queue was full.
    Dropped,
    /// Held back by the rate limit (it goes out later in a summary).
    HeldRateLimit,
    /// Held because a drill runs and the config says hold.
    HeldDrill,
}

impl Fate {
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Sent => "sent",
            Fate::Failed => "failed",
            Fate::Dropped => "dropped",
            Fate::HeldRateLimit => "rate_limit",
            Fate::HeldDrill => "drill",
        }
    }

    /// Held, not lost.
    pub fn held(self) -> bool {
        matches!(self, Fate::HeldRateLimit | Fate::HeldDrill)
    }
}

static COUNTS: LazyLock<Mutex<BTreeMap<(String, Fate), u64>>> = LazyLock::new(Mutex::default);

/// Counts one notification's fate at `destination`.
pub fn count(destination: &str, fate: Fate) {
    let mut c = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    *c.entry((destination.to_string(), fate)).or_default() += 1;
}

/// Every count so far, by destination and fate.
pub fn counts() -> Vec<(String, Fate, u64)> {
    let c = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    c.iter().map(|((d, f), n)| (d.clone(), *f, *n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_destination_and_fate() {
        count("tally-test-a", Fate::Sent);
        count("tally-test-a", Fate::Sent);
        count("tally-test-a", Fate::HeldDrill);
        let mine: Vec<(String, Fate, u64)> = counts()
            .into_iter()
            .filter(|(d, _, _)| d == "tally-test-a")
            .collect();
        assert_eq!(
            mine,
            [
                ("tally-test-a".to_string(), Fate::Sent, 2),
                ("tally-test-a".to_string(), Fate::HeldDrill, 1)
            ]
        );
        assert!(Fate::HeldDrill.held() && !Fate::Failed.held());
    }
}
