//! The drills view's keys: the catalogue asked for on entering, the plan on Enter, a start
//! that needs the plan and the runbook's name typed, and refusals for read-only consoles
//! and viewers.

use super::action::{Action, Request, View};
use super::dialog::Focus;
use super::drills_fixture::*;
use super::state::{Level, Overlay};
use crate::core::identity::Role;
use crate::protocol::drill::Answer;
use crate::tui::update_drills::answered;

#[test]
fn entering_the_view_asks_for_the_runbooks_and_enter_for_the_plan() {
    let (snap, mut ui) = on_view();
    assert_eq!(ui.drills.rows("").len(), 3);
    assert_eq!(ui.drills.rows("restore").len(), 1);
    let r = press(&mut ui, &snap, &[Action::Select]);
    assert_eq!(
        r,
        Some(Request::DrillPlan {
            name: "job-crash".into()
        })
    );
    answered(&mut ui, &snap, Answer::DrillPlan(Box::new(plan(None))));
    assert!(ui.overlay.is_none(), "Enter only shows the plan");
    assert!(ui.drills.plan_of("job-crash").is_some());
    press(&mut ui, &snap, &[Action::Down, Action::Down]);
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        Some(Request::DrillPlan {
            name: "restore-test".into()
        })
    );
    // Leaving and coming back asks again: the results may have changed.
    press(&mut ui, &snap, &[Action::GoView(View::Jobs)]);
    assert_eq!(
        press(&mut ui, &snap, &[Action::GoView(View::Drills)]),
        Some(Request::DrillCatalogue)
    );
}

#[test]
fn starting_shows_the_plan_and_needs_the_runbooks_name_typed() {
    let (snap, mut ui) = on_view();
    attached(&mut ui, Role::Operator);
    let r = press(&mut ui, &snap, &[Action::DrillStart]);
    assert_eq!(
        r,
        Some(Request::DrillPlan {
            name: "job-crash".into()
        })
    );
    answered(&mut ui, &snap, Answer::DrillPlan(Box::new(plan(None))));
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog: {:?}", ui.message)
    };
    assert_eq!(d.require.as_deref(), Some("job-crash"));
    assert_eq!(
        d.focus,
        Focus::Cancel,
        "Enter at first sight never starts it"
    );
    let text = d.lines.join("\n");
    for want in [
        "targets: jobs train; hosts a",
        "✓ job-running",
        "2. [inject] Kill the process",
        "clear-faults",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // A wrong name does not start it.
    let mut keys: Vec<Action> = "job-cras".chars().map(Action::Char).collect();
    keys.extend([Action::FocusNext, Action::Select]);
    assert_eq!(press(&mut ui, &snap, &keys), None);
    assert!(matches!(ui.overlay, Overlay::Dialog(_)));
    let mut keys = vec![Action::Char('h'), Action::FocusNext, Action::Select];
    keys.insert(0, Action::Backspace);
    keys.insert(0, Action::Char('x'));
    let r = press(&mut ui, &snap, &keys);
    assert_eq!(
        r,
        Some(Request::DrillGuide {
            name: "job-crash".into()
        }),
        "{:?}",
        ui.overlay
    );
}

#[test]
fn a_plan_that_cannot_start_says_why_and_opens_nothing() {
    let (snap, mut ui) = on_view();
    press(&mut ui, &snap, &[Action::DrillStart]);
    answered(
        &mut ui,
        &snap,
        Answer::DrillPlan(Box::new(plan(Some(
            "a precondition fails: checkpoint-fresh",
        )))),
    );
    assert!(ui.overlay.is_none());
    let m = ui.message.clone().unwrap();
    assert_eq!(m.level, Level::Warn);
    assert!(
        m.text.contains("cannot start: a precondition fails"),
        "{}",
        m.text
    );
}

#[test]
fn read_only_consoles_and_viewers_watch_but_may_not_start_step_or_abort() {
    let (snap, mut ui) = on_view();
    ui.settings.readonly = true;
    for key in [
        Action::DrillStart,
        Action::DrillRunToEnd,
        Action::DrillAbort,
    ] {
        assert_eq!(
            press(&mut ui, &snap, std::slice::from_ref(&key)),
            None,
            "{key:?}"
        );
        let m = ui.message.clone().unwrap();
        assert!(
            m.text.contains("read-only console (--readonly)"),
            "{}",
            m.text
        );
        assert!(m.text.contains("you may watch"), "{}", m.text);
    }
    // The plan may be read.
    assert!(press(&mut ui, &snap, &[Action::Select]).is_some());

    ui.settings.readonly = false;
    attached(&mut ui, Role::Viewer);
    assert_eq!(press(&mut ui, &snap, &[Action::DrillStart]), None);
    let m = ui.message.clone().unwrap();
    assert!(
        m.text
            .contains("vic is a viewer: starting a drill needs the operator role"),
        "{}",
        m.text
    );
    mid_run(&mut ui);
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        None,
        "no stepping"
    );
    assert!(ui
        .message
        .clone()
        .unwrap()
        .text
        .contains("stepping a drill"));
    assert_eq!(press(&mut ui, &snap, &[Action::DrillAbort]), None);
    assert!(ui.overlay.is_none());
}
