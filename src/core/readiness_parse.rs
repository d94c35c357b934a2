//! Turning what a dry run saw on a host into readiness facts: the probe report, `df -Pk`
//! output and nvidia-smi's compute apps (by GPU UUID). Pure parsers; the runtime runs the
//! commands.

use super::gpu::{assess, GpuHealth, GpuReadout};
use super::io::ProbeReport;
use super::readiness::{GpuFact, GpuUser, HostFacts};

/// Marker lines the runtime's facts script prints around each command's output.
pub const DF_BEGIN: &str = "@@df";
pub const DF_END: &str = "@@dfexit";
pub const APPS_BEGIN: &str = "@@apps";
pub const APPS_END: &str = "@@appsexit";

/// A process nvidia-smi lists on a GPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuApp {
    pub gpu_uuid: String,
    pub pid: u32,
    pub name: String,
}

/// Free bytes from `df -Pk DIR` output (header, then one line per filesystem). The
/// available column is the one before the `NN%` capacity, so a filesystem name with
/// spaces does not shift it.
pub fn parse_df(text: &str) -> Result<u64, String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("Filesystem"))
        .ok_or_else(|| "df printed no filesystem line".to_string())?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let cap = words
        .iter()
        .position(|w| w.len() > 1 && w.ends_with('%') && w[..w.len() - 1].parse::<u8>().is_ok())
        .ok_or_else(|| format!("cannot read df's line: {line:?}"))?;
    let avail = cap
        .checked_sub(1)
        .and_then(|i| words.get(i))
        .and_then(|w| w.parse::<u64>().ok())
        .ok_or_else(|| format!("cannot read df's available column: {line:?}"))?;
    Ok(avail.saturating_mul(1024))
}

/// `gpu_uuid, pid, process_name` lines from `--query-compute-apps=... --format=csv,noheader`.
pub fn parse_apps(text: &str) -> Vec<GpuApp> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ',');
            let uuid = parts.next()?.trim();
            let pid = parts.next()?.trim().parse().ok()?;
            let name = parts.next().unwrap_or("").trim();
            (!uuid.is_empty()).then(|| GpuApp {
                gpu_uuid: uuid.to_string(),
                pid,
                name: name.chars().take(60).collect(),
            })
        })
        .take(256)
        .collect()
}

/// The text between `begin` and the `end N` line, and N; `None` if `begin` never came.
fn section<'a>(text: &'a str, begin: &str, end: &str) -> Option<(Vec<&'a str>, Option<i32>)> {
    let mut lines = text.lines();
    lines.find(|l| l.trim() == begin)?;
    let mut body = Vec::new();
    for l in lines {
        if let Some(code) = l.strip_prefix(end) {
            return Some((body, code.trim().parse().ok()));
        }
        body.push(l);
    }
    Some((body, None))
}

/// What the facts script printed: free bytes (or why unknown), and the compute apps
/// (`None` when nvidia-smi is absent or failed, so they were not checked).
pub fn parse_facts(text: &str) -> (Result<u64, String>, Option<Vec<GpuApp>>) {
    let free = match section(text, DF_BEGIN, DF_END) {
        None => Err("df did not run".to_string()),
        Some((body, Some(0))) => parse_df(&body.join("\n")),
        Some((body, _)) => Err(format!(
            "df failed: {}",
            body.first().map_or("no output", |l| l.trim())
        )),
    };
    let apps = match section(text, APPS_BEGIN, APPS_END) {
        Some((body, Some(0))) => Some(parse_apps(&body.join("\n"))),
        _ => None,
    };
    (free, apps)
}

/// A reachable host's facts from its probe report, its compute apps and its free space.
pub fn host_facts(
    report: &ProbeReport,
    expected_gpus: u32,
    apps: Option<&[GpuApp]>,
    free: Result<u64, String>,
) -> HostFacts {
    let gpus = match &report.gpu {
        GpuReadout::Gpus(samples) => {
            let verdict = assess(&report.gpu, expected_gpus, &[], &report.xids, false);
            Ok(samples
                .iter()
                .zip(verdict.per_gpu.iter())
                .enumerate()
                .map(|(i, (s, h))| GpuFact {
                    index: s.index.unwrap_or(i as u32),
                    fatal: match h {
                        GpuHealth::Fatal(r) => Some(r.join("; ")),
                        GpuHealth::Unknown(r) => {
                            Some(format!("readings unknown: {}", r.join("; ")))
                        }
                        _ => None,
                    },
                })
                .collect())
        }
        GpuReadout::NotInstalled | GpuReadout::NoDevices if expected_gpus == 0 => Ok(Vec::new()),
        GpuReadout::NotInstalled => Err("nvidia-smi is not installed".into()),
        GpuReadout::NoDevices => Err("nvidia-smi found no GPU".into()),
        GpuReadout::Failed { message, .. } => Err(format!("nvidia-smi failed: {message}")),
    };
    let index_of = |uuid: &str| match &report.gpu {
        GpuReadout::Gpus(samples) => samples
            .iter()
            .find(|s| s.uuid.as_deref() == Some(uuid))
            .and_then(|s| s.index),
        _ => None,
    };
    let mut users: Vec<GpuUser> = report
        .jobs
        .iter()
        .filter(|o| o.running)
        .map(|o| GpuUser {
            gpu: o.gpu,
            who: format!("job {} ({})", o.job, o.epoch),
            job: Some(o.job.clone()),
        })
        .collect();
    users.extend(apps.unwrap_or_default().iter().map(|a| GpuUser {
        gpu: index_of(&a.gpu_uuid),
        who: format!("pid {} {}", a.pid, a.name),
        job: None,
    }));
    HostFacts {
        reach: Ok(()),
        gpus,
        users,
        apps_checked: apps.is_some(),
        free_bytes: Some(free),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gpu::GpuSample;
    use crate::core::ids::{Epoch, JobId};
    use crate::core::io::JobObservation;
    use std::time::Duration;

    #[test]
    fn df_lines_are_read_by_the_capacity_column() {
        let cases = [
            (
                "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/nvme0n1p2 960300048 120000 812345678 13% /\n",
                Ok(812_345_678 * 1024),
            ),
            (
                "Filesystem     1024-blocks  Used Available Capacity Mounted on\nmy nas:/vol 100 50 50 50% /mnt/my ckpt\n",
                Ok(50 * 1024),
            ),
            ("Filesystem 1024-blocks Used Available Capacity Mounted on\n", Err(())),
            ("df: /x: No such file or directory\n", Err(())),
            ("", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(parse_df(text).map_err(|_| ()), want, "{text:?}");
        }
    }

    #[test]
    fn the_facts_script_output_splits_into_disk_and_apps() {
        let ok = "junk\n@@df\nFilesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 10 5 4 50% /\n@@dfexit 0\n@@apps\nGPU-aaa, 4121, python3 train.py, --x\n\n@@appsexit 0\n";
        let (free, apps) = parse_facts(ok);
        assert_eq!(free, Ok(4096));
        assert_eq!(
            apps,
            Some(vec![GpuApp {
                gpu_uuid: "GPU-aaa".into(),
                pid: 4121,
                name: "python3 train.py, --x".into()
            }])
        );
        let (free, apps) = parse_facts("@@df\ndf: cannot read: Permission denied\n@@dfexit 1\n");
        assert_eq!(
            free,
            Err("df failed: df: cannot read: Permission denied".into())
        );
        assert_eq!(apps, None, "no nvidia-smi: apps not checked");
        let (free, apps) = parse_facts("@@apps\nNVIDIA-SMI has failed\n@@appsexit 9\n");
        assert!(free.is_err());
        assert_eq!(apps, None);
    }

    fn sample(index: u32, uuid: &str) -> GpuSample {
        GpuSample {
            index: Some(index),
            uuid: Some(uuid.into()),
            ..GpuSample::default()
        }
    }

    #[test]
    fn a_probe_becomes_host_facts_with_apps_on_their_gpus() {
        let report = ProbeReport {
            gpu: GpuReadout::Gpus(vec![sample(0, "GPU-a"), sample(1, "GPU-b")]),
            xids: Vec::new(),
            jobs: vec![JobObservation {
                job: JobId::new("other"),
                epoch: Epoch(3),
                gpu: Some(0),
                running: true,
                step: None,
                heartbeat_at: None,
            }],
            boot_id: None,
            latency: Duration::ZERO,
        };
        let apps = [GpuApp {
            gpu_uuid: "GPU-b".into(),
            pid: 7,
            name: "python3".into(),
        }];
        let f = host_facts(&report, 2, Some(&apps), Ok(1));
        assert_eq!(f.reach, Ok(()));
        assert_eq!(f.gpus.as_ref().map(Vec::len), Ok(2));
        let users: Vec<(Option<u32>, &str)> =
            f.users.iter().map(|u| (u.gpu, u.who.as_str())).collect();
        assert_eq!(
            users,
            [(Some(0), "job other (e3)"), (Some(1), "pid 7 python3")]
        );
        assert!(f.apps_checked);
        let cpu = ProbeReport {
            gpu: GpuReadout::NotInstalled,
            jobs: Vec::new(),
            ..report
        };
        assert_eq!(host_facts(&cpu, 0, None, Ok(1)).gpus, Ok(Vec::new()));
        assert!(host_facts(&cpu, 1, None, Ok(1)).gpus.is_err());
    }
}
