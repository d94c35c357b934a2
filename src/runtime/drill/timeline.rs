//! The report's SVG timeline: the drill's phases on a time axis (steady, injected until
//! detected, recovering, running again), the failover's own phases (detect, fence, stage,
//! launch … from its journal) as a strip ending when the job ran again, and the target
//! job's step counter across the fault, with the restored step drawn so the RPO gap is
//! visible.

use super::report::Report;
use std::fmt::Write;

const W: f64 = 960.0;
const H: f64 = 320.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 50.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The timeline of `r` as a standalone SVG document.
pub fn svg(r: &Report) -> String {
    let t0 = r.started_ms;
    let end = r
        .timeline
        .last()
        .map_or(0, |s| s.at.0.saturating_sub(t0))
        .max(r.ended_ms.saturating_sub(t0))
        .max(1) as f64;
    let x = |ms: f64| LEFT + (ms / end) * (W - LEFT - RIGHT);
    let max_step = r
        .timeline
        .iter()
        .filter_map(|s| s.step)
        .chain(r.measures.step_at_fault)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let y = |step: f64| H - BOTTOM - (step / max_step) * (H - TOP - BOTTOM);
    let at = |abs: Option<u64>| abs.map(|a| a.saturating_sub(t0) as f64);
    let injected = at(r.measures.injected_at.map(|t| t.0));
    let detected = injected
        .zip(r.measures.detection_s)
        .map(|(i, d)| i + d * 1000.0);
    let recovered = injected.zip(r.measures.rto_s).map(|(i, d)| i + d * 1000.0);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{} — {} ({})</text>"#,
        esc(&r.runbook),
        r.status.as_str().to_uppercase(),
        esc(&r.run)
    );
    // Phases as bands behind the step line.
    let band = |s: &mut String, from: f64, to: f64, colour: &str, label: &str| {
        if to > from {
            let _ = writeln!(
                s,
                r##"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="{colour}" opacity="0.25"><title>{label}</title></rect>"##,
                x(from),
                x(to) - x(from),
                H - TOP - BOTTOM
            );
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#333">{label}</text>"##,
                x(from) + 3.0,
                TOP - 6.0
            );
        }
    };
    if let Some(i) = injected {
        let d = detected.unwrap_or(end);
        band(&mut s, i, d, "#d62728", "detecting");
        if let Some(d) = detected {
            band(&mut s, d, recovered.unwrap_or(end), "#ff7f0e", "recovering");
        }
        if let Some(rc) = recovered {
            band(&mut s, rc, end, "#2ca02c", "running again");
        }
    }
    // The failover's own phases (from its journal), laid back to back so they end when
    // the job ran again: a strip along the top of the plot.
    if let Some(rc) = recovered {
        let total: f64 = r.measures.phases.iter().map(|p| p.ms as f64).sum();
        let mut from = rc - total;
        for (k, p) in r.measures.phases.iter().enumerate() {
            let to = from + p.ms as f64;
            if to > from && from >= 0.0 {
                let colour = [
                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                ][k % 6];
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="10" fill="{colour}"><title>{} {:.2} s</title></rect>"##,
                    x(from),
                    (x(to) - x(from)).max(1.0),
                    esc(&p.step),
                    p.ms as f64 / 1000.0
                );
                if x(to) - x(from) > 40.0 {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#fff">{}</text>"##,
                        x(from) + 2.0,
                        TOP + 9.0,
                        esc(&p.step)
                    );
                }
            }
            from = to;
        }
    }
    // Axes.
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#000"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" stroke="#000"/>"##,
        b = H - BOTTOM,
        r = W - RIGHT
    );
    for k in 0..=4 {
        let ms = end * f64::from(k) / 4.0;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{:.1} s</text>"#,
            x(ms),
            H - BOTTOM + 16.0,
            ms / 1000.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">0</text>"#,
        LEFT - 4.0,
        TOP + 4.0,
        max_step,
        LEFT - 4.0,
        H - BOTTOM
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time since the drill started · step of the target job</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0
    );
    // The restored step: the gap down to it from the step at the fault is the RPO.
    if let Some(rs) = r.measures.restored_step {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{r}" y2="{yy:.1}" stroke="#1f77b4" stroke-dasharray="4 3"/><text x="{r}" y="{t:.1}" text-anchor="end" fill="#1f77b4">restored step {rs}{rpo}</text>"##,
            yy = y(rs as f64),
            r = W - RIGHT,
            t = y(rs as f64) - 4.0,
            rpo = r
                .measures
                .rpo_steps
                .map_or(String::new(), |g| format!(" (RPO {g} steps)"))
        );
    }
    // The step counter.
    let points: Vec<String> = r
        .timeline
        .iter()
        .filter_map(|p| {
            p.step.map(|st| {
                format!(
                    "{:.1},{:.1}",
                    x(p.at.0.saturating_sub(t0) as f64),
                    y(st as f64)
                )
            })
        })
        .collect();
    if !points.is_empty() {
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#000" stroke-width="1.5"/>"##,
            points.join(" ")
        );
    }
    for (t, label) in [
        (injected, "fault"),
        (detected, "detected"),
        (recovered, "running"),
    ] {
        if let Some(t) = t {
            let _ = writeln!(
                s,
                r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{b}" stroke="#555" stroke-dasharray="2 2"><title>{label} at {:.1} s</title></line>"##,
                t / 1000.0,
                xx = x(t),
                b = H - BOTTOM
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
