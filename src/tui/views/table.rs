//! Rows of a table whose columns come and go with the width: the header line and the
//! cells of the columns that fit (see `widgets::choose`), one space apart.

use super::widgets::{cell, rcell, Col};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Adds column `k`'s spans to a row when the column is shown.
pub fn push_col(
    shown: &[bool],
    spans: &mut Vec<Span<'static>>,
    k: usize,
    parts: Vec<Span<'static>>,
) {
    if shown.get(k).copied().unwrap_or(false) {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.extend(parts);
    }
}

/// The header: each shown label padded to its column (indented two cells for the
/// selection mark), the columns in `right` right-aligned.
pub fn header(
    labels: &[&str],
    cols: &[Col],
    shown: &[bool],
    right: &[usize],
    style: Style,
) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, (label, col)) in labels.iter().zip(cols).enumerate() {
        let w = usize::from(col.width);
        let text = match k {
            0 => cell(&format!("  {label}"), w),
            _ if right.contains(&k) => rcell(label, w),
            _ => cell(label, w),
        };
        push_col(shown, &mut spans, k, vec![Span::styled(text, style)]);
    }
    Line::from(spans)
}
