//! The Checkpoints view: per job, the RPO exposure (age of the newest verified checkpoint)
//! and, for the selected job, its checkpoints: the catalogued inventory with a copy per
//! store (`inventory`) when the runtime fills it, else what the core has seen (id, step,
//! age, size, where, verified).

use super::format as f;
use super::jobs::{ckpt_age, list_height, RPO_WARN};
use super::widgets::list_panel;
use super::widgets::{cell, cell_mid, choose, highlight, panel, put, rcell, width, wrap, Col};
use crate::core::snapshot::{JobView, Snapshot};
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let jobs = select::jobs(snap, ui);
    let sel = select::index(snap, ui, View::Checkpoints);
    let lh = list_height(area, jobs.len());
    draw_list(
        buf,
        Rect::new(area.x, area.y, area.width, lh),
        snap,
        &jobs,
        sel,
        theme,
    );
    let rest = Rect::new(area.x, area.y + lh, area.width, area.height - lh);
    if rest.height < 3 {
        return;
    }
    match jobs.get(sel) {
        Some(j) if select::has_inventory(snap) => {
            super::inventory::draw(buf, rest, snap, ui, j, theme)
        }
        Some(j) => draw_inventory(buf, rest, snap, j, theme),
        None => {}
    }
}

fn draw_list(
    buf: &mut Buffer,
    area: Rect,
    snap: &Snapshot,
    jobs: &[&JobView],
    sel: usize,
    theme: &Theme,
) {
    let rows = usize::from(area.height.saturating_sub(3));
    let (inner, off) = list_panel(
        buf,
        area,
        &s::checkpoints_title(jobs.len()),
        jobs.len(),
        sel,
        rows,
        false,
        theme,
    );
    if inner.height == 0 {
        return;
    }
    let job_w = jobs
        .iter()
        .map(|j| j.id.as_str().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(6, 18) as u16
        + 2;
    let cols = [
        Col {
            width: job_w,
            keep: 100,
        },
        Col {
            width: 12,
            keep: 90,
        },
        Col {
            width: 22,
            keep: 80,
        },
        Col { width: 6, keep: 50 },
        Col { width: 7, keep: 40 },
    ];
    let shown = choose(&cols, inner.width);
    let used: u16 = cols
        .iter()
        .zip(&shown)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c.width + 1)
        .sum();
    let note_w = usize::from(inner.width.saturating_sub(used));
    let push = |spans: &mut Vec<Span<'static>>, k: usize, span: Span<'static>| {
        if shown[k] {
            if !spans.is_empty() {
                spans.push(Span::raw(" "));
            }
            spans.push(span);
        }
    };
    let head = theme.dim.add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    for (k, label) in s::CKPT_JOB_COLS.iter().enumerate() {
        let w = usize::from(cols[k].width);
        let text = match k {
            0 => cell(&format!("  {label}"), w),
            1 | 3 | 4 => rcell(label, w),
            _ => cell(label, w),
        };
        push(&mut spans, k, Span::styled(text, head));
    }
    put(buf, inner, 0, &Line::from(spans));
    if jobs.is_empty() {
        put(
            buf,
            inner,
            1,
            &Line::from(Span::styled(format!("  {}", s::NO_JOBS), theme.dim)),
        );
        return;
    }
    for (y, (i, j)) in jobs.iter().enumerate().skip(off).take(rows).enumerate() {
        let y = y as u16 + 1;
        let mut spans = Vec::new();
        let marker = if i == sel { "▶ " } else { "  " };
        push(
            &mut spans,
            0,
            Span::styled(
                format!("{marker}{}", cell(j.id.as_str(), usize::from(job_w) - 2)),
                theme.base.add_modifier(Modifier::BOLD),
            ),
        );
        let (age, style) = ckpt_age(snap, j, theme);
        push(&mut spans, 1, Span::styled(rcell(&age, 12), style));
        let from = j
            .newest_verified
            .as_ref()
            .map_or_else(String::new, |c| s::restores_from(&c.id, c.step));
        push(&mut spans, 2, Span::styled(cell(&from, 22), theme.base));
        push(
            &mut spans,
            3,
            Span::styled(rcell(&j.checkpoints.len().to_string(), 6), theme.dim),
        );
        let newest = j
            .checkpoints
            .iter()
            .map(|c| c.created)
            .max()
            .map_or_else(String::new, |t| f::age(snap.now, t));
        push(&mut spans, 4, Span::styled(rcell(&newest, 7), theme.dim));
        if note_w > s::NO_VERIFIED.chars().count() && j.newest_verified.is_none() {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(cell(s::NO_VERIFIED, note_w), theme.danger));
        }
        put(buf, inner, y, &Line::from(spans));
        if i == sel {
            highlight(buf, inner, y, theme.selected);
        }
    }
}

fn draw_inventory(buf: &mut Buffer, area: Rect, snap: &Snapshot, j: &JobView, theme: &Theme) {
    let inner = panel(
        buf,
        area,
        &s::inventory_title(j.id.as_str(), j.checkpoints.len()),
        None,
        theme,
    );
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let content = Rect::new(inner.x + 1, inner.y, inner.width - 1, inner.height);
    let w = usize::from(content.width);
    let (text, style) = match &j.newest_verified {
        Some(c) => {
            let age = snap.now.since(c.created);
            let style = if age > RPO_WARN {
                theme.degraded.add_modifier(Modifier::BOLD)
            } else {
                theme.base
            };
            (s::rpo_line(&f::dur(age), &c.id, c.step), style)
        }
        None => (s::NO_VERIFIED.to_string(), theme.danger),
    };
    let mut y = 0u16;
    for l in wrap(&text, w) {
        put(buf, content, y, &Line::from(Span::styled(l, style)));
        y += 1;
    }
    y += 1;
    if j.checkpoints.is_empty() {
        put(
            buf,
            content,
            y,
            &Line::from(Span::styled(s::NO_CHECKPOINTS, theme.dim)),
        );
        return;
    }
    let id_w = j
        .checkpoints
        .iter()
        .map(|c| width(&c.id))
        .max()
        .unwrap_or(4)
        .clamp(4, 24)
        + 2;
    let loc_w = j
        .checkpoints
        .iter()
        .map(|c| width(&c.location))
        .max()
        .unwrap_or(8);
    let col = |width: usize, keep: u8| Col {
        width: width as u16,
        keep,
    };
    let cols = [
        col(id_w, 100),
        col(8, 90),
        col(7, 85),
        col(9, 60),
        col(loc_w.min(20), 80),
        col(10, 95),
        col(12, 30),
    ];
    let shown = choose(&cols, content.width);
    let used: u16 = cols
        .iter()
        .zip(&shown)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c.width + 1)
        .sum();
    // WHERE grows into what is left, up to its longest value.
    let mut widths: Vec<usize> = cols.iter().map(|c| usize::from(c.width)).collect();
    if shown[4] {
        widths[4] =
            (widths[4] + usize::from(content.width.saturating_sub(used))).min(loc_w.max(widths[4]));
    }
    let push = |spans: &mut Vec<Span<'static>>, k: usize, span: Span<'static>| {
        if shown[k] {
            if !spans.is_empty() {
                spans.push(Span::raw(" "));
            }
            spans.push(span);
        }
    };
    let head = theme.dim.add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    for (k, label) in s::CKPT_COLS.iter().enumerate() {
        let text = match k {
            1..=3 => rcell(label, widths[k]),
            _ => cell(label, widths[k]),
        };
        push(&mut spans, k, Span::styled(text, head));
    }
    put(buf, content, y, &Line::from(spans));
    y += 1;
    let restore = j.newest_verified.as_ref().map(|c| c.id.as_str());
    for c in j.checkpoints.iter().rev() {
        if y >= content.height {
            break;
        }
        let mut spans = Vec::new();
        let mark = if Some(c.id.as_str()) == restore {
            s::RESTORE_POINT
        } else {
            " "
        };
        push(
            &mut spans,
            0,
            Span::styled(
                cell(&format!("{mark} {}", c.id), widths[0]),
                theme.base.add_modifier(Modifier::BOLD),
            ),
        );
        push(
            &mut spans,
            1,
            Span::styled(rcell(&c.step.to_string(), widths[1]), theme.base),
        );
        push(
            &mut spans,
            2,
            Span::styled(rcell(&f::age(snap.now, c.created), widths[2]), theme.base),
        );
        push(
            &mut spans,
            3,
            Span::styled(rcell(&f::bytes(c.bytes), widths[3]), theme.dim),
        );
        push(
            &mut spans,
            4,
            Span::styled(cell_mid(&c.location, widths[4]), theme.base),
        );
        let (v, vs) = if c.verified {
            (s::VERIFIED_YES, theme.healthy)
        } else {
            (s::VERIFIED_NO, theme.degraded)
        };
        push(&mut spans, 5, Span::styled(cell(v, widths[5]), vs));
        push(
            &mut spans,
            6,
            Span::styled(
                cell(c.sha256.get(..12).unwrap_or(&c.sha256), widths[6]),
                theme.dim,
            ),
        );
        put(buf, content, y, &Line::from(spans));
        y += 1;
    }
}
