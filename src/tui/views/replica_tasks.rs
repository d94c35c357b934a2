//! The Tasks view's second list: checkpoint work (replicate, repair, scrub, restore, prune,
//! prestage) with its bytes done of the total, rate and ETA, or why it waits and when it
//! is retried.

use super::format as f;
use super::table::{header, push_col};
use super::widgets::{bar_spans, cell, choose, panel, put, rcell, Col};
use crate::core::inventory::ReplicaTask;
use crate::core::snapshot::Snapshot;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use std::time::Duration;

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, tasks: &[&ReplicaTask], theme: &Theme) {
    let inner = panel(buf, area, &s::replica_title(tasks.len()), None, theme);
    if inner.height == 0 {
        return;
    }
    let w = inner.width;
    let job_w = tasks
        .iter()
        .map(|t| t.job.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(6, 18) as u16
        + 2;
    let what = |t: &ReplicaTask| s::replica_what(t.kind.as_str(), &t.id);
    let what_w = tasks
        .iter()
        .map(|t| what(t).chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 28) as u16;
    let to_w = tasks
        .iter()
        .map(|t| t.to.chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 12) as u16;
    let gauge_w: u16 = if w >= 120 { 40 } else { 22 };
    let col = |width: u16, keep: u8| Col { width, keep };
    let cols = [
        col(job_w, 100),
        col(what_w, 95),
        col(to_w, 90),
        col(8, 40),
        col(7, 50),
        col(gauge_w, 70),
        col(15, 60),
    ];
    let shown = choose(&cols, w);
    let push = |spans: &mut Vec<Span<'static>>, k: usize, parts: Vec<Span<'static>>| {
        push_col(&shown, spans, k, parts);
    };
    let head = theme.dim.add_modifier(Modifier::BOLD);
    put(
        buf,
        inner,
        0,
        &header(&s::REPLICA_COLS, &cols, &shown, &[4, 6], head),
    );
    let mut y = 1u16;
    for t in tasks {
        if y >= inner.height {
            break;
        }
        let waiting = t.error.is_some();
        let mut spans = Vec::new();
        push(
            &mut spans,
            0,
            vec![Span::styled(
                format!("  {}", cell(&t.job, usize::from(job_w) - 2)),
                theme.base.add_modifier(Modifier::BOLD),
            )],
        );
        let kind_style = if waiting {
            theme.degraded
        } else {
            theme.accent
        };
        push(
            &mut spans,
            1,
            vec![Span::styled(
                cell(&what(t), usize::from(what_w)),
                kind_style,
            )],
        );
        push(
            &mut spans,
            2,
            vec![Span::styled(cell(&t.to, usize::from(to_w)), theme.base)],
        );
        push(
            &mut spans,
            3,
            vec![Span::styled(f::clock(t.started), theme.dim)],
        );
        push(
            &mut spans,
            4,
            vec![Span::styled(
                rcell(&f::age(snap.now, t.started), 7),
                theme.base,
            )],
        );
        push(&mut spans, 5, gauge(t, gauge_w, theme));
        let retry = retry(snap, t);
        let left = match (&t.progress, &retry) {
            (_, Some(r)) => r.clone(),
            (Some(p), None) => {
                let eta = t.eta_ms.map(Duration::from_millis).or_else(|| p.eta());
                match eta {
                    Some(e) if p.rate > 0.0 => {
                        s::rate_eta(&f::bytes_short(p.rate as u64), &f::dur(e))
                    }
                    _ => String::new(),
                }
            }
            (None, None) => s::WAITING.to_string(),
        };
        let left_style = if waiting { theme.degraded } else { theme.dim };
        push(
            &mut spans,
            6,
            vec![Span::styled(rcell(&left, 15), left_style)],
        );
        put(buf, inner, y, &Line::from(spans));
        y += 1;
        if let Some(e) = &t.error {
            // The retry time is in LEFT when that column is shown.
            let again = if shown[6] { None } else { retry.as_deref() };
            let text = format!("    {}", s::replica_error(e, again));
            put(
                buf,
                inner,
                y,
                &Line::from(Span::styled(cell(&text, usize::from(w)), theme.danger)),
            );
            y += 1;
        }
    }
}

/// `retry in 25s`, or `retrying now` once its time has come; `None` when not waiting.
fn retry(snap: &Snapshot, t: &ReplicaTask) -> Option<String> {
    let at = t.retry_at?;
    let left = at.since(snap.now);
    Some(if left.is_zero() {
        s::RETRY_NOW.to_string()
    } else {
        s::retry_in(&f::dur(left))
    })
}

/// The bar with its percentage and bytes done of the total; empty while nothing moves.
fn gauge(t: &ReplicaTask, gauge_w: u16, theme: &Theme) -> Vec<Span<'static>> {
    let bar_w = usize::from(gauge_w).saturating_sub(15);
    let frac = t.progress.as_ref().map_or(0.0, |p| p.fraction());
    let mut g = bar_spans(frac, bar_w, theme.accent, theme).to_vec();
    let pct = t.progress.as_ref().map_or_else(
        || s::NO_PROGRESS.to_string(),
        |_| format!("{:.0}%", frac * 100.0),
    );
    g.push(Span::styled(format!(" {}", rcell(&pct, 4)), theme.base));
    let of = t.progress.as_ref().map_or_else(String::new, |p| {
        s::bytes_of(&f::bytes_short(p.done), &f::bytes_short(p.total))
    });
    g.push(Span::styled(cell(&of, 10), theme.dim));
    g
}
