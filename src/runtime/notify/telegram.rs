//! Telegram's Bot API `sendMessage`: `POST {api_url}/bot<TOKEN>/sendMessage` with
//! `{"chat_id", "text", "disable_web_page_preview": true}`.
//!
//! The token lives only in that URL, so every text that may reach a log is redacted (a
//! reqwest error prints its URL) and the struct's `Debug` leaves it out. Telegram says
//! `{"ok":false,"error_code":429,"parameters":{"retry_after":N}}` when a chat gets too
//! many messages: the worker waits N seconds. Other 4xx (unknown token, unknown chat, bot
//! not in the chat) cannot get better by retrying.

use super::http;
use super::queue::{Attempt, Destination, Outgoing};
use crate::core::io::Severity;
use crate::runtime::provider::excerpt;
use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Characters sent of one message (Telegram takes 4096 UTF-16 units).
const MAX_TEXT: usize = 4000;

pub struct Telegram {
    name: String,
    chat_id: String,
    token_env: String,
    token: String,
    /// Holds the token: never log it.
    url: Url,
    http: reqwest::Client,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("name", &self.name)
            .field("token_env", &self.token_env)
            .finish_non_exhaustive()
    }
}

impl Telegram {
    /// `entry` names the `[[notify]]` table in logs (`notify[0]`); `Err` says what is
    /// wrong without the token.
    pub fn new(
        entry: &str,
        token_env: &str,
        token: String,
        chat_id: &str,
        api_url: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, String> {
        // Checked so the token sits in the URL as written, and redaction finds it.
        let plain = |c: char| c.is_ascii_alphanumeric() || ":_-.~".contains(c);
        if !token.chars().all(plain) {
            return Err(format!(
                "the bot token in environment variable {token_env} has characters a bot \
                 token never has (spaces, quotes, '/' …); export just the token @BotFather gave"
            ));
        }
        let api = api_url.unwrap_or(DEFAULT_API_URL).trim_end_matches('/');
        let url = Url::parse(&format!("{api}/bot{token}/sendMessage"))
            .map_err(|_| format!("api_url \"{api}\" does not make a Bot API URL"))?;
        let http = http::client(&url, timeout)?;
        Ok(Self {
            name: format!("{entry} (telegram chat {chat_id})"),
            chat_id: chat_id.to_string(),
            token_env: token_env.to_string(),
            token,
            url,
            http,
        })
    }
}

#[async_trait]
impl Destination for Telegram {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, m: &Outgoing) -> Attempt {
        let body = json!({
            "chat_id": self.chat_id,
            "text": text(m.severity, &m.message),
            "disable_web_page_preview": true,
        });
        let secrets = [self.token.as_str()];
        let req = self.http.post(self.url.clone()).json(&body);
        let outcome = match http::exchange(req, &secrets).await {
            Ok((status, after, body)) => {
                classify(status, after, &body, &self.chat_id, &self.token_env)
            }
            Err(a) => a,
        };
        // Belt and braces: whatever a server echoed, the token does not go further.
        match outcome {
            Attempt::Retry { after, why } => Attempt::Retry {
                after,
                why: http::redact(&why, &secrets),
            },
            Attempt::Permanent(why) => Attempt::Permanent(http::redact(&why, &secrets)),
            delivered @ Attempt::Delivered { .. } => delivered,
        }
    }
}

/// What the chat reads: a severity marker, "Lifeboat", the message.
pub fn text(severity: Severity, message: &str) -> String {
    let (marker, word) = match severity {
        Severity::Info => ("ℹ️", "info"),
        Severity::Warning => ("⚠️", "warning"),
        Severity::Critical => ("🚨", "CRITICAL"),
    };
    let mut t = format!("{marker} Lifeboat {word}: {message}");
    if t.chars().count() > MAX_TEXT {
        t = t.chars().take(MAX_TEXT - 1).collect();
        t.push('…');
    }
    t
}

#[derive(Deserialize)]
struct Answer {
    ok: Option<bool>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

/// Reads Telegram's answer: sent, worth retrying (429 with its wait, 5xx), or refused.
fn classify(
    status: StatusCode,
    header_after: Option<Duration>,
    body: &[u8],
    chat: &str,
    token_env: &str,
) -> Attempt {
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    let refused = answer.as_ref().and_then(|a| a.ok) == Some(false);
    if status.is_success() && !refused {
        return Attempt::Delivered {
            status: status.as_u16(),
        };
    }
    let code = match (&answer, status.is_success()) {
        (Some(a), true) => a.error_code.unwrap_or(400),
        _ => status.as_u16(),
    };
    let desc = answer
        .as_ref()
        .and_then(|a| a.description.clone())
        .map_or_else(|| excerpt(body, 200), |d| format!("{d:?}"));
    let retry_after = answer
        .as_ref()
        .and_then(|a| a.parameters.as_ref())
        .and_then(|p| p.retry_after)
        .map(Duration::from_secs);
    match code {
        429 => Attempt::Retry {
            after: retry_after.or(header_after),
            why: format!("Telegram rate limit (HTTP 429 {desc})"),
        },
        408 | 500..=599 => Attempt::Retry {
            after: header_after,
            why: format!("HTTP {code} {desc}"),
        },
        401 | 404 => Attempt::Permanent(format!(
            "HTTP {code} {desc}: Telegram does not know the bot token in ${token_env}; \
             check that it holds the token @BotFather gave"
        )),
        400 | 403 => Attempt::Permanent(format!(
            "HTTP {code} {desc}: check chat_id {chat} and that the bot (token from \
             ${token_env}) is a member of that chat"
        )),
        _ => Attempt::Permanent(format!(
            "HTTP {code} {desc} (chat {chat}, token from ${token_env})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, header: Option<u64>, body: &str) -> Attempt {
        classify(
            StatusCode::from_u16(status).unwrap(),
            header.map(Duration::from_secs),
            body.as_bytes(),
            "-100",
            "TG_TOKEN",
        )
    }

    #[test]
    fn answers_are_read_as_telegram_means_them() {
        assert_eq!(
            c(200, None, r#"{"ok":true,"result":{}}"#),
            Attempt::Delivered { status: 200 }
        );
        assert_eq!(c(200, None, "not json"), Attempt::Delivered { status: 200 });
        let limited = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert!(matches!(
            c(429, Some(1), limited),
            Attempt::Retry { after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            c(429, Some(3), "{}"),
            Attempt::Retry { after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            c(502, None, "<html>"),
            Attempt::Retry { after: None, .. }
        ));
        // An "ok": false inside a 200 counts by its error_code.
        assert!(matches!(
            c(
                200,
                None,
                r#"{"ok":false,"error_code":429,"parameters":{"retry_after":2}}"#
            ),
            Attempt::Retry { .. }
        ));
    }

    #[test]
    fn refusals_name_the_chat_or_the_variable() {
        let Attempt::Permanent(why) = c(
            400,
            None,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        ) else {
            panic!("400 is permanent")
        };
        assert!(
            why.contains("chat not found") && why.contains("chat_id -100"),
            "{why}"
        );
        let Attempt::Permanent(why) = c(401, None, r#"{"ok":false,"description":"Unauthorized"}"#)
        else {
            panic!("401 is permanent")
        };
        assert!(why.contains("$TG_TOKEN"), "{why}");
    }

    #[test]
    fn the_text_is_marked_and_bounded() {
        assert_eq!(
            text(Severity::Critical, "train failed over"),
            "🚨 Lifeboat CRITICAL: train failed over"
        );
        assert!(text(Severity::Info, "x").starts_with("ℹ️ Lifeboat info: "));
        assert_eq!(
            text(Severity::Warning, &"y".repeat(9000)).chars().count(),
            MAX_TEXT
        );
    }

    #[test]
    fn the_token_is_checked_and_never_debug_printed() {
        let t = Telegram::new(
            "notify[0]",
            "TG_TOKEN",
            "123:SECRET-abc".into(),
            "-100",
            Some("http://127.0.0.1:9/"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{t:?}").contains("SECRET"));
        assert_eq!(t.name(), "notify[0] (telegram chat -100)");
        assert_eq!(t.url.path(), "/bot123:SECRET-abc/sendMessage");
        let e = Telegram::new(
            "n",
            "TG_TOKEN",
            "12 3/x".into(),
            "-1",
            None,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.contains("TG_TOKEN") && !e.contains("12 3/x"), "{e}");
    }
}
