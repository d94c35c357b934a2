//! A generic JSON webhook: `POST url` with
//! `{"source":"lifeboat","severity":"info|warning|critical","message":…,"time":RFC 3339}`
//! and `Authorization: Bearer <token>` when the config names a token variable.
//!
//! Logs name the webhook by its host only: many webhook URLs carry their secret in the
//! path (Slack's do). 408, 429 and 5xx are retried, obeying `Retry-After`; other 4xx are
//! refusals that retrying cannot fix.

use super::http;
use super::queue::{Attempt, Destination, Outgoing};
use crate::core::io::Severity;
use crate::runtime::provider::excerpt;
use async_trait::async_trait;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use serde_json::json;
use std::time::Duration;

pub struct Webhook {
    name: String,
    url: Url,
    auth: Option<HeaderValue>,
    token: Option<String>,
    token_env: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("token_env", &self.token_env)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// `token` is `(variable, value)` when the config names a token variable.
    pub fn new(
        entry: &str,
        url: &str,
        token: Option<(&str, String)>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("url is not a URL: {e}"))?;
        let auth = match &token {
            Some((var, value)) => {
                let mut h = HeaderValue::from_str(&format!("Bearer {value}")).map_err(|_| {
                    format!(
                        "the token in environment variable {var} has characters an HTTP \
                         header cannot carry"
                    )
                })?;
                h.set_sensitive(true);
                Some(h)
            }
            None => None,
        };
        let http = http::client(&url, timeout)?;
        Ok(Self {
            name: format!("{entry} (webhook {})", url.host_str().unwrap_or("?")),
            url,
            auth,
            token_env: token.as_ref().map(|(v, _)| v.to_string()),
            token: token.map(|(_, t)| t),
            http,
        })
    }
}

#[async_trait]
impl Destination for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, m: &Outgoing) -> Attempt {
        let body = json!({
            "source": "lifeboat",
            "severity": match m.severity {
                Severity::Info => "info",
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            },
            "message": m.message,
            "time": humantime::format_rfc3339_seconds(m.at).to_string(),
        });
        let mut req = self.http.post(self.url.clone()).json(&body);
        if let Some(a) = &self.auth {
            req = req.header(AUTHORIZATION, a.clone());
        }
        // The URL's path may be a secret too (see the top of this file).
        let path = self.url.path().to_string();
        let mut secrets: Vec<&str> = vec![path.as_str()];
        secrets.extend(self.token.as_deref());
        secrets.retain(|s| s.len() > 1);
        let outcome = match http::exchange(req, &secrets).await {
            Ok((status, after, body)) => classify(status, after, &body, self.token_env.as_deref()),
            Err(a) => a,
        };
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

fn classify(
    status: StatusCode,
    after: Option<Duration>,
    body: &[u8],
    token_env: Option<&str>,
) -> Attempt {
    let code = status.as_u16();
    match code {
        200..=299 => Attempt::Delivered { status: code },
        408 | 429 | 500..=599 => Attempt::Retry {
            after,
            why: format!("HTTP {code} {}", excerpt(body, 200)),
        },
        401 | 403 => Attempt::Permanent(match token_env {
            Some(v) => format!(
                "HTTP {code} {}: the webhook refused the token in ${v}",
                excerpt(body, 200)
            ),
            None => format!(
                "HTTP {code} {}: the webhook wants a token; add token_env to its [[notify]] entry",
                excerpt(body, 200)
            ),
        }),
        _ => Attempt::Permanent(format!("HTTP {code} {}", excerpt(body, 200))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, after: Option<u64>, env: Option<&str>) -> Attempt {
        classify(
            StatusCode::from_u16(status).unwrap(),
            after.map(Duration::from_secs),
            b"nope",
            env,
        )
    }

    #[test]
    fn answers_are_sorted_into_sent_retry_and_refused() {
        assert_eq!(c(204, None, None), Attempt::Delivered { status: 204 });
        assert!(matches!(
            c(503, Some(4), None),
            Attempt::Retry { after: Some(d), .. } if d == Duration::from_secs(4)
        ));
        assert!(matches!(
            c(429, None, None),
            Attempt::Retry { after: None, .. }
        ));
        assert!(matches!(c(404, None, None), Attempt::Permanent(_)));
        assert!(matches!(c(401, None, Some("HOOK")), Attempt::Permanent(w) if w.contains("$HOOK")));
        assert!(matches!(c(401, None, None), Attempt::Permanent(w) if w.contains("token_env")));
    }

    #[test]
    fn logs_name_the_host_not_the_path_or_token() {
        let w = Webhook::new(
            "notify[1]",
            "https://hooks.example.com/services/T0/B0/XYZSECRET",
            Some(("HOOK", "tok-123".into())),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(w.name(), "notify[1] (webhook hooks.example.com)");
        let dbg = format!("{w:?}");
        assert!(
            !dbg.contains("XYZSECRET") && !dbg.contains("tok-123"),
            "{dbg}"
        );
        let e = Webhook::new(
            "n",
            "https://h.example/",
            Some(("HOOK", "a\nb".into())),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.contains("HOOK") && !e.contains("a\nb"), "{e}");
    }
}
