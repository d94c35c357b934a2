//! Fault injection for the simulator: the faults, a repeatable schedule drawn from a seed,
//! `--inject KIND:TARGET@TIME` parsing, and what each fault does to the world.

use super::world::{Condition, SimWorld};
use crate::core::fleet::Fleet;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The faults live in the protocol: a screen may ask for one in the demo.
pub use crate::protocol::fault::FaultKind;

/// What a fault aims at: a job (resolved to wherever it runs at injection time) or a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aim {
    Job(String),
    Host(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Time after the world was born.
    pub at: Duration,
    pub kind: FaultKind,
    pub aim: Aim,
}

/// A repeatable schedule: the same seed and fleet give the same faults at the same times.
/// Each minute shows the main kinds of trouble; hosts are healed a while after.
pub fn schedule(seed: u64, fleet: &Fleet, horizon: Duration) -> Vec<Fault> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let jobs: Vec<String> = fleet.jobs.iter().map(|j| j.id.to_string()).collect();
    let hosts: Vec<String> = fleet.hosts.iter().map(|h| h.id.to_string()).collect();
    if jobs.is_empty() || hosts.is_empty() {
        return out;
    }
    let mut minute = 0u64;
    while Duration::from_secs(minute * 60) < horizon {
        let base = minute * 60;
        let mut js = jobs.clone();
        js.shuffle(&mut rng);
        let pick = |i: usize| js[i % js.len()].clone();
        let mut at = |lo: u64, hi: u64| Duration::from_secs(base + rng.gen_range(lo..=hi));
        let plan = [
            (at(5, 8), FaultKind::GpuLost, Aim::Job(pick(0))),
            (at(10, 12), FaultKind::HostUnreachable, Aim::Job(pick(1))),
            (at(16, 19), FaultKind::FlakyLink, Aim::Job(pick(2))),
            (at(22, 26), FaultKind::JobCrash, Aim::Job(pick(2))),
            (at(28, 31), FaultKind::JobHang, Aim::Job(pick(3))),
            (at(36, 40), FaultKind::SpotPreemption, Aim::Job(pick(0))),
            (at(46, 50), FaultKind::UncorrectableEcc, Aim::Job(pick(3))),
        ];
        for (at, kind, aim) in plan {
            out.push(Fault { at, kind, aim });
        }
        minute += 1;
    }
    out.sort_by_key(|f| f.at);
    let _ = hosts;
    out
}

/// Parses `KIND:TARGET@TIME`, e.g. `gpu-lost:llm-pretrain@5s` or `host-hung:gpu-b@20s`.
/// The target is a job or host name, checked against `fleet`.
pub fn parse_inject(text: &str, fleet: &Fleet) -> Result<Fault, String> {
    let usage = "write KIND:TARGET@TIME, e.g. gpu-lost:llm-pretrain@5s";
    let (head, time) = text
        .split_once('@')
        .ok_or_else(|| format!("--inject \"{text}\": missing @TIME; {usage}"))?;
    let (kind, target) = head
        .split_once(':')
        .ok_or_else(|| format!("--inject \"{text}\": missing :TARGET; {usage}"))?;
    let kinds: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind = FaultKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| {
            format!(
                "--inject \"{text}\": unknown fault \"{kind}\" (one of {})",
                kinds.join(", ")
            )
        })?;
    let at =
        crate::config::duration::parse(time).map_err(|e| format!("--inject \"{text}\": {e}"))?;
    let aim = if fleet.jobs.iter().any(|j| j.id.as_str() == target) {
        Aim::Job(target.into())
    } else if fleet.hosts.iter().any(|h| h.id.as_str() == target) {
        Aim::Host(target.into())
    } else {
        let mut names: Vec<&str> = fleet.jobs.iter().map(|j| j.id.as_str()).collect();
        names.extend(fleet.hosts.iter().map(|h| h.id.as_str()));
        return Err(format!(
            "--inject \"{text}\": no job or host named \"{target}\" (known: {})",
            names.join(", ")
        ));
    };
    Ok(Fault { at, kind, aim })
}

/// Applies a fault to the world; returns (host, job, what happened), or why it could not.
pub fn apply(
    world: &mut SimWorld,
    fault: &Fault,
    now_ms: u64,
) -> Result<(String, Option<String>, String), String> {
    let (host, job, gpu) = match &fault.aim {
        Aim::Host(h) => (h.clone(), None, None),
        Aim::Job(j) => {
            let found = world.hosts.iter().find_map(|(h, s)| {
                s.procs
                    .iter()
                    .rev()
                    .find(|p| &p.job == j)
                    .map(|p| (h.clone(), p.gpu))
            });
            let (h, g) = found.ok_or_else(|| format!("{j} is not running anywhere"))?;
            (h, Some(j.clone()), g)
        }
    };
    let Some(hs) = world.hosts.get_mut(&host) else {
        return Err(format!("no simulated host {host}"));
    };
    let detail = match fault.kind {
        FaultKind::GpuLost => {
            let g = gpu.unwrap_or(0) as usize;
            let gs = hs
                .gpus
                .get_mut(g)
                .ok_or_else(|| format!("{host} has no GPU {g}"))?;
            gs.lost = true;
            hs.xids.push(79);
            format!("GPU {g} on {host} fell off the bus (Xid 79)")
        }
        FaultKind::UncorrectableEcc => {
            let g = gpu.unwrap_or(0) as usize;
            let gs = hs
                .gpus
                .get_mut(g)
                .ok_or_else(|| format!("{host} has no GPU {g}"))?;
            gs.ecc_uncorrected += 1;
            gs.recovery_action = "Reset".into();
            hs.xids.push(48);
            format!("uncorrectable ECC error on GPU {g} of {host} (Xid 48)")
        }
        FaultKind::HostUnreachable => {
            hs.condition = Condition::Down;
            format!("{host} stopped answering (connection refused)")
        }
        FaultKind::HostHung => {
            hs.condition = Condition::Hung;
            format!("{host} hung: connections open but nothing answers")
        }
        FaultKind::JobCrash => {
            let j = job.clone().unwrap_or_default();
            hs.procs.retain(|p| p.job != j);
            format!("{j} crashed on {host} (process exited)")
        }
        FaultKind::JobHang => {
            let j = job.clone().unwrap_or_default();
            for p in hs.procs.iter_mut().filter(|p| p.job == j) {
                p.hung = true;
            }
            format!("{j} hung on {host}: alive, no progress")
        }
        FaultKind::SpotPreemption => {
            hs.preempted = true;
            format!("provider announced spot preemption of {host}")
        }
        FaultKind::FlakyLink => {
            hs.flaky_until = Some(now_ms + 15_000);
            format!("link to {host} turned flaky for 15 s (random single-probe misses)")
        }
        FaultKind::Heal => {
            hs.condition = Condition::Up;
            hs.preempted = false;
            hs.flaky_until = None;
            for g in &mut hs.gpus {
                g.lost = false;
                g.ecc_uncorrected = 0;
                g.recovery_action = "None".into();
            }
            format!("{host} repaired and back in service")
        }
    };
    Ok((host, job, detail))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sim::demo::demo_fleet;

    #[test]
    fn same_seed_same_schedule() {
        let f = demo_fleet();
        let a = schedule(7, &f, Duration::from_secs(120));
        assert_eq!(a, schedule(7, &f, Duration::from_secs(120)));
        assert_ne!(a, schedule(8, &f, Duration::from_secs(120)));
        assert!(a
            .iter()
            .any(|x| x.kind == FaultKind::GpuLost && x.at < Duration::from_secs(10)));
    }

    #[test]
    fn inject_parses_and_names_the_fix() {
        let f = demo_fleet();
        let ok = parse_inject("gpu-lost:llm-pretrain@5s", &f).unwrap();
        assert_eq!(
            (ok.kind, ok.at),
            (FaultKind::GpuLost, Duration::from_secs(5))
        );
        let e = parse_inject("gpu-melted:llm-pretrain@5s", &f).unwrap_err();
        assert!(
            e.contains("unknown fault \"gpu-melted\"") && e.contains("gpu-lost"),
            "{e}"
        );
        let e = parse_inject("gpu-lost:nobody@5s", &f).unwrap_err();
        assert!(e.contains("no job or host named \"nobody\""), "{e}");
        assert!(parse_inject("gpu-lost:llm-pretrain", &f)
            .unwrap_err()
            .contains("missing @TIME"));
    }
}
