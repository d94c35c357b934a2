//! The Tasks view: work in flight per job (a reconnect probe or a failover step): what,
//! when it started, how long it has run, how much of its bytes it has moved (when it moves
//! bytes) and when it times out; under it, when there is any, the checkpoint work
//! (`replica_tasks`).

use super::format as f;
use super::table::{header, push_col};
use super::widgets::offset;
use super::widgets::{bar_spans, cell, choose, highlight, panel, put, rcell, Col};
use crate::core::snapshot::Snapshot;
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// The job tasks' panel and, when there is checkpoint work to list, the panel under it.
pub fn split(area: Rect, snap: &Snapshot, ui: &UiState) -> (Rect, Option<Rect>) {
    if select::replica_tasks(snap, ui).is_empty() || area.height < 7 {
        return (area, None);
    }
    let n = select::tasks(snap, ui).len().max(1) as u16;
    let top = (n + 3).min(area.height / 2).max(4);
    (
        Rect::new(area.x, area.y, area.width, top),
        Some(Rect::new(
            area.x,
            area.y + top,
            area.width,
            area.height - top,
        )),
    )
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let (area, below) = split(area, snap, ui);
    if let Some(b) = below {
        super::replica_tasks::draw(buf, b, snap, &select::replica_tasks(snap, ui), theme);
    }
    let tasks = select::tasks(snap, ui);
    let sel = select::index(snap, ui, View::Tasks);
    let hint =
        (!ui.settings.readonly && !tasks.is_empty()).then(|| format!(" {} ", s::CANCEL_HINT));
    let inner = panel(
        buf,
        area,
        &s::tasks_title(tasks.len()),
        hint.as_deref(),
        theme,
    );
    if inner.height == 0 {
        return;
    }
    if tasks.is_empty() {
        put(
            buf,
            inner,
            1,
            &Line::from(Span::styled(format!("  {}", s::NO_TASKS), theme.dim)),
        );
        return;
    }
    let w = inner.width;
    let job_w = tasks
        .iter()
        .map(|j| j.id.as_str().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(6, 18) as u16
        + 2;
    let what_w = tasks
        .iter()
        .filter_map(|j| j.task.as_ref())
        .map(|t| t.what.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 32) as u16;
    let gauge_w: u16 = if w >= 120 { 40 } else { 22 };
    let cols = [
        Col {
            width: job_w,
            keep: 100,
        },
        Col {
            width: what_w,
            keep: 95,
        },
        Col { width: 8, keep: 40 },
        Col { width: 7, keep: 80 },
        Col {
            width: gauge_w,
            keep: 70,
        },
        Col {
            width: 13,
            keep: 60,
        },
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
        &header(&s::TASK_COLS, &cols, &shown, &[3, 5], head),
    );
    let rows = usize::from(inner.height.saturating_sub(1));
    let off = offset(sel, tasks.len(), rows);
    for (y, (i, j)) in tasks.iter().enumerate().skip(off).take(rows).enumerate() {
        let Some(t) = &j.task else { continue };
        let y = y as u16 + 1;
        let elapsed = snap.now.since(t.started);
        let left = t.deadline.since(snap.now);
        let mut spans = Vec::new();
        let marker = if i == sel { "▶ " } else { "  " };
        push(
            &mut spans,
            0,
            vec![Span::styled(
                format!("{marker}{}", cell(j.id.as_str(), usize::from(job_w) - 2)),
                theme.base.add_modifier(Modifier::BOLD),
            )],
        );
        push(
            &mut spans,
            1,
            vec![Span::styled(
                cell(&t.what, usize::from(what_w)),
                theme.recovery(j.state),
            )],
        );
        push(
            &mut spans,
            2,
            vec![Span::styled(f::clock(t.started), theme.dim)],
        );
        push(
            &mut spans,
            3,
            vec![Span::styled(rcell(&f::dur(elapsed), 7), theme.base)],
        );
        // A share of the work's own total (bytes); work with no total shows none: its
        // deadline is not its size (a 1.2 s stage is not "0% of 10m05s").
        let g = match &t.progress {
            Some(p) if p.total > 0 => {
                let frac = p.fraction();
                let bar_w = usize::from(gauge_w).saturating_sub(15);
                let mut g = bar_spans(frac, bar_w, theme.accent, theme).to_vec();
                g.push(Span::styled(
                    format!(" {}", rcell(&format!("{:.0}%", frac * 100.0), 4)),
                    theme.base,
                ));
                let of = s::bytes_of(&f::bytes_short(p.done), &f::bytes_short(p.total));
                g.push(Span::styled(cell(&of, 10), theme.dim));
                g
            }
            _ => vec![Span::styled(
                cell(s::NOT_MEASURED, usize::from(gauge_w)),
                theme.dim,
            )],
        };
        push(&mut spans, 4, g);
        let out = match (&t.progress, t.eta_ms) {
            (Some(p), Some(eta)) => s::rate_eta(
                &f::bytes_short(p.rate as u64),
                &f::dur(std::time::Duration::from_millis(eta)),
            ),
            _ if left.is_zero() => s::OVERDUE.to_string(),
            _ => s::times_out_in(&f::dur(left)),
        };
        push(
            &mut spans,
            5,
            vec![Span::styled(
                rcell(&out, 11),
                if left.is_zero() {
                    theme.danger
                } else {
                    theme.dim
                },
            )],
        );
        put(buf, inner, y, &Line::from(spans));
        if i == sel {
            highlight(buf, inner, y, theme.selected);
        }
    }
}
