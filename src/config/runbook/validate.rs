//! Raw runbook → checked [`Runbook`]: every table's keys, then the rules that span tables
//! (what an injection needs undone, what a runbook without one may not expect, whether
//! named targets fit the blast radius). Collects every problem, each at a line.

use super::probes::{self, Params};
use super::raw::{RawExpect, RawHeader, RawRunbook, RawStop, Str};
use super::{steps, targets};
use crate::config::error::Problem;
use crate::config::keypath::KeyPath;
use crate::config::suggest;
use crate::config::validate::values::{self, quote};
use crate::config::validate::Ctx;
use crate::core::drill::runbook::{
    Expectations, Probe, Rollback, Runbook, Scenario, StopCondition,
};
use std::path::PathBuf;

/// Who the runbook is and where it came from: not in the text's tables.
pub struct Origin {
    pub name: String,
    pub source: PathBuf,
    pub hash: String,
}

pub fn build(raw: RawRunbook, ctx: &mut Ctx<'_>, origin: Origin) -> Result<Runbook, Vec<Problem>> {
    let header = header(ctx, raw.runbook.as_ref());
    let targets = targets::targets(ctx, raw.targets.as_ref());
    let blast_radius = targets::blast_radius(ctx, raw.blast_radius.as_ref());
    let preconditions = preconditions(ctx, &raw);
    let method = steps::build(ctx, &raw.step);
    let stop_conditions = stops(ctx, &raw.stop);
    let rollbacks = rollbacks(ctx, &raw);
    let expect = expect(ctx, raw.expect.as_ref());
    super::rules::check(ctx, &raw, &method, &rollbacks, &targets, blast_radius);
    let problems = ctx.take_problems();
    let (Some((title, description, scenario, version)), Some(blast_radius)) =
        (header, blast_radius)
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Runbook {
        name: origin.name,
        title,
        description,
        scenario,
        version,
        source: origin.source,
        hash: origin.hash,
        targets,
        blast_radius,
        preconditions,
        steps: method.steps,
        stop_conditions,
        rollbacks,
        expect,
    })
}

type Header = (String, String, Scenario, u32);

fn header(ctx: &mut Ctx<'_>, raw: Option<&RawHeader>) -> Option<Header> {
    let k = KeyPath::at("runbook");
    let Some(h) = raw else {
        ctx.report(
            None,
            &k,
            "the runbook has no [runbook] table",
            "add [runbook] with title = \"Job crash\", scenario = \"job-crash\" and version = 1",
        );
        return None;
    };
    let title = match &h.title {
        Some(t) => Some(values::non_empty(
            ctx,
            &k.clone().key("title"),
            t,
            "title = \"Job crash\"",
        )),
        None => missing(
            ctx,
            &k,
            "title",
            "title = \"Job crash\": what the operator sees",
        ),
    };
    let names = Scenario::ALL.map(Scenario::as_str);
    let scenario = match &h.scenario {
        Some(s) => values::choice(ctx, &k.clone().key("scenario"), s, &names, "scenario")
            .and_then(Scenario::parse),
        None => missing(
            ctx,
            &k,
            "scenario",
            &format!(
                "scenario = \"job-crash\", one of: {}",
                suggest::quoted_list(&names)
            ),
        ),
    };
    let version = match &h.version {
        Some(v) if *v.get_ref() == 0 => {
            ctx.report_at(
                v,
                &k.clone().key("version"),
                "version 0 is not a version",
                "count the runbook's revisions from 1: version = 1, and add one when you change it",
            );
            None
        }
        Some(v) => Some(*v.get_ref()),
        None => missing(
            ctx,
            &k,
            "version",
            "version = 1 (the runbook's own revision)",
        ),
    };
    let description = h
        .description
        .as_ref()
        .map_or_else(String::new, |d| d.get_ref().trim().to_string());
    Some((title?, description, scenario?, version?))
}

pub fn missing<T>(ctx: &mut Ctx<'_>, table: &KeyPath, key: &str, example: &str) -> Option<T> {
    ctx.report_missing(
        table,
        key,
        format!("missing required key \"{key}\""),
        format!("add {example}"),
    );
    None
}

fn preconditions(ctx: &mut Ctx<'_>, raw: &RawRunbook) -> Vec<Probe> {
    let mut out = Vec::new();
    for (i, p) in raw.precondition.iter().enumerate() {
        let k = KeyPath::at("precondition").index(i);
        let Some(name) = &p.probe else {
            ctx.report_missing(
                &k,
                "probe",
                "missing required key \"probe\"",
                "add probe = \"readiness\" (the steady state the drill needs before it starts)",
            );
            continue;
        };
        let params = Params {
            max_age: p.max_age.as_ref(),
            within: p.within.as_ref(),
        };
        let Some(probe) = probes::probe(ctx, &k, "probe", name, params) else {
            continue;
        };
        if probe.needs_injection() {
            ctx.report_at(
                name,
                &k.clone().key("probe"),
                format!(
                    "\"{}\" is measured against an injection, and a precondition is checked before any",
                    probe.name()
                ),
                format!(
                    "check it in an observe or verify step after the inject step; a precondition is a steady state, e.g. probe = \"readiness\" or \"checkpoint-fresh\" (not {})",
                    probes::after_injection()
                ),
            );
            continue;
        }
        out.push(probe);
    }
    out
}

fn stops(ctx: &mut Ctx<'_>, raw: &[RawStop]) -> Vec<StopCondition> {
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let k = KeyPath::at("stop").index(i);
        let Some(when) = &s.when else {
            ctx.report_missing(
                &k,
                "when",
                "missing required key \"when\"",
                format!(
                    "add when = \"other-job-interrupted\", one of: {}",
                    suggest::quoted_list(&StopCondition::NAMES)
                ),
            );
            continue;
        };
        let Some(word) = values::choice(
            ctx,
            &k.clone().key("when"),
            when,
            &StopCondition::NAMES,
            "stop condition",
        ) else {
            continue;
        };
        if word == "rto-exceeds" {
            match &s.limit {
                None => ctx.report_at(
                    when,
                    &k.clone().key("limit"),
                    "\"rto-exceeds\" needs limit: how long the job may stay down",
                    "add limit = \"5m\" beside when = \"rto-exceeds\"",
                ),
                Some(l) => {
                    if let Some(limit) = values::positive_duration(ctx, &k.clone().key("limit"), l)
                    {
                        out.push(StopCondition::RtoExceeds { limit });
                    }
                }
            }
            continue;
        }
        if let Some(l) = &s.limit {
            ctx.report_at(
                l,
                &k.clone().key("limit"),
                format!("\"limit\" belongs to when = \"rto-exceeds\", not to \"{word}\""),
                "remove limit here, or make this when = \"rto-exceeds\"",
            );
        }
        out.push(if word == "other-job-interrupted" {
            StopCondition::OtherJobInterrupted
        } else {
            StopCondition::OtherHostFailed
        });
    }
    out
}

fn rollbacks(ctx: &mut Ctx<'_>, raw: &RawRunbook) -> Vec<Rollback> {
    let names = Rollback::ALL.map(Rollback::as_str);
    let mut out: Vec<Rollback> = Vec::new();
    for (i, r) in raw.rollback.iter().enumerate() {
        let k = KeyPath::at("rollback").index(i);
        let Some(action) = &r.action else {
            ctx.report_missing(
                &k,
                "action",
                "missing required key \"action\"",
                format!(
                    "add action = \"clear-faults\", one of: {}",
                    suggest::quoted_list(&names)
                ),
            );
            continue;
        };
        let Some(rb) = values::choice(
            ctx,
            &k.clone().key("action"),
            action,
            &names,
            "rollback action",
        )
        .and_then(Rollback::parse) else {
            continue;
        };
        if out.contains(&rb) {
            ctx.report_at(
                action,
                &k.clone().key("action"),
                format!("the rollback \"{}\" is listed twice", rb.as_str()),
                "list each rollback action once: remove this [[rollback]]",
            );
            continue;
        }
        out.push(rb);
    }
    out
}

fn expect(ctx: &mut Ctx<'_>, raw: Option<&RawExpect>) -> Expectations {
    let Some(e) = raw else {
        return Expectations::default();
    };
    let k = KeyPath::at("expect");
    let positive = |ctx: &mut Ctx<'_>, key: &str, v: Option<&Str>| {
        v.and_then(|v| values::positive_duration(ctx, &k.clone().key(key), v))
    };
    let detection = positive(ctx, "detection", e.detection.as_ref());
    let rto = positive(ctx, "rto", e.rto.as_ref());
    let rpo = e
        .rpo
        .as_ref()
        .and_then(|v| values::duration(ctx, &k.clone().key("rpo"), v));
    if let (Some(d), Some(r), Some(rto_v)) = (detection, rto, e.rto.as_ref()) {
        if r < d {
            ctx.report_at(
                rto_v,
                &k.clone().key("rto"),
                format!(
                    "rto {} is shorter than detection {}: a job cannot run again before Lifeboat notices it stopped",
                    quote(rto_v.get_ref()),
                    quote(e.detection.as_ref().map_or("", |d| d.get_ref().as_str()))
                ),
                "make rto at least detection plus the failover's time, e.g. detection = \"15s\" and rto = \"90s\"",
            );
        }
    }
    Expectations {
        detection,
        rto,
        rpo_steps: e.rpo_steps.as_ref().map(|s| *s.get_ref()),
        rpo,
    }
}
