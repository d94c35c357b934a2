//! `[settings] profile`, `[detection]` and `[recovery]` → [`Policy`]: the profile's
//! defaults, the file's overrides, and checks that the result makes sense.

use super::values;
use super::Ctx;
use crate::config::duration;
use crate::config::keypath::KeyPath;
use crate::config::raw::{Float, Num, RawDetection, RawRecovery, Str};
use crate::core::policy::{DetectionProfile, Policy, RecoveryPolicy};
use std::ops::Range;
use std::time::Duration;

pub fn build(
    ctx: &mut Ctx<'_>,
    profile: Option<&Str>,
    detection: Option<RawDetection>,
    recovery: Option<RawRecovery>,
) -> Policy {
    let base = profile
        .and_then(|p| {
            values::choice(
                ctx,
                &KeyPath::at("settings").key("profile"),
                p,
                &["lan", "cloud"],
                "detection profile",
            )
        })
        .and_then(DetectionProfile::by_name)
        .unwrap_or_else(DetectionProfile::lan);
    Policy {
        detection: detection_with(ctx, base, detection.unwrap_or_default()),
        recovery: recovery_with(ctx, recovery.unwrap_or_default()),
    }
}

/// Applies one optional duration override.
fn dur(
    ctx: &mut Ctx<'_>,
    key: KeyPath,
    v: &Option<Str>,
    slot: &mut Duration,
) -> Option<Range<usize>> {
    let s = v.as_ref()?;
    if let Some(d) = values::positive_duration(ctx, &key, s) {
        *slot = d;
    }
    Some(s.span())
}

/// Applies one optional count override that must be at least 1.
fn count(ctx: &mut Ctx<'_>, key: KeyPath, v: &Option<Num>, slot: &mut u32) -> Option<Range<usize>> {
    let n = v.as_ref()?;
    if *n.get_ref() == 0 {
        let k = key.last_key().unwrap_or("count").to_string();
        ctx.report_at(
            n,
            &key,
            format!("{k} = 0 is not allowed"),
            format!("use 1 or more, e.g. {k} = 3"),
        );
    } else {
        *slot = *n.get_ref();
    }
    Some(n.span())
}

fn float(v: &Option<Float>, slot: &mut f64) -> Option<Range<usize>> {
    let x = v.as_ref()?;
    *slot = *x.get_ref();
    Some(x.span())
}

fn detection_with(
    ctx: &mut Ctx<'_>,
    mut d: DetectionProfile,
    raw: RawDetection,
) -> DetectionProfile {
    let k = KeyPath::at("detection");
    let interval = dur(
        ctx,
        k.clone().key("probe_interval"),
        &raw.probe_interval,
        &mut d.probe_interval,
    );
    let timeout = dur(
        ctx,
        k.clone().key("probe_timeout"),
        &raw.probe_timeout,
        &mut d.probe_timeout,
    );
    dur(
        ctx,
        k.clone().key("heartbeat_hang_timeout"),
        &raw.heartbeat_hang_timeout,
        &mut d.heartbeat_hang_timeout,
    );
    let suspect = count(
        ctx,
        k.clone().key("suspect_after"),
        &raw.suspect_after,
        &mut d.suspect_after,
    );
    let fail = count(
        ctx,
        k.clone().key("fail_after"),
        &raw.fail_after,
        &mut d.fail_after,
    );
    let ceiling = count(
        ctx,
        k.clone().key("fail_ceiling"),
        &raw.fail_ceiling,
        &mut d.fail_ceiling,
    );
    count(
        ctx,
        k.clone().key("recover_after"),
        &raw.recover_after,
        &mut d.recover_after,
    );
    if let Some(n) = raw.lost_after.as_ref() {
        if *n.get_ref() < 2 {
            ctx.report_at(
                n,
                &k.clone().key("lost_after"),
                format!("lost_after = {} is below 2", n.get_ref()),
                "one missed probe is a blip whatever else is seen: use 2 or more, e.g. lost_after = 2",
            );
        } else {
            d.lost_after = *n.get_ref();
        }
    }

    if d.probe_timeout >= d.probe_interval && (interval.is_some() || timeout.is_some()) {
        let (span, key) = blame(
            &k,
            &[("probe_timeout", &timeout), ("probe_interval", &interval)],
        );
        ctx.report(
            span,
            &key,
            format!(
                "probe_timeout \"{}\" is not shorter than probe_interval \"{}\", so probes would pile up",
                duration::format(d.probe_timeout),
                duration::format(d.probe_interval)
            ),
            "make probe_timeout shorter than probe_interval, e.g. probe_interval = \"1s\" with probe_timeout = \"900ms\"",
        );
    }
    if d.fail_after < d.suspect_after && (fail.is_some() || suspect.is_some()) {
        let (span, key) = blame(&k, &[("fail_after", &fail), ("suspect_after", &suspect)]);
        ctx.report(
            span,
            &key,
            format!(
                "fail_after = {} is below suspect_after = {}",
                d.fail_after, d.suspect_after
            ),
            "a host turns suspect before it fails: make fail_after at least suspect_after",
        );
    }
    if d.fail_ceiling < d.fail_after && (fail.is_some() || ceiling.is_some()) {
        let (span, key) = blame(&k, &[("fail_ceiling", &ceiling), ("fail_after", &fail)]);
        ctx.report(
            span,
            &key,
            format!(
                "fail_ceiling = {} is below fail_after = {}",
                d.fail_ceiling, d.fail_after
            ),
            "fail_ceiling counts misses with no second channel, so it must be at least fail_after",
        );
    }

    if let Some(f) = raw.flap {
        let k = k.clone().key("flap");
        dur(
            ctx,
            k.clone().key("half_life"),
            &f.half_life,
            &mut d.flap.half_life,
        );
        let penalty = float(&f.penalty, &mut d.flap.penalty);
        let suppress = float(&f.suppress, &mut d.flap.suppress);
        let reuse = float(&f.reuse, &mut d.flap.reuse);
        if d.flap.penalty <= 0.0 {
            let (span, key) = blame(&k, &[("penalty", &penalty)]);
            ctx.report(
                span,
                &key,
                format!("penalty = {} must be above zero", d.flap.penalty),
                "write e.g. penalty = 1.0",
            );
        }
        if (d.flap.reuse <= 0.0 || d.flap.reuse >= d.flap.suppress)
            && (reuse.is_some() || suppress.is_some())
        {
            let (span, key) = blame(&k, &[("reuse", &reuse), ("suppress", &suppress)]);
            ctx.report(
                span,
                &key,
                format!("reuse = {} must be above zero and below suppress = {}", d.flap.reuse, d.flap.suppress),
                "a damped host is trusted again once its penalty decays below reuse: e.g. suppress = 3.0, reuse = 1.5",
            );
        }
    }
    if let Some(p) = raw.partition {
        let k = k.key("partition");
        dur(
            ctx,
            k.clone().key("window"),
            &p.window,
            &mut d.partition.window,
        );
        count(
            ctx,
            k.clone().key("min_hosts"),
            &p.min_hosts,
            &mut d.partition.min_hosts,
        );
        if let Some(s) = float(&p.share, &mut d.partition.share) {
            if !(d.partition.share > 0.0 && d.partition.share <= 1.0) {
                ctx.report(
                    Some(s),
                    &k.clone().key("share"),
                    format!(
                        "share = {} is not a fraction of the fleet",
                        d.partition.share
                    ),
                    "use a number above 0 and at most 1, e.g. share = 0.4 (40% of hosts)",
                );
            }
        }
    }
    d
}

/// The key to point at for a cross-field problem: the first one the file set.
fn blame(
    table: &KeyPath,
    keys: &[(&str, &Option<Range<usize>>)],
) -> (Option<Range<usize>>, KeyPath) {
    keys.iter()
        .find_map(|(k, s)| s.as_ref().map(|s| (Some(s.clone()), table.clone().key(k))))
        .unwrap_or_else(|| (None, table.clone()))
}

fn recovery_with(ctx: &mut Ctx<'_>, raw: RawRecovery) -> RecoveryPolicy {
    let mut r = RecoveryPolicy::default();
    let k = KeyPath::at("recovery");
    if let Some(list) = &raw.reconnect_backoff {
        let key = k.clone().key("reconnect_backoff");
        if list.get_ref().is_empty() {
            ctx.report_at(
                list,
                &key,
                "reconnect_backoff is empty, so a lost host would never be retried",
                "list the waits between reconnect attempts, e.g. reconnect_backoff = [\"1s\", \"2s\", \"4s\", \"8s\", \"16s\"]",
            );
        } else {
            r.reconnect_backoff = list
                .get_ref()
                .iter()
                .enumerate()
                .filter_map(|(i, s)| values::duration(ctx, &key.clone().index(i), s))
                .collect();
        }
    }
    if let Some(n) = &raw.restart_budget {
        if *n.get_ref() == 0 {
            ctx.report_at(
                n,
                &k.clone().key("restart_budget"),
                "restart_budget = 0 would forbid every failover",
                "use 1 or more (e.g. restart_budget = 3); to page a human instead of failing over, give the job strategies = [\"escalate\"]",
            );
        } else {
            r.restart_budget = *n.get_ref();
        }
    }
    dur(
        ctx,
        k.clone().key("budget_window"),
        &raw.budget_window,
        &mut r.budget_window,
    );
    if let Some(s) = &raw.return_after {
        r.return_after = return_after(ctx, &k.clone().key("return_after"), s);
    }
    if let Some(t) = raw.timeouts {
        let k = k.key("timeouts");
        let st = &mut r.step_timeouts;
        dur(ctx, k.clone().key("fence"), &t.fence, &mut st.fence);
        dur(ctx, k.clone().key("stage"), &t.stage, &mut st.stage);
        dur(ctx, k.clone().key("launch"), &t.launch, &mut st.launch);
        dur(ctx, k.clone().key("verify"), &t.verify, &mut st.verify);
        dur(ctx, k.clone().key("notify"), &t.notify, &mut st.notify);
        dur(ctx, k.key("provision"), &t.provision, &mut st.provision);
    }
    r
}

/// `"off"` or a duration: how long a GPU host must answer before a job on a CPU standby
/// returns to it.
fn return_after(ctx: &mut Ctx<'_>, key: &KeyPath, s: &crate::config::raw::Str) -> Option<Duration> {
    let v = s.get_ref();
    if v == "off" {
        return None;
    }
    match crate::config::duration::parse(v) {
        Ok(d) => Some(d),
        Err(e) => {
            ctx.report_at(
                s,
                key,
                format!("{} is not a duration: {e}", values::quote(v)),
                "give how long a GPU host must stay healthy, e.g. return_after = \"1m\", or \"off\" to move jobs back by hand",
            );
            None
        }
    }
}
