//! Checks shared by every section: names, durations, paths, env-var names, URLs,
//! choices from a fixed list — each reporting a worded problem into the [`Ctx`].

use super::Ctx;
use crate::config::duration::{self, DURATION_FIX};
use crate::config::keypath::KeyPath;
use crate::config::raw::Str;
use crate::config::secret;
use crate::config::suggest;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

/// A value as messages quote it: `"x"`, or `"abc…"` when it looks like a secret.
pub fn quote(s: &str) -> String {
    if secret::looks_like_secret(s) {
        format!("\"{}\"", secret::redact(s))
    } else {
        format!("\"{}\"", s.escape_debug())
    }
}

/// Names of hosts, jobs and providers: letters, digits, `.`, `_`, `-`.
pub fn name(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str, what: &str) {
    let v = s.get_ref();
    let ok = v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        let problem = if v.is_empty() {
            format!("a {what} name cannot be empty")
        } else {
            format!("{} is not a valid {what} name", quote(v))
        };
        let cleaned: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let example = if cleaned.trim_matches('-').is_empty() {
            "pc1".to_string()
        } else {
            cleaned.trim_matches('-').to_string()
        };
        ctx.report_at(
            s,
            key,
            problem,
            format!("use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (no spaces or ':'), e.g. name = \"{example}\""),
        );
    }
}

/// A duration such as `"10s"` or `"1h30m"`.
pub fn duration(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> Option<Duration> {
    match duration::parse(s.get_ref()) {
        Ok(d) => Some(d),
        Err(e) => {
            ctx.report_at(
                s,
                key,
                format!("{} is not a duration: {e}", quote(s.get_ref())),
                DURATION_FIX,
            );
            None
        }
    }
}

/// A duration that must be more than zero.
pub fn positive_duration(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> Option<Duration> {
    let d = duration(ctx, key, s)?;
    if d.is_zero() {
        ctx.report_at(
            s,
            key,
            format!("{} is zero, which would never wait", quote(s.get_ref())),
            "give a duration above zero, e.g. \"10s\"",
        );
        return None;
    }
    Some(d)
}

/// A path on the machine running Lifeboat; must be absolute.
pub fn local_abs_path(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> PathBuf {
    let path = PathBuf::from(s.get_ref());
    if !path.is_absolute() {
        not_absolute(ctx, key, s.get_ref(), Some(s.span()));
    }
    path
}

/// A path on a remote (Linux) host; must start with `/`, `~/` or `$NAME/` (the host's own
/// variable, expanded there: see `core::host_path`).
pub fn remote_abs_path(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> PathBuf {
    remote_abs_str(ctx, key, s.get_ref(), Some(s.span()))
}

/// [`remote_abs_path`] for a value without its own span (`span` None: looked up by key).
pub fn remote_abs_str(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    v: &str,
    span: Option<Range<usize>>,
) -> PathBuf {
    if !v.starts_with('/') && crate::core::host_path::split_var(v).is_none() {
        not_absolute(ctx, key, v, span);
    }
    PathBuf::from(v)
}

fn not_absolute(ctx: &mut Ctx<'_>, key: &KeyPath, v: &str, span: Option<Range<usize>>) {
    let k = key.last_key().unwrap_or("path");
    let fix = if let Some(rest) = v.strip_prefix("~/") {
        format!("\"~\" is not expanded here: write the full path, e.g. {k} = \"/home/you/{rest}\"")
    } else if v.is_empty() {
        format!("write the full path from /, e.g. {k} = \"/srv/lifeboat\"")
    } else {
        let rest = v.trim_start_matches("./");
        format!("write the full path from /, e.g. {k} = \"/home/you/{rest}\"")
    };
    let message = format!("{} is not an absolute path", quote(v));
    match span {
        Some(span) => ctx.report(Some(span), key, message, fix),
        None => ctx.report_path(key, message, fix),
    }
}

/// An environment variable *name* (`*_env` keys); refuses values that look like the
/// secret itself, and never echoes them.
pub fn env_name(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str, example: &str) -> String {
    let v = s.get_ref();
    let k = key.last_key().unwrap_or("name_env");
    if secret::looks_like_secret(v) {
        ctx.report_at(
            s,
            key,
            format!(
                "{} looks like a secret, not an environment variable name; secrets never live in the config file",
                quote(v)
            ),
            format!(
                "put the token in an environment variable and write its name here, e.g. {k} = \"{example}\""
            ),
        );
    } else if !secret::is_env_name(v) {
        ctx.report_at(
            s,
            key,
            format!("{} is not an environment variable name", quote(v)),
            format!(
                "use letters, digits and '_', not starting with a digit, e.g. {k} = \"{example}\""
            ),
        );
    }
    v.clone()
}

/// Text that must not be empty (commands, user names …).
pub fn non_empty(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str, example: &str) -> String {
    if s.get_ref().trim().is_empty() {
        ctx.report_at(
            s,
            key,
            "this cannot be empty",
            format!("write it like: {example}"),
        );
    }
    s.get_ref().clone()
}

/// An `http://` or `https://` URL without credentials in it.
pub fn url(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str, example: &str) -> String {
    let v = s.get_ref();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        None => ctx.report_at(
            s,
            key,
            format!("{} is not an http:// or https:// URL", quote(v)),
            format!("write the full URL, e.g. {example}"),
        ),
        Some(r) if r.split('/').next().is_some_and(|auth| auth.contains('@')) => ctx.report_at(
            s,
            key,
            "the URL has a user name or password in it; secrets never live in the config file",
            "remove the user:password@ part and give the token through an environment variable (a *_env key)",
        ),
        Some(r) if r.is_empty() || r.starts_with('/') => ctx.report_at(
            s,
            key,
            format!("{} has no host name", quote(v)),
            format!("write the full URL, e.g. {example}"),
        ),
        Some(_) => {}
    }
    v.clone()
}

/// One of a fixed set of words (`role`, `profile`, `kind` …), with a did-you-mean.
pub fn choice<'o>(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    s: &Str,
    options: &[&'o str],
    what: &str,
) -> Option<&'o str> {
    let v = s.get_ref();
    if let Some(o) = options.iter().find(|o| **o == v) {
        return Some(o);
    }
    ctx.report_at(
        s,
        key,
        format!(
            "unknown {what} {}{}",
            quote(v),
            suggest::did_you_mean(v, options)
        ),
        format!("use one of: {}", suggest::quoted_list(options)),
    );
    None
}

/// Element labels for an array of named tables: the name when it is unique, so keys
/// read `host "pc1".address`; the index otherwise (`host[1]`).
pub fn labels<'r>(names: &[&'r str]) -> Vec<Option<&'r str>> {
    names
        .iter()
        .map(|n| (!n.is_empty() && names.iter().filter(|m| *m == n).count() == 1).then_some(*n))
        .collect()
}
