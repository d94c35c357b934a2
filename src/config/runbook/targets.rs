//! `[targets]` and `[blast_radius]`: which jobs and hosts a drill acts on (a word, or a
//! non-empty list of distinct names), and how far it may reach.

use super::raw::{RawBlastRadius, RawSelector, RawTargets};
use super::validate::missing;
use crate::config::keypath::KeyPath;
use crate::config::suggest;
use crate::config::validate::values::{self, quote};
use crate::config::validate::Ctx;
use crate::core::drill::runbook::{BlastRadius, HostSelector, JobSelector, Targets};
use toml::Spanned;

pub fn targets(ctx: &mut Ctx<'_>, t: Option<&RawTargets>) -> Targets {
    let k = KeyPath::at("targets");
    let jobs = match t.and_then(|t| t.jobs.as_ref()) {
        None => JobSelector::AnyRunning,
        Some(s) => match selector(
            ctx,
            &k.clone().key("jobs"),
            s,
            &["any-running", "all"],
            "job",
        ) {
            Selected::Word("all") => JobSelector::All,
            Selected::Names(n) => JobSelector::Named(n),
            _ => JobSelector::AnyRunning,
        },
    };
    let hosts = match t.and_then(|t| t.hosts.as_ref()) {
        None => HostSelector::OfJobs,
        Some(s) => {
            let words = ["of-jobs", "half-fleet", "none"];
            match selector(ctx, &k.clone().key("hosts"), s, &words, "host") {
                Selected::Word("half-fleet") => HostSelector::HalfFleet,
                Selected::Word("none") => HostSelector::None,
                Selected::Names(n) => HostSelector::Named(n),
                _ => HostSelector::OfJobs,
            }
        }
    };
    Targets { jobs, hosts }
}

enum Selected {
    Word(&'static str),
    Names(Vec<String>),
    Bad,
}

/// `jobs` / `hosts`: one of `words`, or a non-empty list of distinct names.
fn selector(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    s: &Spanned<RawSelector>,
    words: &[&'static str],
    what: &str,
) -> Selected {
    let key = k.last_key().unwrap_or("jobs");
    match s.get_ref() {
        RawSelector::Word(w) => match words.iter().find(|x| **x == w) {
            Some(x) => Selected::Word(x),
            None => {
                ctx.report_at(
                    s,
                    k,
                    format!(
                        "unknown {what} selector {}{}",
                        quote(w),
                        suggest::did_you_mean(w, words)
                    ),
                    format!(
                        "use one of: {}, or list {what}s by name, e.g. {key} = [\"{w}\"]",
                        suggest::quoted_list(words)
                    ),
                );
                Selected::Bad
            }
        },
        RawSelector::Names(names) if names.is_empty() => {
            ctx.report_at(
                s,
                k,
                format!("an empty list selects no {what}"),
                format!(
                    "name at least one {what}, e.g. {key} = [\"{}\"], or write {key} = \"{}\"",
                    if what == "job" { "train" } else { "pc1" },
                    words[0]
                ),
            );
            Selected::Bad
        }
        RawSelector::Names(names) => {
            let mut out: Vec<String> = Vec::new();
            for (i, n) in names.iter().enumerate() {
                let ek = k.clone().index(i);
                values::name(ctx, &ek, n, what);
                if let Some(first) = names[..i].iter().position(|m| m.get_ref() == n.get_ref()) {
                    ctx.report_at(
                        n,
                        &ek,
                        format!(
                            "{} is listed twice ({key}[{first}] and {key}[{i}])",
                            quote(n.get_ref())
                        ),
                        "list each name once: remove the repeat",
                    );
                    continue;
                }
                out.push(n.get_ref().clone());
            }
            Selected::Names(out)
        }
    }
}

pub fn blast_radius(ctx: &mut Ctx<'_>, raw: Option<&RawBlastRadius>) -> Option<BlastRadius> {
    let k = KeyPath::at("blast_radius");
    let Some(b) = raw else {
        ctx.report(
            None,
            &k,
            "the runbook has no [blast_radius] table: how far a drill may reach",
            "add [blast_radius] with max_hosts = 1 and max_jobs = 1 (a drill whose targets resolve to more is refused)",
        );
        return None;
    };
    let mut limit = |key: &str| match b_get(b, key) {
        None => missing(ctx, &k, key, &format!("{key} = 1")),
        Some(v) if *v.get_ref() == 0 => {
            ctx.report_at(
                v,
                &k.clone().key(key),
                format!("{key} = 0 would refuse every drill"),
                format!("allow at least one: {key} = 1"),
            );
            None
        }
        Some(v) => Some(*v.get_ref()),
    };
    let max_hosts = limit("max_hosts");
    let max_jobs = limit("max_jobs");
    Some(BlastRadius {
        max_hosts: max_hosts?,
        max_jobs: max_jobs?,
    })
}

fn b_get<'b>(b: &'b RawBlastRadius, key: &str) -> Option<&'b Spanned<u32>> {
    if key == "max_hosts" {
        b.max_hosts.as_ref()
    } else {
        b.max_jobs.as_ref()
    }
}
