//! `lifeboat status`: whether a supervisor is watching (and since when none is), and a
//! plain-text rendering of the latest snapshot.

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

/// Whether anything supervises the state dir now.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Watch {
    pub live: bool,
    /// `daemon` or `console` while live.
    pub kind: Option<String>,
    pub pid: Option<u32>,
    pub host: Option<String>,
    /// While live: since when it supervises. Otherwise: since when nothing has.
    pub since: Option<String>,
    /// Why the last supervisor stopped, when the journal says.
    pub stopped: Option<String>,
}

/// Whether anything supervises the state dir, and the live supervisor's picture as it is
/// now when one answers (the journal's copy may be seconds old for a large fleet). Asks the
/// state dir's socket, then its lock; when neither answers, the journal says when the last
/// supervisor stopped (or, failing that, when it last wrote a snapshot).
pub async fn supervisor_and_picture(
    dir: &std::path::Path,
    journal: &super::journal::Journal,
    snap: &Snapshot,
) -> (Watch, Option<Snapshot>) {
    use crate::protocol::wire::{self, Client, ServerMsg};
    if let Ok(mut c) = super::attach::connect(dir, Client::Cli, true).await {
        let picture = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match wire::recv::<_, ServerMsg>(&mut c.stream).await {
                    Ok(ServerMsg::Snapshot { snapshot }) => return Some(*snapshot),
                    Ok(ServerMsg::Bye { .. }) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .ok()
        .flatten();
        let watch = Watch {
            live: true,
            kind: Some(
                if c.daemon.embedded {
                    "console"
                } else {
                    "daemon"
                }
                .into(),
            ),
            pid: Some(c.daemon.pid),
            host: Some(c.daemon.host),
            since: Some(rfc3339(c.daemon.started)),
            stopped: None,
        };
        return (watch, picture);
    }
    let watch = not_answering(dir, journal, snap);
    (watch, None)
}

fn not_answering(
    dir: &std::path::Path,
    journal: &super::journal::Journal,
    snap: &Snapshot,
) -> Watch {
    if let Some(holder) = super::service::lock::StateLock::probe(dir) {
        // Locked but not answering: starting up, or wedged. Say what is known.
        return Watch {
            live: true,
            kind: holder.as_ref().map(|h| h.what.clone()),
            pid: holder.as_ref().map(|h| h.pid),
            host: holder.as_ref().map(|h| h.host.clone()),
            since: holder.as_ref().map(|h| rfc3339(h.started)),
            stopped: None,
        };
    }
    let last_stop = journal.recent_events(2000).ok().and_then(|rows| {
        rows.into_iter()
            .rev()
            .find(|r| r.kind == "supervisor_stopped")
            .map(|r| {
                let why = r
                    .body
                    .get("detail")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .to_string();
                (crate::core::time::Ts(r.ts.max(0) as u64), why)
            })
    });
    let (since, stopped) = match last_stop {
        Some((ts, why)) if ts >= snap.now => (ts, Some(why)),
        _ => (snap.now, None),
    };
    Watch {
        live: false,
        kind: None,
        pid: None,
        host: None,
        since: Some(rfc3339(since)),
        stopped,
    }
}

/// The first line of `status`: who watches, or loudly that nothing does.
pub fn supervisor_line(w: &Watch) -> String {
    let e = |v: &Option<String>| escape_line(v.as_deref().unwrap_or("?")).into_owned();
    if w.live {
        format!(
            "supervisor: live — {} pid {} on {} since {}",
            e(&w.kind),
            w.pid.map_or("?".into(), |p| p.to_string()),
            e(&w.host),
            e(&w.since)
        )
    } else {
        let why = w
            .stopped
            .as_ref()
            .map(|s| format!(" (stopped: {})", escape_line(s)))
            .unwrap_or_default();
        format!(
            "supervisor: NONE since {}{why} — nothing is watching these jobs; start one: lifeboat daemon",
            e(&w.since)
        )
    }
}
