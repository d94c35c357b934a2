//! The Fleet view's GPU-row grid: which columns show at a given width and how wide each
//! is (the least useful go first), the column titles, and small per-GPU helpers.

use super::widgets::{bar_spans, cell, choose, rcell, spark, Col};
use crate::core::gpu::GpuHealth;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Column widths for the GPU rows at a given inside width.
pub struct Grid {
    pub cols: [Col; 13],
    pub shown: Vec<bool>,
    pub note: usize,
    pub util_bar: usize,
    pub mem_bar: usize,
    pub mem_short: bool,
    pub spark: usize,
}

pub const C_TREE: usize = 0;
pub const C_NAME: usize = 1;
pub const C_UTIL: usize = 2;
pub const C_MEM: usize = 3;
pub const C_TEMP: usize = 4;
pub const C_POWER: usize = 5;
pub const C_ECC: usize = 6;
pub const C_THROTTLE: usize = 7;
pub const C_JOB: usize = 8;
pub const C_HB: usize = 9;
pub const C_SPARK_U: usize = 10;
pub const C_SPARK_T: usize = 11;
pub const C_NOTE: usize = 12;

impl Grid {
    pub fn new(w: u16) -> Grid {
        let tier = if w >= 140 {
            2
        } else if w >= 100 {
            1
        } else {
            0
        };
        let pick = |a: u16, b: u16, c: u16| [a, b, c][tier];
        let util_bar = pick(5, 10, 10);
        let mem_bar = pick(4, 8, 8);
        let mem_text = pick(7, 10, 10);
        let spark = pick(10, 12, 16);
        let c = |width: u16, keep: u8| Col { width, keep };
        let cols = [
            c(5, 100),
            c(pick(12, 16, 16), 90),
            c(util_bar + 5, 85),
            c(mem_bar + 1 + mem_text, 80),
            c(5, 75),
            c(5, 55),
            c(3, 70),
            c(pick(9, 12, 12), 60),
            c(12, 50),
            c(6, 65),
            c(spark, 45),
            c(spark, 40),
            c(0, 0),
        ];
        let mut shown = choose(&cols[..C_NOTE], w);
        let used: u16 = cols[..C_NOTE]
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s)
            .map(|(c, _)| c.width + 1)
            .sum();
        let note = usize::from(w.saturating_sub(used));
        shown.push(note >= 8);
        Grid {
            cols,
            shown,
            note,
            util_bar: usize::from(util_bar),
            mem_bar: usize::from(mem_bar),
            mem_short: tier == 0,
            spark: usize::from(spark),
        }
    }

    pub fn width(&self, c: usize) -> usize {
        if c == C_NOTE {
            self.note
        } else {
            usize::from(self.cols[c].width)
        }
    }

    /// Appends cell `c` (and the gap before it) when the column is shown.
    pub fn push(&self, spans: &mut Vec<Span<'static>>, c: usize, cell_spans: Vec<Span<'static>>) {
        if !self.shown[c] {
            return;
        }
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.extend(cell_spans);
    }
}

pub fn header_line(grid: &Grid, theme: &Theme) -> Line<'static> {
    let style = theme.dim.add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    for (c, label) in s::GPU_COLS.iter().enumerate() {
        let w = grid.width(c);
        let text = match c {
            C_TEMP | C_POWER | C_ECC | C_HB => rcell(label, w),
            _ => cell(label, w),
        };
        grid.push(&mut spans, c, vec![Span::styled(text, style)]);
    }
    Line::from(spans)
}

/// The style of a GPU's health mark.
pub fn health_style(health: &GpuHealth, theme: &Theme) -> (Style, &'static str) {
    match health {
        GpuHealth::Healthy => (theme.healthy, "●"),
        GpuHealth::Degraded(_) => (theme.degraded, "▲"),
        GpuHealth::Fatal(_) => (theme.failed, "✖"),
        GpuHealth::Unknown(_) => (theme.stale, "?"),
    }
}

/// A GPU's reasons without the `GPU n: ` prefix each starts with.
pub fn reasons(health: &GpuHealth) -> String {
    let list = match health {
        GpuHealth::Healthy => return String::new(),
        GpuHealth::Degraded(r) | GpuHealth::Fatal(r) | GpuHealth::Unknown(r) => r,
    };
    list.iter()
        .map(|r| match r.split_once(": ") {
            Some((head, rest)) if head.starts_with("GPU ") => rest,
            _ => r.as_str(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The memory bar's text and fill.
pub fn mem_parts(
    used: Option<f64>,
    total: Option<f64>,
    w: usize,
    style: Style,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let frac = match (used, total) {
        (Some(u), Some(t)) if t > 0.0 => u / t,
        _ => 0.0,
    };
    let bar_style = if frac >= 0.95 { theme.degraded } else { style };
    bar_spans(frac, w, bar_style, theme).to_vec()
}

/// History sparkline helper for GPU rows.
pub fn history(ui: &UiState, host: &str, idx: u32, temp: bool, w: usize) -> String {
    let key = (host.to_string(), idx);
    if temp {
        spark(ui.history.temp.get(&key), 20, 100, w)
    } else {
        spark(ui.history.util.get(&key), 0, 100, w)
    }
}
