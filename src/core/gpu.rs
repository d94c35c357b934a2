//! GPU samples from `nvidia-smi`, their parser and their health classification.
//!
//! The parsers live in `gpu_parse` and the Xid tables in `xid`; both are re-exported here,
//! so callers only need `core::gpu`. Everything is pure: the runtime runs
//! `timeout -k 2 10 nvidia-smi --query-gpu=QUERY_FIELDS --format=csv,noheader,nounits`,
//! hands the combined output and exit code to [`parse_query_gpu`], and the core judges the
//! [`GpuReadout`] with [`assess`].

use serde::{Deserialize, Serialize};

pub use super::gpu_failure::{FailureClass, GpuFailure};
pub use super::gpu_parse::{parse_compute_apps, parse_query_gpu, ComputeApp};
pub use super::xid::{describe_xid, is_application_xid, is_fatal_xid, parse_xid_lines, FATAL_XIDS};

/// The `--query-gpu` field list, in the order [`GpuSample`] is parsed from.
pub const QUERY_FIELDS: &str = "index,uuid,pci.bus_id,name,pstate,utilization.gpu,\
utilization.memory,memory.used,memory.total,temperature.gpu,temperature.memory,power.draw,\
power.limit,clocks.sm,clocks_event_reasons.active,clocks_event_reasons.hw_slowdown,\
clocks_event_reasons.hw_thermal_slowdown,clocks_event_reasons.sw_thermal_slowdown,\
clocks_event_reasons.hw_power_brake_slowdown,clocks_event_reasons.sw_power_cap,\
ecc.mode.current,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,\
ecc.errors.uncorrected.aggregate.total,retired_pages.pending,remapped_rows.pending,\
remapped_rows.failure,pcie.link.gen.gpucurrent,pcie.link.gen.max,pcie.link.width.current,\
pcie.link.width.max,gpu_recovery_action,count";

/// How many fields [`QUERY_FIELDS`] names (and so how many values a data line holds).
pub const QUERY_FIELD_COUNT: usize = 33;

/// A GPU at or above this temperature (°C) is degraded.
pub const HOT_GPU_CELSIUS: f64 = 85.0;

/// Bits of `clocks_event_reasons.active` (NVML's clock event reasons).
pub mod clock_event {
    /// Nothing runs: normal.
    pub const IDLE: u64 = 0x1;
    pub const SW_POWER_CAP: u64 = 0x4;
    pub const HW_SLOWDOWN: u64 = 0x8;
    pub const SW_THERMAL_SLOWDOWN: u64 = 0x20;
    pub const HW_THERMAL_SLOWDOWN: u64 = 0x40;
    pub const HW_POWER_BRAKE_SLOWDOWN: u64 = 0x80;
}

/// One GPU's reading: every field of [`QUERY_FIELDS`]. Absent values (`[N/A]`,
/// `[Not Supported]`, any bracketed text, empty) are `None`, never 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    pub index: Option<u32>,
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    pub name: Option<String>,
    pub pstate: Option<String>,
    pub utilization_gpu: Option<f64>,
    pub utilization_memory: Option<f64>,
    pub memory_used_mib: Option<f64>,
    pub memory_total_mib: Option<f64>,
    pub temperature_gpu: Option<f64>,
    pub temperature_memory: Option<f64>,
    pub power_draw_w: Option<f64>,
    pub power_limit_w: Option<f64>,
    pub clocks_sm_mhz: Option<f64>,
    /// Hex bitmask; see [`clock_event`].
    pub clocks_event_reasons_active: Option<u64>,
    pub hw_slowdown: Option<bool>,
    pub hw_thermal_slowdown: Option<bool>,
    pub sw_thermal_slowdown: Option<bool>,
    pub hw_power_brake_slowdown: Option<bool>,
    pub sw_power_cap: Option<bool>,
    pub ecc_mode_enabled: Option<bool>,
    pub ecc_corrected_volatile: Option<u64>,
    pub ecc_uncorrected_volatile: Option<u64>,
    pub ecc_uncorrected_aggregate: Option<u64>,
    pub retired_pages_pending: Option<bool>,
    pub remapped_rows_pending: Option<bool>,
    pub remapped_rows_failure: Option<bool>,
    pub pcie_gen_current: Option<u32>,
    pub pcie_gen_max: Option<u32>,
    pub pcie_width_current: Option<u32>,
    pub pcie_width_max: Option<u32>,
    pub gpu_recovery_action: Option<String>,
    pub count: Option<u32>,
    /// Readings that were missing or nonsense (`memory.used read [Unknown Error]`,
    /// `power.draw read NaN (impossible)`): such a GPU is unknown, never healthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

/// What one `nvidia-smi --query-gpu=QUERY_FIELDS --format=csv,noheader,nounits` run said,
/// given its combined output and exit code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GpuReadout {
    Gpus(Vec<GpuSample>),
    /// Exit 6 / "No devices were found".
    NoDevices,
    /// nvidia-smi absent (exit 127 / "command not found"): a CPU host, not a failure.
    NotInstalled,
    Failed {
        exit_code: i32,
        failure: GpuFailure,
        /// The output, shortened to about 200 characters.
        message: String,
    },
}

/// One GPU's verdict. The strings are short human reasons such as
/// "GPU 0: thermal slowdown active".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GpuHealth {
    Healthy,
    Degraded(Vec<String>),
    Fatal(Vec<String>),
    /// Its readings were missing or nonsense: nothing can be said, so it is not healthy.
    Unknown(Vec<String>),
}

/// Verdict for a whole host's probe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuAssessment {
    pub fatal: Vec<String>,
    pub degraded: Vec<String>,
    /// One entry per sample, in the readout's order (empty unless the readout had GPUs).
    pub per_gpu: Vec<GpuHealth>,
}

impl GpuAssessment {
    pub fn is_fatal(&self) -> bool {
        !self.fatal.is_empty()
    }
    pub fn is_healthy(&self) -> bool {
        self.fatal.is_empty() && self.degraded.is_empty()
    }
}

fn label(sample: &GpuSample) -> String {
    match (sample.index, &sample.pci_bus_id) {
        (Some(i), _) => format!("GPU {i}"),
        (None, Some(bus)) => format!("GPU {bus}"),
        (None, None) => "GPU ?".to_string(),
    }
}

/// A clock-event flag: its own column when present, else its bit in the mask.
fn event_active(flag: Option<bool>, mask: Option<u64>, bit: u64) -> bool {
    match flag {
        Some(on) => on,
        None => mask.is_some_and(|m| m & bit != 0),
    }
}

/// Classify one sample. `previous` is the same GPU's previous sample (to see corrected ECC
/// rising; ignored if its uuid differs); `under_load` = the job is running (PCIe downgrade
/// only counts under load, since idle GPUs legitimately drop link gen).
pub fn classify_sample(
    sample: &GpuSample,
    previous: Option<&GpuSample>,
    under_load: bool,
) -> GpuHealth {
    let name = label(sample);
    let mut fatal = Vec::new();
    if let Some(action) = &sample.gpu_recovery_action {
        if !action.trim().eq_ignore_ascii_case("none") {
            fatal.push(format!("{name}: gpu_recovery_action is {action}"));
        }
    }
    if sample.remapped_rows_failure == Some(true) {
        fatal.push(format!(
            "{name}: row remapping failed (memory can no longer be repaired)"
        ));
    }
    if let Some(n) = sample.ecc_uncorrected_volatile.filter(|&n| n > 0) {
        fatal.push(format!(
            "{name}: {n} uncorrected ECC error(s) since the driver loaded"
        ));
    }
    if !fatal.is_empty() {
        return GpuHealth::Fatal(fatal);
    }
    if !sample.unreadable.is_empty() {
        let why = sample.unreadable.iter().map(|w| format!("{name}: {w}"));
        return GpuHealth::Unknown(why.collect());
    }

    let mut degraded = Vec::new();
    let mask = sample.clocks_event_reasons_active;
    let hw_thermal = event_active(
        sample.hw_thermal_slowdown,
        mask,
        clock_event::HW_THERMAL_SLOWDOWN,
    );
    let sw_thermal = event_active(
        sample.sw_thermal_slowdown,
        mask,
        clock_event::SW_THERMAL_SLOWDOWN,
    );
    let brake = event_active(
        sample.hw_power_brake_slowdown,
        mask,
        clock_event::HW_POWER_BRAKE_SLOWDOWN,
    );
    let hw_slow = event_active(sample.hw_slowdown, mask, clock_event::HW_SLOWDOWN);
    if hw_thermal || sw_thermal {
        degraded.push(format!("{name}: thermal slowdown active"));
    }
    if brake {
        degraded.push(format!("{name}: power-brake slowdown active"));
    }
    // hw_slowdown is also raised by hw thermal and power brake; only say it when unexplained.
    if hw_slow && !hw_thermal && !brake {
        degraded.push(format!("{name}: hardware slowdown active"));
    }
    let same_gpu = previous.filter(|p| match (&p.uuid, &sample.uuid) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    });
    if let (Some(before), Some(now)) = (
        same_gpu.and_then(|p| p.ecc_corrected_volatile),
        sample.ecc_corrected_volatile,
    ) {
        if now > before {
            degraded.push(format!(
                "{name}: corrected ECC errors rising (from {before} to {now})"
            ));
        }
    }
    if under_load {
        if let (Some(cur), Some(max)) = (sample.pcie_gen_current, sample.pcie_gen_max) {
            if cur < max {
                degraded.push(format!(
                    "{name}: PCIe link at gen {cur} of {max} under load"
                ));
            }
        }
        if let (Some(cur), Some(max)) = (sample.pcie_width_current, sample.pcie_width_max) {
            if cur < max {
                degraded.push(format!("{name}: PCIe link at x{cur} of x{max} under load"));
            }
        }
    }
    if sample.retired_pages_pending == Some(true) {
        degraded.push(format!(
            "{name}: retired memory pages pending (a reset applies them)"
        ));
    }
    if sample.remapped_rows_pending == Some(true) {
        degraded.push(format!(
            "{name}: remapped memory rows pending (a reset applies them)"
        ));
    }
    if let Some(t) = sample.temperature_gpu.filter(|&t| t >= HOT_GPU_CELSIUS) {
        degraded.push(format!("{name}: temperature {t:.0} °C"));
    }
    if degraded.is_empty() {
        GpuHealth::Healthy
    } else {
        GpuHealth::Degraded(degraded)
    }
}

/// The fatal reason for a failed run, or `None` when the failure only leaves the GPUs
/// unknown (our query is wrong, or it may pass next time).
fn failure_reason(failure: GpuFailure) -> Option<&'static str> {
    match failure.class() {
        FailureClass::GpuEvidence | FailureClass::HostSetup => Some(failure.describe()),
        FailureClass::OurQuery | FailureClass::Transient => None,
    }
}

fn with_detail(reason: &str, exit_code: i32, message: &str) -> String {
    if message.is_empty() {
        format!("{reason} (exit {exit_code})")
    } else {
        format!("{reason} (exit {exit_code}: {message})")
    }
}

/// Verdict for a host's probe. `expected` = how many GPUs the host should have (fewer is
/// fatal; 0 means a CPU host, where `NotInstalled`/`NoDevices` are fine). `previous` = the
/// host's previous samples (matched by index). `xids` = Xid codes seen in the kernel log
/// since the last probe: fatal ones are fatal, application-level ones are ignored, the
/// rest are degraded.
pub fn assess(
    readout: &GpuReadout,
    expected: u32,
    previous: &[GpuSample],
    xids: &[u32],
    under_load: bool,
) -> GpuAssessment {
    let mut out = GpuAssessment::default();
    match readout {
        GpuReadout::Gpus(samples) => {
            for sample in samples {
                let prev = sample
                    .index
                    .and_then(|i| previous.iter().find(|p| p.index == Some(i)));
                let health = classify_sample(sample, prev, under_load);
                match &health {
                    GpuHealth::Healthy => {}
                    GpuHealth::Degraded(r) | GpuHealth::Unknown(r) => {
                        out.degraded.extend(r.iter().cloned())
                    }
                    GpuHealth::Fatal(r) => out.fatal.extend(r.iter().cloned()),
                }
                out.per_gpu.push(health);
            }
            let seen = u32::try_from(samples.len()).unwrap_or(u32::MAX);
            if seen < expected {
                let missing: Vec<String> = (0..expected)
                    .filter(|i| !samples.iter().any(|s| s.index == Some(*i)))
                    .map(|i| {
                        let bus = previous
                            .iter()
                            .find(|p| p.index == Some(i))
                            .and_then(|p| p.pci_bus_id.clone());
                        bus.map_or(format!("GPU {i}"), |b| format!("GPU {i} ({b})"))
                    })
                    .collect();
                out.fatal.push(format!(
                    "only {seen} of {expected} GPUs visible: {} missing (fallen off the bus?)",
                    missing.join(", ")
                ));
            }
            if let Some(count) = samples.iter().filter_map(|s| s.count).max() {
                if count > seen {
                    out.degraded.push(format!(
                        "nvidia-smi counts {count} GPUs but reported {seen}"
                    ));
                }
            }
        }
        GpuReadout::NoDevices => {
            if expected > 0 {
                out.fatal
                    .push(format!("nvidia-smi found no GPUs (expected {expected})"));
            }
        }
        GpuReadout::NotInstalled => {
            if expected > 0 {
                out.fatal.push(format!(
                    "nvidia-smi is not installed (expected {expected} GPUs)"
                ));
            }
        }
        GpuReadout::Failed {
            exit_code,
            failure,
            message,
        } => match failure_reason(*failure) {
            Some(reason) => out.fatal.push(with_detail(reason, *exit_code, message)),
            None => out
                .degraded
                .push(with_detail(failure.describe(), *exit_code, message)),
        },
    }
    let mut seen_xids: Vec<u32> = Vec::new();
    for &xid in xids {
        if seen_xids.contains(&xid) || is_application_xid(xid) {
            continue;
        }
        seen_xids.push(xid);
        let reason = format!("Xid {xid}: {}", describe_xid(xid));
        if is_fatal_xid(xid) {
            out.fatal.push(reason);
        } else {
            out.degraded.push(reason);
        }
    }
    out
}

#[cfg(test)]
#[path = "gpu_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "gpu_unknown_tests.rs"]
mod unknown_tests;
