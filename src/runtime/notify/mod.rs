//! Notifiers built from the config's `[[notify]]` tables: Telegram chats and JSON webhooks,
//! each behind its own queue and delivery task (see `queue`), fanned out so one dead
//! destination never delays another. Tokens are read from the environment at start-up;
//! a missing one stops the start with the variable's name, never a value.

pub mod drill_mark;
mod held;
mod http;
pub mod pace;
pub mod queue;
pub mod tally;
pub mod telegram;
pub mod webhook;

pub use http::redact;

use super::transport::{LogNotifier, Notifier};
use crate::config::NotifierConfig;
use crate::core::io::Severity;
use async_trait::async_trait;
use queue::{Delivery, Destination, Queue};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(
        "{entry}: environment variable {var} is not set (or is empty); export {var} with \
         the {what}, or change {key} in the config"
    )]
    TokenMissing {
        entry: String,
        var: String,
        what: &'static str,
        key: &'static str,
    },

    #[error("{entry}: {detail}")]
    Setup { entry: String, detail: String },

    #[error("notifications need a tokio runtime to run their delivery tasks on")]
    NoRuntime,
}

/// Pacing and retries per kind of destination; the defaults suit the real services.
#[derive(Clone, Debug)]
pub struct Settings {
    pub telegram: Delivery,
    pub webhook: Delivery,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            telegram: Delivery::telegram(),
            webhook: Delivery::webhook(),
        }
    }
}

/// One notifier for all `[[notify]]` tables (the log alone when there are none), tokens
/// read from the process environment now. Must run inside a tokio runtime.
pub fn from_config(configs: &[NotifierConfig]) -> Result<Arc<dyn Notifier>, NotifyError> {
    from_config_with(configs, |var| std::env::var(var).ok(), &Settings::default())
}

/// Like `from_config`, with the environment lookup and the pacing supplied (tests use
/// this rather than changing the process environment under other threads).
pub fn from_config_with(
    configs: &[NotifierConfig],
    lookup: impl Fn(&str) -> Option<String>,
    settings: &Settings,
) -> Result<Arc<dyn Notifier>, NotifyError> {
    if configs.is_empty() {
        return Ok(Arc::new(LogNotifier));
    }
    let rt = tokio::runtime::Handle::try_current().map_err(|_| NotifyError::NoRuntime)?;
    // Every destination is built before any task starts, so a bad entry starts nothing.
    let dests = configs
        .iter()
        .enumerate()
        .map(|(i, c)| destination(&format!("notify[{i}]"), c, &lookup, settings))
        .collect::<Result<Vec<_>, _>>()?;
    let queues: Vec<Queue> = dests
        .into_iter()
        .map(|(d, delivery)| Queue::spawn(d, delivery, &rt))
        .collect();
    for q in &queues {
        tracing::info!(target: "notify", "{}: ready", q.name());
    }
    Ok(Arc::new(FanOut { queues }))
}

/// One `[[notify]]` table as a destination and its pacing, its token read through
/// `lookup` now; `entry` names it (`notify[0]`). `notify test` sends through these
/// directly, without a queue.
pub fn destination(
    entry: &str,
    c: &NotifierConfig,
    lookup: &impl Fn(&str) -> Option<String>,
    settings: &Settings,
) -> Result<(Arc<dyn Destination>, Delivery), NotifyError> {
    let setup = |detail: String| NotifyError::Setup {
        entry: entry.to_string(),
        detail,
    };
    match c {
        NotifierConfig::Telegram {
            bot_token_env,
            chat_id,
            api_url,
        } => {
            let token = secret(lookup, entry, bot_token_env, "bot token", "bot_token_env")?;
            let d = settings.telegram.clone();
            let t = telegram::Telegram::new(
                entry,
                bot_token_env,
                token,
                chat_id,
                api_url.as_deref(),
                d.timeout,
            )
            .map_err(setup)?;
            Ok((Arc::new(t), d))
        }
        NotifierConfig::Webhook { url, token_env } => {
            let token = match token_env {
                Some(var) => Some((
                    var.as_str(),
                    secret(lookup, entry, var, "webhook's token", "token_env")?,
                )),
                None => None,
            };
            let d = settings.webhook.clone();
            let w = webhook::Webhook::new(entry, url, token, d.timeout).map_err(setup)?;
            Ok((Arc::new(w), d))
        }
    }
}

fn secret(
    lookup: &impl Fn(&str) -> Option<String>,
    entry: &str,
    var: &str,
    what: &'static str,
    key: &'static str,
) -> Result<String, NotifyError> {
    lookup(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| NotifyError::TokenMissing {
            entry: entry.to_string(),
            var: var.to_string(),
            what,
            key,
        })
}

/// Every destination hears every message, each through its own queue.
struct FanOut {
    queues: Vec<Queue>,
}

#[async_trait]
impl Notifier for FanOut {
    /// `Err` only for destinations that could not even queue it; the others still got it.
    async fn notify(&self, severity: Severity, message: &str) -> Result<(), String> {
        let at = std::time::SystemTime::now();
        let refused: Vec<String> = self
            .queues
            .iter()
            .filter_map(|q| {
                q.enqueue(queue::Outgoing {
                    severity,
                    message: message.to_string(),
                    at,
                })
                .err()
            })
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(refused.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tg(var: &str) -> NotifierConfig {
        NotifierConfig::Telegram {
            bot_token_env: var.into(),
            chat_id: "-100".into(),
            api_url: Some("http://127.0.0.1:9".into()),
        }
    }

    #[test]
    fn no_notifiers_is_the_log_and_needs_no_runtime() {
        assert!(from_config_with(&[], |_| None, &Settings::default()).is_ok());
    }

    #[tokio::test]
    async fn a_missing_or_blank_token_names_its_variable_and_entry() {
        let hook = NotifierConfig::Webhook {
            url: "https://h.example/x".into(),
            token_env: Some("HOOK_TOKEN".into()),
        };
        let look = |v: &str| (v == "TG").then(|| "  ".to_string());
        let Err(e) = from_config_with(&[hook, tg("TG")], look, &Settings::default()) else {
            panic!("a missing token must stop the start");
        };
        let e = e.to_string();
        assert!(
            e.starts_with("notify[0]: environment variable HOOK_TOKEN"),
            "{e}"
        );
        assert!(e.contains("token_env"), "{e}");
        let Err(e) = from_config_with(&[tg("TG")], look, &Settings::default()) else {
            panic!("a blank token must stop the start");
        };
        assert!(e.to_string().contains("TG is not set (or is empty)"), "{e}");
    }

    #[test]
    fn destinations_need_a_runtime() {
        let look = |_: &str| Some("1:x".to_string());
        assert!(matches!(
            from_config_with(&[tg("TG")], look, &Settings::default()),
            Err(NotifyError::NoRuntime)
        ));
    }
}
