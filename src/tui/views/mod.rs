//! Drawing: pure functions of `(&Snapshot, &UiState, &Theme)` onto a ratatui `Frame`.
//!
//! [`draw`] paints the base screen (header, the current view, footer). Overlays (help,
//! the `:` palette, dialogs) are drawn after it by `tui::overlay::draw`, over the same
//! frame. [`layout`], [`tab_at`] and [`row_at`] give mouse hit-testing the geometry the
//! views really use.

pub mod attention;
pub mod checkpoints;
pub mod drill_run;
pub mod drills;
pub mod events;
pub mod fleet;
mod fleet_gpu;
mod fleet_grid;
pub mod footer;
pub mod format;
pub mod header;
pub mod host_detail;
mod inventory;
mod inventory_table;
pub mod jobs;
pub mod link;
pub mod readiness;
pub mod recovery;
mod recovery_parts;
mod replica_tasks;
mod table;
pub mod tasks;
pub mod widgets;

#[cfg(test)]
mod drills_tests;
#[cfg(test)]
mod inventory_tests;
#[cfg(test)]
pub(crate) mod tests;

use super::action::View;
use super::select;
use super::state::UiState;
use super::strings as s;
use super::theme::Theme;
use crate::core::snapshot::Snapshot;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// Below this size only a note is drawn.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 8;

/// Where the header, the attention lines, the view and the footer go on a screen of `area`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub attention: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn layout(area: Rect, snap: &Snapshot, ui: &UiState) -> Areas {
    let head = header::HEIGHT.min(area.height);
    // The body keeps at least a few lines; attention gives way first (a lost link's
    // banner leads it).
    let banner =
        u16::from(link::banner(ui).is_some()) + u16::from(link::drill_banner(ui).is_some());
    let att = (attention::height(snap) + banner).min(area.height.saturating_sub(head + 4));
    let top = head + att;
    let foot = footer::height(ui).min(area.height - top);
    Areas {
        header: Rect::new(area.x, area.y, area.width, head),
        attention: Rect::new(area.x, area.y + head, area.width, att),
        body: Rect::new(area.x, area.y + top, area.width, area.height - top - foot),
        footer: Rect::new(area.x, area.y + area.height - foot, area.width, foot),
    }
}

/// Draws the whole base screen.
pub fn draw(frame: &mut Frame, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let area = frame.area();
    draw_buffer(frame.buffer_mut(), area, snap, ui, theme);
}

/// Draws the base screen into `buf` over `area` (what [`draw`] does, without a frame).
pub fn draw_buffer(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    buf.set_style(area, theme.base);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = widgets::clip(s::TOO_SMALL, usize::from(area.width));
        widgets::put(
            buf,
            area,
            0,
            &Line::from(Span::styled(text, theme.degraded)),
        );
        return;
    }
    let a = layout(area, snap, ui);
    header::draw(buf, a.header, snap, ui, theme);
    let mut attention_area = a.attention;
    for text in [link::banner(ui), link::drill_banner(ui)]
        .into_iter()
        .flatten()
    {
        if attention_area.height == 0 {
            break;
        }
        link::draw_banner(buf, attention_area, &text, theme);
        attention_area = Rect::new(
            attention_area.x,
            attention_area.y + 1,
            attention_area.width,
            attention_area.height - 1,
        );
    }
    attention::draw(buf, attention_area, snap, ui, theme);
    match ui.view {
        View::Fleet => fleet::draw(buf, a.body, snap, ui, theme),
        View::Jobs => jobs::draw(buf, a.body, snap, ui, theme),
        View::Checkpoints => checkpoints::draw(buf, a.body, snap, ui, theme),
        View::Tasks => tasks::draw(buf, a.body, snap, ui, theme),
        View::Events => events::draw(buf, a.body, snap, ui, theme),
        View::Drills => drills::draw(buf, a.body, snap, ui, theme),
    }
    // Data from a supervisor that is gone is never shown as live: it is greyed out.
    if link::banner(ui).is_some() {
        buf.set_style(attention_area.union(a.body), theme.dim);
    }
    footer::draw(buf, a.footer, snap, ui, theme);
}

/// The tab drawn at screen position (`x`, `y`), if any.
pub fn tab_at(area: Rect, x: u16, y: u16) -> Option<View> {
    if y != area.y {
        return None;
    }
    let mut at = area.x;
    for (v, label) in header::tab_labels() {
        let w = label.chars().count() as u16;
        if x >= at && x < at + w {
            return Some(v);
        }
        at += w + 1;
    }
    None
}

/// The row of the current view's list (an index into `select`'s rows for that view) drawn
/// at screen line `y`, if any. Accounts for scrolling and, in the fleet view, for the GPU
/// rows under each host.
pub fn row_at(snap: &Snapshot, ui: &UiState, area: Rect, y: u16) -> Option<usize> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let body = layout(area, snap, ui).body;
    if y < body.y || y >= body.bottom() {
        return None;
    }
    // Inside the list's border, below its column titles.
    let list = |height: u16| {
        Rect::new(
            body.x + 1,
            body.y + 1,
            body.width.saturating_sub(2),
            height.saturating_sub(2),
        )
    };
    let pick = |inner: Rect, sel: usize, total: usize, titles: u16| -> Option<usize> {
        let rows = usize::from(inner.height.saturating_sub(titles));
        let first = inner.y + titles;
        let line = usize::from(y.checked_sub(first)?);
        let i = widgets::offset(sel, total, rows) + line;
        (line < rows && i < total).then_some(i)
    };
    match ui.view {
        View::Fleet => {
            let (table, _) = fleet::split(body, ui);
            let inner = Rect::new(
                table.x + 1,
                table.y + 1,
                table.width.saturating_sub(2),
                table.height.saturating_sub(2),
            );
            if y >= inner.bottom() {
                return None;
            }
            fleet::host_at(snap, ui, inner, y)
        }
        View::Jobs | View::Checkpoints => {
            let n = select::count(snap, ui, ui.view);
            let lh = jobs::list_height(body, n);
            pick(list(lh), select::index(snap, ui, ui.view), n, 1)
        }
        View::Tasks => {
            let n = select::count(snap, ui, View::Tasks);
            let (top, _) = tasks::split(body, snap, ui);
            pick(list(top.height), select::index(snap, ui, View::Tasks), n, 1)
        }
        View::Drills => {
            let n = select::count(snap, ui, View::Drills);
            let lh = drills::list_height(body, n);
            pick(list(lh), select::index(snap, ui, View::Drills), n, 1)
        }
        View::Events => {
            let n = select::count(snap, ui, View::Events);
            let (log, _) = events::split(body);
            pick(
                list(log.height),
                select::index(snap, ui, View::Events),
                n,
                0,
            )
        }
    }
}
