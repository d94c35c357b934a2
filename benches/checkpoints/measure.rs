//! Timing for the checkpoint bench: the cases of a step and the rows they become, and
//! `Bench::measure`, which runs the cases interleaved and counts wall time, CPU (ours and
//! the server side's, sshd and s3s-fs) and the load average before each run.

use super::rig::{sync, Bench};
use super::sshd;
use std::sync::Arc;
use std::time::Instant;

/// Whether a row is Lifeboat, a tool a user would run, or that tool plus the checks
/// Lifeboat does (not counted as "the best alternative").
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Lifeboat,
    Alternative,
    Equivalent,
}

pub(crate) struct Row {
    pub(crate) step: &'static str,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) secs: Vec<f64>,
    /// (this process and its children, sshd + s3s-fs) CPU seconds, per run.
    pub(crate) cpu: Vec<(f64, f64)>,
    /// Not measured but added up from other rows' medians.
    pub(crate) derived: bool,
}

pub(crate) type Step<'a> = Box<dyn FnMut(&Bench, usize) + 'a>;

/// One thing to time: `run` is timed, `after` (checks, clean-up) is not.
pub(crate) struct Case<'a> {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) run: Step<'a>,
    pub(crate) after: Step<'a>,
    /// Runs even when `CHECKPOINTS_BENCH_ONLY` leaves it out (later steps need it).
    pub(crate) always: bool,
}

pub(crate) fn case<'a>(
    name: impl Into<String>,
    kind: Kind,
    run: impl FnMut(&Bench, usize) + 'a,
    after: impl FnMut(&Bench, usize) + 'a,
) -> Case<'a> {
    Case {
        name: name.into(),
        kind,
        run: Box::new(run),
        after: Box::new(after),
        always: false,
    }
}

/// `CHECKPOINTS_BENCH_ONLY=text`: only the rows whose name holds `text`, or one of
/// several `|`-separated texts (for profiling).
pub(crate) fn only() -> Option<String> {
    std::env::var("CHECKPOINTS_BENCH_ONLY")
        .ok()
        .filter(|s| !s.is_empty())
}

/// `CHECKPOINTS_BENCH_REPS=n`: runs per row (3 unless given; more for a steadier median).
pub(crate) fn reps() -> usize {
    std::env::var("CHECKPOINTS_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(3)
}

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// CPU time of the server side while a run goes: sshd, every process under it, and
/// s3s-fs. sshd's session processes are not reliably reaped by sshd itself (their CPU
/// does not show in its children's time), so a thread samples each one every 50 ms
/// and keeps its last reading; a session loses at most its last 50 ms.
struct ServerMeter {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl ServerMeter {
    fn start(sshd: Option<u32>, s3s: Option<u32>) -> Self {
        let read = move || -> Vec<(u32, f64)> {
            let mut pids: Vec<u32> = s3s.into_iter().collect();
            if let Some(p) = sshd {
                pids.push(p);
                pids.extend(sshd::descendants(p));
            }
            pids.into_iter()
                .map(|p| (p, super::procfs::cpu_secs(p, false)))
                .collect()
        };
        let base: std::collections::HashMap<u32, f64> = read().into_iter().collect();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut last = base.clone();
            loop {
                let done = flag.load(std::sync::atomic::Ordering::Relaxed);
                for (p, c) in read() {
                    // A reading of 0 is a process already gone.
                    if c > 0.0 {
                        last.insert(p, c);
                    }
                }
                if done {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            last.iter()
                .map(|(p, c)| c - base.get(p).copied().unwrap_or(0.0))
                .sum()
        });
        Self { stop, thread }
    }

    /// The server side's CPU seconds since `start`.
    fn stop(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(f64::NAN)
    }
}

/// The 1-minute load average now.
fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// CPU seconds of this process and the tools it ran.
fn client_cpu() -> f64 {
    super::procfs::cpu_secs(std::process::id(), true)
}

impl Row {
    pub(crate) fn median(&self) -> f64 {
        median(&self.secs)
    }
}

impl Bench {
    /// Times every case of `step` `reps` times, interleaved (round `i` runs each case
    /// once, in an order rotated by `i`, so load from elsewhere on the machine lands on
    /// all of them alike), with a `sync` before each timed run so no earlier write-back
    /// lands in it. `after` checks and cleans up, untimed. CPU is counted for this
    /// process and its children, and for sshd and s3s-fs (once their sessions ended).
    pub(crate) fn measure(&mut self, step: &'static str, mut cases: Vec<Case<'_>>) {
        if let Some(only) = only() {
            cases.retain(|c| c.always || only.split('|').any(|t| c.name.contains(t)));
        }
        let n = cases.len();
        let mut secs = vec![Vec::new(); n];
        let mut cpu = vec![Vec::new(); n];
        for i in 0..self.reps {
            for j in 0..n {
                let k = (j + i) % n;
                let case = &mut cases[k];
                sync();
                self.loads.push(load1());
                let c0 = client_cpu();
                let server = ServerMeter::start(self.host.pid(), self.s3_pid);
                let t0 = Instant::now();
                (case.run)(self, i);
                secs[k].push(t0.elapsed().as_secs_f64());
                (case.after)(self, i);
                self.settle();
                cpu[k].push((client_cpu() - c0, server.stop()));
            }
        }
        for (k, case) in cases.into_iter().enumerate() {
            eprintln!(
                "  {step} | {}: {}",
                case.name,
                secs[k]
                    .iter()
                    .map(|s| format!("{s:.2} s"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.rows.push(Row {
                step,
                name: case.name,
                kind: case.kind,
                secs: std::mem::take(&mut secs[k]),
                cpu: std::mem::take(&mut cpu[k]),
                derived: false,
            });
        }
    }

    /// Waits (up to 3 s) until sshd has no sessions left, so their CPU is counted.
    fn settle(&self) {
        let until = Instant::now() + std::time::Duration::from_secs(3);
        while !self.host.session_pids().is_empty() && Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
