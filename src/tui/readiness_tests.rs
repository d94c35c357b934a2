//! The readiness panel: `w` and `:readiness` open it for the job, it needs no write access,
//! it scrolls and closes like the help sheet, it follows new snapshots, and how it looks.

use super::action::{Action, View};
use super::fixture;
use super::keymap::{Context, Keymap};
use super::state::{Overlay, UiState};
use super::theme::Theme;
use super::update::{observe, update, Ctx};
use super::{overlay, select, views};
use crate::core::detector::Reach;
use crate::core::fleet::StrategyKind;
use crate::core::snapshot::Snapshot;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn setup(job: &str) -> (Snapshot, UiState) {
    let hs = fixture::harness();
    let snap = fixture::snapshot(&hs);
    let mut ui = fixture::ui(&hs);
    ui.view = View::Jobs;
    let i = select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == job)
        .unwrap_or_else(|| panic!("{job} is in the fixture"));
    ui.selected.insert(View::Jobs, i);
    (snap, ui)
}

fn act(ui: &mut UiState, snap: &Snapshot, actions: &[Action]) {
    let themes = vec!["default".to_string()];
    let cx = Ctx {
        snap,
        themes: &themes,
    };
    for a in actions {
        assert_eq!(update(ui, &cx, a.clone()), None, "{a:?} asks nothing");
    }
}

fn panel(ui: &UiState) -> &super::readiness::ReadinessPanel {
    match &ui.overlay {
        Overlay::Readiness(p) => p,
        other => panic!("the readiness panel is not open: {other:?}"),
    }
}

#[test]
fn w_on_the_jobs_view_means_readiness() {
    let map = Keymap::default();
    let key = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE);
    assert_eq!(
        map.action(Context::Normal, View::Jobs, key),
        Some(Action::Readiness)
    );
    let lines = map.help_lines(Context::Normal, View::Jobs);
    assert!(lines
        .iter()
        .any(|(k, what)| k == "w" && what.contains("would a failover work now")));
}

#[test]
fn the_key_opens_the_panel_for_the_selected_job_even_read_only() {
    let (snap, mut ui) = setup("rl-selfplay");
    ui.settings.readonly = true;
    act(&mut ui, &snap, &[Action::Readiness]);
    let p = panel(&ui);
    assert_eq!(p.job.as_str(), "rl-selfplay");
    let r = p.readiness.as_ref().unwrap_or_else(|| panic!("judged"));
    // Its host went silent: restart in place is out, the warm standby would take it.
    assert_eq!(r.first_ready, Some(StrategyKind::WarmStandby), "{r:#?}");
    assert_eq!(Context::of(&ui), Context::Help);
    act(&mut ui, &snap, &[Action::Down, Action::Down, Action::Up]);
    assert_eq!(panel(&ui).scroll, 1);
    act(&mut ui, &snap, &[Action::Bottom]);
    assert_eq!(panel(&ui).scroll, panel(&ui).lines() - 1);
    act(&mut ui, &snap, &[Action::Back]);
    assert!(matches!(ui.overlay, Overlay::None));
}

#[test]
fn the_palette_opens_it_by_name_and_a_new_snapshot_judges_again() {
    let (mut snap, mut ui) = setup("llama-70b");
    let mut keys = vec![Action::Palette];
    keys.extend("readiness rl-selfplay".chars().map(Action::Char));
    keys.push(Action::Select);
    act(&mut ui, &snap, &keys);
    assert_eq!(panel(&ui).job.as_str(), "rl-selfplay");
    for h in &mut snap.hosts {
        if h.id.as_str() == "gpu-b1" {
            h.reach = Reach::Failed;
            h.reason = "5 probes missed".into();
        }
    }
    observe(&mut ui, &snap);
    let r = panel(&ui)
        .readiness
        .clone()
        .unwrap_or_else(|| panic!("judged"));
    assert!(!r.would_succeed, "{r:#?}");
    assert!(
        r.reason.contains("gpu-b1 is failed (5 probes missed)"),
        "{}",
        r.reason
    );
}

fn render(snap: &Snapshot, ui: &UiState, w: u16, h: u16) -> String {
    let theme = Theme::default();
    let help = Keymap::default().help_lines(overlay::help_context(ui), ui.view);
    let mut term = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    let drawn = term.draw(|f| {
        views::draw(f, snap, ui, &theme);
        overlay::draw(f, ui, &theme, &help);
    });
    if let Err(e) = drawn {
        panic!("draw: {e}");
    }
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

#[test]
fn the_panel_at_both_sizes() {
    let (snap, mut ui) = setup("rl-selfplay");
    act(&mut ui, &snap, &[Action::Readiness]);
    insta::assert_snapshot!("readiness_80x24", render(&snap, &ui, 80, 24));
    insta::assert_snapshot!("readiness_160x48", render(&snap, &ui, 160, 48));
}

#[test]
fn hosts_words_in_the_panel_are_drawn_escaped() {
    let (snap, mut ui) = setup("rl-selfplay");
    act(&mut ui, &snap, &[Action::Readiness]);
    if let Overlay::Readiness(p) = &mut ui.overlay {
        let Some(r) = p.readiness.as_mut() else {
            panic!("judged")
        };
        for row in &mut r.strategies {
            for c in &mut row.checks {
                c.detail = "df: \u{1b}]0;pwned\u{7}".into();
            }
        }
    }
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains("df: \\x1b]0;pwned\\x07"), "{out}");
}
