//! The checks `readiness::assess` makes of one candidate target: reachable, GPU, disk,
//! checkpoint and (for a CPU standby) the launch command, each with words for the operator.

use super::ids::Target;
use super::readiness::{Check, CheckState, Facts, HostFacts, Subject, DISK_MARGIN};

/// A check; `ok` unless it failed.
pub(super) fn check(name: &str, state: CheckState, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok: state != CheckState::Fail,
        state,
        detail: detail.into(),
    }
}

/// What the GPU check asks of a target.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(super) enum Gpu {
    /// Restart in place: the job's own GPU, which the job itself may be using.
    Own,
    /// A standby's GPU: nobody may be using it.
    Free,
    /// A CPU standby: no GPU check.
    None,
}

pub(super) fn host_checks(s: &Subject, facts: &Facts, t: &Target, gpu: Gpu) -> Vec<Check> {
    let Some(h) = facts.hosts.get(&t.host) else {
        return vec![check(
            "reachable",
            CheckState::Fail,
            format!("{} was not probed", t.host),
        )];
    };
    if let Err(why) = &h.reach {
        // Nothing else about an unreachable host can be known.
        return vec![
            check("reachable", CheckState::Fail, why.clone()),
            checkpoint_check(s, facts),
        ];
    }
    let mut checks = vec![check(
        "reachable",
        CheckState::Pass,
        format!("{} answered", t.host),
    )];
    if gpu != Gpu::None {
        checks.push(gpu_check(s, h, t, gpu == Gpu::Own));
    }
    checks.push(disk_check(facts, h, t));
    checks.push(checkpoint_check(s, facts));
    checks
}

fn gpu_check(s: &Subject, h: &HostFacts, t: &Target, own: bool) -> Check {
    // One name per kind of target, whatever the outcome, so JSON readers can find it.
    let name = if own { "gpu" } else { "gpu free" };
    let gpus = match &h.gpus {
        Ok(g) => g,
        Err(why) => {
            return check(
                name,
                CheckState::Fail,
                format!("{}: GPUs unreadable: {why}", t.host),
            )
        }
    };
    // Restarting in place stops the job first; its own processes are no obstacle.
    let busy: Vec<&str> = h
        .users
        .iter()
        .filter(|u| u.gpu.is_none() || t.gpu.is_none() || u.gpu == t.gpu)
        .filter(|u| !own || u.job.as_ref().is_some_and(|j| *j != s.job))
        .map(|u| u.who.as_str())
        .collect();
    let mut bad: Vec<String> = gpus
        .iter()
        .filter(|g| t.gpu.is_none_or(|i| i == g.index))
        .filter_map(|g| g.fatal.as_ref().map(|f| format!("gpu{} {f}", g.index)))
        .collect();
    let which = match t.gpu {
        Some(i) => {
            if !gpus.iter().any(|g| g.index == i) {
                let seen: Vec<String> = gpus.iter().map(|g| g.index.to_string()).collect();
                let seen = if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                };
                bad.push(format!("gpu{i} is not there (GPUs seen: {seen})"));
            }
            format!("{t} (CUDA_VISIBLE_DEVICES={i})")
        }
        // A job with no GPU named, on a host that reports none: nothing to check.
        None if gpus.is_empty() && busy.is_empty() => {
            return check(name, CheckState::Pass, format!("{t}: no GPU asked for"));
        }
        None if gpus.is_empty() => t.to_string(),
        None => format!("{t} (all its GPUs)"),
    };
    if !bad.is_empty() {
        return check(
            name,
            CheckState::Fail,
            format!("{which}: {}", bad.join("; ")),
        );
    }
    if !busy.is_empty() {
        return check(
            name,
            CheckState::Fail,
            format!("{which} is busy: {}", busy.join(", ")),
        );
    }
    let mut detail = if own {
        format!("{which} is healthy; no other job on it")
    } else {
        format!("{which} is free")
    };
    if !h.apps_checked && !own {
        detail.push_str(" (other processes on it not checked here)");
    }
    check(name, CheckState::Pass, detail)
}

fn disk_check(facts: &Facts, h: &HostFacts, t: &Target) -> Check {
    let (need, of) = match &facts.checkpoint {
        Some(c) => (
            c.bytes
                .saturating_add(c.bytes / 10)
                .saturating_add(DISK_MARGIN),
            format!("{} + 10% + 1 GiB", bytes(c.bytes)),
        ),
        None => (DISK_MARGIN, "1 GiB, no checkpoint to restore".to_string()),
    };
    match &h.free_bytes {
        None => check("disk", CheckState::Unchecked, facts.unchecked.clone()),
        Some(Err(why)) => check(
            "disk",
            CheckState::Warn,
            format!("{}: free space unknown: {why}", t.host),
        ),
        Some(Ok(free)) if *free >= need => check(
            "disk",
            CheckState::Pass,
            format!(
                "{} free on {}, needs {} ({of})",
                bytes(*free),
                t.host,
                bytes(need)
            ),
        ),
        Some(Ok(free)) => check(
            "disk",
            CheckState::Fail,
            format!(
                "only {} free on {}, needs {} ({of}): free space there",
                bytes(*free),
                t.host,
                bytes(need)
            ),
        ),
    }
}

pub(super) fn checkpoint_check(s: &Subject, facts: &Facts) -> Check {
    match &facts.checkpoint {
        Some(c) => check(
            "checkpoint",
            CheckState::Pass,
            format!(
                "restores {} (step {}, {}) from {}",
                c.id,
                c.step,
                bytes(c.bytes),
                c.stores.join(", ")
            ),
        ),
        None => {
            let mut d = format!(
                "no verified checkpoint of {}: it would restart from scratch (step 0)",
                s.job
            );
            if let Some(n) = &facts.checkpoint_note {
                d.push_str(&format!("; {n}"));
            }
            check("checkpoint", CheckState::Warn, d)
        }
    }
}

pub(super) fn launch_check(s: &Subject, facts: &Facts) -> Check {
    match s.cpu_launch {
        Some(true) => check("launch", CheckState::Pass, "starts with the job's cpu_launch"),
        Some(false) => check(
            "launch",
            CheckState::Warn,
            "no cpu_launch: the GPU launch command runs on a CPU host; set cpu_launch if it needs a GPU",
        ),
        None => check("launch", CheckState::Unchecked, facts.unchecked.clone()),
    }
}

/// Binary sizes, as the rest of Lifeboat prints them: `850 B`, `4.9 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
