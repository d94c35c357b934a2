//! The `:` palette's keys (typing, completing, running) and what each palette command
//! does to the console; `update` hands the palette's keys here.

use super::action::{Action, Request};
use super::dialog::Dialog;
use super::palette::{self, PaletteCommand};
use super::state::{Level, Overlay, Palette, UiState};
use super::strings as s;
use super::update::{go, open, prune, say, Ctx};
use crate::core::io::Command;

pub(super) fn palette_key(
    ui: &mut UiState,
    cx: &Ctx,
    mut p: Palette,
    action: Action,
) -> Option<Request> {
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
        // A named job goes to the core, which says why if it does not wait for a human.
        PaletteCommand::Acknowledge(Some(job)) if !ui.settings.readonly => {
            say(ui, snap, Level::Info, s::acknowledging(job.as_str()));
            Some(Request::Core(Command::Acknowledge { job }))
        }
        PaletteCommand::Acknowledge(_) => super::update::acknowledge(ui, cx, None),
        PaletteCommand::Prune(job) => prune(ui, cx, find(&job).as_ref()),
        PaletteCommand::Readiness(job) => super::readiness::open(ui, cx, find(&job).as_ref()),
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
        PaletteCommand::View(v) => go(ui, v),
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
        PaletteCommand::Quit if ui.settings.supervisor_here => {
            ui.overlay = crate::tui::state::Overlay::Dialog(Box::new(
                crate::tui::dialog::Dialog::stop_supervising(snap),
            ));
            None
        }
        PaletteCommand::Quit => Some(Request::Quit),
    }
}
