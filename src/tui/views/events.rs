//! The Events view: the event log, newest at the bottom, coloured by kind, with operator
//! names on actions and the selection kept in view.

use super::format as f;
use super::widgets::list_panel;
use super::widgets::{cell, highlight, panel, put, wrap};
use crate::core::snapshot::Snapshot;
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::{EventLine, UiState};
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

const TAG_W: usize = 9;

/// The colour of an event kind (health changes by where they went).
pub fn kind_style(e: &EventLine, theme: &Theme) -> Style {
    match e.kind.as_str() {
        "health_changed" => {
            let to = e.text.split(" → ").nth(1).unwrap_or("");
            ["failed", "suspect", "degraded", "healthy", "fenced"]
                .into_iter()
                .find(|b| to.starts_with(b))
                .map_or(theme.accent, |b| theme.badge(b))
        }
        "recovery_state" => theme.failing_over,
        "failover_step" => theme.accent,
        "failover_finished" => theme.resolved,
        "escalated" => theme.escalating,
        "automation_changed" | "command_rejected" | "fault_injected" => theme.danger,
        "command_accepted" => theme.accent.add_modifier(Modifier::BOLD),
        "checkpoint_recorded" => theme.healthy,
        _ => theme.dim,
    }
}

/// Splits a leading upper-case tag (`HEALTH  …`) off an event's text, or makes one.
fn tag_and_text(e: &EventLine) -> (&str, &str) {
    let t = e.text.trim_start();
    if let Some((head, rest)) = t.split_once(' ') {
        if head.len() >= 2 && head.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            return (head, rest.trim_start());
        }
    }
    (s::event_tag(&e.kind), t)
}

/// One event as spans: time, coloured tag, text, and who did it.
pub fn event_spans(e: &EventLine, theme: &Theme) -> Vec<Span<'static>> {
    let (tag, text) = tag_and_text(e);
    let mut v = vec![
        Span::styled(format!("{} ", f::clock(e.ts)), theme.dim),
        Span::styled(cell(tag, TAG_W), kind_style(e, theme)),
        Span::styled(text.to_string(), theme.base),
    ];
    if let Some(op) = &e.operator {
        if !text.contains(op.as_str()) {
            v.push(Span::styled(
                s::by_operator(op),
                theme.accent.add_modifier(Modifier::BOLD),
            ));
        }
    }
    v
}

/// The first row shown: the selection stays in view, at the bottom when it is past a page.
/// Splits the body into the log and, below it, a strip with the selected event in full.
pub fn split(area: Rect) -> (Rect, Option<Rect>) {
    if area.height < 12 {
        return (area, None);
    }
    let strip = 5;
    (
        Rect::new(area.x, area.y, area.width, area.height - strip),
        Some(Rect::new(
            area.x,
            area.y + area.height - strip,
            area.width,
            strip,
        )),
    )
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let events = select::events(ui);
    let sel = select::index(snap, ui, View::Events);
    let (log, strip) = split(area);
    let rows = usize::from(log.height.saturating_sub(2));
    let title = s::events_title(events.len(), ui.events.len());
    let (inner, off) = list_panel(buf, log, &title, events.len(), sel, rows, true, theme);
    if events.is_empty() {
        let text = if ui.events.is_empty() {
            s::NO_EVENTS_LOG
        } else {
            s::NO_EVENTS_MATCH
        };
        put(
            buf,
            inner,
            0,
            &Line::from(Span::styled(format!(" {text}"), theme.dim)),
        );
        return;
    }
    for (y, (i, e)) in events.iter().enumerate().skip(off).take(rows).enumerate() {
        let mark = if i == sel { "▶ " } else { "  " };
        let mut spans = vec![Span::styled(mark, theme.accent)];
        spans.extend(event_spans(e, theme));
        put(buf, inner, y as u16, &Line::from(spans));
        if i == sel {
            highlight(buf, inner, y as u16, theme.selected);
        }
    }
    if let (Some(strip), Some(e)) = (strip, events.get(sel)) {
        draw_selected(buf, strip, e, theme);
    }
}

/// The selected event, whole: who, what and when, its text wrapped.
fn draw_selected(buf: &mut Buffer, area: Rect, e: &EventLine, theme: &Theme) {
    let (tag, text) = tag_and_text(e);
    let mut title = format!(" {} · {tag}", f::clock(e.ts));
    for part in [&e.job, &e.host, &e.operator].into_iter().flatten() {
        title.push_str(" · ");
        title.push_str(part);
    }
    title.push(' ');
    let inner = panel(buf, area, &title, None, theme);
    let content = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    let mut lines = wrap(text, usize::from(content.width));
    if lines.len() > usize::from(content.height) {
        lines.truncate(usize::from(content.height));
        if let Some(last) = lines.last_mut() {
            *last = cell(last, usize::from(content.width).saturating_sub(1)) + "…";
        }
    }
    for (y, l) in lines.into_iter().enumerate() {
        put(
            buf,
            content,
            y as u16,
            &Line::from(Span::styled(
                l,
                kind_style(e, theme).remove_modifier(Modifier::BOLD),
            )),
        );
    }
}
