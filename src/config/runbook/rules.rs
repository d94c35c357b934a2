//! The rules that span a runbook's tables: an injected fault is always undone, a
//! partition's freeze always lifted and a scratch restore always removed (by a
//! rollback); a runbook that injects nothing expects no recovery times; a host fault
//! needs hosts; named targets fit the blast radius.

use super::raw::{RawRunbook, RawSelector, RawStep};
use super::steps::Method;
use crate::config::keypath::KeyPath;
use crate::config::validate::values::quote;
use crate::config::validate::Ctx;
use crate::core::drill::runbook::{
    BlastRadius, Fault, HostSelector, JobSelector, Rollback, StepAction, Targets,
};

/// The faults that need no host: they act on the supervisor or a store.
const HOSTLESS: [Fault; 3] = [Fault::SupervisorKill, Fault::NasLost, Fault::CorruptCopy];

pub fn check(
    ctx: &mut Ctx<'_>,
    raw: &RawRunbook,
    method: &Method,
    rollbacks: &[Rollback],
    targets: &Targets,
    blast: Option<BlastRadius>,
) {
    // An unknown action is reported already, and may be the one a rule asks for.
    let unknown = raw.rollback.iter().any(|r| {
        r.action
            .as_ref()
            .is_some_and(|a| Rollback::parse(a.get_ref()).is_none())
    });
    let rollbacks = if unknown {
        &Rollback::ALL[..]
    } else {
        rollbacks
    };
    match method.first_inject {
        Some(first) => injected(ctx, raw, method, first, rollbacks, targets),
        None => nothing_injected(ctx, raw),
    }
    scratch(ctx, raw, rollbacks);
    if let Some(b) = blast {
        fits(ctx, raw, targets, b);
    }
}

fn injected(
    ctx: &mut Ctx<'_>,
    raw: &RawRunbook,
    method: &Method,
    first: usize,
    rollbacks: &[Rollback],
    targets: &Targets,
) {
    let faults: Vec<Fault> = method
        .steps
        .iter()
        .filter_map(|s| match s.action {
            StepAction::Inject { fault, .. } => Some(fault),
            _ => None,
        })
        .collect();
    if !rollbacks.contains(&Rollback::ClearFaults) {
        if let Some(kind) = raw.step.get(first).and_then(|s| s.kind.as_ref()) {
            ctx.report_at(
                kind,
                &KeyPath::at("rollback"),
                format!("step[{first}] injects a fault, and no [[rollback]] has action = \"clear-faults\""),
                "add [[rollback]] with action = \"clear-faults\", so the fault is undone however the drill ends (pass, fail, abort, Ctrl-C or a crash)",
            );
        }
    }
    if faults.contains(&Fault::Partition) && !rollbacks.contains(&Rollback::ResumeAutomation) {
        if let Some((i, s)) = step_with_fault(raw, Fault::Partition) {
            if let Some(f) = &s.fault {
                ctx.report_at(
                    f,
                    &KeyPath::at("rollback"),
                    format!("step[{i}] makes a partition, which freezes automation, and no [[rollback]] has action = \"resume-automation\""),
                    "add [[rollback]] with action = \"resume-automation\", so automation runs again after the drill",
                );
            }
        }
    }
    if targets.hosts == HostSelector::None {
        for (i, s) in raw.step.iter().enumerate() {
            let Some(f) = &s.fault else { continue };
            let Some(fault) = Fault::parse(f.get_ref()) else {
                continue;
            };
            if s.kind.as_ref().is_some_and(|k| k.get_ref() == "inject")
                && !HOSTLESS.contains(&fault)
            {
                ctx.report_at(
                    f,
                    &KeyPath::at("step").index(i).key("fault"),
                    format!("the fault \"{}\" acts on hosts, but [targets] hosts = \"none\" touches no host", fault.as_str()),
                    "set hosts = \"of-jobs\" in [targets] (or name the hosts), or inject a fault that needs no host: \"supervisor-kill\", \"nas-lost\" or \"corrupt-copy\"",
                );
            }
        }
    }
}

fn step_with_fault(raw: &RawRunbook, fault: Fault) -> Option<(usize, &RawStep)> {
    raw.step.iter().enumerate().find(|(_, s)| {
        s.kind.as_ref().is_some_and(|k| k.get_ref() == "inject")
            && s.fault
                .as_ref()
                .is_some_and(|f| f.get_ref() == fault.as_str())
    })
}

/// Without an injection there is nothing to detect or recover from.
fn nothing_injected(ctx: &mut Ctx<'_>, raw: &RawRunbook) {
    if raw.step.is_empty() {
        return;
    }
    let fix = "remove it, or add an inject step (kind = \"inject\") for the drill to measure";
    if let Some(e) = &raw.expect {
        let k = KeyPath::at("expect");
        for (key, v) in [
            ("detection", &e.detection),
            ("rto", &e.rto),
            ("rpo", &e.rpo),
        ] {
            if let Some(v) = v {
                ctx.report_at(
                    v,
                    &k.clone().key(key),
                    format!("no step injects a fault, so there is no {key} to measure"),
                    fix,
                );
            }
        }
        if let Some(v) = &e.rpo_steps {
            ctx.report_at(
                v,
                &k.clone().key("rpo_steps"),
                "no step injects a fault, so there are no lost steps to count",
                fix,
            );
        }
    }
    for (i, s) in raw.stop.iter().enumerate() {
        if let Some(w) = s.when.as_ref().filter(|w| w.get_ref() == "rto-exceeds") {
            ctx.report_at(
                w,
                &KeyPath::at("stop").index(i).key("when"),
                "\"rto-exceeds\" counts from the injection, and no step injects a fault",
                "remove this [[stop]], or add an inject step",
            );
        }
    }
}

/// `restore-verified` makes a scratch copy; a `remove-scratch` rollback removes it.
fn scratch(ctx: &mut Ctx<'_>, raw: &RawRunbook, rollbacks: &[Rollback]) {
    if rollbacks.contains(&Rollback::RemoveScratch) {
        return;
    }
    let uses = raw.step.iter().enumerate().find_map(|(i, s)| {
        [("until", &s.until), ("check", &s.check)]
            .into_iter()
            .find_map(|(key, v)| {
                v.as_ref()
                    .filter(|v| v.get_ref() == "restore-verified")
                    .map(|v| (i, key, v))
            })
    });
    if let Some((i, key, v)) = uses {
        ctx.report_at(
            v,
            &KeyPath::at("rollback"),
            format!("step[{i}].{key} = \"restore-verified\" restores to a scratch place, and no [[rollback]] has action = \"remove-scratch\""),
            "add [[rollback]] with action = \"remove-scratch\", so the scratch copy is removed however the drill ends",
        );
    }
}

/// Named jobs and hosts must fit the blast radius as written.
fn fits(ctx: &mut Ctx<'_>, raw: &RawRunbook, targets: &Targets, b: BlastRadius) {
    let Some(t) = &raw.targets else { return };
    if let (JobSelector::Named(jobs), Some(s)) = (&targets.jobs, &t.jobs) {
        over(ctx, s, "jobs", jobs, "max_jobs", b.max_jobs);
    }
    if let (HostSelector::Named(hosts), Some(s)) = (&targets.hosts, &t.hosts) {
        over(ctx, s, "hosts", hosts, "max_hosts", b.max_hosts);
    }
}

fn over(
    ctx: &mut Ctx<'_>,
    s: &toml::Spanned<RawSelector>,
    key: &str,
    names: &[String],
    limit_key: &str,
    limit: u32,
) {
    if names.len() <= limit as usize {
        return;
    }
    let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
    ctx.report_at(
        s,
        &KeyPath::at("targets").key(key),
        format!(
            "{} {key} are named ({}), more than [blast_radius] {limit_key} = {limit}",
            names.len(),
            list.join(", ")
        ),
        format!(
            "name at most {limit}, or raise {limit_key} to {} if the drill may reach that far",
            names.len()
        ),
    );
}
