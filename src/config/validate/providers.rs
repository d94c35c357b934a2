//! `[[provider]]` tables → [`ProviderConfig`]: rental APIs used to look up and provision
//! hosts. The API key stays in the environment; the file names the variable.

use super::values;
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::RawProvider;
use crate::config::ProviderConfig;

/// Provider APIs Lifeboat can drive.
pub const PROVIDER_KINDS: &[&str] = &["vast"];

pub fn build(ctx: &mut Ctx<'_>, raw: &[RawProvider]) -> Vec<ProviderConfig> {
    let names: Vec<&str> = raw.iter().map(|p| p.name.get_ref().as_str()).collect();
    let labels = values::labels(&names);
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let k = KeyPath::at("provider").named(i, labels[i]);
        values::name(ctx, &k.clone().key("name"), &p.name, "provider");
        if let Some(first) = raw[..i]
            .iter()
            .find(|q| q.name.get_ref() == p.name.get_ref())
        {
            let line = ctx.line_of(&first.name);
            ctx.report_at(
                &p.name,
                &KeyPath::at("provider").index(i).key("name"),
                format!(
                    "duplicate provider name {}; the first one is at line {line}",
                    values::quote(p.name.get_ref())
                ),
                "give each [[provider]] its own name, or delete the second one",
            );
        }
        let kind = values::choice(
            ctx,
            &k.clone().key("kind"),
            &p.kind,
            PROVIDER_KINDS,
            "provider kind",
        )
        .unwrap_or("vast");
        let poll_every = p
            .poll_every
            .as_ref()
            .and_then(|d| values::duration(ctx, &k.clone().key("poll_every"), d))
            .unwrap_or(std::time::Duration::from_secs(15));
        let api_url = p.api_url.as_ref().map(|u| {
            values::url(
                ctx,
                &k.clone().key("api_url"),
                u,
                "api_url = \"https://console.vast.ai\"",
            )
            .trim_end_matches('/')
            .to_string()
        });
        let api_key_env =
            values::env_name(ctx, &k.key("api_key_env"), &p.api_key_env, "VAST_API_KEY");
        out.push(ProviderConfig {
            name: p.name.get_ref().clone(),
            kind: kind.to_string(),
            api_key_env,
            poll_every,
            api_url,
        });
    }
    out
}
