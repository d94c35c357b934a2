//! The sections of a job's recovery detail, each a few labelled lines: why, reconnect,
//! pause, strategy chain, step checklist, RTO, restore point, placement, budget, standbys.

use super::format as f;
use super::jobs::RPO_WARN;
use super::widgets::{cell, labelled, line_width, rcell, width};
use crate::core::recovery::{RecoveryState, StepKind};
use crate::core::snapshot::{JobView, Snapshot};
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

pub const GUTTER: usize = 11;

pub fn why(j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    if j.why.is_empty() {
        return Vec::new();
    }
    let style = match j.state {
        RecoveryState::Running | RecoveryState::Resolved => theme.base,
        s => theme.recovery(s).remove_modifier(Modifier::BOLD),
    };
    labelled(
        s::WHY,
        vec![Span::styled(j.why.clone(), style)],
        GUTTER,
        w,
        theme,
    )
}

pub fn reconnect(snap: &Snapshot, j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    if j.state != RecoveryState::Reconnecting && j.next_attempt_at.is_none() {
        return Vec::new();
    }
    let next = j.next_attempt_at.map(|t| f::dur(t.since(snap.now)));
    labelled(
        s::RECONNECT,
        vec![Span::styled(
            s::reconnect_line(j.reconnect_attempt, next.as_deref()),
            theme.reconnecting,
        )],
        GUTTER,
        w,
        theme,
    )
}

pub fn paused(j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    match &j.paused_by {
        Some(who) => labelled(
            s::PAUSED,
            vec![Span::styled(s::paused_job(who), theme.degraded)],
            GUTTER,
            w,
            theme,
        ),
        None => Vec::new(),
    }
}

/// The incident handed to humans: when it paged, who has it, and the newest finding.
pub fn incident(snap: &Snapshot, j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let Some(e) = &j.escalation else {
        return Vec::new();
    };
    let paged = s::paged_ago(&f::age(snap.now, e.at));
    let who = match &e.acknowledged {
        Some((who, at)) => Span::styled(s::acknowledged_by(who, &f::age(snap.now, *at)), theme.dim),
        None => Span::styled(s::NOT_ACKNOWLEDGED, theme.escalating),
    };
    let mut out = labelled(
        s::INCIDENT,
        vec![Span::styled(paged, theme.dim), who],
        GUTTER,
        w,
        theme,
    );
    if let Some((at, what)) = e.evidence.last() {
        let text = s::latest_finding(&f::age(snap.now, *at), what, e.evidence.len());
        out.extend(labelled(
            "",
            vec![Span::styled(text, theme.dim)],
            GUTTER,
            w,
            theme,
        ));
    }
    out
}

pub fn chain(j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let cur = j.strategy.as_deref();
    let ci = cur.and_then(|c| j.strategies.iter().position(|s| s == c));
    let mut spans: Vec<Span<'static>> = Vec::new();
    if let (Some(c), None) = (cur, ci) {
        spans.push(Span::styled(
            format!("▶ {c}"),
            theme.accent.add_modifier(Modifier::BOLD),
        ));
        if !j.strategies.is_empty() {
            spans.push(Span::styled("   ", theme.dim));
        }
    }
    for (i, st) in j.strategies.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" → ", theme.dim));
        }
        let span = match ci {
            Some(c) if i < c => Span::styled(format!("✗ {st}"), theme.dim),
            Some(c) if i == c => {
                Span::styled(format!("▶ {st}"), theme.accent.add_modifier(Modifier::BOLD))
            }
            None if cur.is_some() => Span::styled(st.clone(), theme.dim),
            _ => Span::styled(st.clone(), theme.base),
        };
        spans.push(span);
    }
    if spans.is_empty() {
        spans.push(Span::styled("—", theme.dim));
    }
    let label = if cur.is_some() { s::CHAIN } else { s::PLAN };
    let mut head = vec![Span::styled(cell(label, GUTTER), theme.dim)];
    if line_width(&spans) + GUTTER > w {
        // Too long for one line: keep the marked strategy and what follows it.
        let start = spans
            .iter()
            .position(|s| s.content.starts_with('▶'))
            .unwrap_or(0);
        head.push(Span::styled("… ", theme.dim));
        head.extend(spans.into_iter().skip(start));
    } else {
        head.extend(spans);
    }
    vec![Line::from(head)]
}

pub fn steps(
    snap: &Snapshot,
    j: &JobView,
    w: usize,
    max_rows: usize,
    inline_rto: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut rows: Vec<Line<'static>> = Vec::new();
    let strat_w = j
        .steps
        .iter()
        .map(|r| width(&r.strategy))
        .chain(j.strategy.iter().map(|s| width(s)))
        .max()
        .unwrap_or(8)
        .min(18);
    let step_w = 13;
    let text_w = w.saturating_sub(GUTTER);
    for r in &j.steps {
        let (mark, style) = match (r.ok, r.step) {
            (true, _) => ("✓", theme.healthy),
            (false, StepKind::SelectTarget) => ("↷", theme.dim),
            (false, _) => ("✗", theme.failed),
        };
        let detail = &r.detail;
        let fixed = 2 + strat_w + 1 + step_w + 8;
        let spans = vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(format!("{} ", cell(&r.strategy, strat_w)), theme.dim),
            Span::styled(cell(r.step.as_str(), step_w), theme.base),
            Span::styled(format!("{} ", rcell(&f::ms(r.ms), 7)), theme.base),
            Span::styled(cell(detail, text_w.saturating_sub(fixed)), theme.dim),
        ];
        rows.push(Line::from(spans));
    }
    if let Some(step) = j.step {
        let (elapsed, limit) = match &j.task {
            Some(t) => (
                f::dur(snap.now.since(t.started)),
                Some(f::dur(t.deadline.since(t.started))),
            ),
            None => (String::new(), None),
        };
        let strategy = j.strategy.clone().unwrap_or_default();
        let mut line = vec![
            Span::styled("▶ ", theme.accent.add_modifier(Modifier::BOLD)),
            Span::styled(format!("{} ", cell(&strategy, strat_w)), theme.accent),
            Span::styled(
                cell(step.as_str(), step_w),
                theme.accent.add_modifier(Modifier::BOLD),
            ),
            Span::styled(s::step_running(&elapsed, limit.as_deref()), theme.accent),
        ];
        if inline_rto {
            let rto = format!("  {} {}", s::RTO, f::ms(rto_ms(snap, j)));
            line.push(Span::styled(rto, theme.dim));
        }
        rows.push(Line::from(line));
    }
    if rows.is_empty() {
        return labelled(
            s::STEPS,
            vec![Span::styled(s::NO_STEPS, theme.dim)],
            GUTTER,
            w,
            theme,
        );
    }
    // Keep the latest steps when they do not all fit.
    if rows.len() > max_rows.max(1) {
        let keep = max_rows.max(2) - 1;
        let dropped = rows.len() - keep;
        let mut kept = vec![Line::from(Span::styled(
            s::earlier_steps(dropped),
            theme.dim,
        ))];
        kept.extend(rows.into_iter().skip(dropped));
        rows = kept;
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 {
                cell(s::STEPS, GUTTER)
            } else {
                " ".repeat(GUTTER)
            };
            let mut spans = vec![Span::styled(head, theme.dim)];
            spans.extend(l.spans);
            Line::from(spans)
        })
        .collect()
}

/// The recovery time so far: finished steps plus the running one.
pub fn rto_ms(snap: &Snapshot, j: &JobView) -> u64 {
    let done: u64 = j.steps.iter().map(|r| r.ms).sum();
    let cur = match (j.step, &j.task) {
        (Some(_), Some(t)) => snap.now.since(t.started).as_millis() as u64,
        _ => 0,
    };
    done + cur
}

pub fn rto(snap: &Snapshot, j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    if j.steps.is_empty() && j.step.is_none() {
        return Vec::new();
    }
    let done: u64 = j.steps.iter().map(|r| r.ms).sum();
    let cur = match (j.step, &j.task) {
        (Some(st), Some(t)) => Some((st, snap.now.since(t.started).as_millis() as u64)),
        _ => None,
    };
    let total = done + cur.map_or(0, |(_, ms)| ms);
    let cur_txt = cur.map(|(st, ms)| (st.as_str(), f::ms(ms)));
    let text = s::rto_line(
        &f::ms(total),
        &f::ms(done),
        cur_txt.as_ref().map(|(a, b)| (*a, b.as_str())),
    );
    labelled(
        s::RTO,
        vec![Span::styled(text, theme.base)],
        GUTTER,
        w,
        theme,
    )
}

pub fn checkpoint(snap: &Snapshot, j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let (text, style) = match &j.newest_verified {
        Some(c) => {
            let age = snap.now.since(c.created);
            let style = if age > RPO_WARN {
                theme.degraded
            } else {
                theme.base
            };
            (s::rpo_line(&f::dur(age), &c.id, c.step), style)
        }
        None => (s::NO_VERIFIED.to_string(), theme.danger),
    };
    labelled(
        s::CHECKPOINT,
        vec![Span::styled(text, style)],
        GUTTER,
        w,
        theme,
    )
}

pub fn placement(j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let on = j.placement.to_string();
    let home = j.home.to_string();
    let style = if on == home {
        theme.base
    } else {
        theme.degraded
    };
    labelled(
        s::PLACEMENT,
        vec![Span::styled(
            s::placement_line(&on, &home, &j.epoch.to_string()),
            style,
        )],
        GUTTER,
        w,
        theme,
    )
}

pub fn budget(j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let over = j.failovers_in_window >= j.restart_budget;
    let style = if over { theme.degraded } else { theme.base };
    labelled(
        s::BUDGET,
        vec![Span::styled(
            s::budget_line(j.failovers_in_window, j.restart_budget),
            style,
        )],
        GUTTER,
        w,
        theme,
    )
}

pub fn standbys(j: &JobView, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let text = if j.standbys.is_empty() {
        s::NO_STANDBYS.to_string()
    } else {
        j.standbys
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    labelled(
        s::STANDBYS,
        vec![Span::styled(text, theme.dim)],
        GUTTER,
        w,
        theme,
    )
}
