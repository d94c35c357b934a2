//! The Checkpoints view's inventory panel (when the runtime fills it): the stores, every
//! catalogued checkpoint of the selected job with its copy in each store, whether it can
//! be restored and what the prune plan does with it (`inventory_table`), and the selected
//! checkpoint's detail: digest, source host, epoch, and each copy's state and plan.

use super::format as f;
use super::inventory_table::{copy_style, verdict_full, Table};
use super::widgets::{cell, highlight, panel, put, width, wrap_spans};
use crate::core::inventory::{CheckpointEntry, PruneRow};
use crate::core::snapshot::{JobView, Snapshot};
use crate::tui::select;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    snap: &Snapshot,
    ui: &UiState,
    j: &JobView,
    theme: &Theme,
) {
    let rows = select::inventory(snap, j.id.as_str());
    let plan: Vec<&PruneRow> = snap
        .inventory
        .prune_plan
        .iter()
        .filter(|r| r.job == j.id.as_str())
        .collect();
    let sel = select::ckpt_index(ui, rows.len());
    let focused = ui.ckpt_row.is_some();
    let h = usize::from(area.height.saturating_sub(2));
    let w = usize::from(area.width.saturating_sub(3)).max(1);
    let stores = wrap_spans(stores_spans(snap, theme), w);
    let (ident, tall, compact) = match rows.get(sel) {
        Some(c) => (
            Some(ident_line(c, w, theme)),
            copy_lines(snap, c, &plan, w, true, theme),
            copy_lines(snap, c, &plan, w, false, theme),
        ),
        None => (None, Vec::new(), Vec::new()),
    };
    // A line per copy when everything fits with it; else the copies share lines and the
    // stores and the detail give lines back to the table.
    let st = stores.len().min(2);
    let all_rows = st + 1 + rows.len() + 1;
    let mut detail: Vec<Line<'static>> = ident.into_iter().collect();
    detail.extend(if all_rows + 1 + tall.len() <= h {
        tall
    } else {
        compact
    });
    let min_rows = rows.len().clamp(1, 3);
    let (mut st, mut dt) = (st, detail.len().min(3));
    for (max_st, max_dt) in [(2, 2), (1, 2), (1, 1), (1, 0), (0, 0)] {
        if st + 1 + dt + min_rows <= h {
            break;
        }
        st = st.min(max_st);
        dt = dt.min(max_dt);
    }
    if all_rows + dt <= h {
        dt = detail.len().min(h - all_rows);
    }
    let table_rows = h.saturating_sub(st + 1 + dt);
    let off = super::widgets::offset(sel, rows.len(), table_rows);
    let right = if rows.len() > table_rows {
        Some(s::range(
            off + 1,
            (off + table_rows).min(rows.len()),
            rows.len(),
        ))
    } else {
        (!focused && !rows.is_empty()).then(|| s::inventory_hint().to_string())
    };
    let inner = panel(
        buf,
        area,
        &s::inventory_title(j.id.as_str(), rows.len()),
        right.as_deref(),
        theme,
    );
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let content = Rect::new(inner.x + 1, inner.y, inner.width - 1, inner.height);
    let mut y = 0u16;
    for l in stores.into_iter().take(st) {
        put(buf, content, y, &Line::from(l));
        y += 1;
    }
    if rows.is_empty() {
        put(
            buf,
            content,
            y,
            &Line::from(Span::styled(s::NO_INVENTORY, theme.dim)),
        );
        return;
    }
    let table = Table::new(snap, &rows, &plan, content.width);
    put(buf, content, y, &table.header(theme));
    y += 1;
    for (i, c) in rows.iter().enumerate().skip(off).take(table_rows) {
        put(buf, content, y, &table.row(snap, c, theme));
        if focused && i == sel {
            highlight(buf, content, y, theme.selected);
        }
        y += 1;
    }
    // The detail sits under the table, a line apart when there is room for that.
    y += u16::from(usize::from(content.height.saturating_sub(y)) > dt);
    for l in detail.into_iter().take(dt) {
        put(buf, content, y, &l);
        y += 1;
    }
}

/// `stores  nas /mnt/ckpt · s3 s3://bucket ✗ error · last scrub 12m ago`.
fn stores_spans(snap: &Snapshot, theme: &Theme) -> Vec<Span<'static>> {
    let inv = &snap.inventory;
    let mut v = vec![Span::styled(s::STORES, theme.dim)];
    for (i, st) in inv.stores.iter().enumerate() {
        if i > 0 {
            v.push(Span::styled("·", theme.dim));
        }
        v.push(Span::styled(
            st.name.clone(),
            theme.base.add_modifier(Modifier::BOLD),
        ));
        v.push(Span::styled(st.location.clone(), theme.dim));
        match snap.stores.iter().find(|h| h.store == st.name) {
            Some(h) => v.extend(health_spans(snap, h, theme)),
            None => {
                if let Some(e) = &st.error {
                    v.push(Span::styled(s::store_error(e), theme.danger));
                }
            }
        }
    }
    v.push(Span::styled("·", theme.dim));
    let scrub = inv.last_scrub.map_or_else(
        || s::NEVER_SCRUBBED.to_string(),
        |t| s::last_scrub(&f::age(snap.now, t)),
    );
    v.push(Span::styled(scrub, theme.dim));
    v
}

/// `✖ not mounted last good write 5m ago 3 copies pending ✗ NAS folder … is missing`: a
/// store's health, its own words last (they are the longest and may be cut).
fn health_spans(
    snap: &Snapshot,
    h: &crate::core::store_health::StoreHealth,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    match &h.error {
        Some(e) => v.push(Span::styled(s::store_fault(e.kind.as_str()), theme.danger)),
        None => v.push(Span::styled(s::STORE_OK, theme.healthy)),
    }
    let age = h.last_ok.map(|t| f::age(snap.now, t));
    v.push(Span::styled(s::last_good_write(age.as_deref()), theme.dim));
    if h.pending > 0 {
        v.push(Span::styled(s::pending_copies(h.pending), theme.degraded));
    }
    if let Some(e) = &h.error {
        v.push(Span::styled(s::store_error(&e.detail), theme.danger));
    }
    v
}

/// `ck-0003 · step 3000 · SHA-256 … · from gpu-a1 · epoch 1 · 18 files`: the whole
/// digest when it fits, and as many of the parts as fit.
fn ident_line(c: &CheckpointEntry, w: usize, theme: &Theme) -> Line<'static> {
    let step = f::count(c.step);
    let whole = s::ckpt_ident(&c.id, &step, &c.digest, &c.source_host, c.epoch, c.files);
    let parts = if width(&whole.join(s::SEP)) <= w {
        whole
    } else {
        let short: String = c.digest.chars().take(16).collect();
        s::ckpt_ident(
            &c.id,
            &step,
            &format!("{short}…"),
            &c.source_host,
            c.epoch,
            c.files,
        )
    };
    let mut text = String::new();
    for p in parts {
        let next = if text.is_empty() {
            p
        } else {
            format!("{text}{}{p}", s::SEP)
        };
        if width(&next) > w && !text.is_empty() {
            break;
        }
        text = next;
    }
    Line::from(Span::styled(cell(&text, w), theme.base))
}

/// Each copy's store, state, when it was last checked and what the store said; `tall`:
/// a line (or more) per copy, with what the prune plan does with it; else all on shared
/// lines.
fn copy_lines(
    snap: &Snapshot,
    c: &CheckpointEntry,
    plan: &[&PruneRow],
    w: usize,
    tall: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let store_w = c
        .copies
        .iter()
        .map(|cp| width(&cp.store))
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut shared = Vec::new();
    for (i, cp) in c.copies.iter().enumerate() {
        let mut spans = Vec::new();
        if !tall && i > 0 {
            spans.push(Span::styled("·", theme.dim));
        }
        let (store, state) = if tall {
            (cell(&cp.store, store_w), cell(s::copy_state(cp.state), 8))
        } else {
            (cp.store.clone(), s::copy_state(cp.state).to_string())
        };
        // Words are spaced here for the tall lines; `wrap_spans` spaces them itself.
        let gap = || Span::raw(" ");
        spans.push(Span::styled(store, theme.base.add_modifier(Modifier::BOLD)));
        spans.push(gap());
        spans.push(Span::styled(state, copy_style(cp.state, theme)));
        let checked = cp.checked.map(|t| f::age(snap.now, t));
        let tail = s::copy_tail(checked.as_deref(), &cp.detail);
        if !tail.is_empty() {
            spans.push(gap());
            spans.push(Span::styled(tail, theme.dim));
        }
        if !tall {
            shared.extend(spans);
            continue;
        }
        let row = plan.iter().find(|r| r.id == c.id && r.store == cp.store);
        if let Some(r) = row {
            let style = if r.keep { theme.dim } else { theme.degraded };
            spans.push(Span::styled(" · ", theme.dim));
            spans.push(Span::styled(verdict_full(r), style));
        }
        // Padding survives only on the first line: wrap just what does not fit.
        let line = Line::from(spans.clone());
        if line.width() <= w {
            out.push(line);
        } else {
            out.extend(wrap_spans(spans, w).into_iter().map(Line::from));
        }
    }
    if !tall {
        out.extend(wrap_spans(shared, w).into_iter().map(Line::from));
    }
    out
}
