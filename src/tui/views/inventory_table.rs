//! The inventory's table: one row per checkpoint with its id, step, age, size, a column per
//! store with the copy's state, whether it can be restored, and the prune plan's verdict
//! (shortened to fit). Wider screens add the creation time, files, source host, epoch and
//! digest.

use super::format as f;
use super::widgets::{cell, choose, rcell, width, Col};
use crate::core::inventory::{CheckpointEntry, CopyState, PruneRow};
use crate::core::snapshot::Snapshot;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Verified in the ok colour, pending and missing as a warning, bad and failed as errors.
pub fn copy_style(state: CopyState, theme: &Theme) -> Style {
    match state {
        CopyState::Verified => theme.healthy,
        CopyState::Pending | CopyState::Missing => theme.degraded,
        CopyState::Bad | CopyState::Failed => theme.danger,
    }
}

/// The part of a reason before its details: `keep_last 3: #1 newest` → `keep_last 3`.
fn short(reason: &str) -> &str {
    reason
        .split([':', '(', ','])
        .next()
        .map_or(reason, str::trim)
}

/// One plan row in full: `keep: newest verified checkpoint (never removed); keep_last 2: …`.
pub fn verdict_full(r: &PruneRow) -> String {
    s::verdict(r.keep, None, &r.reasons.join("; "))
}

fn dedup<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// What the prune plan does with one checkpoint (its rows, one per store) in at most `w`
/// columns — in full, else with shortened reasons — and whether it removes any copy.
fn verdict(plan: &[&PruneRow], w: usize) -> (String, bool) {
    if plan.is_empty() {
        return (s::NOT_PLANNED.to_string(), false);
    }
    // Removals first; the stores are named only when the stores disagree.
    let groups: Vec<(bool, Vec<&PruneRow>)> = [false, true]
        .into_iter()
        .map(|keep| {
            let rows: Vec<&PruneRow> = plan.iter().copied().filter(|r| r.keep == keep).collect();
            (keep, rows)
        })
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    let mixed = groups.len() > 1;
    let removes = groups.iter().any(|(keep, _)| !keep);
    let say = |pick: &dyn Fn(&[&str]) -> String| -> String {
        groups
            .iter()
            .map(|(keep, rows)| {
                let stores: Vec<&str> = rows.iter().map(|r| r.store.as_str()).collect();
                let reasons = dedup(rows.iter().flat_map(|r| &r.reasons).map(String::as_str));
                let st = mixed.then(|| stores.join(","));
                s::verdict(*keep, st.as_deref(), &pick(&reasons))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let first = say(&|r| r.first().map_or_else(String::new, |x| short(x).to_string()));
    let mut tries = vec![
        say(&|r| r.join("; ")),
        say(&|r| dedup(r.iter().map(|x| short(x))).join(", ")),
    ];
    match groups.as_slice() {
        // One verdict: the first of its reasons that fits.
        [(keep, rows)] => tries.extend(
            dedup(rows.iter().flat_map(|r| &r.reasons).map(|x| short(x)))
                .into_iter()
                .map(|x| s::verdict(*keep, None, x)),
        ),
        _ => {
            tries.push(first.clone());
            tries.push(say(&|_| String::new()));
        }
    }
    let text = tries.into_iter().find(|t| width(t) <= w).unwrap_or(first);
    (text, removes)
}

/// The table's columns, chosen for the width.
pub struct Table<'a> {
    titles: Vec<String>,
    widths: Vec<usize>,
    shown: Vec<bool>,
    stores: Vec<String>,
    plan: &'a [&'a PruneRow],
    /// The newest checkpoint that can be restored (marked ◆).
    restore: Option<String>,
}

// Column positions before the stores; after them come RESTORE, FROM, EPOCH, SHA, PRUNE.
const ID: usize = 0;
const STEP: usize = 1;
const AGE: usize = 2;
const CREATED: usize = 3;
const SIZE: usize = 4;
const FILES: usize = 5;
const FIXED: usize = 6;

impl<'a> Table<'a> {
    pub fn new(
        snap: &Snapshot,
        rows: &[&CheckpointEntry],
        plan: &'a [&'a PruneRow],
        avail: u16,
    ) -> Self {
        let stores: Vec<String> = snap
            .inventory
            .stores
            .iter()
            .map(|x| x.name.clone())
            .collect();
        let most =
            |f: &dyn Fn(&CheckpointEntry) -> usize| rows.iter().map(|c| f(c)).max().unwrap_or(0);
        let id_w = (most(&|c| width(&c.id)) + 2).clamp(6, 26);
        let step_w = most(&|c| width(&f::count(c.step))).max(width(s::INV_STEP));
        let from_w = most(&|c| width(&c.source_host)).clamp(width(s::INV_FROM), 16);
        let mut titles: Vec<String> = [
            s::INV_ID,
            s::INV_STEP,
            s::INV_AGE,
            s::INV_CREATED,
            s::INV_SIZE,
            s::INV_FILES,
        ]
        .map(String::from)
        .to_vec();
        let mut cols = vec![
            (id_w, 100),
            (step_w, 90),
            (6, 85),
            (8, 20),
            (9, 60),
            (5, 15),
        ];
        for st in &stores {
            let t = s::store_col(st);
            cols.push((width(&t).max(8), 95));
            titles.push(t);
        }
        titles.extend(
            [
                s::INV_RESTORE,
                s::INV_FROM,
                s::INV_EPOCH,
                s::INV_SHA,
                s::INV_PRUNE,
            ]
            .map(String::from),
        );
        cols.extend([(7, 80), (from_w, 25), (5, 22), (12, 30), (14, 70)]);
        let spec: Vec<Col> = cols
            .iter()
            .map(|&(w, keep)| Col {
                width: w as u16,
                keep,
            })
            .collect();
        let shown = choose(&spec, avail);
        let mut widths: Vec<usize> = cols.iter().map(|c| c.0).collect();
        let used: usize = widths
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s)
            .map(|(w, _)| w + 1)
            .sum();
        // The plan's verdict grows into what is left.
        if let (Some(last), Some(true)) = (widths.last_mut(), shown.last()) {
            *last += usize::from(avail).saturating_sub(used.saturating_sub(1));
        }
        let restore = rows.iter().find(|c| c.restorable()).map(|c| c.id.clone());
        Self {
            titles,
            widths,
            shown,
            stores,
            plan,
            restore,
        }
    }

    fn line(&self, cells: Vec<Span<'static>>) -> Line<'static> {
        let mut spans = Vec::new();
        for (k, c) in cells.into_iter().enumerate() {
            if self.shown.get(k) == Some(&true) {
                if !spans.is_empty() {
                    spans.push(Span::raw(" "));
                }
                spans.push(c);
            }
        }
        Line::from(spans)
    }

    fn right(&self, k: usize) -> bool {
        matches!(k, STEP | AGE | SIZE | FILES) || k == FIXED + self.stores.len() + 2
    }

    pub fn header(&self, theme: &Theme) -> Line<'static> {
        let head = theme.dim.add_modifier(Modifier::BOLD);
        let cells = self
            .titles
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let w = self.widths[k];
                let text = if self.right(k) {
                    rcell(t, w)
                } else {
                    cell(t, w)
                };
                Span::styled(text, head)
            })
            .collect();
        self.line(cells)
    }

    pub fn row(&self, snap: &Snapshot, c: &CheckpointEntry, theme: &Theme) -> Line<'static> {
        let w = |k: usize| self.widths[k];
        let mark = if self.restore.as_deref() == Some(c.id.as_str()) {
            s::RESTORE_POINT
        } else {
            " "
        };
        let mut cells = vec![
            Span::styled(
                cell(&format!("{mark} {}", c.id), w(ID)),
                theme.base.add_modifier(Modifier::BOLD),
            ),
            Span::styled(rcell(&f::count(c.step), w(STEP)), theme.base),
            Span::styled(rcell(&f::age(snap.now, c.created), w(AGE)), theme.base),
            Span::styled(cell(&f::clock(c.created), w(CREATED)), theme.dim),
            Span::styled(rcell(&f::bytes(c.bytes), w(SIZE)), theme.dim),
            Span::styled(rcell(&c.files.to_string(), w(FILES)), theme.dim),
        ];
        for (i, st) in self.stores.iter().enumerate() {
            let cw = w(FIXED + i);
            cells.push(match c.copy(st) {
                Some(cp) => Span::styled(
                    cell(s::copy_state(cp.state), cw),
                    copy_style(cp.state, theme),
                ),
                None => Span::styled(cell(s::NO_COPY, cw), theme.dim),
            });
        }
        let k = FIXED + self.stores.len();
        let (ok, ok_style) = if c.restorable() {
            (s::YES, theme.healthy)
        } else if c.needs_adoption() {
            (s::ADOPT, theme.degraded)
        } else {
            (s::NO, theme.danger)
        };
        cells.push(Span::styled(cell(ok, w(k)), ok_style));
        cells.push(Span::styled(cell(&c.source_host, w(k + 1)), theme.dim));
        cells.push(Span::styled(
            rcell(&c.epoch.to_string(), w(k + 2)),
            theme.dim,
        ));
        let sha: String = c.digest.chars().take(12).collect();
        cells.push(Span::styled(cell(&sha, w(k + 3)), theme.dim));
        let mine: Vec<&PruneRow> = self.plan.iter().copied().filter(|r| r.id == c.id).collect();
        let (text, removes) = verdict(&mine, w(k + 4));
        let style = if removes { theme.degraded } else { theme.dim };
        cells.push(Span::styled(cell(&text, w(k + 4)), style));
        self.line(cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(store: &str, keep: bool, reasons: &[&str]) -> PruneRow {
        PruneRow {
            job: "j".into(),
            id: "ck".into(),
            step: 1,
            store: store.into(),
            keep,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn verdicts_shorten_to_fit() {
        let newest = "newest verified checkpoint (never removed)";
        let both = [
            row("nas", true, &[newest, "keep_last 3: #1 newest"]),
            row("s3", true, &[newest, "keep_last 3: #1 newest"]),
        ];
        let plan: Vec<&PruneRow> = both.iter().collect();
        let (full, removes) = verdict(&plan, 200);
        assert!(!removes);
        assert_eq!(
            full,
            "keep: newest verified checkpoint (never removed); keep_last 3: #1 newest"
        );
        assert_eq!(
            verdict(&plan, 50).0,
            "keep: newest verified checkpoint, keep_last 3"
        );
        assert_eq!(verdict(&plan, 20).0, "keep: keep_last 3");
        let split = [
            row("nas", false, &["no rule keeps it"]),
            row("s3", true, &["daily 7: newest of its day"]),
        ];
        let plan: Vec<&PruneRow> = split.iter().collect();
        let (text, removes) = verdict(&plan, 200);
        assert!(removes);
        assert_eq!(
            text,
            "remove nas: no rule keeps it; keep s3: daily 7: newest of its day"
        );
        assert_eq!(verdict(&plan, 20).0, "remove nas; keep s3");
        assert_eq!(verdict(&[], 20).0, s::NOT_PLANNED);
    }
}
