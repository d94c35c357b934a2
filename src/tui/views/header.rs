//! The two header lines: view tabs (and READ-ONLY), then fleet totals and automation status.

use super::widgets::{line_width, put};
use crate::core::recovery::RecoveryState;
use crate::core::snapshot::Snapshot;
use crate::tui::action::View;
use crate::tui::state::UiState;
use crate::tui::strings as s;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

pub const HEIGHT: u16 = 2;

/// The tab labels as drawn from column 0, one space apart (mouse hit-testing uses the same).
pub fn tab_labels() -> Vec<(View, String)> {
    View::ALL
        .iter()
        .zip(s::TABS)
        .enumerate()
        .map(|(i, (v, t))| (*v, format!(" {} {t} ", i + 1)))
        .collect()
}

pub fn draw(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    draw_tabs(buf, area, snap, ui, theme);
    draw_totals(buf, area, snap, theme);
}

fn draw_tabs(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let mut spans = Vec::new();
    for (i, (v, label)) in tab_labels().into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        if v == ui.view {
            spans.push(Span::styled(
                label,
                theme.selected.add_modifier(Modifier::BOLD),
            ));
        } else {
            let (num, rest) = label.split_at(2);
            spans.push(Span::styled(num.to_string(), theme.accent));
            spans.push(Span::styled(rest.to_string(), theme.base));
        }
    }
    let mut right = Vec::new();
    if ui.settings.readonly {
        right.push(Span::styled(
            s::READ_ONLY,
            theme.danger.add_modifier(Modifier::REVERSED),
        ));
        right.push(Span::raw(" "));
    }
    right.extend(demo_label(ui, theme));
    // What must show even when the tabs leave no room for the rest.
    let essential = right.clone();
    // Where the brand does not fit, what this console is attached to still should.
    let mut linked = essential.clone();
    if let Some(label) = super::link::attached_label(ui) {
        linked.push(Span::styled(format!("{label} "), theme.dim));
        right.push(Span::styled(format!("{label} · "), theme.dim));
    }
    let brand = if snap.profile.is_empty() {
        format!("{} ", s::APP)
    } else {
        format!("{} · {} ", s::APP, snap.profile)
    };
    right.push(Span::styled(brand, theme.dim));
    let left_w = line_width(&spans);
    let right_w = line_width(&right);
    let w = usize::from(area.width);
    let essential_w = line_width(&essential);
    let linked_w = if linked.len() > essential.len() {
        line_width(&linked)
    } else {
        0
    };
    if left_w + 1 + right_w <= w {
        spans.push(Span::raw(" ".repeat(w - left_w - right_w)));
        spans.extend(right);
    } else if linked_w > 0 && left_w + 1 + linked_w <= w {
        spans.push(Span::raw(" ".repeat(w - left_w - linked_w)));
        spans.extend(linked);
    } else if !essential.is_empty() && left_w + 1 + essential_w <= w {
        spans.push(Span::raw(" ".repeat(w - left_w - essential_w)));
        spans.extend(essential);
    } else if ui.settings.readonly {
        // Never hide READ-ONLY: it replaces the tail of the tabs.
        let ro = s::READ_ONLY.chars().count();
        put(buf, area, 0, &Line::from(spans));
        let x = area.width.saturating_sub(ro as u16);
        let ro_area = Rect::new(area.x + x, area.y, area.width - x, 1);
        put(
            buf,
            ro_area,
            0,
            &Line::from(Span::styled(
                s::READ_ONLY,
                theme.danger.add_modifier(Modifier::REVERSED),
            )),
        );
        return;
    }
    put(buf, area, 0, &Line::from(spans));
}

/// DEMO, on the simulated fleet: nothing on this screen is a real machine.
fn demo_label(ui: &UiState, theme: &Theme) -> Option<Span<'static>> {
    ui.settings.demo.then(|| {
        Span::styled(
            format!("{} ", s::DEMO),
            theme.accent.add_modifier(Modifier::BOLD),
        )
    })
}

/// Fleet counts for the header (and anything else that wants them).
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Totals {
    pub hosts: usize,
    pub by_badge: [usize; 5],
    pub gpus: usize,
    pub gpus_ok: usize,
    pub running: usize,
    pub recovering: usize,
    pub escalated: usize,
    pub failed: usize,
    /// Hosts not probed yet, and jobs placed on them: nothing is known of either.
    pub waiting: usize,
    pub jobs_waiting: usize,
}

pub const BADGES: [&str; 5] = ["healthy", "degraded", "suspect", "failed", "fenced"];

pub fn totals(snap: &Snapshot) -> Totals {
    let mut t = Totals {
        hosts: snap.hosts.len(),
        ..Totals::default()
    };
    for h in &snap.hosts {
        if super::fleet::awaiting_first_probe(h) {
            t.waiting += 1;
            continue;
        }
        if let Some(i) = BADGES.iter().position(|b| *b == h.badge) {
            t.by_badge[i] += 1;
        }
        let expected = (h.expected_gpus as usize).max(h.gpus.len());
        t.gpus += expected;
        if h.badge == "healthy" || h.badge == "degraded" {
            t.gpus_ok += h
                .gpus
                .iter()
                .filter(|g| matches!(g.health, crate::core::gpu::GpuHealth::Healthy))
                .count();
        }
    }
    for j in &snap.jobs {
        let unseen = snap
            .hosts
            .iter()
            .find(|h| h.id == j.placement.host)
            .is_some_and(super::fleet::awaiting_first_probe);
        if unseen && j.state == RecoveryState::Running {
            t.jobs_waiting += 1;
            continue;
        }
        match j.state {
            RecoveryState::Running | RecoveryState::Resolved => t.running += 1,
            RecoveryState::InterruptionDetected
            | RecoveryState::Reconnecting
            | RecoveryState::FailingOver => t.recovering += 1,
            RecoveryState::Escalating => t.escalated += 1,
            RecoveryState::Failed => t.failed += 1,
        }
    }
    t
}

fn draw_totals(buf: &mut Buffer, area: Rect, snap: &Snapshot, theme: &Theme) {
    let t = totals(snap);
    let w = usize::from(area.width);
    let alarm = match (&snap.automation.paused_by, &snap.automation.frozen) {
        (_, Some(why)) => Some(s::frozen(why)),
        (Some(who), None) => Some(s::paused_by(who)),
        (None, None) => None,
    };
    let alarm = with_store_alarm(alarm, snap);
    let Some(alarm) = alarm else {
        // The most detailed form that fits.
        let spans = (0..3)
            .map(|level| totals_spans(&t, theme, level, true))
            .find(|v| line_width(v) <= w)
            .unwrap_or_else(|| totals_spans(&t, theme, 2, true));
        put(buf, area, 1, &Line::from(spans));
        return;
    };
    // Loud automation status first, whole if it can be; the totals get what is left.
    let loud = theme.danger.add_modifier(Modifier::REVERSED);
    let alarm = format!(" {alarm} ");
    let aw = alarm.chars().count();
    let short = totals_spans(&t, theme, 3, false);
    let fits = (1..4)
        .map(|level| totals_spans(&t, theme, level, false))
        .find(|v| aw + 1 + line_width(v) <= w);
    let mut line = Vec::new();
    match fits {
        Some(tail) => {
            line.push(Span::styled(alarm, loud));
            line.push(Span::raw(" "));
            line.extend(tail);
        }
        None if w.saturating_sub(line_width(&short) + 1) >= 40 => {
            let room = w - line_width(&short) - 1;
            line.push(Span::styled(super::widgets::cell(&alarm, room), loud));
            line.push(Span::raw(" "));
            line.extend(short);
        }
        None => line.push(Span::styled(super::widgets::cell(&alarm, w), loud)),
    }
    put(buf, area, 1, &Line::from(line));
}

/// The totals at a level of detail: 0 words, 1 glyphs, 2 glyphs and abbreviations, 3 the
/// same without GPUs.
fn totals_spans(t: &Totals, theme: &Theme, level: u8, auto_on: bool) -> Vec<Span<'static>> {
    let sep = || Span::styled(" │ ", theme.border);
    let mut v = vec![Span::styled(
        if level == 0 {
            format!(" {}", s::count(t.hosts, "host", s::HOSTS))
        } else {
            format!(" {}", s::HOSTS)
        },
        theme.dim,
    )];
    for (i, b) in BADGES.iter().enumerate() {
        let n = t.by_badge[i];
        if n == 0 && i > 0 {
            continue;
        }
        let style = if n == 0 { theme.dim } else { theme.badge(b) };
        let text = if level == 0 {
            format!("  {} {n} {b}", s::badge_glyph(b))
        } else {
            format!(" {}{n}", s::badge_glyph(b))
        };
        v.push(Span::styled(text, style));
    }
    if t.waiting > 0 {
        let text = if level == 0 {
            format!(
                "  {} {} {}",
                s::badge_glyph("waiting"),
                t.waiting,
                s::WAITING_FIRST_PROBE
            )
        } else {
            format!(" {}{}", s::badge_glyph("waiting"), t.waiting)
        };
        v.push(Span::styled(text, theme.dim));
    }
    // GPUs of hosts not probed yet are not counted: nothing is known of them.
    if level < 3 && (t.gpus > 0 || t.waiting == 0) {
        v.push(sep());
        v.push(Span::styled(format!("{} ", s::GPUS), theme.dim));
        let gpu_style = if t.gpus_ok < t.gpus {
            theme.degraded
        } else {
            theme.healthy
        };
        v.push(Span::styled(s::gpus_ok(t.gpus_ok, t.gpus), gpu_style));
    }
    v.push(sep());
    v.push(Span::styled(format!("{} ", s::JOBS), theme.dim));
    let mut parts: Vec<(usize, &str, ratatui::style::Style)> =
        vec![(t.running, s::RUNNING, theme.running)];
    if t.recovering > 0 {
        parts.push((t.recovering, s::RECOVERING, theme.failing_over));
    }
    if t.escalated > 0 {
        parts.push((t.escalated, s::ESCALATED, theme.escalating));
    }
    if t.jobs_waiting > 0 {
        parts.push((t.jobs_waiting, s::NOT_SEEN_YET, theme.dim));
    }
    if t.failed > 0 {
        parts.push((t.failed, s::FAILED, theme.recovery_failed));
    }
    for (i, (n, word, style)) in parts.into_iter().enumerate() {
        if i > 0 {
            v.push(Span::styled(" · ", theme.dim));
        }
        let text = if level >= 2 {
            format!("{n} {}", word.get(..3).unwrap_or(word))
        } else {
            format!("{n} {word}")
        };
        v.push(Span::styled(text, style));
    }
    if auto_on {
        v.push(sep());
        v.push(Span::styled(
            if level == 0 {
                s::AUTOMATION_ON
            } else {
                s::AUTO_ON_SHORT
            },
            theme.dim,
        ));
    }
    v
}

/// Adds the failing stores (`NAS ✖ not mounted`) to the header's loud line: a store that
/// fails must never leave the header green.
fn with_store_alarm(alarm: Option<String>, snap: &Snapshot) -> Option<String> {
    let stores: Vec<String> = snap.stores.iter().filter_map(|st| st.badge()).collect();
    if stores.is_empty() {
        return alarm;
    }
    let stores = stores.join(" · ");
    Some(match alarm {
        Some(a) => format!("{stores} · {a}"),
        None => stores,
    })
}
