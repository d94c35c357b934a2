//! The Fleet view: one row per host and one per GPU under it (state, bars, temperature,
//! power, ECC, throttling, heartbeat, history), stale hosts greyed with their age; the
//! host detail panel below when one is open.

use super::fleet_grid::{header_line, Grid};
use super::format as f;
use super::widgets::{cell, clip, highlight, panel, put};
use super::{fleet_gpu as gpu_row, host_detail};
use crate::core::policy::DetectionProfile;
use crate::core::snapshot::{HostView, JobView, Snapshot};
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use std::time::Duration;

/// How many screen rows a host takes: its own, and one per GPU it has or should have.
pub fn host_rows(h: &HostView) -> usize {
    1 + h.gpus.len().max(h.expected_gpus as usize)
}

/// The profile's probe interval (5 s when the profile is unknown).
pub fn probe_interval(snap: &Snapshot) -> Duration {
    DetectionProfile::by_name(&snap.profile).map_or(Duration::from_secs(5), |p| p.probe_interval)
}

/// A host not probed yet: nothing is known, so nothing reads failed.
pub fn awaiting_first_probe(h: &HostView) -> bool {
    h.badge == "unknown" && h.last_ok.is_none()
}

/// A host whose values can no longer be trusted: failed or suspect, or silent for about
/// three probe intervals.
pub fn is_stale(snap: &Snapshot, h: &HostView) -> bool {
    if h.badge == "failed" || h.badge == "suspect" {
        return true;
    }
    match h.last_ok {
        Some(t) => snap.now.since(t) > probe_interval(snap) * 3,
        None => false,
    }
}

/// Splits the body into the table and, when a host's detail is open, its panel.
pub fn split(area: Rect, ui: &UiState) -> (Rect, Option<Rect>) {
    if ui.detail.is_none() {
        return (area, None);
    }
    // Below the table, full width: reasons and events are long lines.
    let top = (area.height * 2 / 5).max(6).min(area.height);
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

/// The first screen row shown (counted over all hosts' rows): the selected host is kept
/// in view, at the bottom when scrolling down.
fn offset(hosts: &[&HostView], sel: usize, rows: usize) -> usize {
    let start: usize = hosts.iter().take(sel).map(|h| host_rows(h)).sum();
    let end = start + hosts.get(sel).map_or(0, |h| host_rows(h));
    if end <= rows {
        0
    } else {
        (end - rows).min(start)
    }
}

/// The host row under screen line `y` of the fleet table's inside (`inner`), if any.
pub fn host_at(snap: &Snapshot, ui: &UiState, inner: Rect, y: u16) -> Option<usize> {
    let hosts = select::hosts(snap, ui);
    let sel = select::index(snap, ui, View::Fleet);
    let rows = usize::from(inner.height.saturating_sub(1));
    let line = usize::from(y.checked_sub(inner.y)?.checked_sub(1)?) + offset(&hosts, sel, rows);
    let mut at = 0;
    for (i, h) in hosts.iter().enumerate() {
        let n = host_rows(h);
        if line < at + n {
            return Some(i);
        }
        at += n;
    }
    None
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let (table, detail) = split(area, ui);
    draw_table(buf, table, snap, ui, theme);
    if let (Some(d), Some(id)) = (detail, &ui.detail) {
        match snap.hosts.iter().find(|h| h.id.as_str() == id) {
            Some(h) => host_detail::draw(buf, d, snap, ui, h, theme),
            None => host_detail::draw_missing(buf, d, id, theme),
        }
    }
}

fn draw_table(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let hosts = select::hosts(snap, ui);
    let gpus: usize = snap
        .hosts
        .iter()
        .map(|h| h.gpus.len().max(h.expected_gpus as usize))
        .sum();
    let sel = select::index(snap, ui, View::Fleet);
    let rows = usize::from(area.height.saturating_sub(3));
    let off = offset(&hosts, sel, rows);
    let range = visible_range(&hosts, off, rows);
    let right = range.map(|(a, b)| s::range(a + 1, b + 1, hosts.len()));
    let inner = panel(
        buf,
        area,
        &s::fleet_title(snap.hosts.len(), gpus),
        right.as_deref(),
        theme,
    );
    if inner.height == 0 {
        return;
    }
    let grid = Grid::new(inner.width);
    put(buf, inner, 0, &header_line(&grid, theme));
    let body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1);
    if hosts.is_empty() {
        let text = if snap.hosts.is_empty() {
            s::NO_HOSTS_CONFIGURED
        } else {
            s::NO_HOSTS
        };
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(format!("  {text}"), theme.dim)),
        );
        return;
    }
    let name_w = hosts
        .iter()
        .map(|h| h.id.as_str().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 18);
    let mut at = 0usize;
    for (i, h) in hosts.iter().enumerate() {
        let n = host_rows(h);
        if at + n <= off {
            at += n;
            continue;
        }
        if at >= off + rows {
            break;
        }
        let stale = is_stale(snap, h);
        let jobs: Vec<&JobView> = snap
            .jobs
            .iter()
            .filter(|j| j.placement.host == h.id)
            .collect();
        for r in 0..n {
            let line_no = at + r;
            if line_no < off {
                continue;
            }
            let y = (line_no - off) as u16;
            if usize::from(y) >= rows {
                break;
            }
            if r == 0 {
                let line = host_line(snap, h, i == sel, stale, name_w, &jobs, inner.width, theme);
                put(buf, body, y, &line);
                if i == sel {
                    highlight(buf, body, y, theme.selected);
                }
            } else {
                let line = gpu_row::line(snap, ui, h, r - 1, n - 1, stale, &jobs, &grid, theme);
                put(buf, body, y, &line);
            }
        }
        at += n;
    }
}

/// Which hosts (first, last) show at least one row.
fn visible_range(hosts: &[&HostView], off: usize, rows: usize) -> Option<(usize, usize)> {
    let mut at = 0;
    let mut first = None;
    let mut last = None;
    for (i, h) in hosts.iter().enumerate() {
        let n = host_rows(h);
        if at + n > off && at < off + rows {
            first.get_or_insert(i);
            last = Some(i);
        }
        if at >= off + rows {
            break;
        }
        at += n;
    }
    Some((first?, last?))
}

#[allow(clippy::too_many_arguments)]
fn host_line(
    snap: &Snapshot,
    h: &HostView,
    selected: bool,
    stale: bool,
    name_w: usize,
    jobs: &[&JobView],
    width: u16,
    theme: &Theme,
) -> Line<'static> {
    let waiting = awaiting_first_probe(h);
    let badge = if waiting {
        theme.dim
    } else {
        theme.badge(&h.badge)
    };
    let badge_word = if waiting {
        s::WAITING
    } else {
        h.badge.as_str()
    };
    let name_style = if stale { theme.stale } else { theme.base }.add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled(if selected { "▶ " } else { "  " }, theme.accent),
        Span::styled(cell(h.id.as_str(), name_w), name_style),
        Span::raw(" "),
        Span::styled(
            cell(&format!("{} {badge_word}", s::badge_glyph(&h.badge)), 11),
            badge,
        ),
        Span::styled(cell(h.role.as_str(), 12), theme.dim),
    ];
    if width >= 120 {
        spans.push(Span::styled(cell(&h.address, 16), theme.dim));
    }
    let mut extra: Vec<Span<'static>> = Vec::new();
    let seen = h.gpus.len();
    if h.expected_gpus > 0 || seen > 0 {
        let style = if (seen as u32) < h.expected_gpus && !waiting {
            theme.failed
        } else {
            theme.dim
        };
        extra.push(Span::styled(s::gpu_count(seen, h.expected_gpus), style));
    } else {
        extra.push(Span::styled(s::NO_GPUS, theme.dim));
    }
    if let Some(l) = h.latency_ms {
        extra.push(Span::styled(
            format!("{} {}", s::PROBE, f::ms(l)),
            theme.dim,
        ));
    }
    let silent = match h.last_ok {
        Some(t) => snap.now.since(t) >= probe_interval(snap),
        None => true,
    };
    if waiting {
        extra.push(Span::styled(s::WAITING_FIRST_PROBE, theme.dim));
    } else if stale && silent {
        let text = match h.last_ok {
            Some(t) => s::last_ok(&f::age(snap.now, t)),
            None => s::never_ok().to_string(),
        };
        extra.push(Span::styled(text, theme.degraded));
    }
    if !jobs.is_empty() {
        let names: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        extra.push(Span::styled(
            format!("{} {}", s::RUNS, names.join(", ")),
            theme.base,
        ));
    }
    let reason = if !h.fatal.is_empty() {
        Some(h.fatal.join("; "))
    } else if !h.degraded.is_empty() {
        Some(h.degraded.join("; "))
    } else if h.badge != "healthy" && !h.reason.is_empty() {
        Some(h.reason.clone())
    } else {
        None
    };
    if let Some(r) = reason {
        let style = if h.fatal.is_empty() {
            badge.remove_modifier(Modifier::BOLD)
        } else {
            theme.failed
        };
        extra.push(Span::styled(clip(&r, 200), style));
    }
    for (i, e) in extra.into_iter().enumerate() {
        spans.push(Span::raw(if i == 0 { " " } else { "  " }));
        spans.push(e);
    }
    Line::from(spans)
}
