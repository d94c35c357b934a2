//! Snapshots of the overlays at 80×24 and 160×48: help, the palette, and each dialog.

use super::action::{Action, View};
use super::fixture;
use super::keymap::Keymap;
use super::state::UiState;
use super::theme::Theme;
use super::update::{update, Ctx};
use super::{overlay, views};
use crate::core::snapshot::Snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn render(snap: &Snapshot, ui: &UiState, w: u16, h: u16) -> String {
    let theme = Theme::default();
    let help = Keymap::default().help_lines(overlay::help_context(ui), ui.view);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| {
        views::draw(f, snap, ui, &theme);
        overlay::draw(f, ui, &theme, &help);
    })
    .expect("draw");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn with(view: View, actions: &[Action]) -> (Snapshot, UiState) {
    let hs = fixture::harness();
    let snap = fixture::snapshot(&hs);
    let mut ui = fixture::ui(&hs);
    ui.view = view;
    ui.settings.demo = true;
    let themes = vec!["default".to_string()];
    let cx = Ctx {
        snap: &snap,
        themes: &themes,
    };
    for a in actions {
        update(&mut ui, &cx, a.clone());
    }
    (snap, ui)
}

fn both(name: &str, snap: &Snapshot, ui: &UiState) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(snap, ui, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), render(snap, ui, 160, 48));
}

fn typed(s: &str) -> Vec<Action> {
    s.chars().map(Action::Char).collect()
}

#[test]
fn help_overlay() {
    let (snap, ui) = with(View::Jobs, &[Action::Help]);
    both("help", &snap, &ui);
}

#[test]
fn palette_with_completions() {
    let mut keys = vec![Action::Palette];
    keys.extend(typed("failover "));
    let (snap, ui) = with(View::Jobs, &keys);
    both("palette", &snap, &ui);
}

#[test]
fn failover_dialog_choosing_a_target() {
    let (snap, ui) = with(
        View::Jobs,
        &[
            Action::Down,
            Action::Failover,
            Action::FocusNext,
            Action::Down,
        ],
    );
    both("dialog_failover", &snap, &ui);
}

#[test]
fn failover_dialog_with_the_name_half_typed() {
    let mut keys = vec![
        Action::Down,
        Action::Failover,
        Action::FocusNext,
        Action::Down,
        Action::FocusNext,
    ];
    keys.extend(typed("llama"));
    let (snap, ui) = with(View::Jobs, &keys);
    both("dialog_typing", &snap, &ui);
}

#[test]
fn failover_dialog_refusing_a_busy_target() {
    let hs = fixture::harness();
    let mut snap = fixture::snapshot(&hs);
    if let Some(j) = snap.jobs.iter_mut().find(|j| j.id.as_str() == "bert-base") {
        j.placement =
            crate::core::ids::Target::new(crate::core::ids::HostId::new("gpu-b1"), Some(0));
    }
    let mut ui = fixture::ui(&hs);
    ui.view = View::Jobs;
    let themes = vec!["default".to_string()];
    let cx = Ctx {
        snap: &snap,
        themes: &themes,
    };
    for a in [
        Action::Down,
        Action::Failover,
        Action::FocusNext,
        Action::Down,
        Action::FocusNext,
    ] {
        update(&mut ui, &cx, a);
    }
    both("dialog_failover_refused", &snap, &ui);
}

#[test]
fn cancel_and_pause_dialogs() {
    let (snap, ui) = with(View::Jobs, &[Action::Cancel]);
    both("dialog_cancel", &snap, &ui);
    let (snap, ui) = with(View::Jobs, &[Action::PauseAll]);
    both("dialog_pause_all", &snap, &ui);
}

#[test]
fn the_footer_shows_rebound_keys() {
    let (snap, mut ui) = with(View::Jobs, &[]);
    ui.settings.keys.insert("failover".into(), "F".into());
    let screen = render(&snap, &ui, 160, 48);
    let footer = screen.lines().last().unwrap_or_default().to_string();
    assert!(footer.contains("F failover"), "{footer}");
    assert!(!footer.contains(" f failover"), "{footer}");
}

#[test]
fn prune_dialog() {
    let hs = fixture::harness();
    let mut snap = fixture::snapshot(&hs);
    snap.inventory = super::fixture_inventory::inventory(&snap);
    let mut ui = fixture::ui(&hs);
    ui.view = View::Checkpoints;
    let i = super::select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == "llama-70b")
        .unwrap_or(0);
    ui.selected.insert(View::Checkpoints, i);
    let themes = vec!["default".to_string()];
    let cx = Ctx {
        snap: &snap,
        themes: &themes,
    };
    update(&mut ui, &cx, Action::Prune);
    both("dialog_prune", &snap, &ui);
}
