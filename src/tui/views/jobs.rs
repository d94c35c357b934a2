//! The Jobs view: a compact list of jobs (state, placement, heartbeat, checkpoint age, why)
//! over the recovery detail of the selected one.

use super::format as f;
use super::recovery;
use super::widgets::list_panel;
use super::widgets::{cell, choose, highlight, panel, put, rcell, Col};
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::{JobView, Snapshot};
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use std::time::Duration;

/// A verified checkpoint older than this is a large RPO exposure.
pub const RPO_WARN: Duration = Duration::from_secs(15 * 60);

/// The list's height: every job if it fits in about two fifths of the body.
pub fn list_height(area: Rect, jobs: usize) -> u16 {
    let cap = (area.height * 2 / 5).max(5);
    (jobs as u16).saturating_add(3).min(cap).min(area.height)
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let jobs = select::jobs(snap, ui);
    let sel = select::index(snap, ui, View::Jobs);
    let lh = list_height(area, jobs.len());
    let list = Rect::new(area.x, area.y, area.width, lh);
    draw_list(buf, list, snap, &jobs, sel, theme);
    let detail = Rect::new(area.x, area.y + lh, area.width, area.height - lh);
    if detail.height < 3 {
        return;
    }
    match jobs.get(sel) {
        Some(j) => recovery::draw(buf, detail, snap, ui, j, theme),
        None => {
            let inner = panel(buf, detail, " — ", None, theme);
            put(
                buf,
                inner,
                0,
                &Line::from(Span::styled(format!(" {}", s::NO_JOB_SELECTED), theme.dim)),
            );
        }
    }
}

const K_JOB: usize = 0;
const K_STATE: usize = 1;
const K_ON: usize = 2;
const K_HOME: usize = 3;
const K_EPOCH: usize = 4;
const K_STEP: usize = 5;
const K_HB: usize = 6;
const K_CKPT: usize = 7;
const K_BUDGET: usize = 8;
const K_WHY: usize = 9;

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
        &s::jobs_title(jobs.len()),
        jobs.len(),
        sel,
        rows,
        false,
        theme,
    );
    if inner.height == 0 {
        return;
    }
    let w = inner.width;
    let wide = w >= 120;
    let job_w = jobs
        .iter()
        .map(|j| j.id.as_str().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(6, 18) as u16;
    let place_w = jobs
        .iter()
        .map(|j| {
            j.placement
                .to_string()
                .chars()
                .count()
                .max(j.home.to_string().chars().count())
        })
        .max()
        .unwrap_or(4)
        .clamp(4, 18) as u16;
    let c = |width: u16, keep: u8| Col { width, keep };
    let cols = [
        c(job_w + 2, 100),
        c(if wide { 21 } else { 12 }, 95),
        c(place_w, 80),
        c(place_w, 30),
        c(5, 40),
        c(9, 35),
        c(6, 70),
        c(7, 65),
        c(6, 45),
    ];
    let mut shown = choose(&cols, w);
    let used: u16 = cols
        .iter()
        .zip(&shown)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c.width + 1)
        .sum();
    let why_w = usize::from(w.saturating_sub(used));
    shown.push(why_w >= 10);
    let widths: Vec<usize> = cols
        .iter()
        .map(|c| usize::from(c.width))
        .chain([why_w])
        .collect();
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
    for (k, label) in s::JOB_COLS.iter().enumerate() {
        let text = match k {
            K_JOB => cell(&format!("  {label}"), widths[k]),
            K_EPOCH | K_STEP | K_HB | K_CKPT | K_BUDGET => rcell(label, widths[k]),
            _ => cell(label, widths[k]),
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
            K_JOB,
            Span::styled(
                format!("{marker}{}", cell(j.id.as_str(), widths[K_JOB] - 2)),
                theme.base.add_modifier(Modifier::BOLD),
            ),
        );
        let paused = j.paused_by.is_some() || snap.automation.paused_by.is_some();
        let (state, state_style) = match s::paused_state(j.state, paused, wide) {
            Some(p) => (p, theme.degraded.add_modifier(Modifier::BOLD)),
            None if wide => (j.state.as_str().to_string(), theme.recovery(j.state)),
            None => (s::state_short(j.state).to_string(), theme.recovery(j.state)),
        };
        push(
            &mut spans,
            K_STATE,
            Span::styled(cell(&state, widths[K_STATE]), state_style),
        );
        let away = j.placement != j.home;
        push(
            &mut spans,
            K_ON,
            Span::styled(
                cell(&j.placement.to_string(), widths[K_ON]),
                if away { theme.degraded } else { theme.base },
            ),
        );
        push(
            &mut spans,
            K_HOME,
            Span::styled(cell(&j.home.to_string(), widths[K_HOME]), theme.dim),
        );
        push(
            &mut spans,
            K_EPOCH,
            Span::styled(rcell(&j.epoch.to_string(), widths[K_EPOCH]), theme.dim),
        );
        let step = j.last_step.map_or_else(String::new, f::count);
        push(
            &mut spans,
            K_STEP,
            Span::styled(rcell(&step, widths[K_STEP]), theme.base),
        );
        let hb = j.progress_at.map(|t| snap.now.since(t));
        let hb_style = hb_style(j, hb, theme);
        push(
            &mut spans,
            K_HB,
            Span::styled(
                rcell(&hb.map_or_else(String::new, f::dur), widths[K_HB]),
                hb_style,
            ),
        );
        let (ck, ck_style) = ckpt_age(snap, j, theme);
        push(
            &mut spans,
            K_CKPT,
            Span::styled(rcell(&ck, widths[K_CKPT]), ck_style),
        );
        let over = j.failovers_in_window >= j.restart_budget;
        push(
            &mut spans,
            K_BUDGET,
            Span::styled(
                rcell(
                    &format!("{}/{}", j.failovers_in_window, j.restart_budget),
                    widths[K_BUDGET],
                ),
                if over { theme.degraded } else { theme.dim },
            ),
        );
        push(
            &mut spans,
            K_WHY,
            Span::styled(cell(&j.why, widths[K_WHY]), theme.dim),
        );
        put(buf, inner, y, &Line::from(spans));
        if i == sel {
            highlight(buf, inner, y, theme.selected);
        }
    }
}

fn hb_style(j: &JobView, hb: Option<Duration>, theme: &Theme) -> Style {
    if j.state != RecoveryState::Running {
        return theme.dim;
    }
    match hb {
        Some(d) if d.as_secs() >= 60 => theme.degraded,
        _ => theme.base,
    }
}

/// The age of the newest verified checkpoint, styled by how much work it puts at risk.
pub fn ckpt_age(snap: &Snapshot, j: &JobView, theme: &Theme) -> (String, Style) {
    match &j.newest_verified {
        Some(c) => {
            let age = snap.now.since(c.created);
            let style = if age > RPO_WARN {
                theme.degraded
            } else {
                theme.base
            };
            (f::dur(age), style)
        }
        None => (s::NONE.to_string(), theme.danger),
    }
}
