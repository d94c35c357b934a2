//! A drill run in the drills view: folded in from its notices (steps, holds, clocks, RTO
//! phases, stop conditions, rollbacks), stepped, run to the end and aborted (confirmed);
//! and the view's own keys.

use super::action::{Action, Request, View};
use super::dialog::Focus;
use super::drills_fixture::*;
use super::state::Overlay;
use super::update::note;
use crate::core::identity::Role;
use crate::core::time::Ts;
use crate::protocol::drill::Answer;
use crate::tui::drills::StepState;
use crate::tui::update_drills::answered;

#[test]
fn the_run_is_folded_in_from_its_notices_and_the_operator_steps_it() {
    let (snap, mut ui) = on_view();
    attached(&mut ui, Role::Operator);
    mid_run(&mut ui);
    assert_eq!(
        std::mem::take(&mut ui.drills.want),
        vec![Request::DrillPlan {
            name: "job-crash".into()
        }],
        "another screen started it: the plan is asked for its pending steps"
    );
    let l = ui.drills.running().cloned().unwrap();
    assert_eq!(l.steps.len(), 2);
    assert_eq!(l.steps[0].state, StepState::Passed);
    assert_eq!(l.steps[0].title, "[diagnose] Look at the job");
    assert_eq!(l.steps[0].output, "train running on a (epoch 1), step 120");
    assert_eq!(l.steps[1].output, "killed train on a");
    assert!(l
        .holding
        .as_deref()
        .is_some_and(|h| h.starts_with("3. [observe]")));
    assert_eq!(l.stops.len(), 2);
    assert!(l.stops.iter().all(|s| s.1));

    // Enter steps; r runs to the end; a step under way refuses another.
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        Some(Request::DrillStep)
    );
    note(
        &mut ui,
        &drill(9_000, "step_started", "3. [observe] Lifeboat notices"),
    );
    assert_eq!(press(&mut ui, &snap, &[Action::Select]), None);
    assert!(ui.message.clone().unwrap().text.contains("is under way"));
    assert_eq!(
        press(&mut ui, &snap, &[Action::DrillRunToEnd]),
        Some(Request::DrillRunToEnd)
    );
    assert_eq!(
        press(&mut ui, &snap, &[Action::DrillStart]),
        None,
        "one drill at a time"
    );

    // A manual step waits: Enter confirms it.
    note(&mut ui, &drill(9_500, "waiting", "page the on-call"));
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        Some(Request::DrillStep)
    );

    // The clocks: since the injection, detection fixed, RTO ticking until it recovers.
    let l = ui.drills.running().cloned().unwrap();
    let c = crate::tui::views::drill_run::clocks(&l, Ts(T0 + 20_100));
    assert!(c.contains("since injection 15s …"), "{c}");
    assert!(c.contains("detection 3.2s"), "{c}");
    assert!(c.contains("RTO 15s …"), "{c}");
    note(
        &mut ui,
        &drill(21_100, "recovered", "RTO 16.0s; RPO 20 steps (31.5s)"),
    );
    let l = ui.drills.running().cloned().unwrap();
    let c = crate::tui::views::drill_run::clocks(&l, Ts(T0 + 40_000));
    assert!(c.contains("RTO 16s"), "{c}");
    assert!(c.contains("RPO 20 steps (31.5s)"), "{c}");

    // A stop condition fires; the abort dialog names the plan's rollbacks; the end.
    answered(&mut ui, &snap, Answer::DrillPlan(Box::new(plan(None))));
    note(
        &mut ui,
        &drill(
            22_000,
            "stop",
            "other-job-interrupted: FIRED — llama is failing_over",
        ),
    );
    let l = ui.drills.running().cloned().unwrap();
    assert!(l
        .stops
        .iter()
        .any(|s| !s.1 && s.2 == "llama is failing_over"));
    press(&mut ui, &snap, &[Action::DrillAbort]);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no abort dialog")
    };
    assert_eq!(d.focus, Focus::Cancel);
    assert!(d.lines.join(" ").contains("clear-faults"), "{:?}", d.lines);
    let r = press(&mut ui, &snap, &[Action::FocusNext, Action::Select]);
    assert_eq!(
        r,
        Some(Request::DrillAbort {
            reason: "aborted from the console".into()
        })
    );
    note(
        &mut ui,
        &drill(23_000, "rollback", "clear-faults: cleared 1 fault"),
    );
    note(
        &mut ui,
        &drill(
            24_000,
            "finished",
            "aborted: alice: aborted from the console; report in /s/drills/x",
        ),
    );
    assert!(ui.drills.running().is_none());
    let l = ui.drills.live.clone().unwrap();
    assert_eq!(l.status(), Some("aborted"));
    assert_eq!(
        l.rollbacks,
        vec!["clear-faults: cleared 1 fault".to_string()]
    );
    assert_eq!(
        std::mem::take(&mut ui.drills.want),
        vec![Request::DrillCatalogue],
        "results changed"
    );
    assert!(ui.drill.is_none(), "the banner is gone");
}

#[test]
fn the_drills_keys_are_its_own_only_in_its_view() {
    use super::keymap::{Context, Keymap};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let k = Keymap::default();
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        k.action(Context::Normal, View::Drills, key('s')),
        Some(Action::DrillStart)
    );
    assert_eq!(
        k.action(Context::Normal, View::Drills, key('r')),
        Some(Action::DrillRunToEnd)
    );
    assert_eq!(
        k.action(Context::Normal, View::Drills, key('x')),
        Some(Action::DrillAbort)
    );
    assert_eq!(
        k.action(Context::Normal, View::Jobs, key('s')),
        Some(Action::Switchover)
    );
    assert_eq!(
        k.action(Context::Normal, View::Jobs, key('6')),
        Some(Action::GoView(View::Drills))
    );
    let help = k.help_lines(Context::Normal, View::Drills);
    assert!(help[0].1.starts_with("drills:"), "{help:?}");
    assert!(!k
        .help_lines(Context::Normal, View::Jobs)
        .iter()
        .any(|l| l.1.starts_with("drills:")));
}

#[test]
fn a_replayed_history_asks_for_the_plan_of_a_run_still_under_way_only() {
    let (_snap, mut ui) = on_view();
    ui.drills.want.clear();
    let old = |what: &'static str, detail: &str| crate::protocol::notice::Notice::Drill {
        ts: Ts(T0),
        run: "old-restore-test".into(),
        runbook: "restore-test".into(),
        what: what.into(),
        detail: detail.into(),
    };
    note(
        &mut ui,
        &old("started", "alice runs it: jobs train; hosts a"),
    );
    note(&mut ui, &old("finished", "passed: fine"));
    mid_run(&mut ui);
    assert_eq!(
        ui.drills.want,
        vec![
            Request::DrillCatalogue,
            Request::DrillPlan {
                name: "job-crash".into()
            }
        ]
    );
}
