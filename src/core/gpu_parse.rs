//! Parsers for `nvidia-smi` CSV output (`--query-gpu` and `--query-compute-apps`), bounded
//! so hostile or runaway output costs little and never panics.

use super::gpu::{GpuFailure, GpuReadout, GpuSample, QUERY_FIELD_COUNT};
use super::gpu_fields::{parse_sample, strip_unit, ValueError};
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

/// What one line of an exit-0 run says went wrong, if it says anything known: the only
/// place nvidia-smi puts a per-GPU NVML error is such a line (a failed run is judged by
/// its exit code instead).
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
/// line and units). A failed run is classified by its exit code alone (NVML's documented
/// return codes); its words are kept as the message. Never panics; looks at no more than
/// [`MAX_OUTPUT_BYTES`].
pub fn parse_query_gpu(output: &str, exit_code: i32) -> GpuReadout {
    let head = prefix(output, MAX_OUTPUT_BYTES);
    match exit_code {
        0 => parse_csv(output),
        127 => GpuReadout::NotInstalled,
        6 => GpuReadout::NoDevices,
        code => failed(code, GpuFailure::from_exit(code), head),
    }
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

/// A compute app's memory: absent when bracketed or `N/A`, `Err` when not a sane number.
fn app_memory(raw: &str) -> Result<Option<f64>, ()> {
    let v = raw.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("n/a") || v.starts_with('[') {
        return Ok(None);
    }
    match strip_unit(v).parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
        _ => Err(()),
    }
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
        let (Ok(pid), Ok(used_memory_mib)) = (pid.trim().parse::<u32>(), app_memory(memory)) else {
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
