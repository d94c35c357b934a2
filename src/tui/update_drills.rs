//! The drills view's keys: Enter shows the selected runbook's plan (or, in a guided
//! drill, runs the next step), `s` starts one (its plan, then its name typed), `r` runs
//! the guided drill to its end, `x` aborts (confirmed). Who may act is said at the key;
//! the supervisor enforces it again.

use super::action::{Action, Request, View};
use super::dialog::Dialog;
use super::state::{Level, Overlay, UiState};
use super::strings as s;
use super::update::{say, Ctx};
use crate::core::identity::Role;
use crate::protocol::drill::Answer;
use crate::protocol::screen::LinkState;

/// Why this console may not act on drills, if it may not.
fn refusal(ui: &UiState, what: &str) -> Option<String> {
    if ui.settings.readonly {
        return Some(s::drill_readonly(what));
    }
    match &ui.link {
        Some(LinkState::Attached { identity, .. }) if !identity.role.may(Role::Operator) => {
            Some(s::drill_role(&identity.name, identity.role.as_str(), what))
        }
        _ => None,
    }
}

/// Refuses with a message when this console may not act.
fn allowed(ui: &mut UiState, cx: &Ctx, what: &str) -> bool {
    match refusal(ui, what) {
        Some(why) => {
            say(ui, cx.snap, Level::Warn, why);
            false
        }
        None => true,
    }
}

/// The selected runbook's name.
pub fn selected(ui: &UiState) -> Option<String> {
    let rows = ui.drills.rows(&ui.filter.text);
    let i = ui.selected.get(&View::Drills).copied().unwrap_or(0);
    rows.get(i.min(rows.len().saturating_sub(1)))
        .map(|r| r.name.clone())
}

/// A key in the drills view; `None` when it is not one of the view's own.
pub(super) fn key(ui: &mut UiState, cx: &Ctx, action: &Action) -> Option<Option<Request>> {
    let live = ui.drills.running().cloned();
    let out = match action {
        Action::Select => match &live {
            Some(l) if l.holding.is_some() || l.asking.is_some() => {
                if !allowed(ui, cx, "stepping a drill") {
                    return Some(None);
                }
                Some(Request::DrillStep)
            }
            Some(l) => {
                let step = l.steps.last().map_or("a step", |st| st.title.as_str());
                say(ui, cx.snap, Level::Info, s::drill_step_busy(step));
                None
            }
            None => plan(ui, cx),
        },
        Action::DrillStart => {
            if !allowed(ui, cx, "starting a drill") {
                return Some(None);
            }
            if let Some(l) = &live {
                say(ui, cx.snap, Level::Warn, s::drill_busy(&l.runbook));
                return Some(None);
            }
            let req = plan(ui, cx);
            ui.drills.starting = selected(ui).filter(|_| req.is_some());
            req
        }
        Action::DrillRunToEnd => {
            if !allowed(ui, cx, "running a drill to its end") {
                return Some(None);
            }
            if live.is_none() {
                say(ui, cx.snap, Level::Info, s::DRILL_NONE_RUNNING);
                return Some(None);
            }
            Some(Request::DrillRunToEnd)
        }
        Action::DrillAbort => {
            if !allowed(ui, cx, "aborting a drill") {
                return Some(None);
            }
            let Some(l) = live else {
                say(ui, cx.snap, Level::Info, s::DRILL_NONE_RUNNING);
                return Some(None);
            };
            let rollbacks = ui
                .drills
                .plan_of(&l.runbook)
                .map(|p| p.rollbacks.clone())
                .unwrap_or_default();
            let d = Dialog::drill_abort(cx.snap, &l.runbook, &l.run, &rollbacks);
            ui.overlay = Overlay::Dialog(Box::new(d));
            None
        }
        _ => return None,
    };
    Some(out)
}

/// Asks for the selected runbook's plan.
fn plan(ui: &mut UiState, cx: &Ctx) -> Option<Request> {
    let Some(name) = selected(ui) else {
        say(ui, cx.snap, Level::Info, s::DRILL_PICK);
        return None;
    };
    say(ui, cx.snap, Level::Info, s::drill_asking_plan(&name));
    Some(Request::DrillPlan { name })
}

/// An answer arrived: kept; a plan this console asked to start opens the typed-name
/// dialog, or says why it cannot start.
pub fn answered(ui: &mut UiState, snap: &crate::core::snapshot::Snapshot, answer: Answer) {
    ui.drills.answered(answer);
    let Some(p) = ui.drills.plan.clone() else {
        return;
    };
    if ui.drills.starting.as_deref() != Some(p.runbook.as_str()) {
        if ui
            .message
            .as_ref()
            .is_some_and(|m| m.text == s::drill_asking_plan(&p.runbook))
        {
            ui.message = None;
        }
        return;
    }
    ui.drills.starting = None;
    match &p.refused {
        Some(why) => say(
            ui,
            snap,
            Level::Warn,
            s::drill_cannot_start(&p.runbook, why),
        ),
        None if ui.overlay.is_none() => {
            ui.message = None;
            ui.overlay = Overlay::Dialog(Box::new(Dialog::drill_start(snap, &p)));
        }
        None => {}
    }
}

/// What entering the drills view asks: a fresh catalogue.
pub fn entered(ui: &mut UiState) -> Option<Request> {
    ui.drills.want.retain(|w| *w != Request::DrillCatalogue);
    Some(Request::DrillCatalogue)
}
