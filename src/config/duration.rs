//! Durations as the config writes them: `"900ms"`, `"10s"`, `"1h30m"` — strict, no spaces.

use std::time::Duration;

/// Units, largest first; a duration lists them in this order, each at most once.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// The example and rules every duration error ends with.
pub const DURATION_FIX: &str = "write a whole number followed by a unit, with no spaces, e.g. \"10s\"; units: ms, s, m, h, d; combine them largest first, e.g. \"1h30m\"";

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("it is empty")]
    Empty,
    #[error("spaces are not allowed")]
    Space,
    #[error("fractions are not allowed (write \"1500ms\", not \"1.5s\")")]
    Fraction,
    #[error("a number needs a unit after it")]
    MissingUnit,
    #[error("a unit needs a number before it")]
    MissingNumber,
    #[error("\"{0}\" is not a unit")]
    UnknownUnit(String),
    #[error("units must go largest first, each once (\"1h30m\", not \"30m1h\")")]
    Order,
    #[error("it is too long")]
    Overflow,
}

/// Parses `\d+(ms|s|m|h|d)` repeated, largest unit first: `"1h30m"`, `"250ms"`, `"0s"`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.chars().any(char::is_whitespace) {
        return Err(DurationError::Space);
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::MissingNumber);
        }
        let (number, tail) = rest.split_at(digits);
        if tail.starts_with('.') || tail.starts_with(',') {
            return Err(DurationError::Fraction);
        }
        let letters = tail.chars().take_while(char::is_ascii_alphabetic).count();
        if letters == 0 {
            return Err(DurationError::MissingUnit);
        }
        let (unit, tail) = tail.split_at(letters);
        let rank = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
        if last_rank.is_some_and(|r| rank <= r) {
            return Err(DurationError::Order);
        }
        last_rank = Some(rank);
        let n: u64 = number.parse().map_err(|_| DurationError::Overflow)?;
        total = n
            .checked_mul(UNITS[rank].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or(DurationError::Overflow)?;
        rest = tail;
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration the way [`parse`] reads it: `"1h30m"`, `"900ms"`, `"0s"`.
/// Sub-millisecond parts are dropped.
pub fn format(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let n = ms / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            ms -= n * size;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn parses_single_and_combined_units() {
        assert_eq!(parse("10s"), Ok(secs(10)));
        assert_eq!(parse("900ms"), Ok(Duration::from_millis(900)));
        assert_eq!(parse("2m"), Ok(secs(120)));
        assert_eq!(parse("1h30m"), Ok(secs(5400)));
        assert_eq!(parse("1d2h3m4s5ms"), Ok(Duration::from_millis(93_784_005)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(parse("10 sec"), Err(DurationError::Space));
        assert_eq!(parse(" 10s"), Err(DurationError::Space));
        assert_eq!(parse("10"), Err(DurationError::MissingUnit));
        assert_eq!(parse("s"), Err(DurationError::MissingNumber));
        assert_eq!(parse("1.5s"), Err(DurationError::Fraction));
        assert_eq!(
            parse("10sec"),
            Err(DurationError::UnknownUnit("sec".into()))
        );
        assert_eq!(parse("10S"), Err(DurationError::UnknownUnit("S".into())));
        assert_eq!(parse("30m1h"), Err(DurationError::Order));
        assert_eq!(parse("1s1s"), Err(DurationError::Order));
        assert_eq!(parse("-1s"), Err(DurationError::MissingNumber));
        assert_eq!(parse("99999999999999999999s"), Err(DurationError::Overflow));
        assert_eq!(parse("999999999999999d"), Err(DurationError::Overflow));
    }

    #[test]
    fn formats_readably() {
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_millis(900)), "900ms");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format(secs(3600)), "1h");
        assert_eq!(format(secs(5400)), "1h30m");
        assert_eq!(format(secs(86_400 + 1)), "1d1s");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(ms in 0u64..10_000_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
