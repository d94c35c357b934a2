//! `update`: the console's reducer. It changes only `UiState` and may return a `Request`
//! for the runtime. `observe` and `note` (in `fold`, re-exported here) fold in new
//! snapshots and notices.

use super::action::{Action, Request, View};
use super::dialog::{Dialog, Focus, Pressed};
use super::palette::{self, PaletteCommand};
use super::select;
use super::state::{Level, Message, Overlay, Palette, UiState};
use crate::core::snapshot::Snapshot;

pub use super::fold::{note, observe};

/// What `update` needs besides the state: the world as last seen and the theme names.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub themes: &'a [String],
}

fn say(ui: &mut UiState, snap: &Snapshot, level: Level, text: impl Into<String>) {
    ui.message = Some(Message {
        text: text.into(),
        level,
        at: snap.now,
    });
}

pub fn update(ui: &mut UiState, cx: &Ctx, action: Action) -> Option<Request> {
    match std::mem::take(&mut ui.overlay) {
        Overlay::Dialog(d) => dialog(ui, cx, d, action),
        Overlay::Palette(p) => palette_key(ui, cx, p, action),
        Overlay::Help => {
            if !matches!(
                action,
                Action::Back | Action::Help | Action::Quit | Action::Select
            ) {
                ui.overlay = Overlay::Help;
            }
            None
        }
        Overlay::None if ui.filter.editing => {
            filter_key(ui, action);
            None
        }
        Overlay::None => normal(ui, cx, action),
    }
}

fn dialog(ui: &mut UiState, cx: &Ctx, mut d: Box<Dialog>, action: Action) -> Option<Request> {
    match action {
        Action::Back | Action::Quit => {
            say(
                ui,
                cx.snap,
                Level::Info,
                format!("{}: cancelled, nothing done", d.title),
            );
            return None;
        }
        Action::FocusNext | Action::Complete => d.move_focus(1),
        Action::FocusPrev => d.move_focus(-1),
        Action::Up if d.focus == Focus::Pick => d.choose(cx.snap, -1),
        Action::Down if d.focus == Focus::Pick => d.choose(cx.snap, 1),
        Action::Char(c) if d.focus == Focus::Typing => {
            d.typed.push(c);
            d.error = None;
        }
        Action::Backspace if d.focus == Focus::Typing => {
            d.typed.pop();
        }
        Action::Select => match d.enter() {
            Pressed::Close => {
                say(
                    ui,
                    cx.snap,
                    Level::Info,
                    format!("{}: cancelled, nothing done", d.title),
                );
                return None;
            }
            Pressed::Confirmed(req) => {
                say(ui, cx.snap, Level::Info, format!("{}: sent", d.title));
                return Some(req);
            }
            Pressed::Stay => {}
        },
        _ => {}
    }
    ui.overlay = Overlay::Dialog(d);
    None
}

fn palette_key(ui: &mut UiState, cx: &Ctx, mut p: Palette, action: Action) -> Option<Request> {
    match action {
        Action::Back => return None,
        Action::Char(c) => {
            p.input.push(c);
            p.error = None;
        }
        Action::Backspace => {
            p.input.pop();
            p.error = None;
        }
        Action::Complete => {
            let all = palette::complete(&p.input, cx.snap, cx.themes);
            if let Some(first) = all.first() {
                // One candidate, or several sharing a longer prefix: fill it in.
                let common = common_prefix(&all);
                let partial = if p.input.ends_with(' ') {
                    ""
                } else {
                    p.input.rsplit(' ').next().unwrap_or("")
                };
                if all.len() == 1 {
                    p.input = palette::apply_completion(&p.input, first);
                } else if common.len() > partial.len() {
                    p.input = palette::apply_completion(&p.input, &common)
                        .trim_end()
                        .to_string();
                }
            }
        }
        Action::Select => {
            return match palette::parse(&p.input, cx.snap, cx.themes) {
                Ok(cmd) => run_palette(ui, cx, cmd),
                Err(e) => {
                    p.error = Some(e);
                    ui.overlay = Overlay::Palette(p);
                    None
                }
            };
        }
        _ => {}
    }
    p.suggestions = palette::complete(&p.input, cx.snap, cx.themes);
    ui.overlay = Overlay::Palette(p);
    None
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut n = first.len();
    for w in words {
        n = n.min(
            first
                .chars()
                .zip(w.chars())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first.chars().take(n).collect()
}

fn filter_key(ui: &mut UiState, action: Action) {
    match action {
        Action::Char(c) => ui.filter.text.push(c),
        Action::Backspace => {
            ui.filter.text.pop();
        }
        Action::Select => ui.filter.editing = false,
        Action::Back => {
            ui.filter.text.clear();
            ui.filter.editing = false;
        }
        _ => {}
    }
    ui.selected.insert(ui.view, 0);
}

fn go(ui: &mut UiState, v: View) {
    if ui.view != v {
        ui.view = v;
        ui.filter = Default::default();
        ui.detail = None;
    }
}

fn move_sel(ui: &mut UiState, cx: &Ctx, delta: i64) {
    let n = select::row_count(cx.snap, ui) as i64;
    let at = select::index(cx.snap, ui, ui.view) as i64;
    let to = (at + delta).clamp(0, (n - 1).max(0));
    if ui.view == View::Events && to >= n - 1 {
        // Back on the newest line: follow the log again.
        ui.selected.remove(&View::Events);
    } else {
        ui.selected.insert(ui.view, to as usize);
    }
}

/// Refuses when read-only; otherwise opens `d`.
fn open(ui: &mut UiState, cx: &Ctx, d: Option<Dialog>, what: &str) -> Option<Request> {
    if ui.settings.readonly {
        say(
            ui,
            cx.snap,
            Level::Warn,
            format!("read-only console (--readonly): {what} refused, nothing changed"),
        );
        return None;
    }
    match d {
        Some(d) => ui.overlay = Overlay::Dialog(Box::new(d)),
        None => say(
            ui,
            cx.snap,
            Level::Warn,
            format!("{what}: select a job first"),
        ),
    }
    None
}

fn normal(ui: &mut UiState, cx: &Ctx, action: Action) -> Option<Request> {
    let snap = cx.snap;
    let job = select::selected_job(snap, ui).cloned();
    match action {
        Action::Quit => return Some(Request::Quit),
        Action::NextView => go(ui, ui.view.next()),
        Action::PrevView => go(ui, ui.view.prev()),
        Action::GoView(v) | Action::ClickTab(v) => go(ui, v),
        Action::Up | Action::ScrollUp => move_sel(ui, cx, -1),
        Action::Down | Action::ScrollDown => move_sel(ui, cx, 1),
        Action::PageUp => move_sel(ui, cx, -10),
        Action::PageDown => move_sel(ui, cx, 10),
        Action::Top => move_sel(ui, cx, i64::MIN / 2),
        Action::Bottom => move_sel(ui, cx, i64::MAX / 2),
        Action::ClickRow(r) => {
            if r < select::row_count(snap, ui) {
                ui.selected.insert(ui.view, r);
            }
        }
        Action::Select if ui.view == View::Fleet => {
            let host = select::selected_host(snap, ui).map(|h| h.id.to_string());
            ui.detail = if ui.detail == host { None } else { host };
        }
        Action::Select => {}
        Action::Back => {
            ui.detail = None;
            ui.filter = Default::default();
            ui.message = None;
        }
        Action::Help => ui.overlay = Overlay::Help,
        Action::Palette => ui.overlay = Overlay::Palette(Palette::default()),
        Action::Filter => ui.filter.editing = true,
        Action::NextTheme => ui.theme_index = ui.theme_index.wrapping_add(1),
        Action::Failover => {
            return open(
                ui,
                cx,
                job.map(|j| Dialog::failover(snap, &j, None)),
                "failover",
            )
        }
        Action::Switchover => {
            return open(
                ui,
                cx,
                job.map(|j| Dialog::switchover(snap, &j, None)),
                "switchover",
            )
        }
        Action::Cancel => return open(ui, cx, job.map(|j| Dialog::cancel(snap, &j)), "cancel"),
        Action::PauseJob => {
            return open(
                ui,
                cx,
                job.map(|j| Dialog::pause(snap, Some(&j), false)),
                "pause",
            )
        }
        Action::ResumeJob => {
            return open(
                ui,
                cx,
                job.map(|j| Dialog::pause(snap, Some(&j), true)),
                "resume",
            )
        }
        Action::PauseAll => return open(ui, cx, Some(Dialog::pause(snap, None, false)), "pause"),
        Action::ResumeAll => return open(ui, cx, Some(Dialog::pause(snap, None, true)), "resume"),
        Action::InjectFault => {
            if ui.settings.readonly {
                return open(ui, cx, None, "fault injection");
            }
            if !ui.settings.demo {
                say(
                    ui,
                    snap,
                    Level::Warn,
                    "fault injection exists only on the simulated demo fleet",
                );
                return None;
            }
            // The palette lists the faults; Tab completes the kind, then the target.
            let mut p = Palette {
                input: "inject ".into(),
                ..Palette::default()
            };
            p.suggestions = palette::complete(&p.input, snap, cx.themes);
            ui.overlay = Overlay::Palette(p);
        }
        Action::FocusNext
        | Action::FocusPrev
        | Action::Char(_)
        | Action::Backspace
        | Action::Complete => {}
    }
    None
}

fn run_palette(ui: &mut UiState, cx: &Ctx, cmd: PaletteCommand) -> Option<Request> {
    let snap = cx.snap;
    let find = |id: &crate::core::ids::JobId| snap.jobs.iter().find(|j| &j.id == id).cloned();
    match cmd {
        PaletteCommand::Failover { job, target } => open(
            ui,
            cx,
            find(&job).map(|j| Dialog::failover(snap, &j, target)),
            "failover",
        ),
        PaletteCommand::Switchover { job, target } => open(
            ui,
            cx,
            find(&job).map(|j| Dialog::switchover(snap, &j, target)),
            "switchover",
        ),
        PaletteCommand::Cancel(job) => open(
            ui,
            cx,
            find(&job).map(|j| Dialog::cancel(snap, &j)),
            "cancel",
        ),
        PaletteCommand::Pause(job) => {
            let j = job.as_ref().and_then(find);
            open(
                ui,
                cx,
                Some(Dialog::pause(snap, j.as_ref(), false)),
                "pause",
            )
        }
        PaletteCommand::Resume(job) => {
            let j = job.as_ref().and_then(find);
            open(
                ui,
                cx,
                Some(Dialog::pause(snap, j.as_ref(), true)),
                "resume",
            )
        }
        PaletteCommand::Inject { kind, target } => {
            if !ui.settings.demo {
                say(
                    ui,
                    snap,
                    Level::Warn,
                    "fault injection exists only on the simulated demo fleet",
                );
                return None;
            }
            open(
                ui,
                cx,
                Some(Dialog::inject(snap, kind, target)),
                "fault injection",
            )
        }
        PaletteCommand::View(v) => {
            go(ui, v);
            None
        }
        PaletteCommand::Theme(name) => {
            if let Some(i) = cx.themes.iter().position(|t| *t == name) {
                ui.theme_index = i;
            }
            None
        }
        PaletteCommand::Help => {
            ui.overlay = Overlay::Help;
            None
        }
        PaletteCommand::Quit => Some(Request::Quit),
    }
}
