//! The checkpoint bench's report: the markdown table, the preamble that says what was
//! measured where and how, and writing both into BENCHMARKS.md between its markers.

use super::measure::{median, Kind, Row};
use super::rig::{version, Bench};
use std::path::Path;

const MIB: f64 = 1024.0 * 1024.0;

impl Bench {
    /// The markdown table: one row per measurement, with the ratio of its rate to the
    /// fastest plain alternative of the same step (> 1 is faster).
    pub(crate) fn table(&self) -> String {
        let mut t = String::from(
            "| Step | Tool | Runs (s) | Median (s) | MiB/s | × best alternative | CPU s, ours + server |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
        );
        let mut steps: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !steps.contains(&r.step) {
                steps.push(r.step);
            }
        }
        let mib = self.size as f64 / MIB;
        for step in steps {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.step == step).collect();
            let best = rows
                .iter()
                .filter(|r| r.kind == Kind::Alternative)
                .map(|r| r.median())
                .fold(f64::INFINITY, f64::min);
            for r in rows {
                let m = r.median();
                let ratio = if best.is_finite() {
                    let x = best / m;
                    if r.kind == Kind::Alternative && m == best {
                        format!("{x:.2} (best)")
                    } else {
                        format!("{x:.2}")
                    }
                } else {
                    "—".into()
                };
                let runs = if r.derived {
                    "(sum)".to_string()
                } else {
                    r.secs
                        .iter()
                        .map(|s| format!("{s:.2}"))
                        .collect::<Vec<_>>()
                        .join(" / ")
                };
                let ours = median(&r.cpu.iter().map(|c| c.0).collect::<Vec<_>>());
                let server = median(&r.cpu.iter().map(|c| c.1).collect::<Vec<_>>());
                t.push_str(&format!(
                    "| {step} | {} | {runs} | {m:.2} | {:.0} | {ratio} | {ours:.1} + {server:.1} |\n",
                    r.name,
                    mib / m
                ));
            }
        }
        t
    }

    /// What was measured, where and how: the lines above the table.
    pub(crate) fn preamble(&self, command: &str) -> String {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let mem = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .next()
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
            .map_or(0, |k| k / (1024 * 1024));
        let loads = &self.loads;
        let (lo, hi) = loads.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
        let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        format!(
            "Command: `{command}` — date: {date} — machine: {cores} cores (`nproc`), {cpu}, {mem} GiB RAM; \
             1-minute load average before the timed runs {lo:.1}–{hi:.1} (median {med:.1}).\n\
             Tools: {ssh}; {rsync}; {aws}; {openssl}; s3s-fs 0.14.1; all on loopback, all files in the page cache.\n\n\
             One {mib:.0} MiB random file. Each row: {reps} run(s), interleaved with the other rows of its step (so \
             load from elsewhere falls on all alike), the median reported; MiB/s = 2^20 bytes per second of wall \
             time, connection set-up and tool start-up included. \"× best alternative\" is the row's rate over the \
             fastest plain alternative of the same step (above 1 is faster). \"CPU s\" is the median CPU time of \
             one run: this process and the tools it ran, + sshd and s3s-fs (the server side).\n",
            med = median(loads),
            ssh = version("ssh", &["-V"]),
            rsync = version("rsync", &["--version"]),
            aws = version("aws", &["--version"]),
            openssl = version("openssl", &["version"]),
            mib = self.size as f64 / MIB,
            reps = self.reps,
        )
    }

    /// Replaces the generated part of the "Checkpoints (issue 5)" section of
    /// BENCHMARKS.md (between its markers), keeping everything else.
    pub(crate) fn write_report(&self, preamble: &str, table: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
        let mut gen = format!("{MARK_BEGIN}\n{preamble}\n{table}");
        for n in &self.notes {
            gen.push_str(&format!("\nNote: {n}\n"));
        }
        gen.push_str(MARK_END);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let new = match (old.find(MARK_BEGIN), old.find(MARK_END)) {
            (Some(a), Some(z)) if a < z => {
                format!("{}{gen}{}", &old[..a], &old[z + MARK_END.len()..])
            }
            _ => {
                let mut s = if old.is_empty() {
                    "# Benchmarks\n".to_string()
                } else {
                    old.trim_end().to_string() + "\n"
                };
                s.push_str(&format!("\n## {HEADING}\n\n{gen}\n"));
                s
            }
        };
        std::fs::write(&path, new).unwrap();
        println!("(table written to {})", path.display());
    }
}

const HEADING: &str = "Checkpoints (issue 5)";
const MARK_BEGIN: &str =
    "<!-- checkpoints bench: generated by `cargo bench --bench checkpoints`, begin -->";
const MARK_END: &str = "<!-- checkpoints bench: end -->";
