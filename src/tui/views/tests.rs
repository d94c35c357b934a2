//! Render tests: every view of the fixed fixture fleet at 80×24 and 160×48, as text.

use super::*;
use crate::core::snapshot::Snapshot;
use crate::tui::fixture;
use crate::tui::state::UiState;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn render(snap: &Snapshot, ui: &UiState, w: u16, h: u16) -> String {
    let theme = Theme::default();
    let mut term = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    if let Err(e) = term.draw(|f| draw(f, snap, ui, &theme)) {
        panic!("draw: {e}");
    }
    text(term.backend().buffer())
}

pub(super) fn setup(view: View) -> (Snapshot, UiState) {
    let hs = fixture::harness();
    let snap = fixture::snapshot(&hs);
    let mut ui = fixture::ui(&hs);
    ui.view = view;
    (snap, ui)
}

pub(crate) fn both(name: &str, snap: &Snapshot, ui: &UiState) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(snap, ui, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), render(snap, ui, 160, 48));
}

pub(super) fn select(ui: &mut UiState, view: View, i: usize) {
    ui.selected.insert(view, i);
}

#[test]
fn fleet() {
    let (snap, ui) = setup(View::Fleet);
    both("fleet", &snap, &ui);
}

#[test]
fn hosts_words_are_drawn_escaped_like_every_text_output() {
    let (mut snap, ui) = setup(View::Fleet);
    for h in &mut snap.hosts {
        h.badge = "degraded".into();
        h.fatal.clear();
        h.reason = "smi \u{1b}]0;pwned\u{7} \u{202e}gnp".into();
    }
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains("smi \\x1b]0;pwned\\x07 \\u{202e}gnp"), "{out}");
    assert!(!out.contains('\u{202e}'), "{out}");
}

#[test]
fn fleet_with_stale_host_detail() {
    let (snap, mut ui) = setup(View::Fleet);
    select(&mut ui, View::Fleet, 3);
    ui.detail = Some("gpu-c1".into());
    both("fleet_detail", &snap, &ui);
}

#[test]
fn fleet_scrolls_to_the_selection_and_filters() {
    let (snap, mut ui) = setup(View::Fleet);
    ui.filter.text = "gpu".into();
    ui.filter.editing = true;
    select(&mut ui, View::Fleet, 4);
    insta::assert_snapshot!("fleet_filtered_80x24", render(&snap, &ui, 80, 24));
}

#[test]
fn jobs_mid_failover() {
    let (snap, mut ui) = setup(View::Jobs);
    let i = select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == "mistral-7b");
    select(&mut ui, View::Jobs, i.unwrap_or(0));
    both("jobs_failing_over", &snap, &ui);
}

#[test]
fn jobs_reconnecting_and_escalated() {
    let (snap, mut ui) = setup(View::Jobs);
    for (name, job) in [
        ("jobs_reconnecting", "rl-selfplay"),
        ("jobs_escalated", "vision-ft"),
        ("jobs_running", "llama-70b"),
    ] {
        let i = select::jobs(&snap, &ui)
            .iter()
            .position(|j| j.id.as_str() == job);
        select(&mut ui, View::Jobs, i.unwrap_or(0));
        both(name, &snap, &ui);
    }
}

#[test]
fn checkpoints() {
    let (snap, mut ui) = setup(View::Checkpoints);
    let i = select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == "llama-70b");
    select(&mut ui, View::Checkpoints, i.unwrap_or(0));
    both("checkpoints", &snap, &ui);
    let i = select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == "mistral-7b");
    select(&mut ui, View::Checkpoints, i.unwrap_or(0));
    insta::assert_snapshot!(
        "checkpoints_none_verified_80x24",
        render(&snap, &ui, 80, 24)
    );
}

#[test]
fn tasks() {
    let (snap, ui) = setup(View::Tasks);
    both("tasks", &snap, &ui);
}

#[test]
fn a_tasks_share_is_of_its_bytes_never_of_its_timeout() {
    use crate::core::progress::Progress;
    let (mut snap, ui) = setup(View::Tasks);
    let Some(task) = snap.jobs.iter_mut().find_map(|j| j.task.as_mut()) else {
        panic!("the fixture has a task in flight");
    };
    // A 1.2 s stage under a 10m05s deadline, 3 MiB of 12 MiB moved.
    task.what = "warm-standby stage".into();
    task.deadline = task.started.plus(std::time::Duration::from_secs(605));
    snap.now = task.started.plus(std::time::Duration::from_millis(1200));
    let mut p = Progress::start(task.started, 12 << 20);
    p.update(snap.now, 3 << 20, 12 << 20);
    task.progress = Some(p);
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains(" 25%"), "{out}");
    assert!(!out.contains("of 10m05s") && !out.contains(" 0%"), "{out}");
    // The same step before any byte moved: no share at all, not "0% of 10m05s".
    let Some(task) = snap.jobs.iter_mut().find_map(|j| j.task.as_mut()) else {
        panic!("still there");
    };
    task.progress = None;
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains(crate::tui::strings::NOT_MEASURED), "{out}");
    assert!(!out.contains('%'), "{out}");
}

#[test]
fn events() {
    let (snap, mut ui) = setup(View::Events);
    let n = ui.events.len();
    select(&mut ui, View::Events, n - 1);
    both("events", &snap, &ui);
}

#[test]
fn read_only_with_message_and_frozen_automation() {
    let (mut snap, mut ui) = setup(View::Jobs);
    ui.settings.readonly = true;
    ui.message = Some(fixture::refusal(snap.now));
    snap.automation.frozen = Some(
        "3 of 6 hosts went suspect within 10s; this console's own network is the likelier fault"
            .into(),
    );
    both("readonly_frozen", &snap, &ui);
    snap.automation.frozen = None;
    snap.automation.paused_by = Some("alice".into());
    ui.view = View::Tasks;
    insta::assert_snapshot!("paused_tasks_80x24", render(&snap, &ui, 80, 24));
}

#[test]
fn empty_snapshot_draws_calm_placeholders() {
    let snap = Snapshot::default();
    for view in View::ALL {
        let ui = UiState {
            view,
            ..UiState::default()
        };
        let out = render(&snap, &ui, 80, 24);
        assert!(out.contains("1 Fleet"), "{out}");
    }
}

#[test]
fn tiny_terminals_do_not_panic() {
    let (snap, mut ui) = setup(View::Fleet);
    ui.detail = Some("gpu-a1".into());
    ui.message = Some(fixture::refusal(snap.now));
    ui.filter.editing = true;
    for view in View::ALL {
        ui.view = view;
        for (w, h) in [
            (1, 1),
            (20, 5),
            (39, 7),
            (40, 8),
            (41, 9),
            (60, 10),
            (80, 12),
            (120, 9),
            (200, 60),
        ] {
            let _ = render(&snap, &ui, w, h);
        }
    }
    let out = render(&snap, &ui, 20, 5);
    assert!(out.starts_with("Lifeboat needs"), "{out}");
}

#[test]
fn clicks_land_on_the_rows_drawn() {
    let (snap, mut ui) = setup(View::Fleet);
    let area = Rect::new(0, 0, 80, 24);
    // Header 2 lines, the attention lines (the fixture has an escalated job and one
    // failing over), box top, column titles: the first host is on line 6, its GPUs below.
    let att = attention::height(&snap);
    assert_eq!(att, 2);
    assert_eq!(row_at(&snap, &ui, area, 4 + att), Some(0));
    assert_eq!(row_at(&snap, &ui, area, 5 + att), Some(0));
    assert_eq!(row_at(&snap, &ui, area, 7 + att), Some(1));
    assert_eq!(row_at(&snap, &ui, area, 3 + att), None);
    assert_eq!(tab_at(area, 0, 0), Some(View::Fleet));
    assert_eq!(tab_at(area, 10, 0), Some(View::Jobs));
    assert_eq!(tab_at(area, 10, 1), None);
    ui.view = View::Jobs;
    assert_eq!(row_at(&snap, &ui, area, 4 + att), Some(0));
    assert_eq!(row_at(&snap, &ui, area, 6 + att), Some(2));
    ui.view = View::Events;
    let n = ui.events.len();
    select(&mut ui, View::Events, n - 1);
    // The selection is kept on the last line of the log box (line 16: the selected
    // event's strip and the footer are below it).
    assert_eq!(row_at(&snap, &ui, area, 16), Some(n - 1));
    assert_eq!(row_at(&snap, &ui, area, 15), Some(n - 2));
    assert_eq!(row_at(&snap, &ui, area, 17), None);
}

#[test]
fn the_current_state_is_lit() {
    let (snap, mut ui) = setup(View::Jobs);
    let i = select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == "mistral-7b");
    select(&mut ui, View::Jobs, i.unwrap_or(0));
    let theme = Theme::default();
    let mut buf = Buffer::empty(Rect::new(0, 0, 160, 48));
    let area = buf.area;
    draw_buffer(&mut buf, area, &snap, &ui, &theme);
    let lit = (0..48u16)
        .flat_map(|y| (0..160u16).map(move |x| (x, y)))
        .find(|&(x, y)| {
            let c = &buf[(x, y)];
            c.symbol() == "F"
                && c.modifier.contains(ratatui::style::Modifier::REVERSED)
                && c.fg == theme.failing_over.fg.unwrap_or_default()
        });
    assert!(lit.is_some(), "FAILING_OVER is not lit");
}

#[test]
fn a_stale_host_keeps_its_values_greyed() {
    let (snap, ui) = setup(View::Fleet);
    let theme = Theme::default();
    let mut buf = Buffer::empty(Rect::new(0, 0, 160, 48));
    let area = buf.area;
    draw_buffer(&mut buf, area, &snap, &ui, &theme);
    let row_of = |needle: &str| {
        (0..48u16).find(|&y| {
            let line: String = (0..160u16)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.contains(needle)
        })
    };
    let fg_at = |y: u16, needle: &str| {
        let line: Vec<String> = (0..160u16)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let text: String = line.concat();
        let col = text.find(needle).map(|b| text[..b].chars().count() as u16);
        col.map(|x| buf[(x, y)].fg)
    };
    // gpu-c1 is silent: its GPU row (the line after it) is drawn in the stale style.
    let host = row_of("gpu-c1 ✖ failed");
    let stale = host.and_then(|y| fg_at(y + 1, "70°C"));
    assert_eq!(stale, theme.stale.fg, "stale GPU values are greyed");
    // gpu-b1 answers: its values keep their normal colour.
    let live = row_of("gpu-b1 ● healthy").and_then(|y| fg_at(y + 1, "37°C"));
    assert_eq!(live, theme.base.fg);
}

#[test]
fn a_long_fleet_scrolls_to_keep_the_selection_in_view() {
    let (mut snap, mut ui) = setup(View::Fleet);
    let template = snap.hosts[2].clone();
    snap.hosts = (0..60)
        .map(|i| {
            let mut h = template.clone();
            h.id = crate::core::ids::HostId::new(format!("node-{i:02}"));
            h
        })
        .collect();
    select(&mut ui, View::Fleet, 41);
    let out = render(&snap, &ui, 80, 24);
    assert!(out.contains("▶ node-41"), "{out}");
    assert!(out.contains("of 60"), "{out}");
    let area = Rect::new(0, 0, 80, 24);
    let line = out
        .lines()
        .position(|l| l.contains("▶ node-41"))
        .map(|y| y as u16);
    assert_eq!(line.and_then(|y| row_at(&snap, &ui, area, y)), Some(41));
    assert_eq!(line.and_then(|y| row_at(&snap, &ui, area, y + 2)), Some(41));
}
