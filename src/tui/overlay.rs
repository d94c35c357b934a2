//! Overlays drawn over the base screen: the help sheet, the `:` palette and dialogs.

use super::dialog::{Dialog, Focus};
use super::keymap::Context;
use super::state::{Overlay, Palette, UiState};
use super::theme::Theme;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// A centred box `w`×`h`, clamped to the screen.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let [r] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(r);
    c
}

/// Whose keys the help sheet lists: the screen under it, not the sheet itself.
pub fn help_context(ui: &UiState) -> Context {
    match Context::of(ui) {
        Context::Help => Context::Normal,
        c => c,
    }
}

/// Draws whatever overlay is open. `help` lists (keys, what) for [`help_context`].
pub fn draw(frame: &mut Frame, ui: &UiState, theme: &Theme, help: &[(String, String)]) {
    match &ui.overlay {
        Overlay::None => {}
        Overlay::Help => draw_help(frame, theme, help),
        Overlay::Palette(p) => draw_palette(frame, theme, p),
        Overlay::Dialog(d) => draw_dialog(frame, theme, d),
        Overlay::Readiness(p) => super::views::readiness::draw(frame, theme, p),
    }
}

fn draw_help(frame: &mut Frame, theme: &Theme, help: &[(String, String)]) {
    let screen = frame.area();
    // As many columns as it takes to fit the screen's height.
    let rows_fit = usize::from(screen.height.saturating_sub(4)).max(1);
    let cols = help.len().div_ceil(rows_fit).max(1);
    let rows = help.len().div_ceil(cols);
    let keyw = help
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4)
        .min(18);
    let room = usize::from(screen.width.saturating_sub(2)) / cols;
    let whatw = help
        .iter()
        .map(|(_, w)| w.chars().count())
        .max()
        .unwrap_or(10)
        .min(40)
        .min(room.saturating_sub(keyw + 4));
    let colw = keyw + whatw + 4;
    let width = (colw * cols + 2).min(usize::from(screen.width)) as u16;
    let area = centered(screen, width, rows as u16 + 4);
    frame.render_widget(Clear, area);
    let lines: Vec<Line> = (0..rows)
        .map(|r| {
            let mut spans = Vec::new();
            for c in 0..cols {
                if let Some((k, what)) = help.get(c * rows + r) {
                    let what: String = what.chars().take(whatw).collect();
                    spans.push(Span::styled(format!(" {k:<keyw$}  "), theme.accent));
                    spans.push(Span::styled(format!("{what:<whatw$} "), theme.base));
                }
            }
            Line::from(spans)
        })
        .collect();
    let block = Block::default()
        .title(Span::styled(" Keys here — Esc closes ", theme.title))
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border)
        .style(theme.dialog);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_palette(frame: &mut Frame, theme: &Theme, p: &Palette) {
    let screen = frame.area();
    let shown = p.suggestions.len().min(8) as u16;
    let h = 3 + shown + u16::from(p.error.is_some());
    let area = Rect {
        x: screen.x,
        y: screen.bottom().saturating_sub(h + 1),
        width: screen.width,
        height: h.min(screen.height),
    };
    frame.render_widget(Clear, area);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", theme.accent),
        Span::styled(p.input.clone(), theme.base),
        Span::styled("█", theme.accent),
    ])];
    if let Some(e) = &p.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.danger)));
    }
    for s in p.suggestions.iter().take(8) {
        lines.push(Line::from(Span::styled(format!("  {s}"), theme.dim)));
    }
    let block = Block::default()
        .title(Span::styled(
            " command — Tab completes, Enter runs, Esc closes ",
            theme.title,
        ))
        .borders(Borders::ALL)
        .border_style(theme.border)
        .style(theme.dialog);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn button(label: &str, focused: bool, style: Style) -> Span<'static> {
    let text = if focused {
        format!("▶ {label} ◀")
    } else {
        format!("  {label}  ")
    };
    let s = if focused {
        style.add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        style
    };
    Span::styled(text, s)
}

fn draw_dialog(frame: &mut Frame, theme: &Theme, d: &Dialog) {
    let screen = frame.area();
    let width = screen.width.saturating_sub(4).min(90);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(c) = &d.changed {
        lines.push(Line::from(Span::styled(format!("⚠ {c}"), theme.danger)));
        lines.push(Line::default());
    }
    for l in &d.lines {
        lines.push(Line::from(Span::styled(l.clone(), theme.base)));
    }
    if d.choices.len() > 1 {
        lines.push(Line::default());
        let head = if d.focus == Focus::Pick {
            "Target (↑/↓ to choose, Tab to go on):"
        } else {
            "Target (Tab to here to change it):"
        };
        lines.push(Line::from(Span::styled(head, theme.accent)));
        for (i, c) in d.choices.iter().enumerate() {
            let mut label = c
                .as_ref()
                .map_or("down the strategy chain".to_string(), |t| t.to_string());
            if let Some(n) = d.notes.get(i).filter(|n| !n.is_empty()) {
                label.push_str(&format!("  ({n})"));
            }
            let mark = if i == d.choice { "●" } else { "○" };
            let style = if d.refused.get(i).copied().unwrap_or(false) {
                theme.danger
            } else if i == d.choice {
                theme.accent.add_modifier(Modifier::BOLD)
            } else {
                theme.dim
            };
            lines.push(Line::from(Span::styled(format!("  {mark} {label}"), style)));
        }
    }
    if let Some(req) = &d.require {
        lines.push(Line::default());
        let cursor = if d.focus == Focus::Typing { "█" } else { "" };
        let field = if d.focus == Focus::Typing {
            theme.accent.add_modifier(Modifier::UNDERLINED)
        } else {
            theme.base
        };
        lines.push(Line::from(vec![
            Span::styled(format!("Type {req} to confirm: "), theme.base),
            Span::styled(format!("{}{cursor}", d.typed), field),
        ]));
    }
    if let Some(e) = &d.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.danger)));
    }
    lines.push(Line::default());
    let confirm = if d.ready() { theme.danger } else { theme.dim };
    lines.push(Line::from(vec![
        button("Cancel", d.focus == Focus::Cancel, theme.base),
        Span::raw("    "),
        button("Confirm", d.focus == Focus::Confirm, confirm),
    ]));
    lines.push(Line::from(Span::styled(
        "Tab moves · Enter presses · Esc cancels",
        theme.dim,
    )));
    let inner_w = width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_w))
        .sum();
    let area = centered(screen, width, rows as u16 + 2);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .title(Span::styled(format!(" {} ", d.title), theme.danger))
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.danger)
        .style(theme.dialog);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
