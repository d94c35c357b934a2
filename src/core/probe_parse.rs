//! Parses what the probe script printed (see `runtime::scripts`) into a `ProbeReport`.
//! Pure and bounded: hostile or truncated output gives a partial report, never a panic.

use super::gpu::{parse_query_gpu, GpuReadout};
use super::ids::{Epoch, JobId};
use super::io::{JobObservation, ProbeReport};
use super::time::Ts;
use std::collections::BTreeMap;
use std::time::Duration;

/// The first line every probe prints; anything else means the host is not speaking our script.
pub const MAGIC: &str = "@@lifeboat probe 1";

/// What a probe said that the report does not carry: Xid lines (to tell new from seen).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeExtras {
    pub xid_lines: Vec<String>,
    pub compute_apps: String,
}

#[derive(Default)]
struct Run {
    epoch: u64,
    alive: bool,
    gpu: Option<u32>,
}

/// Parses probe output. `now` stamps heartbeats that carry no time of their own.
pub fn parse_probe(
    text: &str,
    now: Ts,
    latency: Duration,
) -> Result<(ProbeReport, ProbeExtras), String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(l) if l.trim() == MAGIC => {}
        Some(l) => {
            return Err(format!(
                "unexpected probe output: {}",
                l.chars().take(80).collect::<String>()
            ))
        }
        None => return Err("empty probe output".into()),
    }
    let mut boot = None;
    let mut section = "";
    let mut nvsmi_exit = 0i32;
    let mut nvsmi = String::new();
    let mut extras = ProbeExtras::default();
    let mut runs: BTreeMap<(String, u64), Run> = BTreeMap::new();
    let mut beats: BTreeMap<String, (Option<u64>, Option<Ts>)> = BTreeMap::new();
    for line in lines {
        if let Some(rest) = line.strip_prefix("@@") {
            let mut f = rest.split_whitespace();
            section = "";
            match f.next() {
                Some("boot") => boot = f.next().map(str::to_string),
                Some("nvsmi") => {
                    nvsmi_exit = f.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
                    section = "nvsmi";
                }
                Some("apps") => section = "apps",
                Some("xid") => section = "xid",
                Some("run") => {
                    // @@run JOB EPOCH ALIVE GPU
                    let (Some(job), Some(epoch)) =
                        (f.next(), f.next().and_then(|e| e.parse::<u64>().ok()))
                    else {
                        continue;
                    };
                    let alive = f.next() == Some("1");
                    let gpu = f.next().and_then(|g| g.parse().ok());
                    runs.insert((job.to_string(), epoch), Run { epoch, alive, gpu });
                }
                Some("hb") => {
                    // @@hb JOB MTIME STEP [TS]
                    let Some(job) = f.next() else { continue };
                    let mtime = f
                        .next()
                        .and_then(|m| m.parse::<u64>().ok())
                        .map(|s| Ts(s * 1000));
                    let step = f.next().and_then(|s| s.parse::<u64>().ok());
                    let at = f
                        .next()
                        .and_then(|t| t.parse::<f64>().ok())
                        .map(|t| Ts((t * 1000.0) as u64))
                        .or(mtime);
                    beats.insert(job.to_string(), (step, at));
                }
                _ => {}
            }
            continue;
        }
        match section {
            "nvsmi" if nvsmi.len() < 256 * 1024 => {
                nvsmi.push_str(line);
                nvsmi.push('\n');
            }
            "apps" if extras.compute_apps.len() < 64 * 1024 => {
                extras.compute_apps.push_str(line);
                extras.compute_apps.push('\n');
            }
            "xid" if extras.xid_lines.len() < 64 && line.contains("Xid") => {
                extras.xid_lines.push(line.chars().take(512).collect())
            }
            _ => {}
        }
    }
    let gpu = if nvsmi_exit == 127 {
        GpuReadout::NotInstalled
    } else {
        parse_query_gpu(&nvsmi, nvsmi_exit)
    };
    let jobs = runs
        .into_iter()
        .map(|((job, _), r)| {
            let (step, at) = beats.get(&job).cloned().unwrap_or((None, None));
            JobObservation {
                job: JobId::new(job),
                epoch: Epoch(r.epoch),
                gpu: r.gpu,
                running: r.alive,
                step,
                heartbeat_at: at.or(Some(now)).filter(|_| step.is_some()),
            }
        })
        .collect();
    Ok((
        ProbeReport {
            gpu,
            xids: Vec::new(),
            jobs,
            boot_id: boot,
            latency,
        },
        extras,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = "0, GPU-3a4bf3b5-f6d5-6f6e-6ea6-9e95c4b58413, 00000000:00:06.0, NVIDIA H100 80GB HBM3, P0, 0, 0, 0, 81559, 33, 33, 123.98, 700.00, 1980, 0x0000000000000001, Not Active, Not Active, Not Active, Not Active, Not Active, Enabled, 0, 0, 0, [N/A], No, No, 5, 5, 16, 16, None, 1";

    #[test]
    fn parses_a_full_probe() {
        let text = format!(
            "{MAGIC}\n@@boot 1234-abcd\n@@nvsmi 0\n{FIX}\n@@apps 0\n406, python3, 1002\n@@xid\n[  5.1] NVRM: Xid (PCI:0000:0b:00): 79, pid=1, GPU has fallen off the bus.\n@@run train 3 1 0\n@@run train 2 0 0\n@@hb train 1700000000 420 1700000001.5\n@@end\n"
        );
        let (r, x) = parse_probe(&text, Ts(5), Duration::from_millis(3)).unwrap();
        assert_eq!(r.boot_id.as_deref(), Some("1234-abcd"));
        assert!(matches!(r.gpu, GpuReadout::Gpus(ref g) if g.len() == 1));
        assert_eq!(r.jobs.len(), 2);
        let live = r.jobs.iter().find(|j| j.epoch == Epoch(3)).unwrap();
        assert!(live.running);
        assert_eq!(live.step, Some(420));
        assert_eq!(live.heartbeat_at, Some(Ts(1_700_000_001_500)));
        assert_eq!(x.xid_lines.len(), 1);
        assert!(x.compute_apps.contains("python3"));
    }

    #[test]
    fn a_cpu_host_and_garbage_are_not_panics() {
        let text = format!(
            "{MAGIC}\n@@nvsmi 127\nsh: nvidia-smi: not found\n@@run\n@@run x notanumber\n@@hb\n"
        );
        let (r, _) = parse_probe(&text, Ts(5), Duration::ZERO).unwrap();
        assert_eq!(r.gpu, GpuReadout::NotInstalled);
        assert!(r.jobs.is_empty());
        assert!(parse_probe("\u{0}\u{1}binary junk", Ts(0), Duration::ZERO).is_err());
        assert!(parse_probe("", Ts(0), Duration::ZERO).is_err());
        let flood = format!("{MAGIC}\n@@nvsmi 0\n{}", "x,".repeat(5_000_000));
        let (r, _) = parse_probe(&flood, Ts(0), Duration::ZERO).unwrap();
        assert!(matches!(r.gpu, GpuReadout::Failed { .. }));
    }
}
