//! The demo daemon's API as the benches read it: a GET with the bench's token, and the
//! wait until the simulated fleet is in its steady state.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

/// `GET {base}{path}` with `token`: the body, or nothing when curl fails.
pub fn get(base: &str, token: &str, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{base}{path}"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Until every host has been probed healthy and every job seen running (a large demo first
/// starts its jobs, which takes minutes); the fleet's GPU count.
pub fn wait_for_fleet(base: &str, token: &str, hosts: usize) -> u64 {
    let end = Instant::now() + Duration::from_secs(900);
    loop {
        let body = get(base, token, "/hosts");
        let jobs = get(base, token, "/jobs");
        if let (Ok(v), Ok(j)) = (
            serde_json::from_str::<serde_json::Value>(&body),
            serde_json::from_str::<serde_json::Value>(&jobs),
        ) {
            let list = v["hosts"].as_array().cloned().unwrap_or_default();
            // Seen running, not just not yet judged: before its first probe a host reads
            // healthy (badge "unknown") and a job RUNNING with no progress yet.
            let running = j["jobs"].as_array().is_some_and(|l| {
                l.iter()
                    .all(|j| j["state"] == "RUNNING" && !j["progress_at"].is_null())
            });
            let probed = |h: &serde_json::Value| h["reach"] == "healthy" && h["badge"] != "unknown";
            if list.len() == hosts && list.iter().all(probed) && running {
                return list
                    .iter()
                    .map(|h| h["gpus"].as_array().map_or(0, |g| g.len() as u64))
                    .sum();
            }
        }
        assert!(Instant::now() < end, "the fleet never came up: {body:.300}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
