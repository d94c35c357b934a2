//! The `provision` strategy end to end: a job on a rented machine dies, Lifeboat rents a new
//! one through the provider's API (`FakeVast`, a local fake of Vast.ai's REST API — the
//! only fake here), waits until its SSH server answers (a real loopback sshd), restores the
//! newest verified checkpoint there, relaunches and verifies the job, and destroys the
//! failed instance.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/failover_bed.rs"]
mod failover_bed;

use failover_bed::eventually;

#[path = "support/fake_vast.rs"]
mod fake_vast;

use fake_vast::{FakeOffer, FakeVast};

const KEY: &str = "fake-vast-key-e2e-0123456789";
const KEY_ENV: &str = "LIFEBOAT_E2E_VAST_KEY";

#[test]
fn a_job_whose_rented_host_failed_moves_to_a_newly_rented_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeVast::start(KEY));
    let bed = failover_bed::start_full(
        "fo-rent",
        &["provision", "escalate"],
        &["h2:0"],
        "provision = { provider = \"vast\", gpu_name = \"RTX_4090\", max_price = 1.0, image = \"pytorch/pytorch\" }",
    );
    // h1 is a rented instance (6001); the provider is the fake.
    let config = std::fs::read_to_string(&bed.config).unwrap();
    let config = config.replacen(
        "name = \"h1\"\n",
        "name = \"h1\"\nprovider = \"vast\"\ninstance = \"6001\"\n",
        1,
    ) + &format!(
        "\n[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key_env = \"{KEY_ENV}\"\napi_url = \"{}\"\npoll_every = \"1s\"\n",
        fake.base_url()
    );
    std::fs::write(&bed.config, config).unwrap();
    fake.set(6001, Some("running"), "running");
    // The machine the fake will rent out.
    let h4 = bed.rented_machine("fo-rent-h4");
    fake.set_offers(vec![FakeOffer::new(501, "RTX 4090", 0.5)]);
    fake.set_ssh("127.0.0.1", h4.sshd.port);
    fake.ready_after(1);

    let mut c = {
        // The key is read from the environment variable the config names.
        std::env::set_var(KEY_ENV, KEY);
        bed.console("150s")
    };
    c.wait(40, |v| {
        v["kind"] == "recovery_state" && v["to"] == "RESOLVED"
    });
    let job = bed.job.clone();
    let ck = c.seen_or_wait(60, |v| {
        v["kind"] == "checkpoint_recorded" && v["job"] == job
    });
    let floor = ck["step"].as_u64().unwrap();
    bed.signal_runs(1, "KILL");
    let done = c.wait(90, |v| v["kind"] == "failover_finished");
    assert_eq!(done["ok"], true, "{done}\n{:#?}", c.seen);
    let host = done["target"]["host"].as_str().unwrap().to_string();
    assert!(host.starts_with("vast-"), "{done}");
    let provision = c
        .seen
        .iter()
        .find(|v| v["kind"] == "failover_step" && v["step"] == "provision")
        .cloned()
        .unwrap();
    assert_eq!(provision["ok"], true, "{provision}");
    // The job resumed on the rented machine from the newest verified checkpoint.
    let epoch = done["epoch"].as_u64().unwrap();
    let log = || std::fs::read_to_string(h4.runs.join(&bed.job).join(format!("e{epoch}.log")));
    let text = log().unwrap();
    let from: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("toy job: resuming after step "))
        .unwrap_or_else(|| panic!("{text:?}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        from >= floor && from > 0,
        "resumed after {from}, want ≥ {floor}"
    );
    let hb = h4.sshd.path("host").join("work").join("heartbeat");
    eventually(20, "the step counter goes on on the rented machine", || {
        std::fs::read_to_string(&hb)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .is_some_and(|s| s > from)
    });
    assert!(bed.alive(1).is_empty(), "the old copy still runs");
    // The failed instance is destroyed; the new one was rented from offer 501.
    eventually(20, "the failed instance destroyed", || {
        !fake.has_instance(6001)
    });
    let calls = fake.call_lines().join("\n");
    assert!(calls.contains("/asks/501/"), "{calls}");
    assert!(calls.contains("DELETE /api/v0/instances/6001/"), "{calls}");
}
