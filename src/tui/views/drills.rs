//! The Drills view: the runbooks (shipped and the team's) with their last result and RTO
//! trend, and below them either the run under way (`drill_run`) or the selected runbook's
//! plan as checked on the fleet.

use super::format as f;
use super::widgets::{cell, highlight, list_panel, panel, put, spark};
use crate::core::drill::engine::Status;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::drill::{DrillEntry, DrillPlan};
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use crate::tui::update_drills::selected;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use std::collections::VecDeque;

const W_NAME: usize = 20;
const W_SCEN: usize = 18;
const W_LAST: usize = 20;
const W_TREND: usize = 16;

/// The list's height in `body` for `n` runbooks: all of them when they fit in 2/5.
pub fn list_height(body: Rect, n: usize) -> u16 {
    let want = n as u16 + 3;
    want.min((body.height * 2 / 5).max(6)).min(body.height)
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let rows = ui.drills.rows(&ui.filter.text);
    let lh = list_height(area, rows.len());
    let list = Rect::new(area.x, area.y, area.width, lh);
    let detail = Rect::new(area.x, area.y + lh, area.width, area.height - lh);
    let sel = select::index(snap, ui, View::Drills);
    let fit = usize::from(list.height.saturating_sub(3));
    let (inner, off) = list_panel(
        buf,
        list,
        s::DRILLS_TITLE,
        rows.len(),
        sel,
        fit,
        false,
        theme,
    );
    let head = [
        cell(&format!("  {}", s::DRILL_COLS[0]), W_NAME + 2),
        cell(s::DRILL_COLS[1], W_SCEN),
        cell(s::DRILL_COLS[2], W_LAST),
        cell(s::DRILL_COLS[3], W_TREND),
        s::DRILL_COLS[4].to_string(),
    ]
    .join(" ");
    put(buf, inner, 0, &Line::from(Span::styled(head, theme.title)));
    if rows.is_empty() {
        let text = match &ui.drills.catalogue {
            None => s::DRILLS_LOADING,
            Some(_) => s::DRILLS_NONE_MATCH,
        };
        put(
            buf,
            inner,
            1,
            &Line::from(Span::styled(format!(" {text}"), theme.dim)),
        );
    }
    let body = Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1),
    );
    for (y, (i, r)) in rows.iter().enumerate().skip(off).take(fit).enumerate() {
        let mark = if i == sel { "▶ " } else { "  " };
        put(buf, body, y as u16, &entry_line(r, mark, ui.wall, theme));
        if i == sel {
            highlight(buf, body, y as u16, theme.selected);
        }
    }
    if detail.height < 3 {
        return;
    }
    let name = selected(ui);
    let live = ui
        .drills
        .live
        .as_ref()
        .filter(|l| l.running() || name.as_deref() == Some(l.runbook.as_str()));
    match (live, name.as_deref().and_then(|n| ui.drills.plan_of(n))) {
        (Some(l), _) => super::drill_run::draw(buf, detail, snap, ui, l, theme),
        (None, Some(p)) => draw_plan(buf, detail, p, theme),
        (None, None) => draw_about(buf, detail, rows.get(sel).copied(), theme),
    }
}

fn status_style(status: Status, theme: &Theme) -> Style {
    match status {
        Status::Passed => theme.healthy,
        Status::Failed => theme.failed,
        Status::Aborted | Status::Interrupted => theme.degraded,
    }
}

/// The RTO trend: a sparkline of the last runs' RTOs and the last one.
pub fn trend(r: &DrillEntry) -> String {
    let rtos: VecDeque<u64> = r
        .runs
        .iter()
        .filter_map(|p| p.rto_s)
        .map(|v| (v * 10.0).round() as u64)
        .collect();
    let Some(last) = rtos.back().copied() else {
        return "—".into();
    };
    let hi = rtos.iter().copied().max().unwrap_or(1);
    let line = spark(Some(&rtos), 0, hi, rtos.len());
    format!(
        "{line} {}",
        f::dur(std::time::Duration::from_millis(last * 100))
    )
}

fn entry_line(r: &DrillEntry, mark: &str, now: Ts, theme: &Theme) -> Line<'static> {
    let mut spans = vec![
        Span::styled(mark.to_string(), theme.accent),
        Span::styled(
            cell(&r.name, W_NAME),
            theme.base.add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::styled(cell(&r.scenario, W_SCEN), theme.dim),
        Span::raw(" "),
    ];
    match r.last() {
        Some(p) => {
            let st = p.status.as_str();
            let text = format!("{st} {} ago", f::age(now.max(p.ended), p.ended));
            spans.push(Span::styled(
                cell(&text, W_LAST),
                status_style(p.status, theme),
            ));
        }
        None => spans.push(Span::styled(cell(s::DRILL_NEVER, W_LAST), theme.dim)),
    }
    spans.push(Span::raw(" "));
    spans.push(Span::styled(cell(&trend(r), W_TREND), theme.accent));
    spans.push(Span::raw(" "));
    let title = format!("{} ({})", r.title, s::drill_team(r.team));
    spans.push(Span::styled(title, theme.base));
    Line::from(spans)
}

/// Draws `lines` inside a panel titled `title`, clipped to it.
pub(super) fn lines_panel(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    lines: &[Line<'static>],
    theme: &Theme,
) {
    let inner = panel(buf, area, title, None, theme);
    let content = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    for (y, l) in lines.iter().take(usize::from(content.height)).enumerate() {
        put(buf, content, y as u16, l);
    }
}

pub(super) fn mark(ok: bool, theme: &Theme) -> Span<'static> {
    if ok {
        Span::styled("✓ ", theme.healthy)
    } else {
        Span::styled("✗ ", theme.failed)
    }
}

/// The plan lines: targets, blast radius, each precondition, every step, the rest.
pub fn plan_lines(p: &DrillPlan, theme: &Theme) -> Vec<Line<'static>> {
    let mut v = vec![Line::from(vec![
        Span::styled(
            format!("{} v{}", p.title, p.version),
            theme.base.add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" ({})", p.scenario), theme.dim),
    ])];
    v.push(Line::from(Span::styled(
        s::drill_targets(&p.jobs, &p.hosts, p.max_hosts, p.max_jobs),
        theme.base,
    )));
    v.push(match &p.refused {
        Some(why) => Line::from(Span::styled(s::drill_refused(why), theme.danger)),
        None => Line::from(Span::styled(s::drill_ready(&p.runbook), theme.healthy)),
    });
    v.push(Line::from(Span::styled(s::DRILL_PLAN_PRE, theme.title)));
    for c in &p.preconditions {
        v.push(Line::from(vec![
            Span::raw("  "),
            mark(c.ok, theme),
            Span::styled(format!("{}: {}", c.what, c.why), theme.base),
        ]));
    }
    v.push(Line::from(Span::styled(s::DRILL_PLAN_STEPS, theme.title)));
    for (i, st) in p.steps.iter().enumerate() {
        v.push(Line::from(vec![
            Span::styled(format!("  {}. [{}] ", i + 1, st.kind), theme.accent),
            Span::styled(format!("{} — ", st.title), theme.base),
            Span::styled(st.does.clone(), theme.dim),
        ]));
    }
    v.push(Line::from(vec![
        Span::styled(format!("{}: ", s::DRILL_STOPS), theme.title),
        Span::styled(join_or_none(&p.stop_conditions), theme.base),
    ]));
    v.push(Line::from(vec![
        Span::styled(format!("{}: ", s::DRILL_ROLLBACKS), theme.title),
        Span::styled(join_or_none(&p.rollbacks), theme.base),
    ]));
    v
}

pub(super) fn join_or_none(v: &[String]) -> String {
    if v.is_empty() {
        s::DRILL_NO_STOPS.into()
    } else {
        v.join(", ")
    }
}

fn draw_plan(buf: &mut Buffer, area: Rect, p: &DrillPlan, theme: &Theme) {
    let title = format!(" Plan of {} (checked on the fleet now) ", p.runbook);
    lines_panel(buf, area, &title, &plan_lines(p, theme), theme);
}

fn draw_about(buf: &mut Buffer, area: Rect, r: Option<&DrillEntry>, theme: &Theme) {
    let Some(r) = r else {
        lines_panel(buf, area, " Drill ", &[], theme);
        return;
    };
    let mut v = vec![Line::from(Span::styled(
        r.title.clone(),
        theme.base.add_modifier(Modifier::BOLD),
    ))];
    for l in super::widgets::wrap(&r.description, usize::from(area.width.saturating_sub(4))) {
        v.push(Line::from(Span::styled(l, theme.base)));
    }
    if let Some(p) = r.last() {
        v.push(Line::from(vec![
            Span::styled("last run: ", theme.title),
            Span::styled(
                format!("{} {} — {}", p.run, p.status.as_str(), p.why),
                status_style(p.status, theme),
            ),
        ]));
    }
    v.push(Line::from(Span::styled(s::DRILL_PLAN_HINT, theme.dim)));
    lines_panel(buf, area, &format!(" Drill {} ", r.name), &v, theme);
}
