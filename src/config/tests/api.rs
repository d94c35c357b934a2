//! `[api]`: the HTTP API — listen address and the tokens, by the variables that hold them.

use super::*;
use crate::config::{ApiConfig, ApiToken};
use crate::core::identity::Role;

const TOKENS: &str = "[[api.token]]\nname = \"ci\"\nrole = \"operator\"\nenv = \"LIFEBOAT_API_TOKEN_CI\"\n[[api.token]]\nname = \"grafana\"\nrole = \"viewer\"\nenv = \"GRAFANA_TOKEN\"\n";

#[test]
fn an_api_table_gives_the_address_and_the_tokens() {
    let c = ok(&with(&format!(
        "[api]\nlisten = \"127.0.0.1:8080\"\n{TOKENS}"
    )));
    assert_eq!(
        c.api,
        Some(ApiConfig {
            listen: "127.0.0.1:8080".parse().unwrap(),
            tokens: vec![
                ApiToken {
                    name: "ci".into(),
                    role: Role::Operator,
                    env: "LIFEBOAT_API_TOKEN_CI".into(),
                },
                ApiToken {
                    name: "grafana".into(),
                    role: Role::Viewer,
                    env: "GRAFANA_TOKEN".into(),
                },
            ],
            tls: None,
        })
    );
    // TLS files are read next to the config file (`ok` reads it as /etc/lifeboat/t.toml).
    let c = ok(&with(&format!(
        "[api]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"api.pem\"\ntls_key = \"/k/api.key\"\n{TOKENS}"
    )));
    assert_eq!(
        c.api.unwrap().tls,
        Some(crate::config::ApiTls {
            cert: "/etc/lifeboat/api.pem".into(),
            key: "/k/api.key".into(),
        })
    );
    let p = one(&with(&format!(
        "[api]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"api.pem\"\n{TOKENS}"
    )));
    assert_eq!(p.key, "api.tls_key", "{p:#?}");
    assert_eq!(ok(BASE).api, None);
    // Without listen the API is off.
    assert_eq!(ok(&with(&format!("[api]\n{TOKENS}"))).api, None);
}

#[test]
fn an_api_without_tokens_or_with_a_bad_one_is_refused_by_key() {
    let p = one(&with("[api]\nlisten = \"127.0.0.1:8080\"\n"));
    check(
        &p,
        19,
        "api.token",
        &["no [[api.token]] may call it"],
        &["role = \"operator\""],
    );
    let p = one(&with(
        "[api]\nlisten = \"127.0.0.1:8080\"\n[[api.token]]\nname = \"ci\"\nrole = \"boss\"\nenv = \"T\"\n",
    ));
    check(
        &p,
        22,
        "api.token[0].role",
        &["role \"boss\" is not a role"],
        &["viewer"],
    );
    let p = one(&with(
        "[api]\nlisten = \"127.0.0.1:8080\"\n[[api.token]]\nname = \"ci\"\nrole = \"viewer\"\nenv = \"c2VjcmV0LXRva2VuLXZhbHVlLTAxMjM0NTY3ODk=\"\n",
    ));
    assert_eq!(p.key, "api.token[0].env", "{p:#?}");
    assert!(p.message.contains("looks like a secret"), "{p:#?}");
    let p = one(&with("[api]\nlisten = \"localhost:8080\"\n[[api.token]]\nname = \"ci\"\nrole = \"viewer\"\nenv = \"T\"\n"));
    check(
        &p,
        19,
        "api.listen",
        &["names a host"],
        &["\"127.0.0.1:8080\""],
    );
}
