//! The console's reducer: dialogs default to Cancel, irreversible actions need the job's
//! name, a changed job makes the dialog ask again, read-only refuses, the palette parses.

use super::action::{Action, Request, View};
use super::dialog::Focus;
use super::state::{Level, Overlay, UiState};
use super::update::{observe, update, Ctx};
use crate::core::harness::{small_fleet, Harness};
use crate::core::ids::{HostId, JobId, Target};
use crate::core::io::Command;
use crate::core::policy::Policy;
use crate::core::snapshot::Snapshot;
use std::time::Duration;

fn world() -> (Harness, Snapshot) {
    let mut hs = Harness::new(small_fleet(), Policy::default());
    hs.run_for(Duration::from_secs(4));
    let snap = hs.core.snapshot();
    (hs, snap)
}

fn ui() -> UiState {
    let mut ui = UiState::default();
    ui.settings.operator = "alice".into();
    ui.view = View::Jobs;
    ui
}

fn press(ui: &mut UiState, snap: &Snapshot, actions: &[Action]) -> Option<Request> {
    let themes = vec!["default".to_string(), "light".to_string()];
    let cx = Ctx {
        snap,
        themes: &themes,
    };
    let mut last = None;
    for a in actions {
        last = update(ui, &cx, a.clone());
    }
    last
}

fn typed(s: &str) -> Vec<Action> {
    s.chars().map(Action::Char).collect()
}

#[test]
fn dialogs_open_on_cancel_and_enter_never_confirms_at_once() {
    let (_hs, snap) = world();
    let mut ui = ui();
    for open in [
        Action::Failover,
        Action::Switchover,
        Action::Cancel,
        Action::PauseJob,
        Action::PauseAll,
    ] {
        press(&mut ui, &snap, std::slice::from_ref(&open));
        let Overlay::Dialog(d) = &ui.overlay else {
            panic!("{open:?}: no dialog")
        };
        assert_eq!(d.focus, Focus::Cancel, "{open:?}");
        assert_eq!(press(&mut ui, &snap, &[Action::Select]), None, "{open:?}");
        assert!(
            matches!(ui.overlay, Overlay::None),
            "Enter on Cancel closes without acting"
        );
    }
    assert!(ui
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("nothing done")));
}

#[test]
fn confirm_needs_the_job_name_typed() {
    let (_hs, snap) = world();
    let mut ui = ui();
    press(
        &mut ui,
        &snap,
        &[
            Action::Failover,
            Action::FocusNext,
            Action::Down,
            Action::FocusNext,
        ],
    );
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog")
    };
    assert_eq!(d.focus, Focus::Typing);
    // Jump to Confirm without typing: refused, focus back on the name.
    let r = press(&mut ui, &snap, &[Action::FocusNext, Action::Select]);
    assert_eq!(r, None);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("dialog closed")
    };
    assert_eq!(d.focus, Focus::Typing);
    assert!(d.error.as_deref().is_some_and(|e| e.contains("type train")));
    press(&mut ui, &snap, &typed("train"));
    let r = press(&mut ui, &snap, &[Action::FocusNext, Action::Select]);
    let want = Command::Failover {
        job: JobId::new("train"),
        target: Some(Target::new(HostId::new("b"), Some(0))),
        seen: snap.epoch,
        strategy: None,
    };
    assert_eq!(r, Some(Request::Core(want)));
    assert!(matches!(ui.overlay, Overlay::None));
}

#[test]
fn a_job_that_changes_under_the_dialog_is_shown_again_before_confirming() {
    let (mut hs, snap) = world();
    let mut ui = ui();
    press(
        &mut ui,
        &snap,
        &[Action::Failover, Action::FocusNext, Action::FocusNext],
    );
    press(&mut ui, &snap, &typed("train"));
    // The world moves: the job fails over by itself.
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(Duration::from_secs(3));
    let later = hs.core.snapshot();
    observe(&mut ui, &later);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("dialog closed")
    };
    assert!(d
        .changed
        .as_deref()
        .is_some_and(|c| c.contains("changed while this was open")));
    assert_eq!(d.focus, Focus::Cancel, "focus back on Cancel");
    assert!(d.typed.is_empty(), "the name must be typed again");
    assert_eq!(d.seen, later.epoch);
}

#[test]
fn the_core_refuses_a_confirm_against_an_old_epoch() {
    let (mut hs, snap) = world();
    let mut ui = ui();
    press(
        &mut ui,
        &snap,
        &[Action::Failover, Action::FocusNext, Action::FocusNext],
    );
    press(&mut ui, &snap, &typed("train"));
    let Some(Request::Core(cmd)) = press(&mut ui, &snap, &[Action::FocusNext, Action::Select])
    else {
        panic!("no request")
    };
    // Between the confirm and its arrival the job moved on.
    hs.fake("a").lost_gpu = Some(0);
    hs.run_for(Duration::from_secs(3));
    hs.input(crate::core::io::Input::Command {
        by: crate::core::identity::Identity::local(
            "alice",
            0,
            crate::core::identity::Role::Operator,
        ),
        command: cmd,
    });
    let refused = hs.events.iter().any(|e| matches!(&e.kind, crate::core::event::EventKind::CommandRejected { reason, .. } if reason.contains("changed since you looked")));
    assert!(refused);
}

#[test]
fn read_only_refuses_every_action_with_a_clear_message() {
    let (_hs, snap) = world();
    let mut ui = ui();
    ui.settings.readonly = true;
    for a in [
        Action::Failover,
        Action::Switchover,
        Action::Cancel,
        Action::PauseJob,
        Action::ResumeAll,
        Action::InjectFault,
    ] {
        assert_eq!(press(&mut ui, &snap, std::slice::from_ref(&a)), None);
        assert!(
            matches!(ui.overlay, Overlay::None),
            "{a:?} opened something"
        );
        let m = ui.message.clone().expect("a message");
        assert_eq!(m.level, Level::Warn);
        assert!(m.text.contains("read-only"), "{}", m.text);
    }
    // The palette too.
    press(&mut ui, &snap, &[Action::Palette]);
    press(&mut ui, &snap, &typed("failover train"));
    press(&mut ui, &snap, &[Action::Select]);
    assert!(matches!(ui.overlay, Overlay::None));
    assert!(ui
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("read-only")));
}

#[test]
fn palette_completes_and_opens_the_dialog() {
    let (_hs, snap) = world();
    let mut ui = ui();
    press(&mut ui, &snap, &[Action::Palette]);
    press(&mut ui, &snap, &typed("fai"));
    press(&mut ui, &snap, &[Action::Complete]);
    let Overlay::Palette(p) = &ui.overlay else {
        panic!("no palette")
    };
    assert_eq!(p.input, "failover ");
    press(&mut ui, &snap, &typed("tr"));
    press(&mut ui, &snap, &[Action::Complete]);
    press(&mut ui, &snap, &[Action::Complete]);
    let Overlay::Palette(p) = &ui.overlay else {
        panic!("no palette")
    };
    assert_eq!(p.input, "failover train ");
    assert_eq!(p.suggestions, ["b:0", "cpu"]);
    press(&mut ui, &snap, &typed("cpu"));
    press(&mut ui, &snap, &[Action::Select]);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog")
    };
    assert_eq!(
        d.focus,
        Focus::Cancel,
        "target given: straight to the buttons, Cancel first"
    );
    assert!(d.lines[0].contains("from a:gpu0 to cpu"), "{:?}", d.lines);
}

#[test]
fn palette_errors_name_the_fix() {
    let (_hs, snap) = world();
    let mut ui = ui();
    press(&mut ui, &snap, &[Action::Palette]);
    press(&mut ui, &snap, &typed("failovr train"));
    press(&mut ui, &snap, &[Action::Select]);
    let Overlay::Palette(p) = &ui.overlay else {
        panic!("palette closed")
    };
    assert!(
        p.error
            .as_deref()
            .is_some_and(|e| e.contains("did you mean :failover")),
        "{:?}",
        p.error
    );
    press(&mut ui, &snap, &vec![Action::Backspace; 13]);
    press(&mut ui, &snap, &typed("cancel nobody"));
    press(&mut ui, &snap, &[Action::Select]);
    let Overlay::Palette(p) = &ui.overlay else {
        panic!("palette closed")
    };
    assert!(
        p.error
            .as_deref()
            .is_some_and(|e| e.contains("no job named \"nobody\"")),
        "{:?}",
        p.error
    );
}

#[test]
fn fault_injection_only_on_the_demo_fleet() {
    let (_hs, snap) = world();
    let mut ui = ui();
    press(&mut ui, &snap, &[Action::InjectFault]);
    assert!(ui
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("only on the simulated demo fleet")));
    ui.settings.demo = true;
    press(&mut ui, &snap, &[Action::InjectFault]);
    press(&mut ui, &snap, &typed("gpu-lost train"));
    let r = press(
        &mut ui,
        &snap,
        &[Action::Select, Action::FocusNext, Action::Select],
    );
    let want = Request::Inject {
        kind: crate::protocol::fault::FaultKind::GpuLost,
        target: "train".into(),
    };
    assert_eq!(r, Some(want));
}

#[test]
fn views_switch_and_selection_stays_in_bounds() {
    let (_hs, snap) = world();
    let mut ui = ui();
    press(
        &mut ui,
        &snap,
        &[Action::GoView(View::Fleet), Action::Bottom],
    );
    assert_eq!(super::select::index(&snap, &ui, View::Fleet), 3);
    press(&mut ui, &snap, &[Action::Down, Action::Down]);
    assert_eq!(super::select::index(&snap, &ui, View::Fleet), 3);
    press(&mut ui, &snap, &[Action::Select]);
    assert_eq!(ui.detail.as_deref(), Some("cpu"));
    press(&mut ui, &snap, &[Action::Filter]);
    press(&mut ui, &snap, &typed("standby"));
    press(&mut ui, &snap, &[Action::Select]);
    assert_eq!(super::select::row_count(&snap, &ui), 3);
    press(&mut ui, &snap, &[Action::NextView]);
    assert_eq!(ui.view, View::Jobs);
    assert!(
        ui.filter.text.is_empty(),
        "the filter belongs to the view it was typed in"
    );
    assert_eq!(press(&mut ui, &snap, &[Action::Quit]), Some(Request::Quit));
}
