//! Seed 001's regional volumes through the HTTP API, called with `curl`, against a daemon
//! on loopback sshd hosts whose `[[provider]]` is `FakeVast` (a local fake of Vast.ai's
//! REST API — a GPU cloud cannot exist here). List, get, create on the cheapest disk that
//! fits, delete (admin; refused while an instance uses the volume), search machines in a
//! region, and a failover by the job's regional-volume strategy alone: a machine rented
//! next to the volume (a fresh loopback sshd), the volume attached, the job resumed there.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/curl.rs"]
mod curl;
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/failover_bed.rs"]
mod failover_bed;
#[path = "support/fake_vast.rs"]
mod fake_vast;
#[path = "support/sshd.rs"]
mod sshd;

use curl::{api_base, curl, error_of, Reply};
use daemon::Daemon;
use fake_vast::{FakeOffer, FakeVast};
use serde_json::Value;
use std::time::{Duration, Instant};

const KEY: &str = "fake-vast-key-api-0123456789";
const KEY_ENV: &str = "LIFEBOAT_API_VAST_KEY";
const VIEWER: &str = "viewer-token-0123456789abcdefgh";
const OPERATOR: &str = "operator-token-0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdefghi";

#[test]
fn volumes_are_listed_created_deleted_when_free_and_a_job_fails_over_onto_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeVast::start(KEY));
    fake.add_volume(77, "ckpt", "Oslo, NO");
    let bed = failover_bed::start_full(
        "api-vol",
        &["warm-standby", "regional-volume", "escalate"],
        &["h2:0"],
        "provision = { provider = \"vast\", gpu_name = \"RTX_4090\", max_price = 1.0, image = \"pytorch/pytorch\", volume = \"ckpt\" }",
    );
    let config = std::fs::read_to_string(&bed.config).unwrap()
        + &format!(
            "\n[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key_env = \"{KEY_ENV}\"\napi_url = \"{}\"\npoll_every = \"1s\"\n",
            fake.base_url()
        )
        + "\n[api]\nlisten = \"127.0.0.1:0\"\n\
           [[api.token]]\nname = \"grafana\"\nrole = \"viewer\"\nenv = \"LIFEBOAT_TEST_VIEW\"\n\
           [[api.token]]\nname = \"ci\"\nrole = \"operator\"\nenv = \"LIFEBOAT_TEST_OP\"\n\
           [[api.token]]\nname = \"platform\"\nrole = \"admin\"\nenv = \"LIFEBOAT_TEST_ADMIN\"\n";
    std::fs::write(&bed.config, config).unwrap();
    // The machine the fake rents out.
    let h4 = bed.rented_machine("api-vol-h4");
    fake.set_offers(vec![
        FakeOffer::new(501, "RTX 4090", 0.5),
        FakeOffer::new(601, "RTX 4090", 0.3).region("Frankfurt, DE"),
    ]);
    fake.set_ssh("127.0.0.1", h4.sshd.port);
    fake.ready_after(1);

    let daemon = Daemon::start_env(
        &["--config", bed.config.to_str().unwrap()],
        &bed.state,
        &[
            (KEY_ENV, KEY),
            ("LIFEBOAT_TEST_VIEW", VIEWER),
            ("LIFEBOAT_TEST_OP", OPERATOR),
            ("LIFEBOAT_TEST_ADMIN", ADMIN),
        ],
    );
    let base = api_base(&daemon);
    let call = |token: &str, method: &str, path: &str, body: Option<&str>| -> Reply {
        let auth = format!("Authorization: Bearer {token}");
        let url = format!("{base}{path}");
        let mut a = vec!["-X", method, "-H", auth.as_str()];
        if let Some(b) = body {
            a.extend_from_slice(&["-H", "Content-Type: application/json", "-d", b]);
        }
        a.push(&url);
        curl(&a)
    };
    let get = |path: &str| call(VIEWER, "GET", path, None);

    // List and get.
    let r = get("/failover/regional-volume/list");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["volumes"][0]["volume_id"], "77");
    assert_eq!(v["volumes"][0]["name"], "ckpt");
    assert_eq!(v["volumes"][0]["status"], "available");
    assert_eq!(
        get("/failover/regional-volume/77").json()["region"],
        "Oslo, NO"
    );
    let r = get("/failover/regional-volume/999");
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(error_of(&r)["field"], "volume_id");

    // Search machines in a region (seed 001's answer: found, the cheapest offer).
    let v = get("/failover/regional-volume/search/no?max_price=1&gpu_name=RTX_4090").json();
    assert_eq!(v["found"], true, "{v}");
    assert_eq!(v["offer"]["offer_id"], "501", "{v}");
    assert_eq!(v["offers"].as_array().unwrap().len(), 1, "only Oslo's: {v}");
    assert_eq!(
        get("/failover/regional-volume/search/US").json()["found"],
        false
    );
    let r = get("/failover/regional-volume/search/USA");
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(error_of(&r)["field"], "region");

    // Create: operators may; on the cheapest disk in the region with room for it (the
    // cheaper 80 GB offer is too small for 100 GB).
    let body = r#"{"region": "NO", "size_gb": 100, "name": "scratch"}"#;
    let r = call(
        VIEWER,
        "POST",
        "/failover/regional-volume/create",
        Some(body),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(
        OPERATOR,
        "POST",
        "/failover/regional-volume/create",
        Some(body),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert_eq!(created["success"], true, "{created}");
    let id = created["volume_id"].as_str().unwrap().to_string();
    assert!(
        r.headers
            .contains(&format!("location: /failover/regional-volume/{id}")),
        "{}",
        r.headers
    );
    assert_eq!(created["size_gb"], 100.0);
    assert_eq!(
        fake.volume_created_on(&id),
        Some(9101),
        "the cheapest offer that fits"
    );
    let r = call(
        OPERATOR,
        "POST",
        "/failover/regional-volume/create",
        Some(r#"{"region": "NO", "size_gb": 100000}"#),
    );
    assert_eq!(r.status, 422, "{}", r.body);

    // Delete: admin only; a free volume goes.
    let path = format!("/failover/regional-volume/{id}");
    let r = call(OPERATOR, "DELETE", &path, None);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(ADMIN, "DELETE", &path, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(&path).status, 404);

    // A failover by the regional-volume strategy alone: the warm standby h2 comes first
    // in the chain and is fit, yet the job goes to a machine rented next to volume 77.
    let job = bed.job.clone();
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let jobs = get("/jobs").json();
        if !jobs["jobs"][0]["newest_verified"].is_null() {
            break;
        }
        assert!(Instant::now() < end, "no checkpoint verified: {jobs}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let wrong = format!(r#"{{"job": "{job}", "volume_id": "5"}}"#);
    let r = call(
        OPERATOR,
        "POST",
        "/failover/regional-volume/failover",
        Some(&wrong),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(error_of(&r)["field"], "volume_id");
    let body = format!(r#"{{"job": "{job}", "volume_id": "77", "reason": "api test"}}"#);
    let r = call(
        OPERATOR,
        "POST",
        "/failover/regional-volume/failover?wait=true&timeout=150",
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    eprintln!("a regional-volume failover through the API answered: {v}");
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["strategy_succeeded"], "regional-volume", "{v}");
    assert_eq!(v["strategy_attempted"], "regional-volume", "{v}");
    assert!(v["new_host"].as_str().unwrap().starts_with("vast-"), "{v}");
    assert_eq!(v["volume_id"], "77");
    assert_eq!(v["region"], "Oslo, NO");
    assert!(v["failover_time_seconds"].as_f64().unwrap() > 0.0, "{v}");
    // The rented instance has the volume, so it cannot be deleted now.
    let rented = fake.rented();
    assert_eq!(rented.len(), 1, "{rented:?}");
    let vol = get("/failover/regional-volume/77").json();
    assert_eq!(vol["status"], "attached", "{vol}");
    assert_eq!(vol["attached_to"][0], rented[0].to_string(), "{vol}");
    let r = call(ADMIN, "DELETE", "/failover/regional-volume/77", None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        error_of(&r)["message"]
            .as_str()
            .unwrap()
            .contains(&format!("attached to instance {}", rented[0])),
        "{}",
        r.body
    );
    // The job goes on there, and nowhere else.
    let hb = h4.sshd.path("host").join("work").join("heartbeat");
    failover_bed::eventually(30, "the job's steps go on on the rented machine", || {
        std::fs::read_to_string(&hb)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .is_some_and(|s| s > 0)
    });
    assert!(bed.all_alive().is_empty(), "{:?}", bed.all_alive());

    // Every change is journaled under its token's name; questions are not.
    let accepted = daemon::events(&bed.state, "command_accepted");
    let said = |who: &str, what: &str| {
        accepted.iter().any(|e| {
            e["operator"] == who && e["command"].as_str().is_some_and(|c| c.contains(what))
        })
    };
    assert!(said("ci", "create volume scratch"), "{accepted:#?}");
    assert!(
        said("platform", &format!("delete volume {id}")),
        "{accepted:#?}"
    );
    assert!(said("ci", "by regional-volume"), "{accepted:#?}");
    assert!(!said("grafana", "list volumes"), "{accepted:#?}");
    let rejected: Vec<Value> = daemon::events(&bed.state, "command_rejected");
    assert!(
        rejected
            .iter()
            .any(|e| e["operator"] == "platform" && e["command"] == "delete volume 77"),
        "{rejected:#?}"
    );
    assert!(daemon.stop().success());
    drop(rt);
}
