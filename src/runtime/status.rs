//! Plain-text rendering of a snapshot for `lifeboat status`.

use super::clock::rfc3339;
use crate::core::outlook::{needs_human, needs_human_line, next_step};
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
    write_attention(&mut out, s);
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
    stores(&mut out, s);
    out
}

/// `STORE  STATE  LAST GOOD WRITE  PENDING  ERROR`: every checkpoint store's health.
fn stores(out: &mut String, s: &Snapshot) {
    if s.stores.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "
STORE  STATE            LAST GOOD WRITE       PENDING  ERROR"
    );
    for st in &s.stores {
        let state = st
            .error
            .as_ref()
            .map_or_else(|| "ok".to_string(), |e| format!("✖ {}", e.kind));
        let last = st.last_ok.map_or_else(|| "never".to_string(), rfc3339);
        let error = st.error.as_ref().map_or("", |e| e.detail.as_str());
        let _ = writeln!(
            out,
            "{:<6} {:<16} {:<21} {:<8} {}",
            st.store,
            state,
            last,
            st.pending,
            escape_line(error)
        );
    }
}

/// The jobs that wait for a human, then what is failing and what happens next.
fn write_attention(out: &mut String, s: &Snapshot) {
    for j in needs_human(s) {
        let _ = writeln!(
            out,
            "NEEDS A HUMAN {}",
            escape_line(&needs_human_line(j, s.now))
        );
    }
    if let Some(next) = next_step(s) {
        let _ = writeln!(out, "next: {}", escape_line(&next));
    }
}
