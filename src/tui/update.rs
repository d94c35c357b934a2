//! `update`: the console's reducer. It changes only `UiState` and may return a `Request`
//! for the runtime. `observe` and `note` (in `fold`, re-exported here) fold in new
//! snapshots and notices.

use super::action::{Action, Request, View};
use super::dialog::{Dialog, Focus, Pressed};
use super::palette;
use super::select;
use super::state::{Level, Message, Overlay, Palette, UiState};
use super::strings as s;
use super::update_palette::palette_key;
use crate::core::io::Command;
use crate::core::outlook::needs_human;
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::{JobView, Snapshot};

pub use super::fold::{note, observe};

/// What `update` needs besides the state: the world as last seen and the theme names.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub themes: &'a [String],
}

pub(super) fn say(ui: &mut UiState, snap: &Snapshot, level: Level, text: impl Into<String>) {
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
        Overlay::Readiness(p) => super::readiness::key(ui, p, action),
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
        Action::Char(c) => d.type_char(c),
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
                let text = match &req {
                    Request::Prune { copies, .. } => s::prune_started(&d.title, copies.len()),
                    _ => format!("{}: sent", d.title),
                };
                say(ui, cx.snap, Level::Info, text);
                return Some(req);
            }
            Pressed::Stay => {}
        },
        _ => {}
    }
    ui.overlay = Overlay::Dialog(d);
    None
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
    ui.ckpt_row = None;
}

/// Shows view `v`; entering the drills view asks for its runbooks.
pub(super) fn go(ui: &mut UiState, v: View) -> Option<Request> {
    if ui.view != v {
        ui.view = v;
        ui.filter = Default::default();
        ui.detail = None;
        ui.ckpt_row = None;
        if v == View::Drills {
            return super::update_drills::entered(ui);
        }
    }
    None
}

/// Whether ↑↓ move through the selected job's catalogued checkpoints, not the jobs.
fn in_inventory(ui: &UiState) -> bool {
    ui.view == View::Checkpoints && ui.ckpt_row.is_some()
}

fn move_sel(ui: &mut UiState, cx: &Ctx, delta: i64) {
    if in_inventory(ui) {
        let n = select::selected_job(cx.snap, ui)
            .map_or(0, |j| select::inventory(cx.snap, j.id.as_str()).len()) as i64;
        let at = select::ckpt_index(ui, n as usize) as i64;
        ui.ckpt_row = Some((at + delta).clamp(0, (n - 1).max(0)) as usize);
        return;
    }
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
pub(super) fn open(ui: &mut UiState, cx: &Ctx, d: Option<Dialog>, what: &str) -> Option<Request> {
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

/// Opens the prune dialog for `job`; with nothing to remove, says so instead.
pub(super) fn prune(ui: &mut UiState, cx: &Ctx, job: Option<&JobView>) -> Option<Request> {
    let Some(j) = job.filter(|_| !ui.settings.readonly) else {
        return open(ui, cx, None, "prune");
    };
    match Dialog::prune(cx.snap, j) {
        Some(d) => open(ui, cx, Some(d), "prune"),
        None => {
            let text = if select::has_inventory(cx.snap) {
                s::nothing_to_prune(j.id.as_str())
            } else {
                s::PRUNE_NO_STORES.to_string()
            };
            say(ui, cx.snap, Level::Info, text);
            None
        }
    }
}

/// Acknowledges `job` if it waits for a human, else the first job in the strip that
/// nobody has acknowledged. Not destructive, so no dialog; refused when read-only.
pub(super) fn acknowledge(ui: &mut UiState, cx: &Ctx, job: Option<&JobView>) -> Option<Request> {
    if ui.settings.readonly {
        return open(ui, cx, None, "acknowledge");
    }
    let waiting = |j: &&JobView| {
        j.state == RecoveryState::Escalating
            && j.escalation
                .as_ref()
                .is_none_or(|e| e.acknowledged.is_none())
    };
    let pick = job
        .filter(waiting)
        .or_else(|| needs_human(cx.snap).into_iter().find(waiting));
    let Some(j) = pick else {
        say(ui, cx.snap, Level::Info, s::NOTHING_TO_ACK);
        return None;
    };
    say(ui, cx.snap, Level::Info, s::acknowledging(j.id.as_str()));
    Some(Request::Core(Command::Acknowledge { job: j.id.clone() }))
}

fn normal(ui: &mut UiState, cx: &Ctx, action: Action) -> Option<Request> {
    let snap = cx.snap;
    if ui.view == View::Drills {
        if let Some(req) = super::update_drills::key(ui, cx, &action) {
            return req;
        }
    }
    let job = select::selected_job(snap, ui).cloned();
    match action {
        // The console that is the supervisor asks first: quitting leaves the fleet unwatched.
        Action::Quit if ui.settings.supervisor_here => {
            ui.overlay = Overlay::Dialog(Box::new(Dialog::stop_supervising(snap)));
        }
        Action::Quit => return Some(Request::Quit),
        Action::NextView => return go(ui, ui.view.next()),
        Action::PrevView => return go(ui, ui.view.prev()),
        Action::GoView(v) | Action::ClickTab(v) => return go(ui, v),
        Action::Up | Action::ScrollUp => move_sel(ui, cx, -1),
        Action::Down | Action::ScrollDown => move_sel(ui, cx, 1),
        Action::PageUp => move_sel(ui, cx, -10),
        Action::PageDown => move_sel(ui, cx, 10),
        Action::Top => move_sel(ui, cx, i64::MIN / 2),
        Action::Bottom => move_sel(ui, cx, i64::MAX / 2),
        Action::ClickRow(r) => {
            if r < select::row_count(snap, ui) {
                ui.selected.insert(ui.view, r);
                ui.ckpt_row = None;
            }
        }
        Action::Select if ui.view == View::Fleet => {
            let host = select::selected_host(snap, ui).map(|h| h.id.to_string());
            ui.detail = if ui.detail == host { None } else { host };
        }
        Action::Select if ui.view == View::Checkpoints => {
            let rows = job
                .as_ref()
                .map_or(0, |j| select::inventory(snap, j.id.as_str()).len());
            ui.ckpt_row = match ui.ckpt_row {
                None if rows > 0 => Some(0),
                _ => None,
            };
        }
        Action::Select => {}
        Action::Back => {
            ui.detail = None;
            ui.ckpt_row = None;
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
        Action::Acknowledge => return acknowledge(ui, cx, job.as_ref()),
        Action::Prune => return prune(ui, cx, job.as_ref()),
        Action::Readiness => return super::readiness::open(ui, cx, job.as_ref()),
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
        // Outside the drills view these keys mean nothing.
        Action::DrillStart | Action::DrillRunToEnd | Action::DrillAbort => {}
        Action::FocusNext
        | Action::FocusPrev
        | Action::Char(_)
        | Action::Backspace
        | Action::Complete => {}
    }
    None
}
