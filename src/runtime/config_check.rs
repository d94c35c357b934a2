//! `lifeboat config check` beyond the file itself: what can be checked on this machine
//! without acting — the NAS folder exists and is writable, every env var the config names
//! is set, the theme exists, no URL carries a token in its query string — and, with
//! `--probe`, whether S3 and every host answer (see `config_probe`). Each check is one
//! [`Finding`]; the binary prints them (or JSON) and exits 1 when one failed.

use crate::config::{Config, NotifierConfig};
use serde::Serialize;
use std::path::Path;

/// One check and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was checked: `storage.nas`, `env TELEGRAM_BOT_TOKEN`, `theme`, `host pc1` …
    pub check: String,
    pub ok: bool,
    /// What was found, and for a failure, the fix.
    pub detail: String,
}

impl Finding {
    pub fn ok(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    pub fn failed(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            ok: false,
            detail: detail.into(),
        }
    }

    /// `✓ storage.nas: /mnt/nas exists and is writable`.
    pub fn line(&self) -> String {
        let mark = if self.ok { "✓" } else { "✖" };
        format!("{mark} {}: {}", self.check, self.detail)
    }
}

/// The checks that need no network: `env` reads an environment variable.
pub fn local(cfg: &Config, env: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(nas) = &cfg.storage.nas {
        out.push(nas_folder(nas));
    }
    for (key, name) in env_names(cfg) {
        out.push(match env(&name).filter(|v| !v.is_empty()) {
            Some(_) => Finding::ok(format!("env {name}"), format!("set ({key})")),
            None => Finding::failed(
                format!("env {name}"),
                format!("{key} names ${name}, but it is not set in this environment; export it before starting lifeboat"),
            ),
        });
    }
    if let Some(theme) = &cfg.theme {
        let warnings = super::console_files::theme_warnings(theme);
        out.push(if warnings.is_empty() {
            Finding::ok("theme", format!("\"{theme}\" exists"))
        } else {
            Finding::failed("theme", warnings.join("; "))
        });
    }
    for (key, url) in urls(cfg) {
        if let Some(why) = secret_in_url(&url) {
            out.push(Finding::failed(
                key.clone(),
                format!("{why}; secrets never live in the config: pass the token by an env var (token_env, bot_token_env, api_key_env) and remove it from the URL"),
            ));
        }
    }
    out
}

/// `config check [FILE] [--probe] [--json]` whole: locates and loads the config, runs the
/// checks (and the probes), prints them; the exit status: 0 every check passed, 1 one
/// failed, 2 the config itself is wrong.
pub fn run(file: Option<std::path::PathBuf>, probe: bool, json: bool) -> u8 {
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
    let mut findings = local(&cfg, &|k| std::env::var(k).ok());
    if probe {
        match tokio::runtime::Runtime::new() {
            Ok(rt) => findings.extend(rt.block_on(super::config_probe::probe(
                &cfg,
                super::config_probe::DEADLINE,
            ))),
            Err(e) => {
                super::cli_out::err_line(&format!("error: cannot start the async runtime: {e}"));
                return 1;
            }
        }
    }
    match report(&cfg, &findings, json, &mut std::io::stdout()) {
        Ok(code) => code,
        // The reader left early (`config check | head -1`): a normal end.
        Err(e) if super::cli_out::is_closed(&e) => 0,
        Err(e) => {
            super::cli_out::err_line(&format!("error: {e}"));
            1
        }
    }
}

/// Prints the summary (or, with `json`, one JSON object) and every finding; returns the
/// exit status: 0 when every check passed, 1 when one failed.
pub fn report(
    cfg: &Config,
    findings: &[Finding],
    json: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<u8> {
    let ok = findings.iter().all(|f| f.ok);
    if json {
        let v = serde_json::json!({
            "ok": ok,
            "config": cfg.source.as_ref().map(|p| p.display().to_string()),
            "summary": crate::config::summary(cfg),
            "checks": findings,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{}", crate::config::summary(cfg))?;
        if !findings.is_empty() {
            let failed = findings.iter().filter(|f| !f.ok).count();
            writeln!(
                out,
                "checks: {} passed, {failed} failed",
                findings.len() - failed
            )?;
            for f in findings {
                writeln!(out, "  {}", crate::core::safe_text::escape_line(&f.line()))?;
            }
        }
    }
    Ok(u8::from(!ok))
}

/// The NAS folder exists, is a folder, and this user may write there (checked with
/// `access(2)`, so nothing is written).
fn nas_folder(nas: &Path) -> Finding {
    let key = "storage.nas";
    let p = nas.display();
    if !nas.exists() {
        return Finding::failed(
            key,
            format!(
                "NAS folder {p} does not exist: is the NAS mounted? mount it, or fix [storage] nas"
            ),
        );
    }
    if !nas.is_dir() {
        return Finding::failed(key, format!("{p} is not a folder; fix [storage] nas"));
    }
    match rustix::fs::access(nas, rustix::fs::Access::WRITE_OK) {
        Ok(()) => Finding::ok(key, format!("{p} exists and is writable")),
        Err(e) => Finding::failed(
            key,
            format!("NAS folder {p} is not writable ({e}): mount it read-write and let lifeboat's user write there"),
        ),
    }
}

/// `(key, NAME)` of every environment variable the config names.
fn env_names(cfg: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for h in &cfg.fleet.hosts {
        if let Some(n) = &h.ssh.key_passphrase_env {
            out.push((format!("[[host]] {} key_passphrase_env", h.id), n.clone()));
        }
    }
    for n in &cfg.notifiers {
        match n {
            NotifierConfig::Telegram { bot_token_env, .. } => {
                out.push(("[[notify]] bot_token_env".into(), bot_token_env.clone()));
            }
            NotifierConfig::Webhook {
                token_env: Some(t), ..
            } => out.push(("[[notify]] token_env".into(), t.clone())),
            NotifierConfig::Webhook { .. } => {}
        }
    }
    for p in &cfg.providers {
        out.push((
            format!("[[provider]] {} api_key_env", p.name),
            p.api_key_env.clone(),
        ));
    }
    out
}

/// `(key, URL)` of every URL in the config.
fn urls(cfg: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(e) = cfg.storage.s3.as_ref().and_then(|s| s.endpoint.clone()) {
        out.push(("storage.s3.endpoint".into(), e));
    }
    for n in &cfg.notifiers {
        match n {
            NotifierConfig::Telegram {
                api_url: Some(u), ..
            } => out.push(("notify.api_url".into(), u.clone())),
            NotifierConfig::Webhook { url, .. } => out.push(("notify.url".into(), url.clone())),
            NotifierConfig::Telegram { .. } => {}
        }
    }
    for p in &cfg.providers {
        if let Some(u) = &p.api_url {
            out.push((format!("provider.{}.api_url", p.name), u.clone()));
        }
    }
    out
}

/// Query keys that carry secrets.
const SECRET_KEYS: &[&str] = &[
    "token",
    "key",
    "secret",
    "sig",
    "signature",
    "password",
    "passwd",
    "auth",
    "access",
    "credential",
    "apikey",
    "api_key",
];

/// Why `url` hides a secret (a query parameter named like one, or a password in the
/// user part), if it does. Pure.
pub fn secret_in_url(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((user, _)) = authority.rsplit_once('@') {
        if user.contains(':') {
            return Some(format!(
                "{} has a password in it (user:password@)",
                redact(url)
            ));
        }
    }
    // Telegram's form: the bot token as a path segment, `/bot123456:AAE…`.
    let path = after_scheme.split(['?', '#']).next().unwrap_or("");
    if path.split('/').any(|seg| {
        seg.strip_prefix("bot")
            .is_some_and(|t| t.contains(':') && t.starts_with(|c: char| c.is_ascii_digit()))
    }) {
        return Some(format!("{} has a bot token in its path", redact(url)));
    }
    let (_, query) = url.split_once('?')?;
    let query = query.split('#').next().unwrap_or("");
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
        if SECRET_KEYS.iter().any(|k| name.contains(k)) {
            return Some(format!(
                "{} carries \"{name}\" in its query string",
                redact(url)
            ));
        }
    }
    None
}

/// The URL without its query and user part, so the report does not repeat the secret.
fn redact(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or(url);
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}?…")
        }
        None => format!("{base}?…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_query_strings_and_passwords_in_urls_are_found() {
        assert!(secret_in_url("https://hooks.example.com/x?token=abc").is_some());
        assert!(secret_in_url("https://h.example.com/x?a=1&API_KEY=abc").is_some());
        assert!(secret_in_url("https://user:pw@h.example.com/x").is_some());
        assert!(secret_in_url("https://h.example.com/x?page=2").is_none());
        assert!(secret_in_url("https://user@h.example.com/x").is_none());
        assert!(secret_in_url("http://127.0.0.1:9000").is_none());
        assert!(secret_in_url("https://api.telegram.org/bot123456:AAEabc").is_some());
        assert!(secret_in_url("https://api.telegram.org").is_none());
        let why = secret_in_url("https://h.example.com/x?token=s3cr3t").unwrap_or_default();
        assert!(!why.contains("s3cr3t"), "{why}");
    }
}
