//! `[[step]]` tables → [`Step`]s: each kind's keys (a key of another kind is refused,
//! naming that kind), and the order rule: a probe measured against an injection is
//! observed or verified only after an inject step.

use super::probes::{self, Params};
use super::raw::{RawStep, Str};
use crate::config::keypath::KeyPath;
use crate::config::suggest;
use crate::config::validate::values;
use crate::config::validate::Ctx;
use crate::core::drill::runbook::{Diagnose, Fault, Probe, Step, StepAction};

const KINDS: [&str; 5] = ["diagnose", "inject", "observe", "verify", "manual"];

/// The keys each kind takes besides `kind` and `title`.
const KEYS: [(&str, &[&str]); 5] = [
    ("diagnose", &["show"]),
    ("inject", &["fault", "duration"]),
    ("observe", &["until", "deadline", "max_age", "within"]),
    ("verify", &["check", "max_age", "within"]),
    ("manual", &["prompt"]),
];

/// The method, checked.
pub struct Method {
    /// The steps that checked out, in order (all of them when there are no problems).
    pub steps: Vec<Step>,
    /// The index of the first step whose kind is "inject", whether or not it checked out.
    pub first_inject: Option<usize>,
}

pub fn build(ctx: &mut Ctx<'_>, raw: &[RawStep]) -> Method {
    if raw.is_empty() {
        ctx.report(
            None,
            &KeyPath::at("step"),
            "the runbook has no steps",
            "add [[step]] tables, the method in order, e.g. [[step]] with kind = \"diagnose\", title = \"Where the job runs\" and show = \"status\"",
        );
    }
    let first_inject = raw
        .iter()
        .position(|s| s.kind.as_ref().is_some_and(|k| k.get_ref() == "inject"));
    let steps = raw
        .iter()
        .enumerate()
        .filter_map(|(i, s)| step(ctx, i, s, first_inject))
        .collect();
    Method {
        steps,
        first_inject,
    }
}

fn step(ctx: &mut Ctx<'_>, i: usize, s: &RawStep, first_inject: Option<usize>) -> Option<Step> {
    let k = KeyPath::at("step").index(i);
    let title = match &s.title {
        Some(t) => Some(values::non_empty(
            ctx,
            &k.clone().key("title"),
            t,
            "title = \"Kill the job's process\"",
        )),
        None => {
            ctx.report_missing(
                &k,
                "title",
                "missing required key \"title\"",
                "add title = \"…\": what the operator sees at this step, e.g. title = \"Kill the job's process\"",
            );
            None
        }
    };
    let Some(kind) = &s.kind else {
        ctx.report_missing(
            &k,
            "kind",
            "missing required key \"kind\"",
            format!("add kind = \"…\", one of: {}", suggest::quoted_list(&KINDS)),
        );
        return None;
    };
    let kind = values::choice(ctx, &k.clone().key("kind"), kind, &KINDS, "step kind")?;
    foreign(ctx, &k, s, kind);
    let action = match kind {
        "diagnose" => {
            let show = required(ctx, &k, "show", s.show.as_ref(), kind, "show = \"status\"")?;
            let names = Diagnose::ALL.map(Diagnose::as_str);
            let word = values::choice(ctx, &k.clone().key("show"), show, &names, "diagnosis")?;
            StepAction::Diagnose {
                show: Diagnose::parse(word)?,
            }
        }
        "inject" => {
            let fault = required(
                ctx,
                &k,
                "fault",
                s.fault.as_ref(),
                kind,
                "fault = \"job-crash\"",
            );
            let duration = required(
                ctx,
                &k,
                "duration",
                s.duration.as_ref(),
                kind,
                "duration = \"5m\" (the dead-man timer: the fault undoes itself after it)",
            );
            let names = Fault::ALL.map(Fault::as_str);
            let fault = fault
                .and_then(|f| values::choice(ctx, &k.clone().key("fault"), f, &names, "fault"))
                .and_then(Fault::parse);
            let duration = duration
                .and_then(|d| values::positive_duration(ctx, &k.clone().key("duration"), d));
            StepAction::Inject {
                fault: fault?,
                duration: duration?,
            }
        }
        "observe" => {
            let until = required(
                ctx,
                &k,
                "until",
                s.until.as_ref(),
                kind,
                "until = \"fault-detected\"",
            );
            let deadline = required(
                ctx,
                &k,
                "deadline",
                s.deadline.as_ref(),
                kind,
                "deadline = \"60s\" (the drill fails if the probe does not hold by then)",
            );
            let until = until.and_then(|u| probe(ctx, (&k, i), "until", u, s, first_inject));
            let deadline = deadline
                .and_then(|d| values::positive_duration(ctx, &k.clone().key("deadline"), d));
            StepAction::Observe {
                until: until?,
                deadline: deadline?,
            }
        }
        "verify" => {
            let check = required(
                ctx,
                &k,
                "check",
                s.check.as_ref(),
                kind,
                "check = \"job-running\"",
            )?;
            StepAction::Verify {
                check: probe(ctx, (&k, i), "check", check, s, first_inject)?,
            }
        }
        _ => {
            let prompt = required(
                ctx,
                &k,
                "prompt",
                s.prompt.as_ref(),
                kind,
                "prompt = \"Check the job's loss curve continues.\"",
            )?;
            StepAction::Manual {
                prompt: values::non_empty(
                    ctx,
                    &k.clone().key("prompt"),
                    prompt,
                    "prompt = \"Check the job's loss curve continues.\"",
                ),
            }
        }
    };
    Some(Step {
        title: title?,
        action,
    })
}

/// The probe of an observe or verify step, refused if it needs an injection none made.
fn probe(
    ctx: &mut Ctx<'_>,
    (k, index): (&KeyPath, usize),
    key: &str,
    name: &Str,
    s: &RawStep,
    first_inject: Option<usize>,
) -> Option<Probe> {
    let params = Params {
        max_age: s.max_age.as_ref(),
        within: s.within.as_ref(),
    };
    let p = probes::probe(ctx, k, key, name, params)?;
    if p.needs_injection() && first_inject.is_none_or(|f| f > index) {
        let fix = match first_inject {
            Some(f) => format!(
                "move this step after the inject step (step[{f}]), or move the inject step before it"
            ),
            None => "add an inject step before it (kind = \"inject\" with fault and duration), or check a probe that needs no injection, e.g. \"job-running\"".into(),
        };
        ctx.report_at(
            name,
            &k.clone().key(key),
            format!(
                "\"{}\" is measured against an injection, but no inject step comes before this step",
                p.name()
            ),
            fix,
        );
    }
    Some(p)
}

/// A key this kind of step needs; reported missing at the step's table.
fn required<'s>(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    key: &str,
    v: Option<&'s Str>,
    kind: &str,
    example: &str,
) -> Option<&'s Str> {
    if v.is_none() {
        ctx.report_missing(
            k,
            key,
            format!("missing required key \"{key}\" for {} step", article(kind)),
            format!("add {example}"),
        );
    }
    v
}

/// Keys that belong to another kind of step.
fn foreign(ctx: &mut Ctx<'_>, k: &KeyPath, s: &RawStep, kind: &str) {
    let given = [
        ("show", &s.show),
        ("fault", &s.fault),
        ("duration", &s.duration),
        ("until", &s.until),
        ("deadline", &s.deadline),
        ("check", &s.check),
        ("max_age", &s.max_age),
        ("within", &s.within),
        ("prompt", &s.prompt),
    ];
    let own = KEYS
        .iter()
        .find(|(n, _)| *n == kind)
        .map_or(&[][..], |(_, keys)| *keys);
    for (key, v) in given {
        let Some(v) = v else { continue };
        if own.contains(&key) {
            continue;
        }
        let owners: Vec<&str> = KEYS
            .iter()
            .filter(|(_, keys)| keys.contains(&key))
            .map(|(n, _)| *n)
            .collect();
        let whose = match owners.as_slice() {
            [one] => format!("{} step", article(one)),
            many => format!("{} steps", many.join(" and ")),
        };
        let first = owners.first().copied().unwrap_or("diagnose");
        ctx.report_at(
            v,
            &k.clone().key(key),
            format!(
                "\"{key}\" is a key of {whose}, not of {} step",
                article(kind)
            ),
            format!("remove it, or make this step kind = \"{first}\""),
        );
    }
}

/// `an inject`, `a verify`.
fn article(kind: &str) -> String {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {kind}")
    } else {
        format!("a {kind}")
    }
}
