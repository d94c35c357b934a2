//! The built-in bindings: every bindable action by its keymap-file name, and the default
//! keys of each context, which make [`Keymap::default`] and order the `?` help.

use super::{Binding, Context, Key, Keymap};
use crate::tui::action::{Action, View};

/// Every action a key can be bound to, by the name a keymap file uses.
pub(super) const NAMES: [(&str, Action); 39] = [
    ("quit", Action::Quit),
    ("next_view", Action::NextView),
    ("prev_view", Action::PrevView),
    ("view_fleet", Action::GoView(View::Fleet)),
    ("view_jobs", Action::GoView(View::Jobs)),
    ("view_checkpoints", Action::GoView(View::Checkpoints)),
    ("view_tasks", Action::GoView(View::Tasks)),
    ("view_events", Action::GoView(View::Events)),
    ("view_drills", Action::GoView(View::Drills)),
    ("up", Action::Up),
    ("down", Action::Down),
    ("page_up", Action::PageUp),
    ("page_down", Action::PageDown),
    ("top", Action::Top),
    ("bottom", Action::Bottom),
    ("select", Action::Select),
    ("back", Action::Back),
    ("help", Action::Help),
    ("palette", Action::Palette),
    ("filter", Action::Filter),
    ("focus_next", Action::FocusNext),
    ("focus_prev", Action::FocusPrev),
    ("failover", Action::Failover),
    ("switchover", Action::Switchover),
    ("pause_job", Action::PauseJob),
    ("resume_job", Action::ResumeJob),
    ("pause_all", Action::PauseAll),
    ("resume_all", Action::ResumeAll),
    ("cancel", Action::Cancel),
    ("acknowledge", Action::Acknowledge),
    ("inject_fault", Action::InjectFault),
    ("prune", Action::Prune),
    ("readiness", Action::Readiness),
    ("next_theme", Action::NextTheme),
    ("drill_start", Action::DrillStart),
    ("drill_run_to_end", Action::DrillRunToEnd),
    ("drill_abort", Action::DrillAbort),
    ("backspace", Action::Backspace),
    ("complete", Action::Complete),
];

/// The name a keymap file uses for `action`, if it can be bound.
pub fn action_name(action: &Action) -> Option<&'static str> {
    NAMES.iter().find(|(_, a)| a == action).map(|(n, _)| *n)
}

/// One row of a default table: the action, its default keys, and what it does there.
pub(super) type Row = (Action, &'static [&'static str], &'static str);

pub(super) const NORMAL: [Row; 32] = [
    (Action::Help, &["?"], "help: every key"),
    (Action::Palette, &[":"], "command palette"),
    (Action::Filter, &["/"], "filter the rows"),
    (Action::NextView, &["tab"], "next view"),
    (Action::PrevView, &["shift-tab"], "previous view"),
    (Action::GoView(View::Fleet), &["1"], "fleet view"),
    (Action::GoView(View::Jobs), &["2"], "jobs view"),
    (
        Action::GoView(View::Checkpoints),
        &["3"],
        "checkpoints view",
    ),
    (Action::GoView(View::Tasks), &["4"], "tasks view"),
    (Action::GoView(View::Events), &["5"], "events view"),
    (Action::GoView(View::Drills), &["6"], "drills view"),
    (Action::Down, &["j", "down"], "next row"),
    (Action::Up, &["k", "up"], "previous row"),
    (Action::PageDown, &["pgdn", "ctrl-d"], "page down"),
    (Action::PageUp, &["pgup", "ctrl-u"], "page up"),
    (Action::Top, &["g", "home"], "first row"),
    (Action::Bottom, &["G", "end"], "last row"),
    (Action::Select, &["enter"], "open the selected row"),
    (Action::Back, &["esc"], "close the detail, clear the filter"),
    (Action::Failover, &["f"], "fail the selected job over…"),
    (
        Action::Readiness,
        &["w"],
        "check: would a failover work now?",
    ),
    (Action::Switchover, &["s"], "planned switchover of the job…"),
    (Action::PauseJob, &["p"], "pause automation for the job…"),
    (Action::ResumeJob, &["r"], "resume automation for the job…"),
    (Action::PauseAll, &["P"], "pause automation for every job…"),
    (
        Action::ResumeAll,
        &["R"],
        "resume automation for every job…",
    ),
    (Action::Cancel, &["c"], "cancel the job's recovery or task…"),
    (
        Action::Acknowledge,
        &["a"],
        "acknowledge an escalated job (needs a human)",
    ),
    (Action::Prune, &["D"], "prune the job's checkpoints…"),
    (Action::InjectFault, &["x"], "inject a fault (demo fleet)…"),
    (Action::NextTheme, &["t"], "next colour theme"),
    (Action::Quit, &["q", "ctrl-c"], "quit"),
];

pub(super) const TEXT: [Row; 5] = [
    (Action::Select, &["enter"], "run / accept"),
    (
        Action::Complete,
        &["tab"],
        "complete the word; in a dialog, next field",
    ),
    (
        Action::FocusPrev,
        &["shift-tab"],
        "in a dialog, previous field",
    ),
    (
        Action::Backspace,
        &["backspace"],
        "delete the last character",
    ),
    (Action::Back, &["esc", "ctrl-c"], "cancel"),
];

pub(super) const DIALOG: [Row; 6] = [
    (
        Action::FocusNext,
        &["tab", "right", "l"],
        "next field or button",
    ),
    (
        Action::FocusPrev,
        &["shift-tab", "left", "h"],
        "previous field or button",
    ),
    (Action::Down, &["j", "down"], "next target in the list"),
    (Action::Up, &["k", "up"], "previous target in the list"),
    (Action::Select, &["enter"], "press the focused button"),
    (Action::Back, &["esc", "q", "ctrl-c"], "cancel and close"),
];

pub(super) const HELP: [Row; 7] = [
    (Action::Down, &["j", "down"], "scroll down"),
    (Action::Up, &["k", "up"], "scroll up"),
    (Action::PageDown, &["pgdn", "ctrl-d"], "page down"),
    (Action::PageUp, &["pgup", "ctrl-u"], "page up"),
    (Action::Top, &["g", "home"], "top"),
    (Action::Bottom, &["G", "end"], "bottom"),
    (Action::Back, &["esc", "q", "?", "ctrl-c"], "close the help"),
];

/// The drills view's keys, before the normal ones there (so `s`, `r`, `x` mean the drill).
pub(super) const DRILLS: [Row; 4] = [
    (
        Action::Select,
        &["enter"],
        "drills: show the plan; in a guided drill, run the next step",
    ),
    (
        Action::DrillStart,
        &["s"],
        "drills: start the selected drill (plan, then type its name)…",
    ),
    (
        Action::DrillRunToEnd,
        &["r"],
        "drills: run the guided drill to its end",
    ),
    (
        Action::DrillAbort,
        &["x"],
        "drills: abort the drill (its rollbacks run)…",
    ),
];

/// The default table of `ctx`.
pub(super) fn rows(ctx: Context) -> &'static [Row] {
    match ctx {
        Context::Normal => &NORMAL,
        Context::Text => &TEXT,
        Context::Dialog => &DIALOG,
        Context::Help => &HELP,
        Context::Drills => &DRILLS,
    }
}

impl Default for Keymap {
    fn default() -> Self {
        let table = |ctx: Context| {
            rows(ctx)
                .iter()
                .map(|(action, keys, what)| Binding {
                    action: action.clone(),
                    keys: keys.iter().filter_map(|k| Key::parse(k).ok()).collect(),
                    what,
                })
                .collect()
        };
        Keymap {
            tables: Context::ALL.map(table),
        }
    }
}
