//! The drill under way (or the last one seen) in the Drills view: what it waits for, the
//! live clocks ticking on this side from the notices' instants (since the start and the
//! injection, detection, RTO and its phases, RPO once known), each step's state and
//! output, the stop conditions and the rollbacks.

use super::drills::{join_or_none, lines_panel, mark};
use super::format as f;
use super::widgets::{cell, clip, wrap};
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::tui::drills::{LiveRun, StepState};
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// How many lines the newest step's output may take.
const OUTPUT_LINES: usize = 4;

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

pub fn draw(
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
    // What it waits for, where the report is, and the clocks are read whole: wrapped.
    let w = usize::from(area.width.saturating_sub(4)).max(10);
    for part in wrap(&head, w) {
        v.push(Line::from(Span::styled(part, style)));
    }
    for part in wrap(&clocks(l, ui.wall), w) {
        v.push(Line::from(Span::styled(part, theme.accent)));
    }
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
    // The newest step's output is what the operator reads now: too long for its line, it
    // wraps under its step; earlier outputs keep one line each, so the stop conditions
    // stay in view.
    let newest = l.steps.iter().rposition(|x| !x.output.is_empty());
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
        let title_len = title.chars().count();
        let mut spans = vec![
            Span::styled(format!("{:>2}. ", i + 1), theme.dim),
            Span::styled(cell(word, 8), st),
            Span::styled(title, theme.base),
        ];
        match l.steps.get(i).filter(|x| !x.output.is_empty()) {
            Some(x)
                if Some(i) == newest && 4 + 8 + title_len + 3 + x.output.chars().count() > w =>
            {
                v.push(Line::from(spans));
                let parts = wrap(&x.output, w.saturating_sub(6).max(10));
                let more = parts.len() > OUTPUT_LINES;
                for (k, part) in parts.into_iter().take(OUTPUT_LINES).enumerate() {
                    let part = match more && k + 1 == OUTPUT_LINES {
                        true => format!("{part} …"),
                        false => part,
                    };
                    v.push(Line::from(Span::styled(format!("      {part}"), theme.dim)));
                }
            }
            Some(x) => {
                spans.push(Span::styled(
                    format!(" — {}", clip(&x.output, 200)),
                    theme.dim,
                ));
                v.push(Line::from(spans));
            }
            None => v.push(Line::from(spans)),
        }
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
