//! `lifeboat probe`: one probe of the machine Lifeboat runs on, as a fleet host is probed,
//! printed as a report for people (each GPU's readings and verdict, compute apps, the
//! kernel's Xid lines with their meaning), as JSON (`--json`) or as the script's own
//! output (`--raw`). Everything the machine said is escaped before it is printed.

use super::cli_out;
use super::shell::Shell;
use crate::core::fleet::{Access, HostSpec, Role};
use crate::core::gpu::{
    assess, describe_xid, is_application_xid, is_fatal_xid, parse_compute_apps, parse_xid_lines,
    ComputeApp, GpuAssessment, GpuHealth, GpuReadout, GpuSample,
};
use crate::core::ids::HostId;
use crate::core::io::ProbeReport;
use crate::core::probe_parse::parse_probe;
use crate::core::safe_text::{escape, escape_line};
use crate::core::time::Ts;
use std::fmt::Write as _;
use std::time::Duration;

/// What `lifeboat probe` gives a probe to finish, nvidia-smi's own timeouts included.
const LIMIT: Duration = Duration::from_secs(30);
const CAP: usize = 512 * 1024;

/// One probe, parsed and judged.
pub struct Probed {
    pub host: String,
    pub report: ProbeReport,
    /// Kernel log lines that name an Xid, with the code each carries.
    pub xid_lines: Vec<(Option<u32>, String)>,
    pub apps: Vec<ComputeApp>,
    pub assessment: GpuAssessment,
}

/// Parses the probe script's output and judges it. Every Xid in the kernel log counts:
/// a one-off probe has no earlier probe to tell new lines from (the log is this boot's).
pub fn judge(host: &str, text: &str, now: Ts, latency: Duration) -> Result<Probed, String> {
    let (report, extras) = parse_probe(text, now, latency)?;
    let xid_lines: Vec<(Option<u32>, String)> = extras
        .xid_lines
        .iter()
        .map(|l| (parse_xid_lines(l).first().copied(), l.clone()))
        .collect();
    let xids: Vec<u32> = xid_lines.iter().filter_map(|(x, _)| *x).collect();
    let seen = match &report.gpu {
        GpuReadout::Gpus(g) => u32::try_from(g.len()).unwrap_or(u32::MAX),
        _ => 0,
    };
    let assessment = assess(&report.gpu, seen, &[], &xids, false);
    Ok(Probed {
        host: host.to_string(),
        apps: parse_compute_apps(&extras.compute_apps),
        report,
        xid_lines,
        assessment,
    })
}

fn num(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    })
}

fn int<T: ToString>(v: Option<T>) -> String {
    v.map_or("n/a".into(), |v| v.to_string())
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "n/a",
    }
}

fn text(v: &Option<String>) -> String {
    escape_line(v.as_deref().unwrap_or("n/a")).into_owned()
}

fn gpu(out: &mut String, s: &GpuSample, health: Option<&GpuHealth>) {
    let verdict = match health {
        Some(GpuHealth::Fatal(r)) => format!("FATAL: {}", r.join("; ")),
        Some(GpuHealth::Degraded(r)) => format!("degraded: {}", r.join("; ")),
        Some(GpuHealth::Unknown(r)) => format!("UNKNOWN: {}", r.join("; ")),
        Some(GpuHealth::Healthy) | None => "healthy".into(),
    };
    let _ = writeln!(
        out,
        "GPU {}  {}  {}  {}",
        int(s.index),
        text(&s.name),
        text(&s.pci_bus_id),
        escape_line(&verdict)
    );
    let _ = writeln!(
        out,
        "  uuid {}  pstate {}  util {}%  memory {}/{} MiB  temperature {}°C  power {}/{} W  SM clock {} MHz",
        text(&s.uuid),
        text(&s.pstate),
        num(s.utilization_gpu),
        num(s.memory_used_mib),
        num(s.memory_total_mib),
        num(s.temperature_gpu),
        num(s.power_draw_w),
        num(s.power_limit_w),
        num(s.clocks_sm_mhz),
    );
    let _ = writeln!(
        out,
        "  ECC {}: corrected {}, uncorrected {} (aggregate {})  retired pages pending {}  remapped rows pending {}, failed {}",
        match s.ecc_mode_enabled {
            Some(true) => "on",
            Some(false) => "off",
            None => "n/a",
        },
        int(s.ecc_corrected_volatile),
        int(s.ecc_uncorrected_volatile),
        int(s.ecc_uncorrected_aggregate),
        yes_no(s.retired_pages_pending),
        yes_no(s.remapped_rows_pending),
        yes_no(s.remapped_rows_failure),
    );
    let _ = writeln!(
        out,
        "  PCIe gen {}/{} x{}/x{}  slowdown: hw {}, thermal hw {} sw {}, power brake {}, power cap {}  recovery action {}",
        int(s.pcie_gen_current),
        int(s.pcie_gen_max),
        int(s.pcie_width_current),
        int(s.pcie_width_max),
        yes_no(s.hw_slowdown),
        yes_no(s.hw_thermal_slowdown),
        yes_no(s.sw_thermal_slowdown),
        yes_no(s.hw_power_brake_slowdown),
        yes_no(s.sw_power_cap),
        text(&s.gpu_recovery_action),
    );
}

/// The report for people.
pub fn render(p: &Probed) -> String {
    let r = &p.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (boot id {}): probe took {} ms",
        escape_line(&p.host),
        escape_line(r.boot_id.as_deref().unwrap_or("?")),
        r.latency.as_millis()
    );
    match &r.gpu {
        GpuReadout::Gpus(g) => {
            for (i, s) in g.iter().enumerate() {
                gpu(&mut out, s, p.assessment.per_gpu.get(i));
            }
        }
        GpuReadout::NoDevices => out.push_str("GPUs: nvidia-smi found no devices\n"),
        GpuReadout::NotInstalled => {
            out.push_str("GPUs: nvidia-smi is not installed (a CPU host)\n");
        }
        GpuReadout::Failed {
            exit_code,
            failure,
            message,
        } => {
            let what = failure.describe();
            let _ = writeln!(
                out,
                "GPUs: {what} (nvidia-smi exit {exit_code}): {}",
                escape_line(message)
            );
        }
    }
    if matches!(r.gpu, GpuReadout::Gpus(_)) {
        if p.apps.is_empty() {
            out.push_str("Compute apps: none\n");
        } else {
            out.push_str("Compute apps:\n");
            for a in &p.apps {
                let _ = writeln!(
                    out,
                    "  pid {:<8} {:<24} {} MiB",
                    a.pid,
                    escape_line(&a.process_name),
                    num(a.used_memory_mib)
                );
            }
        }
    }
    if p.xid_lines.is_empty() {
        out.push_str("Xid lines in the kernel log (this boot): none\n");
    } else {
        let _ = writeln!(
            out,
            "Xid lines in the kernel log (this boot): {}",
            p.xid_lines.len()
        );
        for (xid, line) in &p.xid_lines {
            let meaning = match xid {
                Some(x) if is_fatal_xid(*x) => format!("Xid {x}, fatal: {}", describe_xid(*x)),
                Some(x) if is_application_xid(*x) => {
                    format!("Xid {x}, application fault: {}", describe_xid(*x))
                }
                Some(x) => format!("Xid {x}: {}", describe_xid(*x)),
                None => "no Xid code in this line".into(),
            };
            let _ = writeln!(out, "  {meaning}\n    {}", escape_line(line));
        }
    }
    for j in &r.jobs {
        let _ = writeln!(
            out,
            "Run {} {}: {}{}",
            escape_line(j.job.as_str()),
            j.epoch,
            if j.running { "running" } else { "not running" },
            j.gpu.map(|g| format!(" on GPU {g}")).unwrap_or_default()
        );
    }
    let a = &p.assessment;
    let verdict = if a.is_healthy() {
        "healthy".to_string()
    } else {
        let mut parts = Vec::new();
        if !a.fatal.is_empty() {
            parts.push(format!("FATAL: {}", a.fatal.join("; ")));
        }
        if !a.degraded.is_empty() {
            parts.push(format!("degraded: {}", a.degraded.join("; ")));
        }
        parts.join(" | ")
    };
    let _ = writeln!(out, "Verdict: {}", escape_line(&verdict));
    out
}

/// The same as JSON (strings are JSON-escaped, not terminal-escaped: they are data).
pub fn to_json(p: &Probed) -> serde_json::Value {
    let xids: Vec<serde_json::Value> = p
        .xid_lines
        .iter()
        .map(|(x, line)| {
            serde_json::json!({
                "xid": x,
                "meaning": x.map(describe_xid),
                "fatal": x.is_some_and(is_fatal_xid),
                "line": line,
            })
        })
        .collect();
    let apps: Vec<serde_json::Value> = p
        .apps
        .iter()
        .map(|a| serde_json::json!({"pid": a.pid, "process_name": a.process_name, "used_memory_mib": a.used_memory_mib}))
        .collect();
    serde_json::json!({
        "host": p.host,
        "report": p.report,
        "assessment": p.assessment,
        "compute_apps": apps,
        "xids": xids,
    })
}

/// How the report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    /// The script's own output, escaped.
    Raw,
}

/// Probes this machine and prints the report; returns the exit status (0 printed,
/// 1 the probe could not run or its output was not a probe's).
pub async fn run(format: Format) -> u8 {
    let host = HostSpec {
        id: HostId::new("localhost"),
        address: "localhost".into(),
        port: 22,
        user: None,
        role: Role::Primary,
        gpus: 0,
        ssh_key: None,
        ssh: Default::default(),
        provider: None,
        access: Access::Local,
    };
    let script = super::scripts::probe(&[]);
    let started = std::time::Instant::now();
    let out = match super::local::LocalShell
        .run(&host, &script, LIMIT, CAP)
        .await
    {
        Ok(o) => o,
        Err(e) => {
            cli_out::err_line(&format!("error: probe failed: {}", escape(&e.to_string())));
            return 1;
        }
    };
    let latency = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    if format == Format::Raw {
        return print(&escape(&text));
    }
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let now = super::clock::Clock::new().now();
    match judge(&name, &text, now, latency) {
        Ok(p) if format == Format::Json => match serde_json::to_string_pretty(&to_json(&p)) {
            Ok(s) => print(&format!("{s}\n")),
            Err(e) => {
                cli_out::err_line(&format!("error: cannot encode the report: {e}"));
                1
            }
        },
        Ok(p) => print(&render(&p)),
        Err(e) => {
            cli_out::err_line(&format!("error: {}", escape_line(&e)));
            1
        }
    }
}

fn print(text: &str) -> u8 {
    match cli_out::print(text) {
        Ok(()) => 0,
        Err(e) => {
            cli_out::err_line(&format!("error: cannot write the report: {e}"));
            1
        }
    }
}

#[cfg(test)]
#[path = "probe_cmd_tests.rs"]
mod tests;
