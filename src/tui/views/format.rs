//! Numbers as operators read them: compact durations, byte sizes, clock times, GPU units.

use crate::core::time::Ts;
use std::time::Duration;

/// A compact duration: `0.4s`, `4.2s`, `42s`, `3m05s`, `2h10m`, `3d04h`.
pub fn dur(d: Duration) -> String {
    let ms = d.as_millis();
    let s = ms / 1000;
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s / 60) % 60)
    } else {
        format!("{}d{:02}h", s / 86_400, (s / 3600) % 24)
    }
}

/// Milliseconds as a step duration: `350ms`, `4.2s`, `3m05s`.
pub fn ms(v: u64) -> String {
    if v < 1000 {
        format!("{v}ms")
    } else {
        dur(Duration::from_millis(v))
    }
}

/// The age of `then` at `now`.
pub fn age(now: Ts, then: Ts) -> String {
    dur(now.since(then))
}

/// Binary sizes: `850 B`, `12.3 KiB`, `1.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    match u {
        0 => format!("{n} B"),
        _ if v >= 100.0 => format!("{v:.0} {}", UNITS[u]),
        _ => format!("{v:.1} {}", UNITS[u]),
    }
}

/// Bytes in at most five characters for tight columns: `980B`, `128K`, `1.5M`, `12G`.
pub fn bytes_short(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v >= 10.0 {
        format!("{v:.0}{}", UNITS[u])
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

/// Wall-clock time of day (UTC) of a timestamp: `22:13:20`.
pub fn clock(t: Ts) -> String {
    let s = t.millis() / 1000;
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// A counter (a training step) in at most 7 columns: `81234`, `812.3k`, `81.23M`.
pub fn count(n: u64) -> String {
    let v = n as f64;
    if n < 100_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", v / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.2}M", v / 1e6)
    } else {
        format!("{:.2}G", v / 1e9)
    }
}

/// GPU memory used of total, in GiB: `62/80G` (short) or `62.1/79.6G`.
pub fn mem(used_mib: Option<f64>, total_mib: Option<f64>, short: bool) -> String {
    let g = |m: f64| m / 1024.0;
    match (used_mib, total_mib) {
        (Some(u), Some(t)) if short => format!("{:.0}/{:.0}G", g(u), g(t)),
        (Some(u), Some(t)) => format!("{:.1}/{:.1}G", g(u), g(t)),
        (Some(u), None) => format!("{:.1}G", g(u)),
        _ => "—".into(),
    }
}

pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.0}%", v.clamp(0.0, 999.0)))
}

pub fn temp(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.0}°C"))
}

pub fn power(draw: Option<f64>, limit: Option<f64>, wide: bool) -> String {
    match (draw, limit) {
        (Some(d), Some(l)) if wide => format!("{d:.0}/{l:.0}W"),
        (Some(d), _) => format!("{d:.0}W"),
        _ => "—".into(),
    }
}

/// A GPU name without the vendor's prefixes: `H100 80GB HBM3`.
pub fn gpu_name(name: Option<&str>) -> &str {
    let n = name.unwrap_or("?");
    let n = n.strip_prefix("NVIDIA ").unwrap_or(n);
    n.strip_prefix("GeForce ").unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_compact() {
        assert_eq!(dur(Duration::from_millis(400)), "0.4s");
        assert_eq!(dur(Duration::from_secs(42)), "42s");
        assert_eq!(dur(Duration::from_secs(185)), "3m05s");
        assert_eq!(dur(Duration::from_secs(7800)), "2h10m");
        assert_eq!(dur(Duration::from_secs(90_000)), "1d01h");
        assert_eq!(ms(350), "350ms");
        assert_eq!(count(81_234), "81234");
        assert_eq!(count(1_700_000_044), "1.70G");
    }

    #[test]
    fn sizes_and_clock() {
        assert_eq!(bytes(850), "850 B");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(clock(Ts(1_700_000_000_000)), "22:13:20");
        assert_eq!(mem(Some(63_590.0), Some(81_559.0), true), "62/80G");
        assert_eq!(gpu_name(Some("NVIDIA GeForce RTX 3090")), "RTX 3090");
    }
}
