//! The HTTP details both destinations share: the client, `Retry-After`, reading a short
//! answer, and keeping secrets out of every text that may reach a log.

use super::queue::Attempt;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use std::time::Duration;

/// Largest answer body read; both services answer a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

/// A client with a deadline per request and no proxy for loopback (a proxy from the
/// environment must not swallow a local Bot API server or a test's fake).
pub fn client(url: &Url, timeout: Duration) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("lifeboat/", env!("CARGO_PKG_VERSION")));
    if is_loopback(url) {
        b = b.no_proxy();
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))
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

/// `Retry-After` in seconds (the HTTP-date form is rare for these services and ignored).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The status, `Retry-After` and (at most `MAX_BODY` of) the body of an answer, or the
/// attempt's failure when the request never got one. `secrets` are cut from any error.
pub async fn exchange(
    req: reqwest::RequestBuilder,
    secrets: &[&str],
) -> Result<(StatusCode, Option<Duration>, Vec<u8>), Attempt> {
    let mut resp = req.send().await.map_err(|e| failed(&e, secrets))?;
    let status = resp.status();
    let after = retry_after(resp.headers());
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = MAX_BODY.saturating_sub(body.len());
                body.extend_from_slice(&c[..c.len().min(room)]);
                if body.len() >= MAX_BODY {
                    break;
                }
            }
            Ok(None) => break,
            // The status has arrived; a body cut short still leaves it meaningful.
            Err(_) => break,
        }
    }
    Ok((status, after, body))
}

/// A request that got no answer: worth retrying, unless it could not even be built.
fn failed(e: &reqwest::Error, secrets: &[&str]) -> Attempt {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let why = redact(&format!("{kind}: {}", chain(e)), secrets);
    if e.is_builder() {
        Attempt::Permanent(why)
    } else {
        Attempt::Retry { after: None, why }
    }
}

/// The error and its causes, without the URL (a Telegram URL carries the bot token).
fn chain(e: &reqwest::Error) -> String {
    let mut s = String::new();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&c.to_string());
        cause = c.source();
    }
    if s.is_empty() {
        s = "no detail".into();
    }
    s
}

/// `text` with every secret replaced by `<redacted>`, also where a URL wrote its ':' as
/// `%3A` (tokens are checked at start-up to hold no other character a URL would escape).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        for form in [s.to_string(), s.replace(':', "%3A"), s.replace(':', "%3a")] {
            out = out.replace(&form, "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn redaction_covers_encoded_forms() {
        let t = "123456:AA-bb_cc";
        let text = format!("error sending to /bot{t}/x and /bot123456%3AAA-bb_cc/x");
        let r = redact(&text, &[t, ""]);
        assert!(!r.contains("AA-bb_cc"), "{r}");
        assert_eq!(r.matches("<redacted>").count(), 2);
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        let l = |u: &str| is_loopback(&Url::parse(u).unwrap());
        assert!(l("http://127.0.0.1:8080/") && l("http://[::1]/") && l("http://LOCALHOST/"));
        assert!(!l("https://api.telegram.org/"));
    }
}
