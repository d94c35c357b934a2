//! The values of one `nvidia-smi --query-gpu` data line, field by field. A value that is
//! not what its field holds (text where a number goes) makes the line garbage; a value
//! that is a number but nonsense (NaN, negative, absurdly large) or a bracketed NVML error
//! (`[Unknown Error]`) is noted, so the GPU reads *unknown* with the reason, never healthy.

use super::gpu::{GpuFailure, GpuSample};

pub(super) enum ValueError {
    /// Not what this field holds: the line is garbage.
    Bad,
    /// A bracketed NVML error that means the GPU is gone.
    Failure(GpuFailure),
}

/// The readings a GPU must give to be judged at all: without them it is unknown.
const REQUIRED: [usize; 3] = [MEMORY_USED, MEMORY_TOTAL, TEMPERATURE];
const MEMORY_USED: usize = 7;
const MEMORY_TOTAL: usize = 8;
const TEMPERATURE: usize = 9;

/// Field names in [`super::gpu::QUERY_FIELDS`] order, for the reasons.
fn field_name(i: usize) -> &'static str {
    super::gpu::QUERY_FIELDS
        .split(',')
        .nth(i)
        .unwrap_or("a field")
}

/// The most a sane reading of a numeric field can be (`None`: no bound).
fn ceiling(i: usize) -> Option<f64> {
    match i {
        // utilization.gpu, utilization.memory: percent.
        5 | 6 => Some(100.0),
        // memory.used, memory.total: MiB; no GPU has 16 TiB.
        7 | 8 => Some(16.0 * 1024.0 * 1024.0),
        // temperature.gpu, temperature.memory: °C; silicon is long dead well before.
        9 | 10 => Some(200.0),
        // power.draw, power.limit: W.
        11 | 12 => Some(10_000.0),
        // clocks.sm: MHz.
        13 => Some(20_000.0),
        // PCIe generation and width.
        27 | 28 => Some(16.0),
        29 | 30 => Some(64.0),
        // GPU count.
        32 => Some(4096.0),
        _ => None,
    }
}

/// Reads one line's values, collecting what makes the GPU's readings untrustworthy.
pub(super) struct Reader<'a> {
    fields: &'a [&'a str],
    pub unreadable: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(fields: &'a [&'a str]) -> Self {
        Self {
            fields,
            unreadable: Vec::new(),
        }
    }

    fn note(&mut self, i: usize, what: String) {
        self.unreadable.push(format!("{} {what}", field_name(i)));
    }

    /// The value, or `None` when absent (empty, `N/A`, `[N/A]`, `[Not Supported]`, or a
    /// bracketed error, which is also noted).
    fn present(&mut self, i: usize) -> Result<Option<&'a str>, ValueError> {
        let v = self.fields.get(i).copied().unwrap_or_default().trim();
        let absent = v.is_empty() || v.eq_ignore_ascii_case("n/a");
        if absent && REQUIRED.contains(&i) {
            self.note(i, "missing".into());
        }
        if absent {
            return Ok(None);
        }
        if v.starts_with('[') && v.ends_with(']') {
            let lower = v.to_ascii_lowercase();
            if lower.contains("gpu is lost") {
                return Err(ValueError::Failure(GpuFailure::GpuLost));
            }
            if lower.contains("requires reset") {
                return Err(ValueError::Failure(GpuFailure::ResetRequired));
            }
            let quiet = lower == "[n/a]" || lower == "[not supported]";
            if !quiet || REQUIRED.contains(&i) {
                self.note(i, format!("read {v}"));
            }
            return Ok(None);
        }
        Ok(Some(v))
    }

    pub fn text(&mut self, i: usize) -> Result<Option<String>, ValueError> {
        Ok(self.present(i)?.map(str::to_string))
    }

    /// A number, noted and dropped when it is NaN, infinite, negative or past [`ceiling`].
    pub fn float(&mut self, i: usize) -> Result<Option<f64>, ValueError> {
        let Some(v) = self.present(i)? else {
            return Ok(None);
        };
        let x = strip_unit(v).parse::<f64>().map_err(|_| ValueError::Bad)?;
        let nonsense = !x.is_finite() || x < 0.0 || ceiling(i).is_some_and(|c| x > c);
        if nonsense {
            self.note(i, format!("read {v} (impossible)"));
            return Ok(None);
        }
        Ok(Some(x))
    }

    /// A whole number; a number that is not one this field can hold is noted and dropped.
    pub fn int<T: std::str::FromStr>(&mut self, i: usize) -> Result<Option<T>, ValueError> {
        let Some(v) = self.present(i)? else {
            return Ok(None);
        };
        let digits = strip_unit(v);
        if let Ok(n) = digits.parse::<T>() {
            let sane = digits
                .parse::<f64>()
                .is_ok_and(|x| ceiling(i).is_none_or(|c| x <= c));
            if sane {
                return Ok(Some(n));
            }
        }
        match digits.parse::<f64>() {
            // A number, but not one this field can hold (negative, fractional, too big).
            Ok(_) => {
                self.note(i, format!("read {v} (impossible)"));
                Ok(None)
            }
            Err(_) => Err(ValueError::Bad),
        }
    }

    pub fn hex(&mut self, i: usize) -> Result<Option<u64>, ValueError> {
        self.present(i)?
            .map(|v| {
                v.strip_prefix("0x")
                    .or_else(|| v.strip_prefix("0X"))
                    .and_then(|digits| u64::from_str_radix(digits, 16).ok())
                    .ok_or(ValueError::Bad)
            })
            .transpose()
    }

    pub fn flag(&mut self, i: usize) -> Result<Option<bool>, ValueError> {
        self.present(i)?
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "active" | "yes" | "enabled" | "true" => Ok(true),
                "not active" | "no" | "disabled" | "false" => Ok(false),
                _ => Err(ValueError::Bad),
            })
            .transpose()
    }
}

/// "81559 MiB" → "81559"; "0 %" → "0"; anything else unchanged.
pub(super) fn strip_unit(v: &str) -> &str {
    match v.split_once(' ') {
        Some((num, unit))
            if !unit.is_empty()
                && unit.len() <= 8
                && unit.chars().all(|c| c.is_ascii_alphabetic() || c == '%') =>
        {
            num
        }
        _ => v,
    }
}

/// Parse the values of one data line, in [`super::gpu::QUERY_FIELDS`] order.
pub(super) fn parse_sample(f: &[&str]) -> Result<GpuSample, ValueError> {
    let mut r = Reader::new(f);
    let mut s = GpuSample {
        index: r.int(0)?,
        uuid: r.text(1)?,
        pci_bus_id: r.text(2)?,
        name: r.text(3)?,
        pstate: r.text(4)?,
        utilization_gpu: r.float(5)?,
        utilization_memory: r.float(6)?,
        memory_used_mib: r.float(7)?,
        memory_total_mib: r.float(8)?,
        temperature_gpu: r.float(9)?,
        temperature_memory: r.float(10)?,
        power_draw_w: r.float(11)?,
        power_limit_w: r.float(12)?,
        clocks_sm_mhz: r.float(13)?,
        clocks_event_reasons_active: r.hex(14)?,
        hw_slowdown: r.flag(15)?,
        hw_thermal_slowdown: r.flag(16)?,
        sw_thermal_slowdown: r.flag(17)?,
        hw_power_brake_slowdown: r.flag(18)?,
        sw_power_cap: r.flag(19)?,
        ecc_mode_enabled: r.flag(20)?,
        ecc_corrected_volatile: r.int(21)?,
        ecc_uncorrected_volatile: r.int(22)?,
        ecc_uncorrected_aggregate: r.int(23)?,
        retired_pages_pending: r.flag(24)?,
        remapped_rows_pending: r.flag(25)?,
        remapped_rows_failure: r.flag(26)?,
        pcie_gen_current: r.int(27)?,
        pcie_gen_max: r.int(28)?,
        pcie_width_current: r.int(29)?,
        pcie_width_max: r.int(30)?,
        gpu_recovery_action: r.text(31)?,
        count: r.int(32)?,
        unreadable: Vec::new(),
    };
    if let (Some(used), Some(total)) = (s.memory_used_mib, s.memory_total_mib) {
        if used > total {
            r.unreadable.push(format!(
                "memory.used {used:.0} MiB is more than memory.total {total:.0} MiB (impossible)"
            ));
        }
    }
    s.unreadable = r.unreadable;
    Ok(s)
}
