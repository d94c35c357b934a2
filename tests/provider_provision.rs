//! Provisioning on Vast.ai end to end against `FakeVast` (a fake of Vast's REST API on
//! loopback, not the real service) and a real loopback sshd: the search carries the
//! criteria and its answer is re-checked and sorted; a rented instance is waited for until
//! its SSH server answers; an offer that will not rent moves on to the next; an instance
//! that never runs is destroyed; destroy is idempotent; a wrong key names its variable; a
//! regional volume narrows the search to its region and is attached.

// Tests may unwrap, expect and panic: a failed assumption there is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/fake_vast.rs"]
mod fake_vast;
#[path = "support/sshd.rs"]
mod sshd;

use fake_vast::{FakeOffer, FakeVast};
use lifeboat::runtime::provider::provision::{
    destroy_failed, provision_with, Cleanup, ProvisionError, ProvisionOptions,
};
use lifeboat::runtime::provider::{
    Criteria, InstanceId, LaunchSpec, ProviderError, Provisioner, VastClient, VastOptions,
    VolumeAttach,
};
use serde_json::json;
use std::time::Duration;

const KEY: &str = "fake-vast-key-0123456789abcdef";
const KEY_ENV: &str = "LIFEBOAT_TEST_VAST_API_KEY";

fn client(fake: &FakeVast, key: &str) -> VastClient {
    let opts = VastOptions {
        base_url: fake.base_url(),
        timeout: Duration::from_secs(5),
        ..VastOptions::default()
    };
    let key = key.to_string();
    VastClient::with_key_from("vast", KEY_ENV, opts, |_| Some(key)).expect("client")
}

fn fast() -> ProvisionOptions {
    ProvisionOptions {
        max_attempts: 3,
        poll_every: Duration::from_millis(40),
        connect_timeout: Duration::from_secs(2),
        destroy_attempts: 2,
    }
}

fn criteria() -> Criteria {
    Criteria {
        gpu_name: Some("RTX_4090".into()),
        num_gpus: Some(1),
        max_price: Some(1.0),
        min_ram_gb: Some(32.0),
        min_disk_gb: Some(64.0),
        regions: vec![],
        min_reliability: Some(0.95),
        allocated_disk_gb: Some(64),
        limit: 16,
    }
}

fn launch() -> LaunchSpec {
    LaunchSpec {
        image: "pytorch/pytorch:latest".into(),
        disk_gb: 64,
        label: "lifeboat-train".into(),
        volume: None,
    }
}

#[tokio::test]
async fn search_sends_the_criteria_and_keeps_only_offers_that_meet_them() {
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![
        FakeOffer::new(1, "RTX 4090", 0.80),
        FakeOffer::new(2, "RTX 4090", 0.35).region("Stockholm, SE"),
        FakeOffer::new(3, "RTX 4090", 1.70), // over budget
        FakeOffer::new(4, "RTX 3090", 0.20), // wrong GPU
        FakeOffer::new(5, "RTX 4090", 0.50).ram_gb(16), // too little RAM
        FakeOffer::new(6, "RTX 4090", 0.60).gpus(2), // wrong count
        FakeOffer::new(7, "RTX 4090", 0.45).reliability(0.80),
    ]);
    let c = client(&fake, KEY);
    let got = c.offers(&criteria()).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["2", "1"], "cheapest first: {got:?}");
    assert_eq!(got[0].region.as_deref(), Some("Stockholm, SE"));
    assert_eq!(got[0].ram_gb, Some(64.0));

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].target, "/api/v0/bundles/");
    let q = &calls[0].body;
    assert_eq!(q["gpu_name"], json!({"eq": "RTX 4090"}));
    assert_eq!(q["num_gpus"], json!({"eq": 1}));
    assert_eq!(q["dph_total"], json!({"lte": 1.0}));
    assert_eq!(q["cpu_ram"], json!({"gte": 32768.0}));
    assert_eq!(q["disk_space"], json!({"gte": 64.0}));
    assert_eq!(q["reliability"], json!({"gte": 0.95}));
    assert_eq!(q["rentable"], json!({"eq": true}));
    assert_eq!(q["order"], json!([["dph_total", "asc"]]));

    // An API that ignores the filters still cannot sell us an offer over budget.
    fake.ignore_filters(true);
    let got = c.offers(&criteria()).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["2", "1"], "{got:?}");

    let regional = Criteria {
        regions: vec!["SE".into()],
        ..criteria()
    };
    fake.ignore_filters(false);
    let got = c.offers(&regional).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, "2");
    assert_eq!(fake.calls()[2].body["geolocation"], json!({"in": ["SE"]}));
}

#[tokio::test]
async fn provision_rents_the_cheapest_and_waits_for_a_real_sshd() {
    let host = sshd::Sshd::start("rented");
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![
        FakeOffer::new(11, "RTX 4090", 0.60),
        FakeOffer::new(12, "RTX 4090", 0.40),
    ]);
    fake.set_ssh(&host.address, host.port);
    fake.ready_after(3);
    let c = client(&fake, KEY);
    let got = provision_with(&c, &criteria(), &launch(), Duration::from_secs(20), &fast())
        .await
        .unwrap();
    assert_eq!(got.offer.id, "12", "the cheaper offer");
    assert_eq!((got.address.as_str(), got.port), ("127.0.0.1", host.port));
    assert_eq!(got.instance.status, "running");
    assert_eq!(fake.rented(), [7001]);

    let lines = fake.call_lines();
    assert_eq!(lines[0], "POST /api/v0/bundles/");
    assert_eq!(lines[1], "PUT /api/v0/asks/12/");
    let shows = lines
        .iter()
        .filter(|l| *l == "GET /api/v0/instances/7001/")
        .count();
    assert_eq!(shows, 4, "three loading answers, then running: {lines:?}");
    let rent = &fake.calls()[1].body;
    assert_eq!(rent["client_id"], "me");
    assert_eq!(rent["image"], "pytorch/pytorch:latest");
    assert_eq!(rent["disk"], 64);
    assert_eq!(rent["runtype"], "ssh");
    let label = rent["label"].as_str().unwrap();
    assert!(label.starts_with("lifeboat-train-0-"), "{label}");
    assert!(
        fake.calls().iter().all(|c| !c.target.contains(KEY)),
        "the key travels in a header only"
    );
    // The trait's own wait answers at once for an instance already up.
    let again = c
        .wait_ssh(&got.instance.id, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.ssh_endpoint(), Some(("127.0.0.1", host.port)));
}

#[tokio::test]
async fn an_offer_that_is_gone_moves_on_to_the_next() {
    let host = sshd::Sshd::start("second");
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![
        FakeOffer::new(21, "RTX 4090", 0.30),
        FakeOffer::new(22, "RTX 4090", 0.50),
    ]);
    fake.offer_gone(21);
    fake.set_ssh(&host.address, host.port);
    fake.ready_after(0);
    let c = client(&fake, KEY);
    let got = provision_with(&c, &criteria(), &launch(), Duration::from_secs(20), &fast())
        .await
        .unwrap();
    assert_eq!(got.offer.id, "22");
    let lines = fake.call_lines();
    assert_eq!(lines[1], "PUT /api/v0/asks/21/");
    assert_eq!(lines[2], "PUT /api/v0/asks/22/");
    let labels: Vec<String> = fake.calls()[1..3]
        .iter()
        .map(|c| c.body["label"].as_str().unwrap().to_string())
        .collect();
    assert_ne!(labels[0], labels[1], "each rent has its own label");

    // Every offer gone: a clear error, nothing rented.
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![FakeOffer::new(31, "RTX 4090", 0.30)]);
    fake.offer_gone(31);
    let err = provision_with(
        &client(&fake, KEY),
        &criteria(),
        &launch(),
        Duration::from_secs(5),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ProvisionError::AllOffersFailed { tried: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no longer available"), "{err}");
    assert!(fake.rented().is_empty());

    // No offer at all.
    fake.set_offers(vec![FakeOffer::new(32, "RTX 4090", 9.0)]);
    let err = provision_with(
        &client(&fake, KEY),
        &criteria(),
        &launch(),
        Duration::from_secs(5),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProvisionError::NoOffers { .. }), "{err:?}");
    assert!(err.to_string().contains("≤ $1.00/h"), "{err}");
}

#[tokio::test]
async fn an_instance_that_never_runs_times_out_and_is_destroyed() {
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![FakeOffer::new(41, "RTX 4090", 0.30)]);
    fake.never_running(true);
    let c = client(&fake, KEY);
    let started = std::time::Instant::now();
    let err = provision_with(
        &c,
        &criteria(),
        &launch(),
        Duration::from_millis(600),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &err {
        ProvisionError::NotReady {
            instance,
            source,
            cleanup: Cleanup::Destroyed,
        } => {
            assert_eq!(instance.as_str(), "7001");
            match &**source {
                ProviderError::NotReady { last, .. } => {
                    assert!(last.contains("loading"), "{last}")
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("it was destroyed"), "{err}");
    assert!(
        fake.call_lines()
            .contains(&"DELETE /api/v0/instances/7001/".to_string()),
        "{:?}",
        fake.call_lines()
    );
    assert!(!fake.has_instance(7001), "nothing left billing");
}

#[tokio::test]
async fn a_running_instance_whose_port_is_not_sshd_is_not_ready() {
    // Something listens, but it is not an SSH server (a proxy before the container is up).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        }
    });
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![FakeOffer::new(51, "RTX 4090", 0.30)]);
    fake.set_ssh("127.0.0.1", port);
    fake.ready_after(0);
    let err = provision_with(
        &client(&fake, KEY),
        &criteria(),
        &launch(),
        Duration::from_millis(500),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not with an SSH banner"), "{err}");
    assert!(fake.rented().is_empty(), "destroyed");
}

#[tokio::test]
async fn destroy_is_idempotent_and_stop_keeps_the_instance() {
    let fake = FakeVast::start(KEY).await;
    fake.set(900, Some("running"), "running");
    let c = client(&fake, KEY);
    let id = InstanceId::new("900");
    c.stop(&id).await.unwrap();
    assert_eq!(fake.intended(900).as_deref(), Some("stopped"));
    assert_eq!(
        fake.calls().last().unwrap().body,
        json!({"state": "stopped"})
    );
    let info = c.instance(&id).await.unwrap();
    assert_eq!(info.status, "exited");

    c.destroy(&id).await.unwrap();
    assert!(!fake.has_instance(900));
    c.destroy(&id).await.unwrap(); // already gone: still Ok
    destroy_failed(&c, &id).await.unwrap();
    let err = c.instance(&id).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::NoSuchInstance { .. }),
        "{err:?}"
    );
    let err = c.stop(&id).await.unwrap_err();
    assert!(err.to_string().contains("no instance 900"), "{err}");
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_naming_the_variable() {
    let fake = FakeVast::start(KEY).await;
    fake.set_offers(vec![FakeOffer::new(61, "RTX 4090", 0.30)]);
    let wrong = "wrong-key-that-must-not-leak-42";
    let c = client(&fake, wrong);
    let err = provision_with(&c, &criteria(), &launch(), Duration::from_secs(2), &fast())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProvisionError::Provider(ProviderError::Auth { status: 401, .. })
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(KEY_ENV), "{text}");
    assert!(!text.contains(wrong) && !format!("{err:?}").contains(wrong));
    let err = c.destroy(&InstanceId::new("1")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");
    assert!(fake.rented().is_empty());
}

#[tokio::test]
async fn a_regional_volume_narrows_the_search_and_is_attached() {
    let host = sshd::Sshd::start("regional");
    let fake = FakeVast::start(KEY).await;
    fake.add_volume(5151, "ckpt-eu", "Stockholm, SE");
    fake.add_volume(5152, "other", "Texas, US");
    fake.set_offers(vec![
        FakeOffer::new(71, "RTX 4090", 0.20).region("Texas, US"),
        FakeOffer::new(72, "RTX 4090", 0.45).region("Stockholm, SE"),
        FakeOffer::new(73, "RTX 4090", 0.40).region("Oslo, NO"),
    ]);
    fake.set_ssh(&host.address, host.port);
    fake.ready_after(1);
    let c = client(&fake, KEY);
    let vols = c.volumes().await.unwrap();
    assert_eq!(vols.len(), 2);
    assert_eq!(vols[0].name.as_deref(), Some("ckpt-eu"));
    assert_eq!(vols[0].region.as_deref(), Some("Stockholm, SE"));

    let with_volume = LaunchSpec {
        volume: Some(VolumeAttach {
            volume: "ckpt-eu".into(),
            mount_path: "/data".into(),
        }),
        ..launch()
    };
    let got = provision_with(
        &c,
        &criteria(),
        &with_volume,
        Duration::from_secs(20),
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(
        got.offer.id, "72",
        "only the volume's region, though others are cheaper"
    );
    assert_eq!(got.volume.as_ref().map(|v| v.id.as_str()), Some("5151"));
    let calls = fake.calls();
    let lines = fake.call_lines();
    assert_eq!(lines[1], "GET /api/v0/volumes");
    assert_eq!(lines[2], "POST /api/v0/bundles/");
    assert_eq!(calls[2].body["geolocation"], json!({"in": ["SE"]}));
    assert_eq!(lines[3], "PUT /api/v0/asks/72/");
    assert_eq!(
        calls[3].body["volume_info"],
        json!({"create_new": false, "volume_id": 5151, "mount_path": "/data"})
    );

    // A volume the account does not have, or one outside the allowed regions.
    let missing = LaunchSpec {
        volume: Some(VolumeAttach {
            volume: "nope".into(),
            mount_path: "/data".into(),
        }),
        ..launch()
    };
    let err = provision_with(&c, &criteria(), &missing, Duration::from_secs(2), &fast())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::VolumeNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"ckpt-eu\" (5151)"), "{err}");
    let elsewhere = Criteria {
        regions: vec!["NO".into()],
        ..criteria()
    };
    let err = provision_with(
        &c,
        &elsewhere,
        &with_volume,
        Duration::from_secs(2),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("outside regions = [NO]"), "{err}");
    assert_eq!(fake.rented().len(), 1, "no further rent");
}

#[tokio::test]
async fn a_rent_whose_answer_is_lost_is_found_by_label_and_destroyed() {
    let fake = FakeVast::start(KEY).await;
    fake.set(500, Some("running"), "running"); // someone else's: must survive
    fake.set_offers(vec![
        FakeOffer::new(81, "RTX 4090", 0.30),
        FakeOffer::new(82, "RTX 4090", 0.40),
    ]);
    fake.lose_rent_answers(true);
    let opts = VastOptions {
        base_url: fake.base_url(),
        timeout: Duration::from_millis(500),
        ..VastOptions::default()
    };
    let c = VastClient::with_key_from("vast", KEY_ENV, opts, |_| Some(KEY.into())).unwrap();
    let err = provision_with(&c, &criteria(), &launch(), Duration::from_secs(5), &fast())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ProvisionError::CreateUnknown { source, .. } if matches!(**source, ProviderError::Timeout { .. })
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("instance 7001 labelled \"lifeboat-train-0-"),
        "{text}"
    );
    assert!(text.contains("it was destroyed"), "{text}");
    assert!(fake.rented().is_empty(), "the lost rent was given back");
    assert!(fake.has_instance(500));
    let lines = fake.call_lines();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("PUT /api/v0/asks/"))
            .count(),
        1,
        "no second rent while the first is unknown: {lines:?}"
    );
}
