//! Render tests of the live inventory: the Checkpoints view with stores, copies in every
//! state and the prune plan, and the Tasks view with checkpoint work, at 80×24 and 160×48.

use super::tests::{both, render, select, setup};
use super::*;
use crate::core::snapshot::Snapshot;
use crate::tui::fixture_inventory;
use crate::tui::state::UiState;

fn live(view: View) -> (Snapshot, UiState) {
    let (mut snap, mut ui) = setup(view);
    snap.inventory = fixture_inventory::inventory(&snap);
    let i = select::jobs(&snap, &ui)
        .iter()
        .position(|j| j.id.as_str() == "llama-70b");
    select(&mut ui, View::Checkpoints, i.unwrap_or(0));
    (snap, ui)
}

#[test]
fn checkpoints_with_the_inventory() {
    let (snap, ui) = live(View::Checkpoints);
    both("checkpoints_inventory", &snap, &ui);
}

#[test]
fn a_picked_checkpoint_shows_its_copies() {
    let (snap, mut ui) = live(View::Checkpoints);
    // Newest first: ck-0000, the oldest, is the last row.
    ui.ckpt_row = Some(4);
    both("checkpoints_inventory_picked", &snap, &ui);
}

#[test]
fn copy_states_are_coloured() {
    let (snap, ui) = live(View::Checkpoints);
    let theme = Theme::default();
    let mut buf = Buffer::empty(Rect::new(0, 0, 160, 48));
    let area = buf.area;
    draw_buffer(&mut buf, area, &snap, &ui, &theme);
    // The colour of `needle` on the table row of checkpoint `id`.
    let fg_of = |id: &str, needle: &str| {
        (0..48u16).find_map(|y| {
            let text: String = (0..160u16)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if !text.contains(&format!(" {id} ")) {
                return None;
            }
            let at = text.find(needle)?;
            let x = text[..at].chars().count() as u16;
            Some(buf[(x, y)].fg)
        })
    };
    assert_eq!(fg_of("ck-0003", "verified"), theme.healthy.fg);
    assert_eq!(fg_of("ck-0003", "pending"), theme.degraded.fg);
    assert_eq!(fg_of("ck-0002", "bad"), theme.danger.fg);
    assert_eq!(fg_of("ck-0000", "failed"), theme.danger.fg);
    assert_eq!(fg_of("ck-0004", "no      "), theme.danger.fg);
    assert_eq!(fg_of("ck-0001", "remove nas"), theme.degraded.fg);
    let store_error = (0..48u16).find_map(|y| {
        let text: String = (0..160u16)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let at = text.find("✗ HTTP 503")?;
        Some(buf[(text[..at].chars().count() as u16, y)].fg)
    });
    assert_eq!(store_error, theme.danger.fg);
}

#[test]
fn tasks_with_checkpoint_work() {
    let (snap, ui) = live(View::Tasks);
    both("tasks_replication", &snap, &ui);
}

#[test]
fn small_and_odd_sizes_do_not_panic_with_an_inventory() {
    let (snap, mut ui) = live(View::Checkpoints);
    ui.ckpt_row = Some(9);
    for view in [View::Checkpoints, View::Tasks] {
        ui.view = view;
        for (w, h) in [(40, 8), (41, 9), (60, 10), (80, 12), (120, 9), (200, 60)] {
            let _ = render(&snap, &ui, w, h);
        }
    }
}

#[test]
fn clicks_in_the_tasks_view_land_above_the_checkpoint_work() {
    let (snap, mut ui) = live(View::Tasks);
    ui.view = View::Tasks;
    let area = Rect::new(0, 0, 80, 24);
    // Header 2 lines, the attention lines, box top, column titles: the one job task is
    // on line 4 below the attention lines.
    let att = super::attention::height(&snap);
    assert_eq!(row_at(&snap, &ui, area, 4 + att), Some(0));
    assert_eq!(row_at(&snap, &ui, area, 5 + att), None);
    assert_eq!(row_at(&snap, &ui, area, 9 + att), None);
}
