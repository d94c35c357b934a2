//! The Vast.ai REST client: lists the account's instances, page by page, for the provider
//! status channel (reqwest with rustls; no OpenSSL).
//!
//! The call is `GET {base}/api/v1/instances/?limit=25[&after_token=…]` with
//! `Authorization: Bearer <key>`: Vast documents it as the current instance listing, paged
//! by keyset (at most 25 a page, the next page named by the response's `next_token`, null
//! on the last). The older `GET /api/v0/instances/` answers the same `{"instances": [...]}`
//! shape in one piece with no `next_token`; a page without one ends the listing, so
//! `VastOptions::list_path` may point at either. One listing call covers the whole fleet,
//! so the per-instance `GET /api/v0/instances/{id}/` is not used.
//!
//! Fields read from each instance, and why (everything else is ignored, so new fields in
//! Vast's answers never break the client):
//! - `id` (a number; kept as text): matches `HostSpec.provider.instance` from the config.
//! - `actual_status`: what the container is doing (`running`, `exited`, `offline`,
//!   `unknown`, `loading`, null while provisioning …): the evidence itself.
//! - `intended_status`: what the owner asked for (`running`, `stopped`, `frozen`): tells a
//!   crash (`exited` while meant to run) from a deliberate stop.
//! - `status_msg`: Vast's own words, passed along (shortened) in the evidence's reason.
//!
//! `cur_state`/`next_state` (the machine contract) are not needed for the verdict:
//! `actual_status` already shows a lost machine as `offline`.

use super::{excerpt, InstanceStatus, Provider, ProviderError};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use std::time::Duration;

/// How to reach Vast; the defaults are the real service.
#[derive(Clone, Debug)]
pub struct VastOptions {
    /// Scheme and host, no trailing path (tests point this at the loopback `FakeVast`).
    pub base_url: String,
    /// The listing's path under `base_url`.
    pub list_path: String,
    /// Deadline of each HTTP request, connect to last byte.
    pub timeout: Duration,
    /// Instances asked for per page (Vast serves at most 25).
    pub page_limit: u32,
    /// A listing longer than this many pages is refused as looping.
    pub max_pages: u32,
}

impl Default for VastOptions {
    fn default() -> Self {
        Self {
            base_url: VastClient::DEFAULT_BASE_URL.into(),
            list_path: "/api/v1/instances/".into(),
            timeout: Duration::from_secs(10),
            page_limit: 25,
            max_pages: 200,
        }
    }
}

/// An API key that never prints.
struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A Vast.ai account's instance listing.
#[derive(Debug)]
pub struct VastClient {
    name: String,
    key_env: String,
    key: ApiKey,
    auth: HeaderValue,
    base: Url,
    list_url: Url,
    opts: VastOptions,
    http: reqwest::Client,
}

/// Largest page body read; Vast's pages are tens of kilobytes.
const MAX_BODY: usize = 8 << 20;

#[derive(Deserialize)]
struct Page {
    instances: Vec<RawInstance>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct RawInstance {
    id: RawId,
    #[serde(default)]
    actual_status: Option<String>,
    #[serde(default)]
    intended_status: Option<String>,
    #[serde(default)]
    status_msg: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Number(u64),
    Text(String),
}

impl VastClient {
    pub const DEFAULT_BASE_URL: &'static str = "https://console.vast.ai";

    /// Reads the API key from environment variable `key_env` now.
    pub fn from_env(name: &str, key_env: &str, opts: VastOptions) -> Result<Self, ProviderError> {
        Self::with_key_from(name, key_env, opts, |var| std::env::var(var).ok())
    }

    /// Like `from_env`, with the environment lookup supplied (tests use this rather than
    /// changing the process environment under other threads).
    pub fn with_key_from(
        name: &str,
        key_env: &str,
        opts: VastOptions,
        lookup: impl FnOnce(&str) -> Option<String>,
    ) -> Result<Self, ProviderError> {
        let setup = |detail: String| ProviderError::Setup {
            provider: name.to_string(),
            detail,
        };
        let key = lookup(key_env)
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ProviderError::KeyMissing {
                provider: name.to_string(),
                var: key_env.to_string(),
            })?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            setup(format!(
                "the key in environment variable {key_env} has characters an HTTP header cannot carry"
            ))
        })?;
        auth.set_sensitive(true);
        let base = Url::parse(&opts.base_url)
            .map_err(|e| setup(format!("base URL \"{}\" is not a URL: {e}", opts.base_url)))?;
        let list_url = base
            .join(&opts.list_path)
            .map_err(|e| setup(format!("list path \"{}\": {e}", opts.list_path)))?;
        let mut builder = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("lifeboat/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&list_url) {
            // A proxy from the environment must not swallow a local fake.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            name: name.to_string(),
            key_env: key_env.to_string(),
            key: ApiKey(key),
            auth,
            base,
            list_url,
            opts,
            http,
        })
    }

    /// Where the listing is read (for logs; it never holds the key).
    pub fn list_url(&self) -> &Url {
        &self.list_url
    }

    fn what(&self) -> String {
        format!("GET {}", self.list_url.path())
    }

    /// Never lets the key through into an error text, whatever a server echoes.
    pub(super) fn scrub(&self, text: String) -> String {
        if self.key.0.len() >= 4 && text.contains(&self.key.0) {
            text.replace(&self.key.0, "<redacted>")
        } else {
            text
        }
    }

    pub(super) fn provider(&self) -> String {
        self.name.clone()
    }

    /// `path` (with any query) under the base URL.
    pub(super) fn url(&self, path: &str) -> Result<Url, ProviderError> {
        self.base.join(path).map_err(|e| ProviderError::Setup {
            provider: self.name.clone(),
            detail: format!("path \"{path}\": {e}"),
        })
    }

    /// One authorised request; `what` names it in errors ("PUT /api/v0/asks/1/"). A
    /// refused key is an error here; every other status is the caller's to judge.
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<Reply, ProviderError> {
        let mut req = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            req = req.json(body);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(e, what))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(e, what))?
        {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ProviderError::Auth {
                provider: self.name.clone(),
                var: self.key_env.clone(),
                status: status.as_u16(),
            });
        }
        Ok(Reply { status, body })
    }

    /// The error for an answer that is not a success.
    pub(super) fn http_error(&self, what: &str, reply: &Reply) -> ProviderError {
        ProviderError::Http {
            provider: self.name.clone(),
            what: what.to_string(),
            status: reply.status.as_u16(),
            excerpt: self.scrub(excerpt(&reply.body, 160)),
        }
    }

    /// Parses a JSON answer, or says what came instead.
    pub(super) fn parse<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        reply: &Reply,
    ) -> Result<T, ProviderError> {
        serde_json::from_slice::<T>(&reply.body).map_err(|e| ProviderError::Malformed {
            provider: self.name.clone(),
            what: what.to_string(),
            detail: self.scrub(e.to_string()),
            excerpt: self.scrub(excerpt(&reply.body, 80)),
        })
    }

    async fn page(&self, after: Option<&str>) -> Result<Page, ProviderError> {
        let mut url = self.list_url.clone();
        url.query_pairs_mut()
            .append_pair("limit", &self.opts.page_limit.to_string());
        if let Some(token) = after {
            url.query_pairs_mut().append_pair("after_token", token);
        }
        let what = self.what();
        let reply = self.call(Method::GET, url, None, &what).await?;
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        self.parse(&what, &reply)
    }

    fn transport_error(&self, e: reqwest::Error, what: &str) -> ProviderError {
        if e.is_timeout() {
            return ProviderError::Timeout {
                provider: self.name.clone(),
                what: what.to_string(),
                timeout: self.opts.timeout,
            };
        }
        let e = e.without_url();
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        ProviderError::Unreachable {
            provider: self.name.clone(),
            what: what.to_string(),
            detail: self.scrub(detail),
        }
    }
}

/// An answer's status and (capped) body.
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

#[async_trait::async_trait]
impl Provider for VastClient {
    fn name(&self) -> &str {
        &self.name
    }

    async fn instances(&self) -> Result<Vec<InstanceStatus>, ProviderError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let mut seen_tokens = std::collections::HashSet::new();
        for _ in 0..self.opts.max_pages.max(1) {
            let page = self.page(after.as_deref()).await?;
            out.extend(page.instances.into_iter().map(convert));
            match page.next_token.filter(|t| !t.is_empty()) {
                None => return Ok(out),
                Some(token) => {
                    if !seen_tokens.insert(token.clone()) {
                        return Err(self.paging_error("named the same next page twice"));
                    }
                    after = Some(token);
                }
            }
        }
        Err(self.paging_error(&format!(
            "still named a next page after {} pages",
            self.opts.max_pages
        )))
    }
}

impl VastClient {
    fn paging_error(&self, detail: &str) -> ProviderError {
        ProviderError::Malformed {
            provider: self.name.clone(),
            what: self.what(),
            detail: format!("the listing {detail}"),
            excerpt: "(pagination)".into(),
        }
    }
}

fn convert(raw: RawInstance) -> InstanceStatus {
    InstanceStatus {
        id: match raw.id {
            RawId::Number(n) => n.to_string(),
            RawId::Text(s) => s,
        },
        actual: raw.actual_status.unwrap_or_default(),
        intended: raw.intended_status.unwrap_or_default(),
        message: raw.status_msg.filter(|m| !m.trim().is_empty()),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(key: Option<&str>) -> Result<VastClient, ProviderError> {
        let key = key.map(str::to_string);
        VastClient::with_key_from("vast", "VAST_KEY", VastOptions::default(), move |_| key)
    }

    #[test]
    fn missing_or_empty_key_names_the_variable() {
        for key in [None, Some(""), Some("  ")] {
            let err = client(key).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("VAST_KEY is not set"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = client(Some("s3cr3t-key-value")).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t-key-value"), "{dbg}");
        assert_eq!(
            c.list_url().as_str(),
            "https://console.vast.ai/api/v1/instances/"
        );
        assert_eq!(c.scrub("echo s3cr3t-key-value".into()), "echo <redacted>");
    }

    #[test]
    fn documented_page_parses_with_ids_as_text_and_nulls_as_empty() {
        let body = br#"{"success": true, "instances_found": 2, "next_token": null,
            "instances": [
              {"id": 312, "actual_status": "running", "intended_status": "running",
               "cur_state": "running", "next_state": "running",
               "status_msg": "success, running nvidia/cuda/ssh", "ssh_host": "ssh4.vast.ai",
               "ssh_port": 10600, "gpu_name": "RTX 4090", "ports": {"22/tcp": []}},
              {"id": 313, "actual_status": null, "intended_status": "running", "status_msg": ""}
            ]}"#;
        let page: Page = serde_json::from_slice(body).unwrap();
        assert!(page.next_token.is_none());
        let got: Vec<_> = page.instances.into_iter().map(convert).collect();
        assert_eq!(got[0].id, "312");
        assert_eq!(got[0].actual, "running");
        assert_eq!(
            got[0].message.as_deref(),
            Some("success, running nvidia/cuda/ssh")
        );
        assert_eq!(got[1].actual, "");
        assert_eq!(got[1].message, None);
    }

    #[test]
    fn loopback_is_recognised() {
        for (u, want) in [
            ("http://127.0.0.1:9/x", true),
            ("http://localhost:9/", true),
            ("http://[::1]:9/", true),
            ("https://console.vast.ai/", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(u).unwrap()), want, "{u}");
        }
    }
}
