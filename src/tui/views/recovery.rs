//! One job's recovery, drawn: seed 000's pipeline with the current state lit, then the
//! sections of `recovery_parts` (why, chain, steps and RTO, reconnect, restore point,
//! placement, budget) and the job's recent events below them.

use super::events::event_spans;
use super::recovery_parts as part;
use super::widgets::{cell, line_width, panel, put};
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::{JobView, Snapshot};
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// Inside widths from which the detail is laid out in two columns.
const TWO_COLUMNS: u16 = 118;

pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    snap: &Snapshot,
    ui: &UiState,
    j: &JobView,
    theme: &Theme,
) {
    let title = s::job_title(j.id.as_str(), j.state.as_str());
    let inner = panel(buf, area, &title, None, theme);
    if inner.height == 0 || inner.width < 8 {
        return;
    }
    let content = Rect::new(inner.x + 1, inner.y, inner.width - 1, inner.height);
    let w = usize::from(content.width);
    let wide = content.width >= TWO_COLUMNS;
    let pipe = pipeline(j.state, w, theme);
    let top = pipe.len().min(usize::from(content.height));
    for (y, l) in pipe.iter().take(top).enumerate() {
        put(buf, content, y as u16, l);
    }
    let skip = top as u16 + u16::from(wide);
    let rest = Rect::new(
        content.x,
        content.y + skip,
        content.width,
        content.height.saturating_sub(skip),
    );
    if rest.height == 0 {
        return;
    }
    let used = if wide {
        let lw = content.width * 55 / 100;
        let left = Rect::new(rest.x, rest.y, lw, rest.height);
        let right = Rect::new(rest.x + lw + 2, rest.y, rest.width - lw - 2, rest.height);
        let (lw, rw) = (usize::from(left.width), usize::from(right.width));
        let l = fill(
            buf,
            left,
            vec![
                (1, part::chain(j, lw, theme)),
                (
                    2,
                    part::steps(
                        snap,
                        j,
                        lw,
                        usize::from(left.height).saturating_sub(2),
                        false,
                        theme,
                    ),
                ),
                (3, part::rto(snap, j, lw, theme)),
            ],
        );
        let r = fill(
            buf,
            right,
            vec![
                (1, part::why(j, rw, theme)),
                (2, part::incident(snap, j, rw, theme)),
                (2, part::reconnect(snap, j, rw, theme)),
                (2, part::paused(j, rw, theme)),
                (3, part::checkpoint(snap, j, rw, theme)),
                (4, part::placement(j, rw, theme)),
                (5, part::budget(j, rw, theme)),
                (6, part::standbys(j, rw, theme)),
            ],
        );
        l.max(r)
    } else {
        let h = usize::from(rest.height);
        let first = vec![
            (1, part::why(j, w, theme)),
            (2, part::incident(snap, j, w, theme)),
            (2, part::reconnect(snap, j, w, theme)),
            (2, part::paused(j, w, theme)),
            (3, part::chain(j, w, theme)),
        ];
        let taken: usize = first.iter().map(|(_, l)| l.len()).sum();
        let mut sections = first;
        sections.extend([
            (
                4,
                part::steps(snap, j, w, h.saturating_sub(taken), true, theme),
            ),
            (5, part::rto(snap, j, w, theme)),
            (6, part::checkpoint(snap, j, w, theme)),
            (7, part::placement(j, w, theme)),
            (8, part::budget(j, w, theme)),
            (9, part::standbys(j, w, theme)),
        ]);
        fill(buf, rest, sections)
    };
    let below = Rect::new(
        rest.x,
        rest.y + used as u16 + 1,
        rest.width,
        rest.height.saturating_sub(used as u16 + 1),
    );
    draw_events(buf, below, ui, j, theme);
}

/// Draws sections top to bottom; when they do not all fit, the lowest-priority (highest
/// number) lose lines first. Returns how many lines were drawn.
fn fill(buf: &mut Buffer, area: Rect, sections: Vec<(u8, Vec<Line<'static>>)>) -> usize {
    let mut left = usize::from(area.height);
    let mut alloc = vec![0usize; sections.len()];
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|i| sections[*i].0);
    for i in order {
        let n = sections[i].1.len().min(left);
        alloc[i] = n;
        left -= n;
    }
    let mut y = 0u16;
    for ((_, lines), n) in sections.iter().zip(alloc) {
        for l in lines.iter().take(n) {
            put(buf, area, y, l);
            y += 1;
        }
    }
    usize::from(y)
}

/// The job's recent events, newest at the bottom, when there is room for a few.
fn draw_events(buf: &mut Buffer, area: Rect, ui: &UiState, j: &JobView, theme: &Theme) {
    if area.height < 3 {
        return;
    }
    let w = usize::from(area.width);
    let head = theme
        .dim
        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    put(
        buf,
        area,
        0,
        &Line::from(Span::styled(cell(s::RECENT_EVENTS, w), head)),
    );
    let mine: Vec<_> = ui
        .events
        .iter()
        .filter(|e| e.job.as_deref() == Some(j.id.as_str()))
        .collect();
    let room = usize::from(area.height - 1);
    for (y, e) in mine
        .iter()
        .skip(mine.len().saturating_sub(room))
        .enumerate()
    {
        put(buf, area, y as u16 + 1, &Line::from(event_spans(e, theme)));
    }
    if mine.is_empty() {
        put(
            buf,
            area,
            1,
            &Line::from(Span::styled(s::NO_JOB_EVENTS, theme.dim)),
        );
    }
}

/// `RUNNING → INTERRUPTION_DETECTED → … → RESOLVED | FAILED`, the current state lit,
/// wrapped to `w` (the two outcomes stay together).
pub fn pipeline(cur: RecoveryState, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let ci = RecoveryState::PIPELINE
        .iter()
        .position(|s| *s == cur)
        .unwrap_or(0);
    let word = |i: usize, st: RecoveryState| -> Span<'static> {
        let past = i < ci
            && match st {
                RecoveryState::Escalating => cur == RecoveryState::Failed,
                RecoveryState::Resolved => false,
                _ => true,
            };
        if st == cur {
            let lit = theme
                .recovery(st)
                .add_modifier(Modifier::REVERSED | Modifier::BOLD);
            Span::styled(format!(" {} ", st.as_str()), lit)
        } else if past {
            Span::styled(st.as_str(), theme.base)
        } else {
            Span::styled(st.as_str(), theme.dim)
        }
    };
    let arrow = || Span::styled(" → ", theme.dim);
    let mut tokens: Vec<Vec<Span<'static>>> = Vec::new();
    for (i, st) in RecoveryState::PIPELINE.iter().enumerate() {
        match st {
            RecoveryState::Resolved => {
                tokens.push(vec![word(i, *st), Span::styled(" | ", theme.dim)]);
            }
            RecoveryState::Failed => {
                if let Some(last) = tokens.last_mut() {
                    last.push(word(i, *st));
                }
            }
            _ => tokens.push(vec![word(i, *st), arrow()]),
        }
    }
    let mut lines = Vec::new();
    let mut cur_line: Vec<Span<'static>> = Vec::new();
    for t in tokens {
        // The arrow after a word may hang past the edge; the word itself may not.
        let body = line_width(&t) - if t.len() == 2 { 3 } else { 0 };
        if !cur_line.is_empty() && line_width(&cur_line) + body > w {
            lines.push(Line::from(std::mem::take(&mut cur_line)));
        }
        cur_line.extend(t);
    }
    if !cur_line.is_empty() {
        lines.push(Line::from(cur_line));
    }
    lines
}
