//! `[api]` → [`ApiConfig`]: where the HTTP API listens and the bearer tokens that may call
//! it, each by a name (journaled), a role and the environment variable that holds it (read
//! when the API starts; the token itself never lives in the file).

use super::values::{env_name, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::RawApi;
use crate::config::{ApiConfig, ApiTls, ApiToken};
use crate::core::identity::Role;
use std::path::{Path, PathBuf};

/// `None` when there is no `[api]` or it has no `listen` (the API is off).
pub fn build(ctx: &mut Ctx<'_>, raw: Option<&RawApi>, source: &Path) -> Option<ApiConfig> {
    let raw = raw?;
    let at = KeyPath::at("api");
    let beside = |s: &crate::config::raw::Str| {
        let p = PathBuf::from(s.get_ref().trim());
        match source.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    };
    let tls = match (&raw.tls_cert, &raw.tls_key) {
        (Some(c), Some(k)) => Some(ApiTls {
            cert: beside(c),
            key: beside(k),
        }),
        (None, None) => None,
        (Some(c), None) => {
            ctx.report_at(
                c,
                &at.clone().key("tls_key"),
                "tls_cert is set but no tls_key",
                "add tls_key = \"api-key.pem\" (the certificate's private key, PEM), or remove tls_cert",
            );
            None
        }
        (None, Some(k)) => {
            ctx.report_at(
                k,
                &at.clone().key("tls_cert"),
                "tls_key is set but no tls_cert",
                "add tls_cert = \"api-cert.pem\" (the certificate chain, PEM), or remove tls_key",
            );
            None
        }
    };
    let mut tokens = Vec::new();
    for (i, t) in raw.token.iter().enumerate() {
        let k = KeyPath::at("api").key("token").index(i);
        let name = match &t.name {
            Some(n) if valid_name(n.get_ref()) => Some(n.get_ref().trim().to_string()),
            Some(n) => {
                ctx.report_at(
                    n,
                    &k.clone().key("name"),
                    format!("token name {} is not a name", quote(n.get_ref())),
                    "use letters, digits, '-', '_' or '.', e.g. name = \"ci\" (it is journaled with what the token does)",
                );
                None
            }
            None => {
                ctx.report_missing(
                    &k,
                    "name",
                    "the token has no name",
                    "add name = \"ci\": every change it asks for is journaled under it",
                );
                None
            }
        };
        let role = match &t.role {
            Some(r) => Role::parse(r.get_ref().trim()).or_else(|| {
                ctx.report_at(
                    r,
                    &k.clone().key("role"),
                    format!("role {} is not a role", quote(r.get_ref())),
                    "use viewer (read only), operator (fail over, test) or admin",
                );
                None
            }),
            None => {
                ctx.report_missing(
                    &k,
                    "role",
                    "the token has no role",
                    "add role = \"viewer\" (read only), \"operator\" (fail over) or \"admin\"",
                );
                None
            }
        };
        let env = match &t.env {
            Some(e) => Some(env_name(
                ctx,
                &k.clone().key("env"),
                e,
                "LIFEBOAT_API_TOKEN",
            )),
            None => {
                ctx.report_missing(
                    &k,
                    "env",
                    "the token has no env naming the variable that holds it",
                    "add env = \"LIFEBOAT_API_TOKEN_CI\" and export that variable to the daemon",
                );
                None
            }
        };
        if let (Some(name), Some(role), Some(env)) = (name, role, env) {
            if tokens.iter().any(|t: &ApiToken| t.name == name) {
                if let Some(n) = &t.name {
                    ctx.report_at(
                        n,
                        &k.clone().key("name"),
                        format!("token name {} is used twice", quote(&name)),
                        "give each [[api.token]] its own name",
                    );
                }
                continue;
            }
            tokens.push(ApiToken { name, role, env });
        }
    }
    let listen = raw.listen.as_ref()?;
    let addr = super::console::listen_addr(ctx, &at.clone().key("listen"), listen, 8080);
    if raw.token.is_empty() {
        ctx.report_at(
            listen,
            &at.key("token"),
            "the API listens but no [[api.token]] may call it",
            "add [[api.token]] with name = \"ci\", role = \"operator\" and env = \"LIFEBOAT_API_TOKEN_CI\"",
        );
        return None;
    }
    Some(ApiConfig {
        listen: addr?,
        tokens,
        tls,
    })
}

fn valid_name(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
