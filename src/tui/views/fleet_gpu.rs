//! One GPU row of the Fleet view: health mark and name, utilisation and memory bars,
//! temperature, power, ECC, throttling, the job on it and its heartbeat age, history
//! sparklines and the GPU's reasons; greyed with its age when the host is stale.

use super::fleet_grid::{
    health_style, history, mem_parts, reasons, Grid, C_ECC, C_HB, C_JOB, C_MEM, C_NAME, C_NOTE,
    C_POWER, C_SPARK_T, C_SPARK_U, C_TEMP, C_THROTTLE, C_TREE, C_UTIL,
};
use super::format as f;
use super::widgets::{bar_spans, cell, fit_words, rcell};
use crate::core::gpu::{GpuHealth, GpuSample, HOT_GPU_CELSIUS};
use crate::core::snapshot::{HostView, JobView, Snapshot};
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Throttle reasons from the slowdown flags, short.
pub fn throttle(g: &GpuSample) -> Vec<&'static str> {
    let on = |b: Option<bool>| b == Some(true);
    let mut v = Vec::new();
    if on(g.hw_thermal_slowdown) || on(g.sw_thermal_slowdown) {
        v.push(s::THERMAL);
    }
    if on(g.sw_power_cap) {
        v.push(s::POWER_CAP);
    }
    if on(g.hw_power_brake_slowdown) {
        v.push(s::BRAKE);
    }
    if on(g.hw_slowdown) && !on(g.hw_thermal_slowdown) && !on(g.hw_power_brake_slowdown) {
        v.push(s::HW_SLOW);
    }
    v
}

/// Row `r` of `n` GPU rows under host `h`.
#[allow(clippy::too_many_arguments)]
pub fn line(
    snap: &Snapshot,
    ui: &UiState,
    h: &HostView,
    r: usize,
    n: usize,
    stale: bool,
    jobs: &[&JobView],
    grid: &Grid,
    theme: &Theme,
) -> Line<'static> {
    let branch = if r + 1 == n { "└" } else { "├" };
    let Some(g) = h.gpus.get(r) else {
        let idx = (0..h.expected_gpus)
            .filter(|i| !h.gpus.iter().any(|g| g.sample.index == Some(*i)))
            .nth(r - h.gpus.len())
            .map_or_else(|| "?".to_string(), |i| i.to_string());
        let mut spans = vec![Span::styled(
            cell(&format!(" {branch} {idx}"), 5),
            theme.dim,
        )];
        spans.push(Span::raw(" "));
        if super::fleet::awaiting_first_probe(h) {
            spans.push(Span::styled(
                format!("○ {}", s::WAITING_FIRST_PROBE),
                theme.dim,
            ));
        } else {
            spans.push(Span::styled(format!("✖ {}", s::NO_READING), theme.failed));
        }
        return Line::from(spans);
    };
    let sm = &g.sample;
    let idx = sm.index.unwrap_or(r as u32);
    let grey = |st: Style| if stale { theme.stale } else { st };
    let (hstyle, glyph) = health_style(&g.health, theme);
    let mut spans: Vec<Span<'static>> = Vec::new();
    grid.push(
        &mut spans,
        C_TREE,
        vec![Span::styled(
            cell(&format!(" {branch} {idx}"), 5),
            theme.dim,
        )],
    );
    let name_w = grid.width(C_NAME);
    grid.push(
        &mut spans,
        C_NAME,
        vec![
            Span::styled(format!("{glyph} "), grey(hstyle)),
            Span::styled(
                cell(
                    &fit_words(f::gpu_name(sm.name.as_deref()), name_w.saturating_sub(2)),
                    name_w.saturating_sub(2),
                ),
                grey(theme.base),
            ),
        ],
    );
    let util = sm.utilization_gpu.unwrap_or(0.0) / 100.0;
    let mut u = bar_spans(util, grid.util_bar, grey(theme.accent), theme).to_vec();
    u.push(Span::styled(
        rcell(&f::pct(sm.utilization_gpu), 5),
        grey(theme.base),
    ));
    grid.push(&mut spans, C_UTIL, u);
    let mem_text_w = grid.width(C_MEM).saturating_sub(grid.mem_bar + 1);
    let mut m = mem_parts(
        sm.memory_used_mib,
        sm.memory_total_mib,
        grid.mem_bar,
        grey(theme.accent),
        theme,
    );
    m.push(Span::styled(
        format!(
            " {}",
            rcell(
                &f::mem(sm.memory_used_mib, sm.memory_total_mib, grid.mem_short),
                mem_text_w
            )
        ),
        grey(theme.base),
    ));
    grid.push(&mut spans, C_MEM, m);
    let hot = sm.temperature_gpu.is_some_and(|t| t >= HOT_GPU_CELSIUS);
    let tstyle = grey(if hot { theme.degraded } else { theme.base });
    grid.push(
        &mut spans,
        C_TEMP,
        vec![Span::styled(rcell(&f::temp(sm.temperature_gpu), 5), tstyle)],
    );
    let pw = grid.width(C_POWER);
    grid.push(
        &mut spans,
        C_POWER,
        vec![Span::styled(
            rcell(&f::power(sm.power_draw_w, sm.power_limit_w, false), pw),
            grey(theme.base),
        )],
    );
    let ecc = sm.ecc_uncorrected_volatile;
    let ecc_style = grey(if ecc.unwrap_or(0) > 0 {
        theme.failed
    } else {
        theme.dim
    });
    grid.push(
        &mut spans,
        C_ECC,
        vec![Span::styled(
            rcell(&ecc.map_or_else(|| "—".into(), |e| e.to_string()), 3),
            ecc_style,
        )],
    );
    let thr = throttle(sm);
    let tw = grid.width(C_THROTTLE);
    let (ttext, tst) = match thr.as_slice() {
        [] => (s::THROTTLE_NONE.to_string(), theme.dim),
        [first, rest @ ..] => {
            let all = thr.join(",");
            let text = if all.chars().count() <= tw || rest.is_empty() {
                all
            } else {
                format!("{first}+{}", rest.len())
            };
            (text, theme.degraded)
        }
    };
    grid.push(
        &mut spans,
        C_THROTTLE,
        vec![Span::styled(
            cell(&ttext, grid.width(C_THROTTLE)),
            grey(tst),
        )],
    );
    let here: Vec<&&JobView> = jobs
        .iter()
        .filter(|j| j.placement.gpu == Some(idx))
        .collect();
    let job = here.first();
    let jstyle = job.map_or(theme.dim, |j| theme.recovery(j.state));
    let jname = here
        .iter()
        .map(|j| j.id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    grid.push(
        &mut spans,
        C_JOB,
        vec![Span::styled(cell(&jname, grid.width(C_JOB)), grey(jstyle))],
    );
    let hb = job.and_then(|j| j.progress_at).map(|t| snap.now.since(t));
    let hb_style = match hb {
        Some(d) if d.as_secs() >= 60 => theme.degraded,
        _ => theme.base,
    };
    grid.push(
        &mut spans,
        C_HB,
        vec![Span::styled(
            rcell(&hb.map_or_else(String::new, f::dur), 6),
            grey(hb_style),
        )],
    );
    let sw = grid.spark;
    grid.push(
        &mut spans,
        C_SPARK_U,
        vec![Span::styled(
            history(ui, h.id.as_str(), idx, false, sw),
            grey(theme.accent),
        )],
    );
    grid.push(
        &mut spans,
        C_SPARK_T,
        vec![Span::styled(
            history(ui, h.id.as_str(), idx, true, sw),
            grey(tstyle),
        )],
    );
    if grid.shown[C_NOTE] {
        let mut note = reasons(&g.health);
        if stale {
            let age = h.last_ok.map(|t| snap.now.since(t));
            let st = match age {
                Some(a) if a.as_secs() >= 1 => s::ago(&f::dur(a)),
                _ => s::LAST_GOOD.to_string(),
            };
            note = if note.is_empty() {
                st
            } else {
                format!("{st}; {note}")
            };
        }
        let nstyle = match (&g.health, stale) {
            (_, true) => theme.stale,
            (GpuHealth::Fatal(_), _) => theme.failed,
            _ => theme.degraded,
        };
        grid.push(
            &mut spans,
            C_NOTE,
            vec![Span::styled(cell(&note, grid.width(C_NOTE)), nstyle)],
        );
    }
    Line::from(spans)
}
