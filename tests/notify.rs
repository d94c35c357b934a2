//! Notifications over real HTTP: Telegram's `sendMessage` and the JSON webhook, against a
//! recording server on loopback. Waits are shrunk (milliseconds) and timings are checked
//! only from below, so a busy machine makes these slower, not flaky.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/http_recorder.rs"]
mod http_recorder;

use http_recorder::{HttpRecorder, Reply};
use lifeboat::config::NotifierConfig;
use lifeboat::core::io::Severity;
use lifeboat::runtime::notify::pace::{Backoff, Rate};
use lifeboat::runtime::notify::queue::Delivery;
use lifeboat::runtime::notify::tally::Fate;
use lifeboat::runtime::notify::{from_config_with, Settings};
use lifeboat::runtime::transport::Notifier;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "123456789:AAF-secretToken_xyz";
const HOOK_TOKEN: &str = "hook-secret-42";
const WAIT: Duration = Duration::from_secs(10);

fn fast() -> Delivery {
    Delivery {
        capacity: 16,
        attempts: 3,
        backoff: Backoff {
            first: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        max_retry_after: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
        rate: Rate::UNLIMITED,
    }
}

fn settings(d: Delivery) -> Settings {
    Settings {
        telegram: d.clone(),
        webhook: d,
    }
}

fn env(var: &str) -> Option<String> {
    match var {
        "TG_TOKEN" => Some(TOKEN.into()),
        "HOOK_TOKEN" => Some(HOOK_TOKEN.into()),
        _ => None,
    }
}

fn telegram(server: &HttpRecorder) -> NotifierConfig {
    NotifierConfig::Telegram {
        bot_token_env: "TG_TOKEN".into(),
        chat_id: "-1001234567890".into(),
        api_url: Some(server.url()),
    }
}

fn webhook(server: &HttpRecorder, token: bool) -> NotifierConfig {
    NotifierConfig::Webhook {
        url: format!("{}/hooks/lifeboat", server.url()),
        token_env: token.then(|| "HOOK_TOKEN".into()),
    }
}

fn build(configs: &[NotifierConfig], d: Delivery) -> Arc<dyn Notifier> {
    from_config_with(configs, env, &settings(d)).unwrap()
}

#[tokio::test]
async fn telegram_sends_the_chat_and_text_with_the_token_only_in_the_path() {
    let server = HttpRecorder::start(vec![]).await;
    let n = build(&[telegram(&server)], fast());
    n.notify(Severity::Critical, "train failed over to pc2")
        .await
        .unwrap();
    let r = server.wait_for(1, WAIT).await;
    let req = &r[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/bot{TOKEN}/sendMessage"));
    assert!(req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let body = req.json();
    assert_eq!(body["chat_id"], "-1001234567890");
    assert_eq!(body["disable_web_page_preview"], true);
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("Lifeboat") && text.ends_with("train failed over to pc2"));
    assert!(text.starts_with("🚨"), "{text}");
    // The token is in the path and nowhere else.
    let rest = req.raw().replacen(&req.path, "", 1);
    assert!(
        !rest.contains(TOKEN) && !rest.contains("secretToken"),
        "{rest}"
    );
    assert!(req.header("authorization").is_none());
}

#[tokio::test]
async fn webhook_posts_json_with_a_bearer_token() {
    let server = HttpRecorder::start(vec![]).await;
    let n = build(&[webhook(&server, true)], fast());
    n.notify(Severity::Warning, "pc1 suspect: 2 probes missed")
        .await
        .unwrap();
    let r = server.wait_for(1, WAIT).await;
    assert_eq!(
        (r[0].method.as_str(), r[0].path.as_str()),
        ("POST", "/hooks/lifeboat")
    );
    assert_eq!(
        r[0].header("authorization"),
        Some(format!("Bearer {HOOK_TOKEN}").as_str())
    );
    let body = r[0].json();
    assert_eq!(body["source"], "lifeboat");
    assert_eq!(body["severity"], "warning");
    assert_eq!(body["message"], "pc1 suspect: 2 probes missed");
    let time = body["time"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");

    // Without token_env, no Authorization header.
    let bare = HttpRecorder::start(vec![]).await;
    let n = build(&[webhook(&bare, false)], fast());
    n.notify(Severity::Info, "hello").await.unwrap();
    let r = bare.wait_for(1, WAIT).await;
    assert!(r[0].header("authorization").is_none());
    assert_eq!(r[0].json()["severity"], "info");
}

#[tokio::test]
async fn a_server_error_is_retried_until_it_succeeds() {
    let server = HttpRecorder::start(vec![
        Reply::status(500, "oops"),
        Reply::status(503, "busy").header("Retry-After", "0"),
    ])
    .await;
    let n = build(&[webhook(&server, false)], fast());
    n.notify(Severity::Critical, "m").await.unwrap();
    let r = server.wait_for(3, WAIT).await;
    assert!(r.iter().all(|q| q.json()["message"] == "m"));
    // Backoff: the second attempt waited at least the first step.
    assert!(r[1].at - r[0].at >= Duration::from_millis(15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests().len(), 3, "delivered once, then no more");
}

#[tokio::test]
async fn telegram_429_retry_after_is_obeyed() {
    let limited = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#;
    let server = HttpRecorder::start(vec![Reply::status(429, limited)]).await;
    let n = build(&[telegram(&server)], fast());
    n.notify(Severity::Warning, "m").await.unwrap();
    let r = server.wait_for(2, WAIT).await;
    // The backoff alone would have waited 20 ms; Telegram asked for a second.
    let gap = r[1].at - r[0].at;
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
    assert_eq!(r[1].json()["text"], r[0].json()["text"]);
}

#[tokio::test]
async fn webhook_retry_after_header_is_obeyed() {
    let server = HttpRecorder::start(vec![
        Reply::status(429, "slow down").header("Retry-After", "1")
    ])
    .await;
    let n = build(&[webhook(&server, false)], fast());
    n.notify(Severity::Info, "m").await.unwrap();
    let r = server.wait_for(2, WAIT).await;
    let gap = r[1].at - r[0].at;
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
}

/// Captures what the `notify` target logs, on this thread (the tests run the
/// current-thread runtime, so the delivery task logs here too).
fn capture() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    struct W(Arc<Mutex<Vec<u8>>>);
    impl Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || W(b.clone()))
        .finish();
    (buf, tracing::subscriber::set_default(sub))
}

async fn wait_for_log(buf: &Mutex<Vec<u8>>, needle: &str) -> String {
    let end = Instant::now() + WAIT;
    loop {
        let log = String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        if log.contains(needle) {
            return log;
        }
        assert!(Instant::now() < end, "log never said {needle:?}:\n{log}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_refused_chat_is_not_retried_and_the_log_keeps_the_token_out() {
    let (log, _guard) = capture();
    let refusal = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
    let server = HttpRecorder::start(vec![Reply::status(400, refusal)]).await;
    let n = build(&[telegram(&server)], fast());
    n.notify(Severity::Critical, "m").await.unwrap();
    let text = wait_for_log(&log, "not retried").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
    assert!(
        text.contains("chat not found") && text.contains("-1001234567890"),
        "{text}"
    );
    assert!(text.contains("TG_TOKEN"), "{text}");
    assert!(!text.contains("secretToken"), "token in the log:\n{text}");
}

#[tokio::test]
async fn a_connection_failure_is_logged_without_the_token() {
    let (log, _guard) = capture();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = NotifierConfig::Telegram {
        bot_token_env: "TG_TOKEN".into(),
        chat_id: "-1".into(),
        api_url: Some(format!("http://127.0.0.1:{port}")),
    };
    let n = build(&[cfg], fast());
    n.notify(Severity::Critical, "m").await.unwrap();
    let text = wait_for_log(&log, "not delivered after 3 attempts").await;
    assert!(!text.contains("secretToken"), "token in the log:\n{text}");
    assert!(text.contains("telegram chat -1"), "{text}");
}

#[tokio::test]
async fn over_the_rate_limit_nothing_is_lost() {
    let server = HttpRecorder::start(vec![]).await;
    let d = Delivery {
        rate: Rate {
            burst: 1,
            per: Duration::from_secs(2),
        },
        ..fast()
    };
    let n = build(&[telegram(&server)], d);
    for i in 0..4 {
        n.notify(Severity::Info, &format!("event {i}"))
            .await
            .unwrap();
    }
    let r = server.wait_for(2, WAIT).await;
    let texts: Vec<String> = r
        .iter()
        .map(|q| q.json()["text"].as_str().unwrap().to_string())
        .collect();
    for i in 0..4 {
        assert!(
            texts.iter().any(|t| t.contains(&format!("event {i}"))),
            "event {i} lost: {texts:#?}"
        );
    }
    // Under the limit the first went at once; the rest waited for the next token.
    assert!(texts[0].ends_with("event 0"), "{texts:#?}");
    assert!(
        texts[1].contains("more notifications held back"),
        "{texts:#?}"
    );
    assert!(r[1].at - r[0].at >= Duration::from_millis(1500));
    // `/metrics` counts them so (other tests here share the process-wide tally).
    let tally = lifeboat::runtime::notify::tally::counts();
    let of = |fate: Fate| {
        tally
            .iter()
            .filter(|(d, f, _)| d.contains("telegram") && *f == fate)
            .map(|(_, _, n)| *n)
            .sum::<u64>()
    };
    assert!(of(Fate::HeldRateLimit) >= 3, "{tally:?}");
    assert!(of(Fate::Sent) >= 2, "{tally:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_blocks_neither_notify_nor_other_destinations() {
    let dead = HttpRecorder::start(vec![Reply::hang(); 10]).await;
    let alive = HttpRecorder::start(vec![]).await;
    let n = build(&[telegram(&dead), webhook(&alive, false)], fast());
    let started = Instant::now();
    for i in 0..5 {
        n.notify(Severity::Critical, &format!("m{i}"))
            .await
            .unwrap();
    }
    // Generous: enqueueing takes microseconds; a blocking send would take the 5 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let r = alive.wait_for(5, WAIT).await;
    assert_eq!(r[4].json()["message"], "m4");
    assert!(!dead.requests().is_empty());
}

#[tokio::test]
async fn a_full_queue_is_an_error_naming_the_destination() {
    let dead = HttpRecorder::start(vec![Reply::hang(); 10]).await;
    let n = build(
        &[telegram(&dead)],
        Delivery {
            capacity: 2,
            ..fast()
        },
    );
    let mut errors = Vec::new();
    for i in 0..6 {
        if let Err(e) = n.notify(Severity::Info, &format!("m{i}")).await {
            errors.push(e);
        }
    }
    assert!(!errors.is_empty(), "six messages cannot fit a queue of two");
    assert!(
        errors[0].contains("notify[0] (telegram chat -1001234567890)"),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| !e.contains("secretToken")));
}

#[tokio::test]
async fn a_missing_variable_stops_the_start_by_name() {
    let cfg = NotifierConfig::Webhook {
        url: "https://hooks.example.com/x".into(),
        token_env: Some("LIFEBOAT_HOOK_TOKEN".into()),
    };
    let Err(e) = from_config_with(&[cfg], env, &Settings::default()) else {
        panic!("a missing variable must stop the start");
    };
    let e = e.to_string();
    assert!(
        e.contains("LIFEBOAT_HOOK_TOKEN") && e.contains("notify[0]"),
        "{e}"
    );
}
