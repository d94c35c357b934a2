//! `lifeboat notify test`: one clearly marked test message to every `[[notify]]`
//! destination, sent directly (no queue, no rate limit, no retries, each destination's
//! own timeout) and all at once, then one line per destination: ok or failed, the HTTP
//! status or the error, and how long it took. Tokens never reach the output.

use super::notify::queue::{Attempt, Outgoing};
use super::notify::{self, Settings};
use crate::config::NotifierConfig;
use crate::core::io::Severity;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

/// How one destination took the test message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `notify[0] (telegram chat -100)`, as the log names it.
    pub name: String,
    /// `telegram` or `webhook`.
    pub kind: &'static str,
    pub ok: bool,
    /// The HTTP status of a delivered message.
    pub status: Option<u16>,
    /// Why it was not delivered (names the HTTP status when the server answered).
    pub error: Option<String>,
    pub ms: u64,
}

/// The test message's text.
pub fn message(host: &str, at: SystemTime) -> String {
    format!(
        "Lifeboat test message from {host} — no action needed (sent {})",
        humantime::format_rfc3339_seconds(at)
    )
}

fn kind(c: &NotifierConfig) -> &'static str {
    match c {
        NotifierConfig::Telegram { .. } => "telegram",
        NotifierConfig::Webhook { .. } => "webhook",
    }
}

/// The name a destination that could not be built goes by (as the built one would be).
fn label(entry: &str, c: &NotifierConfig) -> String {
    match c {
        NotifierConfig::Telegram { chat_id, .. } => format!("{entry} (telegram chat {chat_id})"),
        NotifierConfig::Webhook { url, .. } => {
            let host = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string));
            format!("{entry} (webhook {})", host.as_deref().unwrap_or("?"))
        }
    }
}

/// The values of every token variable the destinations name: cut from all output.
fn secrets(configs: &[NotifierConfig], lookup: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    configs
        .iter()
        .filter_map(|c| match c {
            NotifierConfig::Telegram { bot_token_env, .. } => Some(bot_token_env),
            NotifierConfig::Webhook { token_env, .. } => token_env.as_ref(),
        })
        .filter_map(|var| lookup(var))
        .map(|v| v.trim().to_string())
        .filter(|v| v.len() > 1)
        .collect()
}

/// Sends `text` to each destination at once; the outcomes in the config's order. A
/// destination that cannot be built (its token variable unset) fails alone.
pub async fn send_all(
    configs: &[NotifierConfig],
    lookup: impl Fn(&str) -> Option<String>,
    settings: &Settings,
    text: &str,
) -> Vec<Outcome> {
    let m = Outgoing {
        severity: Severity::Info,
        message: text.to_string(),
        at: SystemTime::now(),
    };
    let secrets = secrets(configs, &lookup);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let sends = configs.iter().enumerate().map(|(i, c)| {
        let entry = format!("notify[{i}]");
        let built = notify::destination(&entry, c, &lookup, settings);
        let m = &m;
        async move {
            let started = Instant::now();
            let (name, attempt) = match built {
                Err(e) => {
                    // The line names the entry already.
                    let e = e.to_string();
                    let why = e.strip_prefix(&format!("{entry}: ")).unwrap_or(&e);
                    (label(&entry, c), Attempt::Permanent(why.to_string()))
                }
                Ok((dest, delivery)) => {
                    let attempt = tokio::time::timeout(delivery.timeout, dest.send(m))
                        .await
                        .unwrap_or_else(|_| {
                            Attempt::Permanent(format!("no answer within {:?}", delivery.timeout))
                        });
                    (dest.name().to_string(), attempt)
                }
            };
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (ok, status, error) = match attempt {
                Attempt::Delivered { status } => (true, Some(status), None),
                Attempt::Retry { why, .. } | Attempt::Permanent(why) => (false, None, Some(why)),
            };
            Outcome {
                name,
                kind: kind(c),
                ok,
                status,
                error,
                ms,
            }
        }
    });
    let mut outcomes = futures::future::join_all(sends).await;
    for o in &mut outcomes {
        o.name = notify::redact(&o.name, &secrets);
        o.error = o.error.as_deref().map(|e| notify::redact(e, &secrets));
    }
    outcomes
}

/// Prints the outcomes (or, with `json`, one JSON object); the exit status: 0 every
/// destination took the message, 1 one did not.
pub fn report(
    text: &str,
    outcomes: &[Outcome],
    json: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<u8> {
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    if json {
        let v = serde_json::json!({
            "ok": failed == 0,
            "message": text,
            "destinations": outcomes,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "sent: {text}")?;
        for o in outcomes {
            let line = match (&o.status, &o.error) {
                (Some(s), _) => format!("✓ {} [{}]: ok, HTTP {s} in {} ms", o.name, o.kind, o.ms),
                (None, e) => format!(
                    "✖ {} [{}]: failed after {} ms: {}",
                    o.name,
                    o.kind,
                    o.ms,
                    e.as_deref().unwrap_or("no detail")
                ),
            };
            writeln!(out, "{}", crate::core::safe_text::escape(&line))?;
        }
        if failed == 0 {
            writeln!(
                out,
                "every destination ({}) took the test message",
                outcomes.len()
            )?;
        } else {
            writeln!(
                out,
                "{failed} of {} destinations failed; fix them and run `lifeboat notify test` again",
                outcomes.len()
            )?;
        }
    }
    Ok(u8::from(failed > 0))
}

/// This machine's name, as the message names it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

const HOW_TO_ADD: &str = "add a [[notify]] table, e.g.\n  [[notify]]\n  kind = \"webhook\"\n  \
     url = \"https://hooks.example.com/lifeboat\"\n  \
     (or kind = \"telegram\" with bot_token_env and chat_id; see the README's Notifications)";

/// `notify test` whole: locates and loads the config as the other subcommands do, sends,
/// prints; the exit status: 0 all ok, 1 one failed, 2 a config error or no destination.
pub fn run(file: Option<PathBuf>, json: bool) -> u8 {
    let fail = |e: String| {
        if json {
            let _ = super::cli_out::print(&format!(
                "{}\n",
                serde_json::json!({"ok": false, "error": e})
            ));
        } else {
            super::cli_out::err_line(&format!("error: {e}"));
        }
        2
    };
    let path = match crate::config::locate(file) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let cfg = match crate::config::load_file(&path) {
        Ok(cfg) => cfg,
        Err(e) => return fail(e.to_string()),
    };
    if cfg.notifiers.is_empty() {
        return fail(format!(
            "{} has no [[notify]] table, so there is nowhere to send a test message; {HOW_TO_ADD}",
            path.display()
        ));
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            super::cli_out::err_line(&format!("error: cannot start the async runtime: {e}"));
            return 1;
        }
    };
    let text = message(&host_name(), SystemTime::now());
    let outcomes = rt.block_on(send_all(
        &cfg.notifiers,
        |var| std::env::var(var).ok(),
        &Settings::default(),
        &text,
    ));
    let mut out = super::cli_out::Stdout::default();
    match report(&text, &outcomes, json, &mut out) {
        Ok(code) => code,
        Err(e) => {
            super::cli_out::err_line(&format!("error: {e}"));
            1
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_marked_and_timed() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(
            message("pc1", at),
            "Lifeboat test message from pc1 — no action needed (sent 2023-11-14T22:13:20Z)"
        );
    }

    #[test]
    fn the_report_says_ok_or_why_per_destination() {
        let ok = Outcome {
            name: "notify[0] (telegram chat -1)".into(),
            kind: "telegram",
            ok: true,
            status: Some(200),
            error: None,
            ms: 12,
        };
        let bad = Outcome {
            name: "notify[1] (webhook h.example)".into(),
            kind: "webhook",
            ok: false,
            status: None,
            error: Some("HTTP 500 \"oops\"".into()),
            ms: 3,
        };
        let mut out = Vec::new();
        let code = report("hi", &[ok.clone(), bad], false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, 1);
        assert!(
            text.contains("✓ notify[0] (telegram chat -1) [telegram]: ok, HTTP 200 in 12 ms"),
            "{text}"
        );
        assert!(
            text.contains("✖ notify[1] (webhook h.example) [webhook]: failed after 3 ms: HTTP 500"),
            "{text}"
        );
        let mut out = Vec::new();
        assert_eq!(report("hi", &[ok], true, &mut out).unwrap(), 0);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["destinations"][0]["status"], 200);
        assert_eq!(v["ok"], true);
    }

    #[tokio::test]
    async fn an_unset_token_fails_that_destination_alone() {
        let configs = [NotifierConfig::Webhook {
            url: "http://127.0.0.1:9/x".into(),
            token_env: Some("HOOK_TOKEN".into()),
        }];
        let o = send_all(&configs, |_| None, &Settings::default(), "m").await;
        assert!(!o[0].ok);
        assert_eq!(o[0].name, "notify[0] (webhook 127.0.0.1)");
        assert!(
            o[0].error.as_deref().unwrap().contains("HOOK_TOKEN"),
            "{o:?}"
        );
    }
}
