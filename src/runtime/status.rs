//! Plain-text rendering of a snapshot for `lifeboat status`.

use super::clock::rfc3339;
use crate::core::outlook::{needs_human, needs_human_line, next_step};
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
    write_attention(&mut out, s);
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
    out
}

/// The jobs that wait for a human, then what is failing and what happens next.
fn write_attention(out: &mut String, s: &Snapshot) {
    for j in needs_human(s) {
        let _ = writeln!(out, "NEEDS A HUMAN {}", needs_human_line(j, s.now));
    }
    if let Some(next) = next_step(s) {
        let _ = writeln!(out, "next: {next}");
    }
}
