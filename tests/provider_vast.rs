//! The Vast.ai provider channel end to end against `FakeVast` (a fake of Vast's instance
//! listing on loopback, not the real service): the client lists and pages, refuses a wrong
//! key without echoing it, reports garbage, errors and silence clearly; the poller turns
//! instance states into provider evidence for the right host and says nothing when the API
//! goes away.

// Tests may unwrap, expect and panic: a failed assumption there is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/fake_vast.rs"]
mod fake_vast;

use fake_vast::FakeVast;
use lifeboat::core::fleet::{Fleet, HostSpec, ProviderRef, Role};
use lifeboat::core::ids::HostId;
use lifeboat::core::io::{Channel, ChannelStatus, Input};
use lifeboat::runtime::provider::{poller, Provider, ProviderError, VastClient, VastOptions};
use lifeboat::runtime::supervisor::Feed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const KEY: &str = "fake-vast-key-0123456789abcdef";
const KEY_ENV: &str = "LIFEBOAT_TEST_VAST_API_KEY";

fn client(fake: &FakeVast, key: &str, timeout: Duration) -> VastClient {
    let opts = VastOptions {
        base_url: fake.base_url(),
        timeout,
        ..VastOptions::default()
    };
    let key = key.to_string();
    VastClient::with_key_from("vast", KEY_ENV, opts, |var| {
        assert_eq!(var, KEY_ENV, "the key is read from the configured variable");
        Some(key)
    })
    .expect("client")
}

#[tokio::test]
async fn client_lists_instances_across_pages() {
    let fake = FakeVast::start(KEY).await;
    fake.set(101, Some("running"), "running");
    fake.set(102, Some("exited"), "running");
    fake.set(103, None, "running");
    fake.set(104, Some("running"), "stopped");
    fake.set(105, Some("unknown"), "running");
    fake.set_page_size(2);
    let c = client(&fake, KEY, Duration::from_secs(5));
    let got = c.instances().await.expect("listing");
    let ids: Vec<&str> = got.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["101", "102", "103", "104", "105"]);
    assert_eq!(
        (got[1].actual.as_str(), got[1].intended.as_str()),
        ("exited", "running")
    );
    assert_eq!(got[2].actual, "", "null actual_status reads as empty");
    assert_eq!(got[3].intended, "stopped");
    assert!(got[1]
        .message
        .as_deref()
        .unwrap()
        .contains("exited with code 137"));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert_eq!(reqs[0], "/api/v1/instances/?limit=25");
    assert_eq!(
        reqs[1],
        "/api/v1/instances/?limit=25&after_token=cursor-102"
    );
    assert!(
        reqs.iter().all(|r| !r.contains(KEY)),
        "the key travels in a header only"
    );
}

#[tokio::test]
async fn client_reads_the_one_piece_v0_listing_too() {
    let fake = FakeVast::start(KEY).await;
    for id in 1..=30 {
        fake.set(id, Some("running"), "running");
    }
    let opts = VastOptions {
        base_url: fake.base_url(),
        list_path: "/api/v0/instances/".into(),
        ..VastOptions::default()
    };
    let c = VastClient::with_key_from("vast", KEY_ENV, opts, |_| Some(KEY.into())).unwrap();
    assert_eq!(c.instances().await.unwrap().len(), 30);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn wrong_key_is_an_auth_error_naming_the_variable_not_the_key() {
    let fake = FakeVast::start(KEY).await;
    fake.set(101, Some("running"), "running");
    let wrong = "wrong-key-that-must-not-leak-42";
    let err = client(&fake, wrong, Duration::from_secs(5))
        .instances()
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Auth { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(KEY_ENV), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert!(!format!("{err:?}").contains(wrong));
}

#[tokio::test]
async fn missing_key_variable_is_named_at_construction() {
    let var = "LIFEBOAT_TEST_VAST_KEY_THAT_IS_NEVER_SET";
    let err = VastClient::from_env("vast", var, VastOptions::default()).unwrap_err();
    assert!(matches!(err, ProviderError::KeyMissing { .. }), "{err:?}");
    assert!(err.to_string().contains(var), "{err}");
}

#[tokio::test]
async fn garbage_json_http_errors_and_silence_are_clear_errors() {
    let fake = FakeVast::start(KEY).await;
    let c = client(&fake, KEY, Duration::from_millis(400));

    fake.serve_garbage(Some("<html><h1>502 Bad Gateway</h1></html>"));
    let err = c.instances().await.unwrap_err();
    assert!(matches!(err, ProviderError::Malformed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("malformed JSON"), "{text}");
    assert!(
        text.contains("502 Bad Gateway"),
        "an excerpt of the body: {text}"
    );

    fake.serve_garbage(Some(r#"{"instances": [{"id": 7, "actual_status": "#));
    let err = c.instances().await.unwrap_err();
    assert!(matches!(err, ProviderError::Malformed { .. }), "{err:?}");

    fake.serve_garbage(None);
    fake.serve_status(Some(503));
    let err = c.instances().await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Http { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 503"), "{err}");

    fake.serve_status(None);
    fake.hang(true);
    let started = std::time::Instant::now();
    let err = c.instances().await.unwrap_err();
    assert!(matches!(err, ProviderError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn stopped_server_is_unreachable() {
    let fake = FakeVast::start(KEY).await;
    let c = client(&fake, KEY, Duration::from_secs(2));
    fake.stop().await;
    let err = c.instances().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unreachable { .. }), "{err:?}");
}

fn host(id: &str, instance: &str) -> HostSpec {
    HostSpec {
        id: HostId::new(id),
        address: "127.0.0.1".into(),
        port: 22,
        user: None,
        role: Role::Primary,
        gpus: 1,
        ssh_key: None,
        ssh: Default::default(),
        provider: Some(ProviderRef {
            provider: "vast".into(),
            instance: instance.into(),
        }),
        access: Default::default(),
    }
}

/// The next provider evidence on the feed, within a few seconds.
async fn next(rx: &mut mpsc::Receiver<Feed>) -> (String, ChannelStatus) {
    let feed = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("evidence within 5 s")
        .expect("feed open");
    match feed {
        Feed::Input(Input::ChannelReported {
            host,
            channel: Channel::Provider,
            status,
        }) => (host.0, status),
        other => panic!("unexpected feed item {other:?}"),
    }
}

#[tokio::test]
async fn poller_turns_instance_states_into_evidence_for_the_right_host() {
    let fake = FakeVast::start(KEY).await;
    fake.set(101, Some("running"), "running");
    fake.set(102, Some("running"), "running");
    fake.set(999, Some("exited"), "running"); // not in the fleet: never reported
    let fleet = Fleet {
        hosts: vec![host("gpu-a", "101"), host("gpu-b", "102")],
        jobs: vec![],
    };
    let provider: Arc<dyn Provider> = Arc::new(client(&fake, KEY, Duration::from_secs(2)));
    let (tx, mut rx) = mpsc::channel(64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let every = Duration::from_millis(50);
    let task = poller::spawn(vec![provider], fleet, tx, every, stop_rx);

    let mut first = vec![next(&mut rx).await, next(&mut rx).await];
    first.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        first,
        vec![
            ("gpu-a".into(), ChannelStatus::Up),
            ("gpu-b".into(), ChannelStatus::Up)
        ]
    );

    fake.set(101, Some("exited"), "running");
    let (h, s) = next(&mut rx).await;
    assert_eq!(h, "gpu-a");
    assert!(
        matches!(s, ChannelStatus::Down(_)),
        "first exited poll is soft: {s:?}"
    );
    let (h, s) = next(&mut rx).await;
    assert_eq!(h, "gpu-a");
    match s {
        ChannelStatus::Gone(why) => {
            assert!(
                why.contains("instance 101 exited (intended running) twice in a row"),
                "{why}"
            )
        }
        other => panic!("second exited poll is hard: {other:?}"),
    }

    fake.set(101, Some("unknown"), "running");
    let (h, s) = next(&mut rx).await;
    assert_eq!(h, "gpu-a");
    assert!(
        matches!(s, ChannelStatus::Down(ref w) if w.contains("'unknown'")),
        "{s:?}"
    );

    fake.set(101, Some("running"), "running");
    assert_eq!(next(&mut rx).await, ("gpu-a".into(), ChannelStatus::Up));

    // The API goes away: polls fail, and no host hears about it.
    let polls_before = fake.requests().len();
    assert!(polls_before >= 5, "{polls_before}");
    fake.stop().await;
    let quiet = tokio::time::timeout(Duration::from_millis(1500), rx.recv()).await;
    assert!(
        quiet.is_err(),
        "no evidence while the API is down: {quiet:?}"
    );

    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("poller stops on shutdown")
        .unwrap();
}
