//! The human summary `lifeboat config check` prints for a valid config.

use super::duration::format as dur;
use super::{Config, NotifierConfig, ReplicaOrder, StorageConfig};
use crate::core::fleet::{HostSpec, JobSpec, Role};
use crate::core::ids::Target;
use crate::core::retention::Retention;
use std::fmt::Write;

/// At most this many hosts or jobs are listed one by one.
const LIST_LIMIT: usize = 20;

/// A few lines that say what the config means: profile, hosts, jobs, stores, notifiers.
pub fn summary(cfg: &Config) -> String {
    let mut s = String::new();
    match &cfg.source {
        Some(p) => s.push_str(&format!("ok: {}", p.display())),
        None => s.push_str("ok"),
    }
    let d = &cfg.policy.detection;
    let fail = if d.fail_after == d.fail_ceiling {
        format!("fail after {} misses", d.fail_after)
    } else {
        format!(
            "fail after {} misses with a second channel, or {} alone",
            d.fail_after, d.fail_ceiling
        )
    };
    line(
        &mut s,
        1,
        &format!(
            "profile {} (probe every {}, {fail})",
            d.name,
            dur(d.probe_interval)
        ),
    );
    let r = &cfg.policy.recovery;
    let backoff: Vec<String> = r.reconnect_backoff.iter().map(|d| dur(*d)).collect();
    line(
        &mut s,
        1,
        &format!(
            "recovery: reconnect after {}; at most {} failovers per job per {}",
            backoff.join(", "),
            r.restart_budget,
            dur(r.budget_window)
        ),
    );
    list(&mut s, "host", &cfg.fleet.hosts, host);
    list(&mut s, "job", &cfg.fleet.jobs, job);
    line(&mut s, 1, &format!("storage: {}", storage(cfg)));
    if !cfg.notifiers.is_empty() {
        let n: Vec<String> = cfg.notifiers.iter().map(notifier).collect();
        line(&mut s, 1, &format!("notify: {}", n.join("; ")));
    }
    if !cfg.providers.is_empty() {
        let p: Vec<String> = cfg
            .providers
            .iter()
            .map(|p| format!("{} ({}, key from ${})", p.name, p.kind, p.api_key_env))
            .collect();
        line(&mut s, 1, &format!("providers: {}", p.join("; ")));
    }
    if let Some(c) = &cfg.console {
        line(
            &mut s,
            1,
            &format!(
                "console over SSH: {} (keys and roles in {})",
                c.listen,
                c.authorized_keys.display()
            ),
        );
    }
    if let Some(g) = &cfg.socket_group {
        line(
            &mut s,
            1,
            &format!(
                "console socket: shared with group {} as {} (0660)",
                g.name, g.role
            ),
        );
    }
    if let Some(dir) = &cfg.state_dir {
        line(&mut s, 1, &format!("state: {}", dir.display()));
    }
    s
}

fn line(s: &mut String, indent: usize, text: &str) {
    let _ = write!(s, "\n{}{text}", "  ".repeat(indent));
}

fn list<T>(s: &mut String, noun: &str, items: &[T], show: fn(&T) -> String) {
    let plural = if items.len() == 1 { "" } else { "s" };
    match items {
        [] => line(s, 1, &format!("0 {noun}s")),
        [one] => line(s, 1, &format!("1 {noun}: {}", show(one))),
        many => {
            line(s, 1, &format!("{} {noun}{plural}:", many.len()));
            for it in many.iter().take(LIST_LIMIT) {
                line(s, 2, &show(it));
            }
            if many.len() > LIST_LIMIT {
                line(s, 2, &format!("… and {} more", many.len() - LIST_LIMIT));
            }
        }
    }
}

fn host(h: &HostSpec) -> String {
    let gpus = match (h.role, h.gpus) {
        (Role::CpuStandby, _) => "no GPU".to_string(),
        (_, 1) => "1 GPU".to_string(),
        (_, n) => format!("{n} GPUs"),
    };
    let user = h
        .user
        .as_ref()
        .map_or_else(String::new, |u| format!("{u}@"));
    let mut out = format!(
        "{} ({}, {gpus}, {user}{}:{}",
        h.id,
        h.role.as_str(),
        h.address,
        h.port
    );
    if let Some(p) = &h.provider {
        out.push_str(&format!(", {} instance {}", p.provider, p.instance));
    }
    out.push(')');
    out
}

fn job(j: &JobSpec) -> String {
    let standbys = if j.standbys.is_empty() {
        "no standbys".to_string()
    } else {
        let t: Vec<String> = j.standbys.iter().map(Target::to_string).collect();
        format!("standbys {}", t.join(", "))
    };
    let chain: Vec<&str> = j.strategies.iter().map(|s| s.as_str()).collect();
    let mut out = format!(
        "{} on {} → {standbys}; strategies {}",
        j.id,
        j.home(),
        chain.join(" → ")
    );
    if let Some(m) = &j.checkpoint_marker {
        out.push_str(&format!("; checkpoint marker {m}"));
    }
    if let Some(first) = j.standbys.first().filter(|_| j.prestage) {
        out.push_str(&format!("; prestaged on {first}"));
    }
    if let Some(r) = &j.retention {
        out.push_str(&format!("; {}", keeps(r)));
    }
    out
}

fn storage(cfg: &Config) -> String {
    let st = &cfg.storage;
    let mut parts = Vec::new();
    if let Some(nas) = &st.nas {
        parts.push(format!("NAS {}", nas.display()));
    }
    if let Some(s3) = &st.s3 {
        let mut p = format!("S3 s3://{}", s3.bucket);
        if !s3.prefix.is_empty() {
            p.push_str(&format!("/{}", s3.prefix));
        }
        p.push_str(&format!(" ({}", s3.region));
        if let Some(e) = &s3.endpoint {
            p.push_str(&format!(", via {e}"));
        }
        if s3.path_style {
            p.push_str(", path-style");
        }
        if let Some(prof) = &s3.profile {
            p.push_str(&format!(", profile {prof}"));
        }
        p.push(')');
        parts.push(p);
    }
    if parts.is_empty() {
        parts.push("none".into());
    }
    let mut out = format!("{}; {}", parts.join(", "), keeps(&st.retention));
    if let Some(r) = &st.nas_retention {
        out.push_str(&format!("; NAS: {}", keeps(r)));
    }
    if let Some(r) = st.s3.as_ref().and_then(|s| s.retention.as_ref()) {
        out.push_str(&format!("; S3: {}", keeps(r)));
    }
    // How copies are made and checked, where it differs from the defaults.
    let mut how = Vec::new();
    if st.parallel != StorageConfig::DEFAULT_PARALLEL {
        how.push(format!("{} at once", st.parallel));
    }
    if st.order == ReplicaOrder::NasThenS3 {
        how.push("NAS then S3".to_string());
    }
    if !st.auto_prune {
        how.push("pruned only by hand".to_string());
    }
    match st.scrub_every {
        None => how.push("no scrub".to_string()),
        Some(every)
            if every != StorageConfig::DEFAULT_SCRUB_EVERY
                || st.scrub_fraction != StorageConfig::DEFAULT_SCRUB_FRACTION =>
        {
            how.push(format!(
                "scrub 1/{} every {}",
                st.scrub_fraction,
                dur(every)
            ));
        }
        Some(_) => {}
    }
    if !how.is_empty() {
        out.push_str(&format!("; {}", how.join(", ")));
    }
    out
}

/// `url` without its query string, which may hold a token (`config check` says so).
fn no_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

/// `keep last 3, 7 daily, 4 weekly`.
fn keeps(r: &Retention) -> String {
    let mut parts = Vec::new();
    if r.last > 0 {
        parts.push(format!("last {}", r.last));
    }
    for (n, word) in [
        (r.hourly, "hourly"),
        (r.daily, "daily"),
        (r.weekly, "weekly"),
        (r.monthly, "monthly"),
        (r.yearly, "yearly"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    format!("keep {}", parts.join(", "))
}

fn notifier(n: &NotifierConfig) -> String {
    match n {
        NotifierConfig::Telegram {
            bot_token_env,
            chat_id,
            ..
        } => {
            format!("telegram chat {chat_id} (token from ${bot_token_env})")
        }
        NotifierConfig::Webhook { url, token_env } => match token_env {
            Some(t) => format!("webhook {} (token from ${t})", no_query(url)),
            None => format!("webhook {} (no token)", no_query(url)),
        },
    }
}
