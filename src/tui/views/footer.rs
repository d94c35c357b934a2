//! The footer: the filter line and the last message when there is one, then the keys that
//! work in this view (acting keys left out when read-only).

use super::widgets::{line_width, put};
use crate::core::snapshot::Snapshot;
use crate::tui::action::View;
use crate::tui::select;
use crate::tui::state::{Level, UiState};
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// Whether the status line (filter or message) is shown above the keys.
pub fn status_shown(ui: &UiState) -> bool {
    ui.filter.editing || !ui.filter.text.is_empty() || ui.message.is_some()
}

pub fn height(ui: &UiState) -> u16 {
    1 + u16::from(status_shown(ui))
}

/// The label of `action`'s key: the operator's override (from their keymap) if any, else
/// the default shown here.
fn label(
    ui: &UiState,
    (key, what): (&'static str, &'static str),
    actions: &[&str],
) -> ((String, &'static str), u8) {
    let own: Vec<&str> = actions
        .iter()
        .filter_map(|a| ui.settings.keys.get(*a).map(String::as_str))
        .collect();
    let key = if own.is_empty() {
        key.to_string()
    } else {
        own.join("/")
    };
    ((key, what), 0)
}

/// The keys that work in the current view, in the order shown, each with how long it is
/// kept when the line is short of room (higher is kept longer). `inventory`: the runtime
/// fills the checkpoint inventory (so its rows can be picked and a prune does something).
pub fn keys(ui: &UiState, inventory: bool) -> Vec<((String, &'static str), u8)> {
    let at = |l: ((String, &'static str), u8), keep: u8| (l.0, keep);
    let mut k = vec![
        at(label(ui, s::KEY_HELP, &["help"]), 90),
        at(label(ui, s::KEY_CMD, &["palette"]), 70),
        at(label(ui, s::KEY_FILTER, &["filter"]), 60),
        at(label(ui, s::KEY_MOVE, &[]), 40),
    ];
    match ui.view {
        View::Fleet if ui.detail.is_some() => k.push(at(label(ui, s::KEY_CLOSE, &["back"]), 75)),
        View::Fleet => k.push(at(label(ui, s::KEY_DETAIL, &["select"]), 75)),
        View::Checkpoints if inventory && ui.ckpt_row.is_some() => {
            k.push(at(label(ui, s::KEY_BACK, &["back"]), 75))
        }
        View::Checkpoints if inventory => k.push(at(label(ui, s::KEY_COPIES, &["select"]), 75)),
        View::Drills => {
            let step = ui
                .drills
                .running()
                .is_some_and(|l| l.holding.is_some() || l.asking.is_some());
            let enter = if step {
                s::KEY_DRILL_STEP
            } else {
                s::KEY_DRILL_PLAN
            };
            k.push(at(label(ui, enter, &["select"]), 88));
        }
        _ => {}
    }
    if !ui.settings.readonly {
        let pause = label(ui, s::KEY_PAUSE, &["pause_job", "resume_job"]);
        match ui.view {
            View::Checkpoints if inventory => k.extend([
                at(label(ui, s::KEY_PRUNE, &["prune"]), 86),
                at(label(ui, s::KEY_FAILOVER, &["failover"]), 85),
                at(label(ui, s::KEY_SWITCH, &["switchover"]), 82),
                at(pause, 80),
            ]),
            View::Fleet | View::Jobs | View::Checkpoints => {
                k.extend([
                    at(label(ui, s::KEY_FAILOVER, &["failover"]), 85),
                    at(label(ui, s::KEY_SWITCH, &["switchover"]), 82),
                    at(pause, 80),
                ]);
            }
            View::Tasks => k.extend([at(label(ui, s::KEY_CANCEL, &["cancel"]), 85), at(pause, 80)]),
            View::Events => {}
            View::Drills if ui.drills.running().is_some() => k.extend([
                at(label(ui, s::KEY_DRILL_TO_END, &["drill_run_to_end"]), 86),
                at(label(ui, s::KEY_DRILL_ABORT, &["drill_abort"]), 87),
            ]),
            View::Drills => k.push(at(label(ui, s::KEY_DRILL_START, &["drill_start"]), 87)),
        }
        if ui.settings.demo {
            k.push(at(label(ui, s::KEY_INJECT, &["inject_fault"]), 50));
        }
    }
    k.push(at(label(ui, s::KEY_VIEW, &["next_view"]), 30));
    k.push(at(label(ui, s::KEY_QUIT, &["quit"]), 95));
    k
}

/// The key line: roomy when everything fits, else compact with the least useful keys left
/// out.
fn key_spans(ui: &UiState, inventory: bool, budget: usize, theme: &Theme) -> Vec<Span<'static>> {
    let all = keys(ui, inventory);
    let build = |shown: &[bool], roomy: bool| -> Vec<Span<'static>> {
        let mut v = Vec::new();
        for (((key, what), _), on) in all.iter().zip(shown) {
            if !on {
                continue;
            }
            let key_style = theme.accent.add_modifier(Modifier::BOLD);
            if roomy {
                v.push(Span::styled(format!(" {key}"), key_style));
                v.push(Span::styled(format!(" {what} "), theme.dim));
            } else {
                // Compact: a symbol key sits against its word; pieces two spaces apart.
                let lead = if v.is_empty() { " " } else { "  " };
                let glue = if key.chars().count() == 1 && !key.chars().all(char::is_alphanumeric) {
                    ""
                } else {
                    " "
                };
                v.push(Span::styled(format!("{lead}{key}"), key_style));
                v.push(Span::styled(format!("{glue}{what}"), theme.dim));
            }
        }
        v
    };
    let mut shown = vec![true; all.len()];
    let roomy = build(&shown, true);
    if line_width(&roomy) <= budget {
        return roomy;
    }
    loop {
        let compact = build(&shown, false);
        if line_width(&compact) <= budget {
            return compact;
        }
        let victim = all
            .iter()
            .enumerate()
            .filter(|(i, _)| shown[*i])
            .min_by_key(|(_, (_, keep))| *keep)
            .map(|(i, _)| i);
        match victim {
            Some(i) => shown[i] = false,
            None => return compact,
        }
    }
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let keys_row = area.height.saturating_sub(1);
    if status_shown(ui) && area.height >= 2 {
        draw_status(buf, area, snap, ui, theme);
    }
    let w = usize::from(area.width);
    let ro = if ui.settings.readonly {
        vec![Span::styled(
            format!(" {} ", s::READ_ONLY_NOTE),
            theme.danger,
        )]
    } else {
        Vec::new()
    };
    let inventory = select::has_inventory(snap);
    let mut spans = key_spans(ui, inventory, w.saturating_sub(line_width(&ro)), theme);
    let used = line_width(&spans);
    if !ro.is_empty() {
        spans.push(Span::raw(
            " ".repeat(w.saturating_sub(used + line_width(&ro))),
        ));
        spans.extend(ro);
    }
    put(buf, area, keys_row, &Line::from(spans));
}

fn draw_status(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let mut spans = Vec::new();
    if ui.filter.editing || !ui.filter.text.is_empty() {
        spans.push(Span::styled(
            format!(" {}", s::FILTER_PROMPT),
            theme.accent.add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(ui.filter.text.clone(), theme.base));
        if ui.filter.editing {
            spans.push(Span::styled("█", theme.accent));
        }
        let total = match ui.view {
            View::Fleet => snap.hosts.len(),
            View::Jobs | View::Checkpoints => snap.jobs.len(),
            View::Tasks => snap.jobs.iter().filter(|j| j.task.is_some()).count(),
            View::Events => ui.events.len(),
            View::Drills => ui.drills.rows("").len(),
        };
        let shown = select::row_count(snap, ui);
        spans.push(Span::styled(s::filter_count(shown, total), theme.dim));
    }
    if let Some(m) = &ui.message {
        let style = match m.level {
            Level::Info => theme.accent,
            Level::Warn => theme.degraded,
            Level::Error => theme.danger,
        };
        let text = format!(" {} ", m.text);
        let used = line_width(&spans);
        let w = usize::from(area.width);
        let tw = text.chars().count();
        if used == 0 {
            spans.push(Span::styled(text, style));
        } else if used + 2 + tw <= w {
            spans.push(Span::raw(" ".repeat(w - used - tw)));
            spans.push(Span::styled(text, style));
        } else {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(text, style));
        }
    }
    put(buf, area, area.height.saturating_sub(2), &Line::from(spans));
}
