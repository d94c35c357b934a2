//! `[[notify]]` tables → [`NotifierConfig`]s: who hears about escalations. Tokens stay
//! in the environment; the file names the variables.

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::{RawNotify, Str};
use crate::config::NotifierConfig;

const KINDS: &[&str] = &["telegram", "webhook"];

pub fn build(ctx: &mut Ctx<'_>, raw: &[RawNotify]) -> Vec<NotifierConfig> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, n)| notifier(ctx, &KeyPath::at("notify").index(i), n))
        .collect()
}

fn notifier(ctx: &mut Ctx<'_>, k: &KeyPath, n: &RawNotify) -> Option<NotifierConfig> {
    let kind = values::choice(ctx, &k.clone().key("kind"), &n.kind, KINDS, "notifier kind")?;
    match kind {
        "telegram" => {
            foreign(ctx, k, "url", n.url.as_ref(), "webhook");
            foreign(ctx, k, "token_env", n.token_env.as_ref(), "webhook");
            let token = required(
                ctx,
                k,
                "bot_token_env",
                n.bot_token_env.as_ref(),
                "bot_token_env = \"TELEGRAM_BOT_TOKEN\"",
            )
            .map(|s| {
                values::env_name(
                    ctx,
                    &k.clone().key("bot_token_env"),
                    s,
                    "TELEGRAM_BOT_TOKEN",
                )
            });
            let chat = required(
                ctx,
                k,
                "chat_id",
                n.chat_id.as_ref(),
                "chat_id = \"-5275672778\"",
            )
            .map(|s| chat_id(ctx, &k.clone().key("chat_id"), s));
            let api_url = n.api_url.as_ref().map(|s| {
                let v = values::url(
                    ctx,
                    &k.clone().key("api_url"),
                    s,
                    "api_url = \"https://api.telegram.org\"",
                );
                v.trim_end_matches('/').to_string()
            });
            Some(NotifierConfig::Telegram {
                bot_token_env: token.unwrap_or_default(),
                chat_id: chat.unwrap_or_default(),
                api_url,
            })
        }
        _ => {
            foreign(
                ctx,
                k,
                "bot_token_env",
                n.bot_token_env.as_ref(),
                "telegram",
            );
            foreign(ctx, k, "chat_id", n.chat_id.as_ref(), "telegram");
            foreign(ctx, k, "api_url", n.api_url.as_ref(), "telegram");
            let url = required(
                ctx,
                k,
                "url",
                n.url.as_ref(),
                "url = \"https://hooks.example.com/lifeboat\"",
            )
            .map(|s| {
                values::url(
                    ctx,
                    &k.clone().key("url"),
                    s,
                    "url = \"https://hooks.example.com/lifeboat\"",
                )
            });
            let token_env = n.token_env.as_ref().map(|s| {
                values::env_name(ctx, &k.clone().key("token_env"), s, "LIFEBOAT_HOOK_TOKEN")
            });
            Some(NotifierConfig::Webhook {
                url: url.unwrap_or_default(),
                token_env,
            })
        }
    }
}

fn required<'s>(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    key: &str,
    v: Option<&'s Str>,
    example: &str,
) -> Option<&'s Str> {
    if v.is_none() {
        ctx.report_path(
            k,
            format!("missing required key \"{key}\" for this notifier"),
            format!("add {example}"),
        );
    }
    v
}

/// A key that belongs to the other kind of notifier.
fn foreign(ctx: &mut Ctx<'_>, k: &KeyPath, key: &str, v: Option<&Str>, owner: &str) {
    if let Some(v) = v {
        ctx.report_at(
            v,
            &k.clone().key(key),
            format!("\"{key}\" is a {owner} setting, not one for this notifier"),
            format!("remove it, or make this a kind = \"{owner}\" notifier"),
        );
    }
}

/// A numeric chat id (`-100…` for groups) or a public `@channel`.
fn chat_id(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> String {
    let v = s.get_ref();
    let digits = v.strip_prefix('-').unwrap_or(v);
    let numeric = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    let channel = v.strip_prefix('@').is_some_and(|c| {
        c.len() >= 5 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    });
    if !numeric && !channel {
        ctx.report_at(
            s,
            key,
            format!("{} is not a Telegram chat id", quote(v)),
            "write the numeric id (groups start with '-'), e.g. chat_id = \"-5275672778\", or a public channel, e.g. chat_id = \"@gate0_alerts\"",
        );
    }
    v.clone()
}
