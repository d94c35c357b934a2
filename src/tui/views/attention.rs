//! The lines under the header that say what needs attention: the "needs a human" strip
//! (escalated jobs, with the acknowledge key) and one line on what is failing and what
//! happens next. Each shows only when it has something to say.

use super::widgets::{cell, line_width, put};
use crate::core::outlook::{needs_human, needs_human_line, next_step};
use crate::core::snapshot::Snapshot;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// How many lines the attention area takes now (0, 1 or 2).
pub fn height(snap: &Snapshot) -> u16 {
    u16::from(!needs_human(snap).is_empty()) + u16::from(next_step(snap).is_some())
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let mut y = 0;
    if let Some(line) = strip(snap, ui, theme, usize::from(area.width)) {
        put(buf, area, y, &line);
        y += 1;
    }
    if let Some(next) = next_step(snap) {
        let w = usize::from(area.width).saturating_sub(1);
        let text = format!(" {}", cell(&format!("{} {next}", s::NEXT_MARK), w));
        put(
            buf,
            area,
            y,
            &Line::from(Span::styled(text, theme.failing_over)),
        );
    }
}

/// The key that acknowledges, as the operator bound it.
fn ack_key(ui: &UiState) -> String {
    ui.settings
        .keys
        .get("acknowledge")
        .cloned()
        .unwrap_or_else(|| s::KEY_ACK.0.to_string())
}

/// ` NEEDS A HUMAN  job: why (age) (+n more)   a acknowledge`, cut to `w`.
fn strip(snap: &Snapshot, ui: &UiState, theme: &Theme, w: usize) -> Option<Line<'static>> {
    let jobs = needs_human(snap);
    let first = jobs.first()?;
    let unacked = jobs
        .iter()
        .filter(|j| {
            j.escalation
                .as_ref()
                .is_none_or(|e| e.acknowledged.is_none())
        })
        .count();
    let label = Span::styled(
        format!(" {} ", s::NEEDS_HUMAN),
        theme
            .escalating
            .add_modifier(Modifier::REVERSED | Modifier::BOLD),
    );
    let mut tail = Vec::new();
    if unacked > 0 && !ui.settings.readonly {
        tail.push(Span::styled(format!(" {} ", ack_key(ui)), theme.accent));
        tail.push(Span::styled(format!("{} ", s::KEY_ACK.1), theme.dim));
    }
    let more = match jobs.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let text = format!(" {}{more}", needs_human_line(first, snap.now));
    let room = w.saturating_sub(line_width(std::slice::from_ref(&label)) + line_width(&tail));
    let mut spans = vec![label, Span::styled(cell(&text, room), theme.escalating)];
    spans.extend(tail);
    Some(Line::from(spans))
}
