//! The Drills view: the runbooks (shipped and the team's) with their last result and RTO
//! trend, and below them either the run under way — its steps, live clocks, stop
//! conditions and rollbacks — or the selected runbook's plan as checked on the fleet.

use super::format as f;
use super::widgets::{cell, clip, highlight, list_panel, panel, put, spark};
use crate::core::drill::engine::Status;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::drill::{DrillEntry, DrillPlan};
use crate::tui::action::View;
use crate::tui::drills::{LiveRun, StepState};
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
        (Some(l), _) => draw_live(buf, detail, snap, ui, l, theme),
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
fn lines_panel(buf: &mut Buffer, area: Rect, title: &str, lines: &[Line<'static>], theme: &Theme) {
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

fn mark(ok: bool, theme: &Theme) -> Span<'static> {
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

fn join_or_none(v: &[String]) -> String {
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

/// A clock: fixed once `end` is known, else ticking to `now` (marked `…`).
fn clock(from: Ts, end: Option<Ts>, now: Ts) -> String {
    match end {
        Some(e) => f::age(e.max(from), from),
        None => format!("{} {}", f::age(now.max(from), from), s::DRILL_CLOCK_WAIT),
    }
}

/// The live clocks: since start and since the injection, detection, RTO and RPO.
pub fn clocks(l: &LiveRun, now: Ts) -> String {
    let end = l.finished.as_ref().map(|x| x.0);
    let now = now.max(l.last_heard());
    let mut parts = vec![format!(
        "{} {}",
        s::CLOCK_SINCE_START,
        clock(l.started, end, now)
    )];
    if let Some((at, _)) = &l.injected {
        parts.push(format!(
            "{} {}",
            s::CLOCK_SINCE_INJECTION,
            clock(*at, end, now)
        ));
        let det = l.detected.as_ref().map(|d| d.0).or(end);
        let det = match (l.detected.is_some(), det) {
            (false, Some(_)) => "not detected".into(),
            _ => clock(*at, det, now),
        };
        parts.push(format!("{} {det}", s::CLOCK_DETECTION));
        let rto = match (&l.recovered, end) {
            (Some((r, _)), _) => f::age(*r, *at),
            (None, Some(_)) => "not recovered".into(),
            (None, None) => clock(*at, None, now),
        };
        parts.push(format!("{} {rto}", s::CLOCK_RTO));
        if let Some(rpo) = l.recovered.as_ref().and_then(|r| r.1.split_once("; ")) {
            parts.push(rpo.1.to_string());
        }
    }
    parts.join(" · ")
}

/// The RTO's phases: each recovery state a target job entered, at its time since the
/// injection (the last one ticking while it lasts), then the failover's steps.
pub fn phases(l: &LiveRun, now: Ts, theme: &Theme) -> Option<Line<'static>> {
    let (at, _) = l.injected.as_ref()?;
    if l.phases.is_empty() {
        return None;
    }
    let mut spans = vec![Span::styled(format!("{}: ", s::CLOCK_PHASES), theme.title)];
    let end = l.finished.as_ref().map(|x| x.0);
    let now = now.max(l.last_heard());
    let many = l.jobs.len() > 1;
    for (i, (ts, job, to)) in l.phases.iter().enumerate() {
        let who = if many {
            format!("{job} ")
        } else {
            String::new()
        };
        let mut text = format!("{who}{to} +{}", f::age(*ts, *at));
        if i + 1 == l.phases.len() && end.is_none() {
            text.push_str(&format!(" ({})", clock(*ts, None, now)));
        }
        if i > 0 {
            spans.push(Span::styled(" → ", theme.dim));
        }
        spans.push(Span::styled(text, theme.base));
    }
    for (step, ms, ok) in &l.failover {
        spans.push(Span::styled(" · ", theme.dim));
        spans.push(mark(*ok, theme));
        spans.push(Span::styled(format!("{step} {}", f::ms(*ms)), theme.dim));
    }
    Some(Line::from(spans))
}

fn draw_live(
    buf: &mut Buffer,
    area: Rect,
    snap: &Snapshot,
    ui: &UiState,
    l: &LiveRun,
    theme: &Theme,
) {
    let plan = ui.drills.plan_of(&l.runbook);
    let mut v = Vec::new();
    let (head, style) = if let Some((_, d)) = &l.finished {
        let st = match l.status() {
            Some("passed") => theme.healthy,
            Some("failed") => theme.failed,
            _ => theme.degraded,
        };
        (s::drill_finished(d), st.add_modifier(Modifier::BOLD))
    } else if let Some(p) = &l.asking {
        (
            s::drill_asking(p),
            theme.danger.add_modifier(Modifier::BOLD),
        )
    } else if let Some(h) = &l.holding {
        (
            s::drill_holding(h),
            theme.accent.add_modifier(Modifier::BOLD),
        )
    } else {
        (l.who.clone(), theme.base)
    };
    v.push(Line::from(Span::styled(head, style)));
    v.push(Line::from(Span::styled(clocks(l, ui.wall), theme.accent)));
    for job in plan.map(|p| p.jobs.as_slice()).unwrap_or(&[]) {
        if let Some(j) = snap.jobs.iter().find(|j| j.id.as_str() == job) {
            v.push(Line::from(vec![
                Span::styled(format!("{}: ", s::CLOCK_PHASE), theme.title),
                Span::styled(
                    format!("{} {} ", j.id, j.state.as_str()),
                    theme.recovery(j.state),
                ),
                Span::styled(format!("— {}", j.reason), theme.dim),
            ]));
        }
    }
    if let Some(line) = phases(l, ui.wall, theme) {
        v.push(line);
    }
    let n = plan.map_or(0, |p| p.steps.len()).max(l.steps.len());
    for i in 0..n {
        let (word, st) = match l.steps.get(i).map(|x| x.state) {
            None => (s::DRILL_STEP_PENDING, theme.dim),
            Some(StepState::Running) => (s::DRILL_STEP_RUNNING, theme.accent),
            Some(StepState::Passed) => (s::DRILL_STEP_PASSED, theme.healthy),
            Some(StepState::Failed) => (s::DRILL_STEP_FAILED, theme.failed),
        };
        let title = match (l.steps.get(i), plan.and_then(|p| p.steps.get(i))) {
            (Some(x), _) => x.title.clone(),
            (None, Some(p)) => format!("[{}] {}", p.kind, p.title),
            (None, None) => String::new(),
        };
        let mut spans = vec![
            Span::styled(format!("{:>2}. ", i + 1), theme.dim),
            Span::styled(cell(word, 8), st),
            Span::styled(title, theme.base),
        ];
        if let Some(x) = l.steps.get(i).filter(|x| !x.output.is_empty()) {
            spans.push(Span::styled(
                format!(" — {}", clip(&x.output, 200)),
                theme.dim,
            ));
        }
        v.push(Line::from(spans));
    }
    let mut stops = vec![Span::styled(format!("{}: ", s::DRILL_STOPS), theme.title)];
    if l.stops.is_empty() {
        let names = plan
            .map(|p| join_or_none(&p.stop_conditions))
            .unwrap_or_default();
        stops.push(Span::styled(names, theme.dim));
    }
    for (name, holds, why) in &l.stops {
        stops.push(mark(*holds, theme));
        let text = if *holds {
            format!("{name}  ")
        } else {
            format!("{name} FIRED: {why}  ")
        };
        stops.push(Span::styled(
            text,
            if *holds { theme.base } else { theme.danger },
        ));
    }
    v.push(Line::from(stops));
    for r in &l.rollbacks {
        let st = if r.contains("FAILED") {
            theme.failed
        } else {
            theme.base
        };
        v.push(Line::from(vec![
            Span::styled("rollback ", theme.title),
            Span::styled(r.clone(), st),
        ]));
    }
    lines_panel(
        buf,
        area,
        &s::drill_run_title(&l.runbook, &l.run),
        &v,
        theme,
    );
}
