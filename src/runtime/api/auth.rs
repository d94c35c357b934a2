//! Bearer tokens: each read from the environment variable the config names when the API
//! starts, kept only as its SHA-256, and compared in constant time against every token
//! (no early exit, the same work for a wrong token as for a right one), so a caller
//! learns nothing from how long a refusal takes.

use super::error::ApiError;
use crate::core::identity::{Identity, Origin, Role};
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

struct Token {
    name: String,
    role: Role,
    digest: [u8; 32],
}

pub struct Tokens(Vec<Token>);

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// The shortest token accepted: anything shorter is guessable.
const MIN_LEN: usize = 16;

impl Tokens {
    /// Reads each token's variable through `lookup`; a missing, empty or short one stops
    /// the start with the variable's name (never its value).
    pub fn load(
        specs: &[crate::config::ApiToken],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Tokens, String> {
        let mut out = Vec::new();
        for t in specs {
            let value = lookup(&t.env).unwrap_or_default();
            let value = value.trim();
            if value.is_empty() {
                return Err(format!(
                    "API token {:?}: environment variable {} is not set (or empty); export it to the daemon, e.g. {}=$(openssl rand -hex 32)",
                    t.name, t.env, t.env
                ));
            }
            if value.len() < MIN_LEN {
                return Err(format!(
                    "API token {:?}: the token in {} is shorter than {MIN_LEN} characters; use a random one, e.g. openssl rand -hex 32",
                    t.name, t.env
                ));
            }
            out.push(Token {
                name: t.name.clone(),
                role: t.role,
                digest: digest(value.as_bytes()),
            });
        }
        Ok(Tokens(out))
    }

    /// Who an `Authorization` header is, from `addr`.
    pub fn check(&self, header: Option<&str>, addr: &str) -> Result<Identity, ApiError> {
        let unauthorized = |m: &str| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m).fix(
                "send Authorization: Bearer TOKEN with a token the daemon's [[api.token]] names",
            )
        };
        let Some(h) = header else {
            return Err(unauthorized("no Authorization header"));
        };
        let Some(given) = h.strip_prefix("Bearer ").map(str::trim) else {
            return Err(unauthorized(
                "the Authorization header is not a Bearer token",
            ));
        };
        let d = digest(given.as_bytes());
        let mut found: Option<&Token> = None;
        for t in &self.0 {
            let same: bool = t.digest.ct_eq(&d).into();
            if same && found.is_none() {
                found = Some(t);
            }
        }
        let t = found.ok_or_else(|| unauthorized("the token is not one this daemon knows"))?;
        Ok(Identity {
            name: t.name.clone(),
            role: t.role,
            origin: Origin::Api {
                token: t.name.clone(),
                addr: addr.to_string(),
            },
        })
    }
}

/// Refuses `who` unless its role reaches `needs`.
pub fn allow(who: &Identity, needs: Role, what: &str) -> Result<(), ApiError> {
    if who.role >= needs {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "token {:?} is a {}; {what} needs a {}",
            who.name,
            who.role.as_str(),
            needs.as_str()
        ),
    )
    .fix(format!(
        "use a token with role = \"{}\" or higher",
        needs.as_str()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiToken;

    fn tokens() -> Tokens {
        let specs = [
            ApiToken {
                name: "ci".into(),
                role: Role::Operator,
                env: "A".into(),
            },
            ApiToken {
                name: "grafana".into(),
                role: Role::Viewer,
                env: "B".into(),
            },
        ];
        Tokens::load(&specs, |v| {
            Some(if v == "A" {
                "a".repeat(32)
            } else {
                "b".repeat(32)
            })
        })
        .unwrap()
    }

    #[test]
    fn a_known_token_is_its_name_and_role_and_others_are_refused() {
        let t = tokens();
        let who = t
            .check(Some(&format!("Bearer {}", "b".repeat(32))), "127.0.0.1:1")
            .unwrap();
        assert_eq!((who.name.as_str(), who.role), ("grafana", Role::Viewer));
        for bad in [None, Some("Basic abc"), Some("Bearer nope")] {
            let e = t.check(bad, "x").unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        }
        assert!(allow(&who, Role::Operator, "a failover").is_err());
        assert!(allow(&who, Role::Viewer, "reading").is_ok());
    }

    #[test]
    fn a_missing_or_short_token_names_its_variable_and_not_its_value() {
        let spec = [ApiToken {
            name: "ci".into(),
            role: Role::Operator,
            env: "LIFEBOAT_API_TOKEN".into(),
        }];
        let e = Tokens::load(&spec, |_| None).err().unwrap();
        assert!(e.contains("LIFEBOAT_API_TOKEN is not set"), "{e}");
        let e = Tokens::load(&spec, |_| Some("short-secret".into()))
            .err()
            .unwrap();
        assert!(
            e.contains("shorter than 16") && !e.contains("short-secret"),
            "{e}"
        );
    }
}
