//! The host detail panel: what the detector thinks and why (misses, good probes in a row,
//! damping), what each channel said last, the host's fatal and degraded reasons, the jobs
//! on it, and its recent events.

use super::events::event_spans;
use super::format as f;
use super::widgets::{cell, labelled, panel, put};
use crate::core::snapshot::{HostView, Snapshot};
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

const GUTTER: usize = 10;

pub fn draw_missing(buf: &mut Buffer, area: Rect, id: &str, theme: &Theme) {
    let inner = panel(buf, area, &format!(" {id} "), Some(s::DETAIL_CLOSE), theme);
    put(
        buf,
        inner,
        0,
        &Line::from(Span::styled(format!(" {}", s::NO_HOSTS), theme.dim)),
    );
}

pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    snap: &Snapshot,
    ui: &UiState,
    h: &HostView,
    theme: &Theme,
) {
    let title = s::host_title(h.id.as_str(), &h.address, h.role.as_str());
    let inner = panel(buf, area, &title, Some(s::DETAIL_CLOSE), theme);
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let content = Rect::new(inner.x + 1, inner.y, inner.width - 1, inner.height);
    let w = usize::from(content.width);
    let mut facts = facts(snap, h, w, theme);
    let events = recent(snap, ui, h);
    let height = usize::from(content.height);
    let want_events = events.len().clamp(1, 3) + 1;
    if facts.len() + want_events > height {
        facts.truncate(height.saturating_sub(want_events));
    }
    let mut y = 0u16;
    for l in &facts {
        put(buf, content, y, l);
        y += 1;
    }
    let left = height.saturating_sub(facts.len());
    if left < 2 {
        return;
    }
    put(
        buf,
        content,
        y,
        &Line::from(Span::styled(
            cell(s::RECENT_EVENTS, w),
            theme
                .dim
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )),
    );
    y += 1;
    if events.is_empty() {
        put(
            buf,
            content,
            y,
            &Line::from(Span::styled(s::NO_EVENTS, theme.dim)),
        );
        return;
    }
    let room = left - 1;
    for e in events.iter().skip(events.len().saturating_sub(room)) {
        put(buf, content, y, &Line::from(event_spans(e, theme)));
        y += 1;
    }
}

fn facts(snap: &Snapshot, h: &HostView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let badge = theme.badge(&h.badge);
    let mut out = Vec::new();
    out.extend(labelled(
        s::STATE,
        vec![
            if super::fleet::awaiting_first_probe(h) {
                Span::styled(format!("○ {}", s::WAITING_FIRST_PROBE), theme.dim)
            } else {
                Span::styled(format!("{} {}", s::badge_glyph(&h.badge), h.badge), badge)
            },
            Span::styled(format!("  reachability {}", h.reach.as_str()), theme.dim),
        ],
        GUTTER,
        w,
        theme,
    ));
    if !h.reason.is_empty() {
        out.extend(labelled(
            s::REASON,
            vec![Span::styled(h.reason.clone(), theme.base)],
            GUTTER,
            w,
            theme,
        ));
    }
    let det_style = if h.damped { theme.degraded } else { theme.base };
    out.extend(labelled(
        s::DETECTOR,
        vec![Span::styled(
            s::detector_line(h.misses, h.successes, h.damped, h.penalty),
            det_style,
        )],
        GUTTER,
        w,
        theme,
    ));
    let ok = h.last_ok.map(|t| f::age(snap.now, t));
    let lat = h.latency_ms.map(f::ms);
    out.extend(labelled(
        s::PROBES,
        vec![Span::styled(
            s::probe_line(ok.as_deref(), lat.as_deref()),
            theme.base,
        )],
        GUTTER,
        w,
        theme,
    ));
    if h.channels.is_empty() {
        out.extend(labelled(
            s::CHANNELS,
            vec![Span::styled(s::NO_CHANNELS, theme.dim)],
            GUTTER,
            w,
            theme,
        ));
    }
    for (i, c) in h.channels.iter().enumerate() {
        let style = if c.status == "up" {
            theme.healthy
        } else if c.status.starts_with("gone") {
            theme.failed
        } else {
            theme.degraded
        };
        let label = if i == 0 { s::CHANNELS } else { "" };
        out.extend(labelled(
            label,
            vec![
                Span::styled(format!("{:<9}", c.channel), theme.base),
                Span::styled(c.status.clone(), style),
                Span::styled(format!("  {}", s::ago(&f::age(snap.now, c.at))), theme.dim),
            ],
            GUTTER,
            w,
            theme,
        ));
    }
    for (label, list, style) in [
        (s::FATAL, &h.fatal, theme.failed),
        (s::DEGRADED, &h.degraded, theme.degraded),
    ] {
        for (i, r) in list.iter().enumerate() {
            let l = if i == 0 { label } else { "" };
            out.extend(labelled(
                l,
                vec![Span::styled(r.clone(), style)],
                GUTTER,
                w,
                theme,
            ));
        }
    }
    let jobs: Vec<Span<'static>> = snap
        .jobs
        .iter()
        .filter(|j| j.placement.host == h.id || j.home.host == h.id)
        .flat_map(|j| {
            let here = if j.placement.host == h.id {
                ""
            } else {
                " (home)"
            };
            [
                Span::styled(format!("{} ", j.id), theme.base),
                Span::styled(j.state.as_str(), theme.recovery(j.state)),
                Span::styled(format!("{here}  "), theme.dim),
            ]
        })
        .collect();
    if jobs.is_empty() {
        out.extend(labelled(
            s::JOBS_HERE,
            vec![Span::styled(s::NO_JOBS_HERE, theme.dim)],
            GUTTER,
            w,
            theme,
        ));
    } else {
        out.extend(labelled(s::JOBS_HERE, jobs, GUTTER, w, theme));
    }
    out
}

/// Events about this host or a job placed or homed on it, oldest first.
fn recent<'a>(
    snap: &Snapshot,
    ui: &'a UiState,
    h: &HostView,
) -> Vec<&'a crate::tui::state::EventLine> {
    let jobs: Vec<&str> = snap
        .jobs
        .iter()
        .filter(|j| j.placement.host == h.id || j.home.host == h.id)
        .map(|j| j.id.as_str())
        .collect();
    ui.events
        .iter()
        .filter(|e| {
            e.host.as_deref() == Some(h.id.as_str())
                || e.job.as_deref().is_some_and(|j| jobs.contains(&j))
        })
        .collect()
}
