//! The prune key and `:prune`: a dialog that starts on Cancel and wants the job's name,
//! refused when read-only, a message instead of a dialog when nothing would go, asked
//! again when the plan changes, and a `Request::Prune` once confirmed. Also picking a
//! checkpoint in the inventory.

use super::action::{Action, Request, View};
use super::dialog::{Focus, Intent};
use super::fixture;
use super::fixture_inventory;
use super::keymap::{Context, Keymap};
use super::state::{Level, Overlay, UiState};
use super::update::{observe, update, Ctx};
use crate::core::ids::JobId;
use crate::core::snapshot::Snapshot;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn world(job: &str) -> (Snapshot, UiState) {
    let hs = fixture::harness();
    let mut snap = fixture::snapshot(&hs);
    snap.inventory = fixture_inventory::inventory(&snap);
    let mut ui = fixture::ui(&hs);
    ui.view = View::Checkpoints;
    let i = super::select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == job)
        .unwrap_or(0);
    ui.selected.insert(View::Checkpoints, i);
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

fn typed(s: &str) -> Vec<Action> {
    s.chars().map(Action::Char).collect()
}

#[test]
fn shift_d_is_prune_in_the_tables() {
    let map = Keymap::default();
    let ev = KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT);
    assert_eq!(
        map.action(Context::Normal, View::Checkpoints, ev),
        Some(Action::Prune)
    );
    let help = map.help_lines(Context::Normal, View::Checkpoints);
    assert!(help
        .iter()
        .any(|(k, what)| k == "D" && what.contains("prune")));
}

#[test]
fn the_prune_key_opens_a_dialog_on_cancel_that_says_what_goes() {
    let (snap, mut ui) = world("llama-70b");
    assert_eq!(press(&mut ui, &snap, &[Action::Prune]), None);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog: {:?}", ui.message)
    };
    assert_eq!(d.focus, Focus::Cancel);
    assert_eq!(
        d.intent,
        Intent::Prune {
            job: JobId::new("llama-70b"),
            copies: vec![
                ("ck-0000".into(), "nas".into()),
                ("ck-0000".into(), "s3".into()),
                ("ck-0001".into(), "nas".into()),
            ]
        }
    );
    assert_eq!(d.require.as_deref(), Some("llama-70b"));
    let text = d.lines.join("\n");
    assert!(text.contains("removes 3 copies"), "{text}");
    assert!(text.contains("2 from nas (ck-0000, ck-0001)"), "{text}");
    assert!(text.contains("1 from s3 (ck-0000)"), "{text}");
    assert!(
        text.contains("newest verified checkpoint (ck-0003, step 3000) is never removed"),
        "{text}"
    );
    // Enter on Cancel closes, nothing sent.
    assert_eq!(press(&mut ui, &snap, &[Action::Select]), None);
    assert!(matches!(ui.overlay, Overlay::None));
}

#[test]
fn confirming_with_the_name_typed_asks_for_the_prune() {
    let (snap, mut ui) = world("llama-70b");
    press(&mut ui, &snap, &[Action::Prune, Action::FocusNext]);
    // Confirm before the name: refused.
    let r = press(&mut ui, &snap, &[Action::FocusNext, Action::Select]);
    assert_eq!(r, None);
    press(&mut ui, &snap, &typed("llama-70b"));
    let r = press(&mut ui, &snap, &[Action::FocusNext, Action::Select]);
    assert_eq!(
        r,
        Some(Request::Prune {
            job: "llama-70b".into(),
            copies: vec![
                ("ck-0000".into(), "nas".into()),
                ("ck-0000".into(), "s3".into()),
                ("ck-0001".into(), "nas".into()),
            ]
        })
    );
    assert!(matches!(ui.overlay, Overlay::None));
}

#[test]
fn read_only_refuses_the_prune() {
    let (snap, mut ui) = world("llama-70b");
    ui.settings.readonly = true;
    assert_eq!(press(&mut ui, &snap, &[Action::Prune]), None);
    assert!(matches!(ui.overlay, Overlay::None));
    let m = ui.message.clone().expect("a message");
    assert_eq!(m.level, Level::Warn);
    assert!(m.text.contains("read-only"), "{}", m.text);
    // And from the palette.
    press(&mut ui, &snap, &[Action::Palette]);
    press(&mut ui, &snap, &typed("prune llama-70b"));
    press(&mut ui, &snap, &[Action::Select]);
    assert!(matches!(ui.overlay, Overlay::None));
    assert!(ui
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("read-only")));
}

#[test]
fn nothing_to_prune_is_a_message_not_a_dialog() {
    let (snap, mut ui) = world("rl-selfplay");
    assert_eq!(press(&mut ui, &snap, &[Action::Prune]), None);
    assert!(matches!(ui.overlay, Overlay::None));
    let m = ui.message.clone().expect("a message");
    assert_eq!(m.level, Level::Info);
    assert!(
        m.text.contains("nothing to prune for rl-selfplay"),
        "{}",
        m.text
    );
    // The demo fleet has no stores at all.
    let (mut snap, mut ui) = world("llama-70b");
    snap.inventory = Default::default();
    press(&mut ui, &snap, &[Action::Prune]);
    assert!(matches!(ui.overlay, Overlay::None));
    assert!(ui
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("no checkpoint stores")));
}

#[test]
fn a_plan_that_changes_under_the_dialog_is_read_again() {
    let (snap, mut ui) = world("llama-70b");
    press(&mut ui, &snap, &[Action::Prune, Action::FocusNext]);
    press(&mut ui, &snap, &typed("llama-70b"));
    // Unchanged: nothing happens.
    observe(&mut ui, &snap);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("dialog closed")
    };
    assert!(d.changed.is_none());
    // ck-0001 is kept in the NAS now (a newer rule): one copy fewer goes.
    let mut later = snap.clone();
    later.epoch += 1;
    for r in &mut later.inventory.prune_plan {
        if r.id == "ck-0001" {
            r.keep = true;
        }
    }
    observe(&mut ui, &later);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("dialog closed")
    };
    assert!(d
        .changed
        .as_deref()
        .is_some_and(|c| c.contains("keeps a copy this listed for llama-70b")));
    assert_eq!(d.focus, Focus::Cancel);
    assert!(d.typed.is_empty());
    assert!(d.lines[0].contains("removes 2 copies"), "{:?}", d.lines);
}

#[test]
fn the_palette_prunes_by_name() {
    let (snap, mut ui) = world("bert-base");
    press(&mut ui, &snap, &[Action::Palette]);
    press(&mut ui, &snap, &typed("pru"));
    press(&mut ui, &snap, &[Action::Complete]);
    press(&mut ui, &snap, &typed("lla"));
    press(&mut ui, &snap, &[Action::Complete]);
    let Overlay::Palette(p) = &ui.overlay else {
        panic!("no palette")
    };
    assert_eq!(p.input, "prune llama-70b ");
    press(&mut ui, &snap, &[Action::Select]);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog")
    };
    assert_eq!(d.title, "Prune the checkpoints of llama-70b");
}

#[test]
fn enter_picks_a_checkpoint_and_esc_goes_back_to_the_jobs() {
    let (snap, mut ui) = world("llama-70b");
    let job = super::select::index(&snap, &ui, View::Checkpoints);
    press(&mut ui, &snap, &[Action::Select]);
    assert_eq!(ui.ckpt_row, Some(0));
    press(
        &mut ui,
        &snap,
        &[Action::Down, Action::Down, Action::Bottom],
    );
    assert_eq!(ui.ckpt_row, Some(4), "five checkpoints");
    assert_eq!(
        super::select::index(&snap, &ui, View::Checkpoints),
        job,
        "the job stays"
    );
    press(&mut ui, &snap, &[Action::Back]);
    assert_eq!(ui.ckpt_row, None);
    press(&mut ui, &snap, &[Action::Down]);
    assert_eq!(super::select::index(&snap, &ui, View::Checkpoints), job + 1);
    // A job without catalogued checkpoints has nothing to pick.
    press(&mut ui, &snap, &[Action::Select]);
    assert_eq!(ui.ckpt_row, None);
}

#[test]
fn checkpoints_that_arrive_while_the_dialog_is_open_do_not_change_what_it_deletes() {
    let (snap, mut ui) = world("llama-70b");
    press(&mut ui, &snap, &[Action::Prune]);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog")
    };
    let (shown, lines) = (d.intent.clone(), d.lines.clone());
    press(&mut ui, &snap, &typed("llama-70b"));
    // A job that checkpoints every second: each new snapshot's plan removes one more.
    let mut later = snap.clone();
    for n in 0..5 {
        later.epoch += 1;
        later
            .inventory
            .prune_plan
            .push(crate::core::inventory::PruneRow {
                job: "llama-70b".into(),
                id: format!("ck-new-{n}"),
                step: 9_000 + n,
                store: "nas".into(),
                keep: false,
                reasons: vec!["beyond keep_last".into()],
            });
        observe(&mut ui, &later);
    }
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("dialog closed")
    };
    assert!(d.changed.is_none(), "{:?}", d.changed);
    assert_eq!(d.intent, shown, "the dialog binds what it showed");
    assert_eq!(d.lines, lines);
    assert_eq!(
        d.typed, "llama-70b",
        "nothing made the operator start again"
    );
    let r = press(&mut ui, &later, &[Action::FocusNext, Action::Select]);
    let Some(Request::Prune { copies, .. }) = r else {
        panic!("no prune request: {r:?}")
    };
    let Intent::Prune { copies: listed, .. } = shown else {
        panic!("not a prune")
    };
    assert_eq!(copies, listed);
    let m = ui.message.clone().expect("a message");
    assert!(m.text.contains("deleting 3 copies"), "{}", m.text);
    assert!(!m.text.contains("sent"), "{}", m.text);
}

#[test]
fn the_prune_outcome_is_the_message_not_sent() {
    let (snap, mut ui) = world("llama-70b");
    let n = crate::protocol::notice::Notice::Checkpoint {
        ts: snap.now,
        what: "prune_finished".into(),
        job: "llama-70b".into(),
        id: String::new(),
        store: None,
        detail: "deleted 3 of 3 listed copies of llama-70b".into(),
    };
    super::update::note(&mut ui, &n);
    let m = ui.message.clone().expect("a message");
    assert_eq!(m.text, "prune: deleted 3 of 3 listed copies of llama-70b");
    assert_eq!(m.level, Level::Info);
}
