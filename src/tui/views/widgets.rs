//! Small drawing pieces the views share: clipped lines, fixed-width cells, bars, sparklines,
//! word wrap, panels and a column chooser that drops the least useful columns first.

use crate::core::safe_text::escape_line;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Widget};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Draws `line` on row `row` of `area`, clipped to it; rows outside are ignored. Text
/// with terminal controls (hosts' own words) is drawn escaped, as every CLI output
/// prints it (`core::safe_text`), rather than silently dropped.
pub fn put(buf: &mut Buffer, area: Rect, row: u16, line: &Line) {
    if row >= area.height || area.width == 0 {
        return;
    }
    if line.spans.iter().any(needs_escape) {
        buf.set_line(area.x, area.y + row, &escaped(line.clone()), area.width);
        return;
    }
    buf.set_line(area.x, area.y + row, line, area.width);
}

fn needs_escape(s: &Span) -> bool {
    matches!(escape_line(&s.content), Cow::Owned(_))
}

/// `line` with terminal controls in its text escaped (see `put`), for lines drawn by
/// ratatui's own widgets.
pub fn escaped(line: Line<'_>) -> Line<'_> {
    if !line.spans.iter().any(needs_escape) {
        return line;
    }
    let spans = line
        .spans
        .iter()
        .map(|s| Span::styled(escape_line(&s.content).into_owned(), s.style))
        .collect();
    Line { spans, ..line }
}

/// Applies `style` over a whole row of `area` (the selection bar).
pub fn highlight(buf: &mut Buffer, area: Rect, row: u16, style: Style) {
    if row >= area.height {
        return;
    }
    buf.set_style(Rect::new(area.x, area.y + row, area.width, 1), style);
}

/// `s` cut or padded to exactly `w` columns, left-aligned; a cut ends in `…`.
pub fn cell(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        let mut out = String::with_capacity(s.len() + w - n);
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - n));
        out
    } else if w == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(w - 1).collect();
        out.push('…');
        out
    }
}

/// `s` padded to `w` columns, or cut in the middle (`s3://bucket/…/ck-0003`) so both its
/// start and its end stay readable.
pub fn cell_mid(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w || w < 5 {
        return cell(s, w);
    }
    let tail = (w - 1) / 2;
    let head = w - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

/// `s` cut or padded to exactly `w` columns, right-aligned.
pub fn rcell(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        let mut out: String = std::iter::repeat_n(' ', w - n).collect();
        out.push_str(s);
        out
    } else {
        cell(s, w)
    }
}

/// `s` cut to at most `w` columns (no padding).
pub fn clip(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        cell(s, w)
    }
}

pub fn width(s: &str) -> usize {
    s.chars().count()
}

pub fn line_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// A horizontal bar `w` cells wide filled to `frac` (0–1) in eighths: filled part, rest.
pub fn bar(frac: f64, w: usize) -> (String, String) {
    let frac = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (frac * (w * 8) as f64).round() as usize;
    let full = eighths / 8;
    let part = eighths % 8;
    let mut filled: String = std::iter::repeat_n('█', full).collect();
    let mut used = full;
    if part > 0 && used < w {
        filled.push(EIGHTHS[part]);
        used += 1;
    }
    (
        filled,
        std::iter::repeat_n('·', w.saturating_sub(used)).collect(),
    )
}

/// The bar as two spans: the fill in `style`, the track dim.
pub fn bar_spans(frac: f64, w: usize, style: Style, theme: &Theme) -> [Span<'static>; 2] {
    let (f, rest) = bar(frac, w);
    [Span::styled(f, style), Span::styled(rest, theme.dim)]
}

const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `w` values as a sparkline scaled from `lo` to `hi`, right-aligned (newest on
/// the right; missing history is blank).
pub fn spark(values: Option<&VecDeque<u64>>, lo: u64, hi: u64, w: usize) -> String {
    let Some(values) = values else {
        return " ".repeat(w);
    };
    let span = hi.saturating_sub(lo).max(1) as f64;
    let skip = values.len().saturating_sub(w);
    let mut out: String = std::iter::repeat_n(' ', w.saturating_sub(values.len())).collect();
    for v in values.iter().skip(skip) {
        let f = (v.saturating_sub(lo) as f64 / span).clamp(0.0, 1.0);
        out.push(TICKS[((f * 7.0).round() as usize).min(7)]);
    }
    out
}

/// Word-wraps `text` into lines of at most `w` columns (long words are cut).
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if w == 0 {
        return lines;
    }
    let mut cur = String::new();
    let mut cur_w = 0;
    for word in text.split_whitespace() {
        let mut word: String = word.to_string();
        loop {
            let ww = width(&word);
            let need = if cur_w == 0 { ww } else { cur_w + 1 + ww };
            if need <= w {
                if cur_w > 0 {
                    cur.push(' ');
                }
                cur.push_str(&word);
                cur_w = need;
                break;
            }
            if cur_w > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0;
                continue;
            }
            // A word longer than the line: cut it.
            let head: String = word.chars().take(w).collect();
            word = word.chars().skip(w).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if cur_w > 0 {
        lines.push(cur);
    }
    lines
}

/// The first row to show so that the selection stays in view (it rides the last row).
pub fn offset(sel: usize, total: usize, rows: usize) -> usize {
    if total <= rows {
        0
    } else {
        sel.saturating_sub(rows.saturating_sub(1)).min(total - rows)
    }
}

/// A panel over a list of `total` rows of which `rows` fit, titled `title`, with "a–b of n"
/// on the right when the list scrolls (or `always`). Returns the inside and the offset.
#[allow(clippy::too_many_arguments)]
pub fn list_panel(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    total: usize,
    sel: usize,
    rows: usize,
    always: bool,
    theme: &Theme,
) -> (Rect, usize) {
    let off = offset(sel, total, rows);
    let shown = if always { total > 0 } else { total > rows };
    let right = shown.then(|| crate::tui::strings::range(off + 1, (off + rows).min(total), total));
    (panel(buf, area, title, right.as_deref(), theme), off)
}

/// A bordered panel with a title on the left and optional text on the right; returns the
/// inside.
pub fn panel(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    right: Option<&str>,
    theme: &Theme,
) -> Rect {
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border)
        .title(Line::from(Span::styled(title.to_string(), theme.title)));
    if let Some(r) = right {
        block = block.title(Line::from(Span::styled(r.to_string(), theme.dim)).right_aligned());
    }
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// One column of a table: its width and how long it is kept as space runs out (higher is
/// kept longer).
#[derive(Copy, Clone, Debug)]
pub struct Col {
    pub width: u16,
    pub keep: u8,
}

/// Which columns fit in `avail` cells with one space between them: the ones with the
/// lowest `keep` go first (the rightmost first among equals).
pub fn choose(cols: &[Col], avail: u16) -> Vec<bool> {
    let mut shown = vec![true; cols.len()];
    let total = |shown: &[bool]| -> u32 {
        let mut t = 0u32;
        let mut n = 0u32;
        for (c, s) in cols.iter().zip(shown) {
            if *s {
                t += u32::from(c.width);
                n += 1;
            }
        }
        t + n.saturating_sub(1)
    };
    while total(&shown) > u32::from(avail) {
        let victim = cols
            .iter()
            .enumerate()
            .filter(|(i, _)| shown[*i])
            .min_by_key(|(i, c)| (c.keep, usize::MAX - i))
            .map(|(i, _)| i);
        match victim {
            Some(i) => shown[i] = false,
            None => break,
        }
    }
    shown
}

/// Word-wraps styled spans into lines of at most `w` columns; each word keeps its style.
pub fn wrap_spans(spans: Vec<Span<'static>>, w: usize) -> Vec<Vec<Span<'static>>> {
    let mut words: Vec<(String, Style)> = Vec::new();
    for sp in spans {
        for word in sp.content.split_whitespace() {
            // A word longer than a line is cut into line-sized pieces.
            for piece in wrap(word, w) {
                words.push((piece, sp.style));
            }
        }
    }
    let mut lines: Vec<Vec<Span<'static>>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut cur_w = 0;
    for (word, style) in words {
        let ww = width(&word);
        if cur_w > 0 && cur_w + 1 + ww > w {
            lines.push(std::mem::take(&mut cur));
            cur_w = 0;
        }
        if cur_w > 0 {
            cur.push(Span::raw(" "));
            cur_w += 1;
        }
        cur_w += ww;
        cur.push(Span::styled(word, style));
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// The words of `s` that fit in `w` columns (cut with `…` only if the first does not).
pub fn fit_words(s: &str, w: usize) -> String {
    let mut out = String::new();
    for word in s.split_whitespace() {
        let need = if out.is_empty() {
            width(word)
        } else {
            width(&out) + 1 + width(word)
        };
        if need > w {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        return clip(s, w);
    }
    out
}

/// Lines of `label value` with the label in a dim fixed-width gutter; a value too long
/// for one line wraps under itself, each word keeping its style.
pub fn labelled(
    label: &str,
    value: Vec<Span<'static>>,
    gutter: usize,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let text_w = w.saturating_sub(gutter).max(1);
    if line_width(&value) <= text_w {
        let mut spans = vec![Span::styled(cell(label, gutter), theme.dim)];
        spans.extend(value);
        return vec![Line::from(spans)];
    }
    wrap_spans(value, text_w)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 {
                cell(label, gutter)
            } else {
                " ".repeat(gutter)
            };
            let mut spans = vec![Span::styled(head, theme.dim)];
            spans.extend(l);
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cut_and_pad() {
        assert_eq!(cell("abc", 5), "abc  ");
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(rcell("7", 3), "  7");
        assert_eq!(cell("x", 0), "");
        assert_eq!(cell_mid("s3://bucket/job/ck-0003", 13), "s3://b…k-0003");
    }

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(0.5, 4), ("██".to_string(), "··".to_string()));
        assert_eq!(bar(1.0, 3).0, "███");
        assert_eq!(bar(0.0, 3).1, "···");
        assert_eq!(bar(f64::NAN, 2).1, "··");
        let (f, r) = bar(0.3, 10);
        assert_eq!(width(&f) + width(&r), 10);
    }

    #[test]
    fn sparkline_is_right_aligned() {
        let v: VecDeque<u64> = [0, 50, 100].into_iter().collect();
        assert_eq!(spark(Some(&v), 0, 100, 5), "  ▁▅█");
        assert_eq!(spark(Some(&v), 0, 100, 2), "▅█");
        assert_eq!(spark(None, 0, 100, 2), "  ");
    }

    #[test]
    fn styled_wrap_keeps_styles() {
        let red = Style::default().fg(ratatui::style::Color::Red);
        let lines = wrap_spans(
            vec![Span::raw("one two"), Span::styled("three four", red)],
            13,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].last().map(|s| s.style), Some(red));
        assert_eq!(fit_words("H100 80GB HBM3", 10), "H100 80GB");
        assert_eq!(fit_words("Supercalifragilistic", 6), "Super…");
    }

    #[test]
    fn wrap_breaks_on_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert!(wrap("x", 0).is_empty());
    }

    #[test]
    fn choose_drops_least_kept() {
        let cols = [
            Col { width: 10, keep: 9 },
            Col { width: 10, keep: 1 },
            Col { width: 10, keep: 5 },
        ];
        assert_eq!(choose(&cols, 32), [true, true, true]);
        assert_eq!(choose(&cols, 25), [true, false, true]);
        assert_eq!(choose(&cols, 5), [false, false, false]);
    }
}
