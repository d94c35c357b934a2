//! Parsers for `nvidia-smi` CSV output (`--query-gpu` and `--query-compute-apps`), bounded
//! so hostile or runaway output costs little and never panics.

use super::gpu::{GpuFailure, GpuReadout, GpuSample, QUERY_FIELD_COUNT};
use serde::{Deserialize, Serialize};

/// Output beyond this many bytes is not looked at (hundreds of GPUs fit well inside).
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// A line longer than this is not a line nvidia-smi writes.
pub const MAX_LINE_BYTES: usize = 4096;
/// Failure messages are cut to about this many characters.
pub const MAX_MESSAGE_CHARS: usize = 200;
/// At most this many compute apps are returned.
pub const MAX_COMPUTE_APPS: usize = 4096;

/// One process holding GPU memory, from
/// `--query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComputeApp {
    pub pid: u32,
    pub process_name: String,
    pub used_memory_mib: Option<f64>,
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The output's non-empty lines joined with " / ", cut to [`MAX_MESSAGE_CHARS`].
pub(crate) fn brief(text: &str) -> String {
    let head = prefix(text, MAX_MESSAGE_CHARS * 8);
    let joined = head
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    if joined.chars().count() <= MAX_MESSAGE_CHARS {
        joined
    } else {
        let mut cut: String = joined.chars().take(MAX_MESSAGE_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

fn failure_from_exit(exit_code: i32) -> Option<GpuFailure> {
    match exit_code {
        2 => Some(GpuFailure::InvalidArgument),
        9 | 12 => Some(GpuFailure::DriverNotLoaded),
        14 => Some(GpuFailure::CorruptInfoRom),
        15 => Some(GpuFailure::GpuLost),
        16 => Some(GpuFailure::ResetRequired),
        18 => Some(GpuFailure::VersionMismatch),
        124 | 137 => Some(GpuFailure::Timeout),
        _ => None,
    }
}

/// What nvidia-smi's words say went wrong, if they say anything known.
fn failure_from_text(text: &str) -> Option<GpuFailure> {
    let t = prefix(text, MAX_OUTPUT_BYTES).to_ascii_lowercase();
    if t.contains("requires reset") || t.contains("reset required") {
        Some(GpuFailure::ResetRequired)
    } else if t.contains("gpu is lost")
        || t.contains("unable to determine the device handle")
        || t.contains("fallen off the bus")
    {
        Some(GpuFailure::GpuLost)
    } else if t.contains("couldn't communicate with the nvidia driver")
        || t.contains("driver not loaded")
        || t.contains("couldn't find libnvidia-ml")
    {
        Some(GpuFailure::DriverNotLoaded)
    } else if t.contains("version mismatch") {
        Some(GpuFailure::VersionMismatch)
    } else if t.contains("inforom is corrupted") {
        Some(GpuFailure::CorruptInfoRom)
    } else if t.contains("is not a valid field") || t.contains("invalid argument") {
        Some(GpuFailure::InvalidArgument)
    } else {
        None
    }
}

fn says_no_devices(text: &str) -> bool {
    prefix(text, MAX_OUTPUT_BYTES)
        .to_ascii_lowercase()
        .contains("no devices were found")
}

fn failed(exit_code: i32, failure: GpuFailure, text: &str) -> GpuReadout {
    GpuReadout::Failed {
        exit_code,
        failure,
        message: brief(text),
    }
}

/// What one `nvidia-smi --query-gpu=QUERY_FIELDS --format=csv,noheader,nounits` run said,
/// given its combined stdout+stderr and exit code. Also accepts `--format=csv` (a header
/// line and units). Never panics; looks at no more than [`MAX_OUTPUT_BYTES`].
pub fn parse_query_gpu(output: &str, exit_code: i32) -> GpuReadout {
    let head = prefix(output, MAX_OUTPUT_BYTES);
    match exit_code {
        127 => return GpuReadout::NotInstalled,
        6 => return GpuReadout::NoDevices,
        124 | 137 => return failed(exit_code, GpuFailure::Timeout, head),
        0 => return parse_csv(output),
        _ => {}
    }
    if let Some(failure) = failure_from_exit(exit_code) {
        return failed(exit_code, failure, head);
    }
    let lower = head.to_ascii_lowercase();
    if lower.contains("command not found") {
        return GpuReadout::NotInstalled;
    }
    if says_no_devices(head) {
        return GpuReadout::NoDevices;
    }
    let failure = failure_from_text(head).unwrap_or(GpuFailure::Other);
    failed(exit_code, failure, head)
}

/// One line of an exit-0 run.
enum Line {
    Header,
    Sample(Box<GpuSample>),
    /// A line saying a GPU is gone (or the driver is); fatal for the whole probe.
    Failure(GpuFailure),
    NoDevices,
    Bad,
}

fn parse_csv(output: &str) -> GpuReadout {
    if output.len() > MAX_OUTPUT_BYTES {
        let note = format!(
            "output too large ({} bytes): {}",
            output.len(),
            prefix(output, MAX_MESSAGE_CHARS)
        );
        return failed(0, GpuFailure::Garbage, &note);
    }
    let mut samples = Vec::new();
    let mut bad: Option<&str> = None;
    let mut no_devices = false;
    let mut lost: Option<(GpuFailure, &str)> = None;
    for raw in output.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Line::Header => {}
            Line::Sample(s) => samples.push(*s),
            Line::Failure(failure) => {
                lost.get_or_insert((failure, line));
            }
            Line::NoDevices => no_devices = true,
            Line::Bad => {
                bad.get_or_insert(line);
            }
        }
    }
    if let Some(line) = bad {
        return failed(0, GpuFailure::Garbage, line);
    }
    match lost {
        // One GPU fell off the bus while others answer: report the survivors, so the
        // missing index is judged per GPU (its neighbours stay usable as standbys).
        Some((GpuFailure::GpuLost, _)) if !samples.is_empty() => return GpuReadout::Gpus(samples),
        Some((failure, line)) => return failed(0, failure, line),
        None => {}
    }
    if samples.is_empty() {
        return if no_devices {
            GpuReadout::NoDevices
        } else {
            failed(0, GpuFailure::Garbage, "empty output")
        };
    }
    GpuReadout::Gpus(samples)
}

fn parse_line(line: &str) -> Line {
    if line.len() > MAX_LINE_BYTES {
        return Line::Bad;
    }
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields
        .first()
        .is_some_and(|f| f.eq_ignore_ascii_case("index"))
    {
        return Line::Header;
    }
    if fields.len() == QUERY_FIELD_COUNT {
        return match parse_sample(&fields) {
            Ok(sample) => Line::Sample(Box::new(sample)),
            Err(ValueError::Failure(f)) => Line::Failure(f),
            Err(ValueError::Bad) => Line::Bad,
        };
    }
    match failure_from_text(line) {
        // A corrupted-infoROM warning does not stop nvidia-smi; let it read as unparsable.
        Some(GpuFailure::CorruptInfoRom) | None => {
            if says_no_devices(line) {
                Line::NoDevices
            } else {
                Line::Bad
            }
        }
        Some(failure) => Line::Failure(failure),
    }
}

enum ValueError {
    /// Not what this field holds: the line is garbage.
    Bad,
    /// A bracketed NVML error that means the GPU is gone.
    Failure(GpuFailure),
}

/// The value, or `None` when absent (empty, `N/A`, or any bracketed text).
fn present(raw: &str) -> Result<Option<&str>, ValueError> {
    let v = raw.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("n/a") {
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
        return Ok(None);
    }
    Ok(Some(v))
}

/// "81559 MiB" → "81559"; "0 %" → "0"; anything else unchanged.
fn strip_unit(v: &str) -> &str {
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

fn text(raw: &str) -> Result<Option<String>, ValueError> {
    Ok(present(raw)?.map(str::to_string))
}

fn float(raw: &str) -> Result<Option<f64>, ValueError> {
    present(raw)?
        .map(|v| {
            strip_unit(v)
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or(ValueError::Bad)
        })
        .transpose()
}

fn int<T: std::str::FromStr>(raw: &str) -> Result<Option<T>, ValueError> {
    present(raw)?
        .map(|v| strip_unit(v).parse::<T>().map_err(|_| ValueError::Bad))
        .transpose()
}

fn hex(raw: &str) -> Result<Option<u64>, ValueError> {
    present(raw)?
        .map(|v| {
            v.strip_prefix("0x")
                .or_else(|| v.strip_prefix("0X"))
                .and_then(|digits| u64::from_str_radix(digits, 16).ok())
                .ok_or(ValueError::Bad)
        })
        .transpose()
}

fn flag(raw: &str) -> Result<Option<bool>, ValueError> {
    present(raw)?
        .map(|v| match v.to_ascii_lowercase().as_str() {
            "active" | "yes" | "enabled" | "true" => Ok(true),
            "not active" | "no" | "disabled" | "false" => Ok(false),
            _ => Err(ValueError::Bad),
        })
        .transpose()
}

/// Parse the [`QUERY_FIELD_COUNT`] values of one data line, in [`QUERY_FIELDS`] order.
///
/// [`QUERY_FIELDS`]: super::gpu::QUERY_FIELDS
fn parse_sample(f: &[&str]) -> Result<GpuSample, ValueError> {
    let at = |i: usize| f.get(i).copied().unwrap_or_default();
    Ok(GpuSample {
        index: int(at(0))?,
        uuid: text(at(1))?,
        pci_bus_id: text(at(2))?,
        name: text(at(3))?,
        pstate: text(at(4))?,
        utilization_gpu: float(at(5))?,
        utilization_memory: float(at(6))?,
        memory_used_mib: float(at(7))?,
        memory_total_mib: float(at(8))?,
        temperature_gpu: float(at(9))?,
        temperature_memory: float(at(10))?,
        power_draw_w: float(at(11))?,
        power_limit_w: float(at(12))?,
        clocks_sm_mhz: float(at(13))?,
        clocks_event_reasons_active: hex(at(14))?,
        hw_slowdown: flag(at(15))?,
        hw_thermal_slowdown: flag(at(16))?,
        sw_thermal_slowdown: flag(at(17))?,
        hw_power_brake_slowdown: flag(at(18))?,
        sw_power_cap: flag(at(19))?,
        ecc_mode_enabled: flag(at(20))?,
        ecc_corrected_volatile: int(at(21))?,
        ecc_uncorrected_volatile: int(at(22))?,
        ecc_uncorrected_aggregate: int(at(23))?,
        retired_pages_pending: flag(at(24))?,
        remapped_rows_pending: flag(at(25))?,
        remapped_rows_failure: flag(at(26))?,
        pcie_gen_current: int(at(27))?,
        pcie_gen_max: int(at(28))?,
        pcie_width_current: int(at(29))?,
        pcie_width_max: int(at(30))?,
        gpu_recovery_action: text(at(31))?,
        count: int(at(32))?,
    })
}

/// Parse `--query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits`
/// (a header or units are tolerated). Lines that are not an app are skipped; a process
/// name may contain commas. Looks at no more than [`MAX_OUTPUT_BYTES`].
pub fn parse_compute_apps(output: &str) -> Vec<ComputeApp> {
    let mut apps = Vec::new();
    for raw in prefix(output, MAX_OUTPUT_BYTES).lines() {
        if apps.len() >= MAX_COMPUTE_APPS {
            break;
        }
        let line = raw.trim();
        if line.is_empty() || line.len() > MAX_LINE_BYTES {
            continue;
        }
        let Some((pid, rest)) = line.split_once(',') else {
            continue;
        };
        let Some((name, memory)) = rest.rsplit_once(',') else {
            continue;
        };
        let (Ok(pid), Ok(used_memory_mib)) = (pid.trim().parse::<u32>(), float(memory)) else {
            continue;
        };
        apps.push(ComputeApp {
            pid,
            process_name: name.trim().to_string(),
            used_memory_mib,
        });
    }
    apps
}

#[cfg(test)]
#[path = "gpu_parse_tests.rs"]
mod tests;
