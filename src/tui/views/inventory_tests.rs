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
fn a_found_checkpoint_asks_for_adoption_instead_of_restoring() {
    let (mut snap, ui) = live(View::Checkpoints);
    for c in &mut snap.inventory.checkpoints {
        if c.id == "ck-0003" {
            c.provenance = crate::core::inventory::Provenance::Found;
        }
    }
    let theme = Theme::default();
    let mut buf = Buffer::empty(Rect::new(0, 0, 160, 48));
    let area = buf.area;
    draw_buffer(&mut buf, area, &snap, &ui, &theme);
    let row = (0..48u16).find_map(|y| {
        let text: String = (0..160u16)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let at = text.contains(" ck-0003 ").then(|| text.find(s::ADOPT))??;
        Some(buf[(text[..at].chars().count() as u16, y)].fg)
    });
    assert_eq!(row, theme.degraded.fg, "no {:?} on ck-0003's row", s::ADOPT);
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

/// The NAS is not mounted (since 12 minutes, 3 copies waiting); S3 works.
fn nas_not_mounted(snap: &mut Snapshot) {
    use crate::core::store_health::{StoreFailure, StoreHealth};
    use crate::core::time::Ts;
    let ago = |m: u64| Ts(snap.now.0.saturating_sub(m * 60_000));
    let mut failure = StoreFailure::new(
        ago(12),
        "NAS folder /mnt/ckpt is missing: is the NAS mounted?",
    );
    failure.at = ago(12);
    snap.stores = vec![
        StoreHealth {
            store: "nas".into(),
            last_ok: Some(ago(47)),
            error: Some(failure),
            pending: 3,
        },
        StoreHealth {
            store: "s3".into(),
            last_ok: Some(ago(2)),
            error: None,
            pending: 0,
        },
    ];
}

#[test]
fn a_failing_store_shows_in_the_header_and_the_checkpoints_view() {
    let (mut snap, ui) = live(View::Checkpoints);
    nas_not_mounted(&mut snap);
    let screen = render(&snap, &ui, 160, 48);
    let header = screen.lines().nth(1).unwrap_or_default();
    assert!(header.contains("NAS ✖ not mounted"), "{header}");
    assert!(screen.contains("last good write 47m00s ago"), "{screen}");
    assert!(screen.contains("3 copies pending"), "{screen}");
    both("checkpoints_store_failing", &snap, &ui);
}

#[test]
fn a_failing_store_shows_in_the_header_of_every_view() {
    let (mut snap, ui) = setup(View::Fleet);
    nas_not_mounted(&mut snap);
    let screen = render(&snap, &ui, 80, 24);
    let header = screen.lines().nth(1).unwrap_or_default();
    assert!(header.contains("NAS ✖ not mounted"), "{header}");
    // Healthy stores leave the header as it was.
    let (mut calm, ui) = setup(View::Fleet);
    let before = render(&calm, &ui, 80, 24);
    calm.stores = snap.stores.clone();
    calm.stores.retain(|s| s.error.is_none());
    assert_eq!(render(&calm, &ui, 80, 24), before);
}
