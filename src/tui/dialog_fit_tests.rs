//! Dialogs bind what they showed: a move dialog's facts follow the snapshot, an unfit
//! target (busy, failed) is refused before the name is typed, and a name typed while
//! Cancel has focus goes to the field.

use super::action::{Action, Request, View};
use super::dialog::{Dialog, Focus};
use super::fixture;
use super::keymap::{Context, Keymap};
use super::state::{Overlay, UiState};
use super::update::{observe, update, Ctx};
use crate::core::ids::{HostId, Target};
use crate::core::snapshot::Snapshot;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn world() -> (Snapshot, UiState) {
    let hs = fixture::harness();
    let snap = fixture::snapshot(&hs);
    let mut ui = fixture::ui(&hs);
    ui.view = View::Jobs;
    (snap, ui)
}

fn press(ui: &mut UiState, snap: &Snapshot, actions: &[Action]) -> Option<Request> {
    let themes = vec!["default".to_string()];
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

/// Real key presses, through the keymap in whatever context the console is in.
fn keys(ui: &mut UiState, snap: &Snapshot, text: &str) {
    let map = Keymap::default();
    for c in text.chars() {
        let ev = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        if let Some(a) = map.action(Context::of(ui), ui.view, ev) {
            press(ui, snap, &[a]);
        }
    }
}

fn dialog(ui: &UiState) -> &Dialog {
    match &ui.overlay {
        Overlay::Dialog(d) => d,
        o => panic!("no dialog: {o:?}"),
    }
}

/// The llama-70b failover dialog (the second job in the Jobs view).
fn open(ui: &mut UiState, snap: &Snapshot) {
    press(ui, snap, &[Action::Down, Action::Failover]);
    assert_eq!(dialog(ui).title, "Fail over llama-70b");
    assert_eq!(dialog(ui).focus, Focus::Cancel);
}

/// bert-base runs on gpu-b1:gpu0, the target llama-70b's dialog lists first.
fn b1_busy(snap: &mut Snapshot) {
    let bert = snap.jobs.iter_mut().find(|j| j.id.as_str() == "bert-base");
    bert.expect("bert-base").placement = Target::new(HostId::new("gpu-b1"), Some(0));
}

#[test]
fn typing_the_name_while_cancel_has_focus_goes_to_the_field() {
    let (snap, mut ui) = world();
    open(&mut ui, &snap);
    // "l" is a focus key on the buttons; it must not be lost or move the focus.
    keys(&mut ui, &snap, "llama-70b");
    let d = dialog(&ui);
    assert_eq!(d.focus, Focus::Typing);
    assert_eq!(d.typed, "llama-70b");
    // Esc still cancels from there.
    let map = Keymap::default();
    let esc = map.action(
        Context::of(&ui),
        ui.view,
        KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
    );
    assert_eq!(esc, Some(Action::Back));
    // And Enter on Cancel closes without typing anything.
    let (snap, mut ui) = world();
    open(&mut ui, &snap);
    let enter = Keymap::default().action(
        Context::of(&ui),
        ui.view,
        KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
    );
    assert_eq!(enter, Some(Action::Select));
    assert_eq!(press(&mut ui, &snap, &[Action::Select]), None);
    assert!(matches!(ui.overlay, Overlay::None));
}

#[test]
fn a_busy_target_is_refused_before_the_name_is_typed() {
    let (mut snap, mut ui) = world();
    b1_busy(&mut snap);
    open(&mut ui, &snap);
    // To the list, then gpu-b1:gpu0.
    press(&mut ui, &snap, &[Action::FocusNext, Action::Down]);
    let d = dialog(&ui);
    assert_eq!(d.focus, Focus::Pick);
    let why = d.error.clone().expect("refused at once");
    assert!(
        why.contains("gpu-b1:gpu0") && why.contains("busy with bert-base"),
        "{why}"
    );
    // The name cannot be reached, typed or confirmed.
    press(&mut ui, &snap, &[Action::FocusNext]);
    assert_eq!(dialog(&ui).focus, Focus::Pick);
    press(&mut ui, &snap, &[Action::Char('l'), Action::Char('l')]);
    assert!(dialog(&ui).typed.is_empty());
    assert!(!dialog(&ui).ready());
    // Another target is fine, and the refusal goes.
    press(&mut ui, &snap, &[Action::Down]);
    assert_eq!(dialog(&ui).error, None);
    press(&mut ui, &snap, &[Action::FocusNext]);
    assert_eq!(dialog(&ui).focus, Focus::Typing);
}

#[test]
fn a_target_that_fails_while_the_dialog_is_open_takes_the_name_back() {
    let (snap, mut ui) = world();
    open(&mut ui, &snap);
    press(
        &mut ui,
        &snap,
        &[Action::FocusNext, Action::Down, Action::FocusNext],
    );
    keys(&mut ui, &snap, "llama");
    assert_eq!(dialog(&ui).typed, "llama");
    let mut later = snap.clone();
    later.epoch += 1;
    if let Some(h) = later.hosts.iter_mut().find(|h| h.id.as_str() == "gpu-b1") {
        h.badge = "failed".into();
    }
    observe(&mut ui, &later);
    let d = dialog(&ui);
    assert_eq!(d.focus, Focus::Pick);
    assert!(d.typed.is_empty());
    assert!(
        d.error
            .as_deref()
            .is_some_and(|e| e.contains("gpu-b1 is failed")),
        "{:?}",
        d.error
    );
    assert!(
        d.notes.iter().any(|n| n == "gpu-b1 is failed"),
        "{:?}",
        d.notes
    );
    // It recovers: the refusal goes by itself.
    observe(&mut ui, &snap);
    assert_eq!(dialog(&ui).error, None);
}

#[test]
fn the_checkpoint_it_restores_follows_the_snapshot() {
    let (snap, mut ui) = world();
    open(&mut ui, &snap);
    let before = dialog(&ui).lines.join("\n");
    assert!(before.contains("checkpoint ck-0003"), "{before}");
    let mut later = snap.clone();
    later.epoch += 1;
    let j = later
        .jobs
        .iter_mut()
        .find(|j| j.id.as_str() == "llama-70b")
        .expect("llama-70b");
    let mut newer = j.newest_verified.clone().expect("a verified checkpoint");
    newer.id = "ck-0004".into();
    newer.step = 4000;
    j.newest_verified = Some(newer);
    observe(&mut ui, &later);
    let after = dialog(&ui).lines.join("\n");
    assert!(after.contains("checkpoint ck-0004 (step 4000"), "{after}");
}
