//! `curl` as the API's tests call it: one request, its status, headers and JSON body.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use super::daemon::Daemon;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// `curl -sS -i` with `args`, split into status, headers and body.
pub fn curl(args: &[&str]) -> Reply {
    try_curl(args).unwrap_or_else(|e| panic!("curl {args:?}: {e}"))
}

/// [`curl`], or why it could not connect.
pub fn try_curl(args: &[&str]) -> Result<Reply, String> {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Reply {
        status,
        headers: head.to_lowercase(),
        body: body.to_string(),
    })
}

/// Where `daemon` serves its API, from its start line ("HTTP API on http://…").
pub fn api_base(daemon: &Daemon) -> String {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(at) = daemon.stderr().split("HTTP API on ").nth(1) {
            return at.split_whitespace().next().unwrap().to_string();
        }
        assert!(Instant::now() < end, "no API line:\n{}", daemon.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The one error shape's `error` object.
pub fn error_of(r: &Reply) -> Value {
    let v = r.json();
    assert!(v["error"]["message"].is_string(), "{}", r.body);
    v["error"].clone()
}
