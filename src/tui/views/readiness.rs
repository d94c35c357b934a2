//! Draws the failover readiness panel: the verdict first (what a 3 a.m. operator needs),
//! then each strategy and target of the chain with its checks, scrollable.

use super::widgets::escaped;
use crate::core::fleet::StrategyKind;
use crate::core::readiness::CheckState;
use crate::tui::readiness::ReadinessPanel;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(r);
    c
}

/// Screen rows `lines` take when wrapped at `width`.
fn rows(lines: &[Line], width: u16) -> u16 {
    let w = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(w))
        .sum::<usize>()
        .try_into()
        .unwrap_or(u16::MAX)
}

fn state_style(theme: &Theme, st: CheckState) -> Style {
    match st {
        CheckState::Pass => theme.healthy,
        CheckState::Warn => theme.degraded,
        CheckState::Fail => theme.failed,
        CheckState::Unchecked => theme.dim,
    }
}

fn body(p: &ReadinessPanel, theme: &Theme) -> Vec<Line<'static>> {
    let Some(r) = &p.readiness else {
        return vec![Line::from(Span::styled(s::READINESS_GONE, theme.dim))];
    };
    let mut lines = Vec::new();
    for row in &r.strategies {
        let target = row
            .target
            .as_ref()
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        let (word, style) = match (row.strategy, row.ready) {
            (StrategyKind::Escalate, _) => ("", theme.dim),
            (_, true) => ("ready", theme.healthy),
            (_, false) => ("not ready", theme.failed),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<17} {target:<20} ", row.strategy.as_str()),
                theme.accent.add_modifier(Modifier::BOLD),
            ),
            Span::styled(word.to_string(), style.add_modifier(Modifier::BOLD)),
        ]));
        for c in &row.checks {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<4} ", c.state.as_str()),
                    state_style(theme, c.state),
                ),
                Span::styled(format!("{:<10} ", c.name), theme.dim),
                Span::styled(c.detail.clone(), theme.base),
            ]));
        }
    }
    lines
}

pub fn draw(frame: &mut Frame, theme: &Theme, p: &ReadinessPanel) {
    let screen = frame.area();
    let width = screen.width.saturating_sub(4).min(110);
    let inner_w = width.saturating_sub(2);
    let mut head = Vec::new();
    if let Some(r) = &p.readiness {
        let style = if r.would_succeed {
            theme.healthy
        } else {
            theme.failed
        };
        head.push(Line::from(Span::styled(
            s::readiness_verdict(r.would_succeed, &r.reason),
            style.add_modifier(Modifier::BOLD),
        )));
    }
    head.push(Line::from(Span::styled(s::READINESS_INTRO, theme.dim)));
    head.push(Line::default());
    // The facts quote hosts' own words: drawn escaped, like every other line.
    let lines: Vec<Line> = body(p, theme).into_iter().map(escaped).collect();
    let head_h = rows(&head, inner_w);
    let body_h = rows(&lines, inner_w);
    let area = centered(screen, width, head_h + body_h + 3);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .title(Span::styled(
            s::readiness_title(p.job.as_str()),
            theme.title,
        ))
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border)
        .style(theme.dialog);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [top, mid, foot] = Layout::vertical([
        Constraint::Length(head_h.min(inner.height.saturating_sub(2))),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let wrap = Wrap { trim: false };
    frame.render_widget(Paragraph::new(head).wrap(wrap), top);
    // Never scroll past the last screenful.
    let scroll = p.scroll.min(body_h.saturating_sub(mid.height));
    frame.render_widget(Paragraph::new(lines).wrap(wrap).scroll((scroll, 0)), mid);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(s::READINESS_HINT, theme.dim))),
        foot,
    );
}
