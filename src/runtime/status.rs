//! Plain-text rendering of a snapshot for `lifeboat status`.

use super::clock::rfc3339;
use crate::core::safe_text::escape_line;
use crate::core::snapshot::Snapshot;
use std::fmt::Write;

/// Every field that came from a host (or an operator) is escaped: see `core::safe_text`.
pub fn render(s: &Snapshot) -> String {
    let e = |v: &dyn std::fmt::Display| escape_line(&v.to_string()).into_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "as of {} (epoch {}, profile {})",
        rfc3339(s.now),
        s.epoch,
        e(&s.profile)
    );
    if let Some(who) = &s.automation.paused_by {
        let _ = writeln!(out, "automation PAUSED by {}", e(who));
    }
    if let Some(why) = &s.automation.frozen {
        let _ = writeln!(out, "{}", e(why));
    }
    let _ = writeln!(out, "\nHOST           ROLE         STATE      GPUS  WHY");
    for h in &s.hosts {
        let _ = writeln!(
            out,
            "{:<14} {:<12} {:<10} {:<5} {}",
            e(&h.id),
            h.role.as_str(),
            e(&h.badge),
            h.gpus.len(),
            e(&h.reason)
        );
    }
    let _ = writeln!(
        out,
        "\nJOB              STATE                  ON             EPOCH  WHY"
    );
    for j in &s.jobs {
        let _ = writeln!(
            out,
            "{:<16} {:<22} {:<14} {:<6} {}",
            e(&j.id),
            j.state.as_str(),
            e(&j.placement),
            j.epoch.to_string(),
            e(&j.why)
        );
    }
    out
}
