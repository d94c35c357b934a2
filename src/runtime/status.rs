//! Plain-text rendering of a snapshot for `lifeboat status`.

use super::clock::rfc3339;
use crate::core::snapshot::Snapshot;
use std::fmt::Write;

pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "as of {} (epoch {}, profile {})",
        rfc3339(s.now),
        s.epoch,
        s.profile
    );
    if let Some(who) = &s.automation.paused_by {
        let _ = writeln!(out, "automation PAUSED by {who}");
    }
    if let Some(why) = &s.automation.frozen {
        let _ = writeln!(out, "{why}");
    }
    let _ = writeln!(out, "\nHOST           ROLE         STATE      GPUS  WHY");
    for h in &s.hosts {
        let _ = writeln!(
            out,
            "{:<14} {:<12} {:<10} {:<5} {}",
            h.id,
            h.role.as_str(),
            h.badge,
            h.gpus.len(),
            h.reason
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
            j.id,
            j.state.as_str(),
            j.placement.to_string(),
            j.epoch.to_string(),
            j.why
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
            st.store, state, last, st.pending, error
        );
    }
}
