//! The HTTP API, called by a real client: `curl` against `lifeboat daemon --demo --api
//! 127.0.0.1:0 --api-token-env …` (the simulated demo fleet: no GPU here), with seed 001's
//! request examples. Tokens and roles, the one error shape, readiness and status, the
//! strategies with their measured times, metrics, and failovers: 202 with a Location, 409
//! while one runs, one failover per idempotency key. And against a daemon on three
//! loopback sshd hosts configured with `[api]`: a viewer token is refused a failover, an
//! operator's `wait=true` failover moves the real job and answers in seed 001's shape.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/failover_bed.rs"]
mod failover_bed;
#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/curl.rs"]
mod curl;

use curl::{api_base, curl, error_of, try_curl, Reply};
use daemon::Daemon;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "api-test-token-0123456789abcdef";
const ENV: &str = "LIFEBOAT_TEST_API_TOKEN";

struct Api {
    daemon: Daemon,
    base: String,
    _dir: tempfile::TempDir,
}

impl Api {
    fn start() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let daemon = Daemon::start_env(
            &["--demo", "--api", "127.0.0.1:0", "--api-token-env", ENV],
            &state,
            &[(ENV, TOKEN)],
        );
        let base = api_base(&daemon);
        Api {
            daemon,
            base,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> Reply {
        let auth = format!("Authorization: Bearer {TOKEN}");
        curl(&["-H", &auth, &self.url(path)])
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        let auth = format!("Authorization: Bearer {TOKEN}");
        curl(&[
            "-X",
            "POST",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            &self.url(path),
        ])
    }

    /// Until the supervisor has its first picture.
    fn ready(&self) {
        let end = Instant::now() + Duration::from_secs(30);
        while curl(&[&self.url("/readiness")]).status != 200 {
            assert!(Instant::now() < end, "never ready");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn tokens_roles_and_the_one_error_shape() {
    let api = Api::start();
    // Health checks answer without a token (load balancers).
    assert_eq!(curl(&[&api.url("/liveness")]).status, 200);
    api.ready();
    // Everything else needs one: none, or a wrong one, is 401 in the error shape.
    let none = curl(&[&api.url("/jobs")]);
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(error_of(&none)["code"], "unauthorized");
    let wrong = curl(&[
        "-H",
        "Authorization: Bearer not-the-token",
        &api.url("/jobs"),
    ]);
    assert_eq!(wrong.status, 401);
    assert!(!wrong.body.contains(TOKEN));
    // Unknown endpoint, unknown job, bad body: 404, 404 naming the field, 400 naming it.
    assert_eq!(error_of(&api.get("/nope"))["code"], "not_found");
    let r = api.get("/failover/readiness/no-such-job");
    assert_eq!(r.status, 404);
    assert_eq!(error_of(&r)["field"], "job");
    let r = api.post("/failover/execute", r#"{"machine_id": 123}"#);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(error_of(&r)["field"].is_string(), "{}", r.body);
    let r = api.post("/failover/execute", "not json");
    assert_eq!(r.status, 400);
    let r = curl(&[
        "-X",
        "DELETE",
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        &api.url("/jobs"),
    ]);
    assert_eq!(r.status, 405, "{}", r.body);
    // A body over the limit is refused, not read.
    let big = format!(r#"{{"job": "{}"}}"#, "x".repeat(100_000));
    assert_eq!(api.post("/failover/execute", &big).status, 413);
    drop(api.daemon);
}

#[test]
fn the_fleet_readiness_status_strategies_and_metrics() {
    let api = Api::start();
    api.ready();
    let jobs = api.get("/jobs").json();
    let job = jobs["jobs"][0]["id"].as_str().unwrap().to_string();
    assert!(jobs["count"].as_u64().unwrap() >= 1);
    let hosts = api.get("/hosts").json();
    assert!(hosts["hosts"][0]["reach"].is_string(), "{hosts}");
    assert!(api.get("/checkpoints").json()["checkpoints"].is_array());
    // The demo fleet rents nothing: volumes say so, and how to get them.
    let r = api.get("/failover/regional-volume/list");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(error_of(&r)["fix"]
        .as_str()
        .unwrap()
        .contains("[[provider]]"));
    let r = api.get(&format!("/failover/readiness/{job}")).json();
    assert!(
        r["overall_ready"].is_boolean() && r["strategies"].is_array(),
        "{r}"
    );
    let s = api.get(&format!("/failover/status/{job}")).json();
    assert!(
        s["enabled_strategies"].is_array() && s["state"].is_string(),
        "{s}"
    );
    let st = api.get("/failover/strategies").json();
    let ids: Vec<&str> = st["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"warm-standby") && ids.contains(&"escalate"),
        "{ids:?}"
    );
    assert!(st["strategies"][0]["measured"]["count"].is_u64(), "{st}");
    let m = api.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.headers
            .contains("content-type: application/openmetrics-text"),
        "{}",
        m.headers
    );
    for family in [
        "lifeboat_host_up",
        "lifeboat_job_state",
        "lifeboat_gpu_temperature_celsius",
    ] {
        assert!(m.body.contains(family), "{family} missing:\n{}", m.body);
    }
    assert!(m.body.trim_end().ends_with("# EOF"), "{}", m.body);
    // A dry-run test changes nothing and answers per strategy; an unknown one is 422.
    let t = api.post(&format!("/failover/test/{job}?dry_run=true"), "");
    assert_eq!(t.status, 200, "{}", t.body);
    let t = t.json();
    assert!(
        t["would_succeed"].is_boolean() && t["readiness"].is_object(),
        "{t}"
    );
    let t = api.post(&format!("/failover/test/{job}?strategy=teleport"), "");
    assert_eq!(t.status, 422, "{}", t.body);
    assert_eq!(error_of(&t)["field"], "strategy");
    // The journal's events, from a sequence number on, and where to ask next.
    let e = api.get("/events?since=0&limit=5").json();
    let list = e["events"].as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 5, "{e}");
    let next = e["next"].as_i64().unwrap();
    assert_eq!(next, list.last().unwrap()["seq"].as_i64().unwrap());
    let later = api.get(&format!("/events?since={next}&limit=5")).json();
    assert!(later["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["seq"].as_i64().unwrap() > next));
    assert_eq!(api.get("/events?since=x").status, 400);
    // And as a stream of server-sent events (the demo fleet keeps talking).
    let out = Command::new("curl")
        .args(["-sS", "-N", "--max-time", "4", "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .arg(api.url("/events/stream"))
        .output()
        .unwrap();
    let streamed = String::from_utf8_lossy(&out.stdout);
    assert!(streamed.contains("event: notice\ndata: {"), "{streamed}");
    drop(api.daemon);
}

#[test]
fn a_failover_is_accepted_once_per_key_and_409_while_it_runs() {
    let api = Api::start();
    api.ready();
    // A job that runs and may fail over now.
    let end = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let jobs = api.get("/jobs").json();
        let ok = jobs["jobs"].as_array().unwrap().iter().find(|j| {
            j["state"] == "RUNNING"
                && api
                    .get(&format!(
                        "/failover/readiness/{}",
                        j["id"].as_str().unwrap()
                    ))
                    .json()["overall_ready"]
                    == true
        });
        if let Some(j) = ok {
            break j["id"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < end, "no job ready to fail over: {jobs}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let body = format!(r#"{{"job": "{job}", "reason": "api test", "idempotency_key": "k-1"}}"#);
    let first = api.post("/failover/execute", &body);
    assert_eq!(first.status, 202, "{}", first.body);
    assert!(
        first
            .headers
            .contains(&format!("location: /failover/status/{job}")),
        "{}",
        first.headers
    );
    let id = first.json()["failover_id"].as_str().unwrap().to_string();
    // The same key: the same operation, no second failover.
    let again = api.post("/failover/execute", &body);
    assert!(matches!(again.status, 200 | 202), "{}", again.body);
    assert_eq!(again.json()["failover_id"], id.as_str());
    // Another failover of the job while this one is open: 409 naming it.
    let other = api.post("/failover/execute", &format!(r#"{{"job": "{job}"}}"#));
    assert_eq!(other.status, 409, "{}", other.body);
    assert!(
        error_of(&other)["message"].as_str().unwrap().contains(&id),
        "{}",
        other.body
    );
    // It ends, in seed 001's shape, on the status page.
    let end = Instant::now() + Duration::from_secs(90);
    let result = loop {
        let s = api.get(&format!("/failover/status/{job}")).json();
        if let Some(r) = s["operation"]["result"].as_object() {
            break Value::Object(r.clone());
        }
        assert!(Instant::now() < end, "the failover never ended: {s}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(result["failover_id"], id.as_str(), "{result}");
    assert!(
        result["success"].is_boolean() && result["total_ms"].is_u64(),
        "{result}"
    );
    // Counted in the metrics: the failover by strategy and outcome, its phases.
    let m = api.get("/metrics").body;
    assert!(m.contains("lifeboat_failovers_total{"), "{m}");
    assert!(m.contains("lifeboat_failover_phase_seconds_bucket{"), "{m}");
    // Journaled once, under the token's name.
    let accepted: Vec<Value> = daemon::events(&api.daemon.dir, "command_accepted")
        .into_iter()
        .filter(|e| e["operator"] == ENV)
        .collect();
    assert_eq!(accepted.len(), 1, "{accepted:#?}");
    drop(api.daemon);
}

#[test]
fn on_a_real_fleet_a_viewer_is_refused_and_an_operator_waits_for_the_failover() {
    const OPERATOR: &str = "operator-token-0123456789abcdef";
    const VIEWER: &str = "viewer-token-0123456789abcdefgh";
    let bed = failover_bed::start("api-real", &["warm-standby", "cpu-standby", "escalate"]);
    let config = std::fs::read_to_string(&bed.config).unwrap()
        + "\n[api]\nlisten = \"127.0.0.1:0\"\n[[api.token]]\nname = \"ci\"\nrole = \"operator\"\nenv = \"LIFEBOAT_TEST_OP\"\n[[api.token]]\nname = \"grafana\"\nrole = \"viewer\"\nenv = \"LIFEBOAT_TEST_VIEW\"\n";
    std::fs::write(&bed.config, config).unwrap();
    let daemon = Daemon::start_env(
        &["--config", bed.config.to_str().unwrap()],
        &bed.state,
        &[
            ("LIFEBOAT_TEST_OP", OPERATOR),
            ("LIFEBOAT_TEST_VIEW", VIEWER),
        ],
    );
    let base = api_base(&daemon);
    let with = |token: &str, args: &[&str]| {
        let auth = format!("Authorization: Bearer {token}");
        let mut a = vec!["-H", auth.as_str()];
        a.extend_from_slice(args);
        curl(&a)
    };
    let job = bed.job.clone();
    // Until a failover would succeed from a verified checkpoint (probes answered, the
    // first checkpoint verified in the NAS: the standby gets it from there).
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = with(VIEWER, &[&format!("{base}/failover/readiness/{job}")]).json();
        let jobs = with(VIEWER, &[&format!("{base}/jobs")]).json();
        let verified = !jobs["jobs"][0]["newest_verified"].is_null();
        let catalogued = with(VIEWER, &[&format!("{base}/checkpoints")]).json()["checkpoints"]
            .as_array()
            .is_some_and(|c| !c.is_empty());
        if ready["overall_ready"] == true && verified && catalogued {
            break;
        }
        assert!(Instant::now() < end, "never ready to fail over: {ready}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let body = format!(r#"{{"job": "{job}", "reason": "api test"}}"#);
    let post = |token: &str, url: &str| {
        with(
            token,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                &body,
                url,
            ],
        )
    };
    let r = post(VIEWER, &format!("{base}/failover/execute"));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(error_of(&r)["code"], "forbidden");
    let before = bed.alive(1);
    let r = post(
        OPERATOR,
        &format!("{base}/failover/execute?wait=true&timeout=120"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["new_host"], "h2", "{v}");
    assert_eq!(v["strategy_succeeded"], "warm-standby", "{v}");
    assert!(v["total_ms"].as_u64().unwrap() > 0, "{v}");
    eprintln!("an API failover on the loopback fleet answered: {v}");
    // The job runs once, on h2, newer than before; journaled under the token's name.
    let now = bed.all_alive();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, 2);
    assert!(now[0].1 > before[0].0);
    let by: Vec<Value> = daemon::events(&bed.state, "command_accepted")
        .into_iter()
        .filter(|e| e["operator"] == "ci")
        .collect();
    assert_eq!(by.len(), 1, "{by:#?}");
    // The stores' side of the metrics, on a fleet that has a NAS.
    let scrape = with(VIEWER, &[&format!("{base}/metrics")]).body;
    let verified = scrape
        .lines()
        .find_map(|l| l.strip_prefix("lifeboat_store_verified_bytes{store=\"nas\"} "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(verified.is_some_and(|b| b > 0.0), "{scrape:.2000}");
    assert!(
        scrape.contains("lifeboat_host_gpu_xid_errors{host=\"h1\"} 0"),
        "{scrape:.2000}"
    );
    assert!(daemon.stop().success());
}

/// A real Prometheus server on loopback, killed on drop.
struct Prometheus {
    child: std::process::Child,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The metric names (`lifeboat_…`) in `text`.
fn names(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("lifeboat_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn prometheus_scrapes_the_daemon_and_the_alert_rules_and_dashboard_fit_the_metrics() {
    let api = Api::start();
    api.ready();
    let scrape = api.get("/metrics").body;
    // promtool's own check of the exposition.
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .output_with(&scrape);
    assert!(check.0, "promtool check metrics:\n{}\n{scrape}", check.1);
    check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/prometheus/lifeboat-alerts.yml"
        ))
        .output_with("");
    assert!(check.0, "promtool check rules:\n{}", check.1);
    // Every metric the rules and the dashboard use is one the daemon serves.
    let served = names(&scrape);
    for file in [
        "assets/prometheus/lifeboat-alerts.yml",
        "assets/grafana/lifeboat-dashboard.json",
    ] {
        let text =
            std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let used = names(&text);
        assert!(!used.is_empty(), "{file}");
        for n in used {
            assert!(
                served.contains(&n),
                "{file} uses {n}, which /metrics does not serve"
            );
        }
    }
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/grafana/lifeboat-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(dash["panels"].as_array().unwrap().len() >= 10);

    // A real Prometheus scrapes it with the API's bearer token and loads the rules.
    let dir = tempfile::tempdir().unwrap();
    let target = api.base.trim_start_matches("http://").to_string();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  - job_name: lifeboat\n    authorization:\n      type: Bearer\n      credentials: {TOKEN}\n    static_configs:\n      - targets: [\"{target}\"]\n",
            rules = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/prometheus/lifeboat-alerts.yml"),
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let prom = Prometheus {
        child: Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus (Debian's prometheus package)"),
        base: format!("http://127.0.0.1:{port}"),
    };
    let query = |q: &str| -> Value {
        let r = try_curl(&[
            "-G",
            "--data-urlencode",
            &format!("query={q}"),
            &format!("{}/api/v1/query", prom.base),
        ]);
        match r {
            Ok(r) if r.status == 200 => r.json(),
            _ => Value::Null,
        }
    };
    let end = Instant::now() + Duration::from_secs(60);
    let up = loop {
        let v = query("lifeboat_host_up");
        if v["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            break v;
        }
        assert!(
            Instant::now() < end,
            "Prometheus never had lifeboat_host_up: {v}\n{}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let hosts = api.get("/hosts").json()["count"].as_u64().unwrap();
    assert_eq!(
        up["data"]["result"].as_array().unwrap().len() as u64,
        hosts,
        "{up}"
    );
    for q in [
        "lifeboat_job_state",
        "lifeboat_gpu_temperature_celsius",
        "sum(lifeboat_job_epoch)",
    ] {
        let v = query(q);
        assert!(
            v["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{q}: {v}"
        );
    }
    let rules = curl(&[&format!("{}/api/v1/rules", prom.base)]).json();
    let loaded: usize = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert_eq!(loaded, 7, "{rules}");
    drop(prom);
    drop(api.daemon);
}

trait OutputWith {
    /// Runs with `input` on stdin: (success, stdout and stderr).
    fn output_with(&mut self, input: &str) -> (bool, String);
}

impl OutputWith for Command {
    fn output_with(&mut self, input: &str) -> (bool, String) {
        use std::io::Write;
        let mut child = self
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool (Debian's prometheus package)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

/// The schemathesis CLI: `$LIFEBOAT_SCHEMATHESIS` (scripts/test.sh installs it in a venv),
/// else `schemathesis` on the PATH.
fn schemathesis() -> String {
    std::env::var("LIFEBOAT_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into())
}

#[test]
fn schemathesis_finds_nothing_wrong_in_every_phase() {
    let api = Api::start();
    api.ready();
    let doc = api.get("/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let link = &doc["paths"]["/failover/execute"]["post"]["responses"]["202"]["links"]["status"];
    assert_eq!(link["operationId"], "failover_status", "{link}");
    let out = Command::new(schemathesis())
        .current_dir(api._dir.path())
        .args(["run", &api.url("/openapi.json"), "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .args([
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "30",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("schemathesis (pip install schemathesis; scripts/test.sh does)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found problems:\n{said}");
    for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"] {
        assert!(
            said.contains(&format!("✅ {phase}")),
            "{phase} did not pass:\n{said}"
        );
    }
    eprintln!(
        "{}",
        said.lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    drop(api.daemon);
}

#[test]
fn over_tls_the_api_answers_https_with_the_configured_certificate_only() {
    let bed = failover_bed::start("api-tls", &["warm-standby", "escalate"]);
    let dir = bed.dir.path();
    // A self-signed certificate for 127.0.0.1, made by the openssl CLI.
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join("api-key.pem"))
        .arg("-out")
        .arg(dir.join("api-cert.pem"))
        .output()
        .expect("openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // Relative paths are read next to the config file.
    let config = std::fs::read_to_string(&bed.config).unwrap()
        + "\n[api]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"api-cert.pem\"\ntls_key = \"api-key.pem\"\n[[api.token]]\nname = \"ci\"\nrole = \"viewer\"\nenv = \"LIFEBOAT_TEST_TLS\"\n";
    std::fs::write(&bed.config, config).unwrap();
    let daemon = Daemon::start_env(
        &["--config", bed.config.to_str().unwrap()],
        &bed.state,
        &[("LIFEBOAT_TEST_TLS", TOKEN)],
    );
    let base = api_base(&daemon);
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let cacert = dir.join("api-cert.pem");
    let auth = format!("Authorization: Bearer {TOKEN}");
    let end = Instant::now() + Duration::from_secs(30);
    let jobs = loop {
        let r = curl(&[
            "--cacert",
            cacert.to_str().unwrap(),
            "-H",
            &auth,
            &format!("{base}/jobs"),
        ]);
        if r.status == 200 {
            break r.json();
        }
        assert!(Instant::now() < end, "{}", r.body);
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(jobs["jobs"][0]["id"], bed.job.as_str(), "{jobs}");
    // Without trusting the certificate, or over plain HTTP, nothing is served.
    assert!(try_curl(&["-H", &auth, &format!("{base}/jobs")]).is_err());
    let plain = base.replacen("https://", "http://", 1);
    assert!(try_curl(&["-H", &auth, &format!("{plain}/jobs")]).map_or(true, |r| r.status != 200));
    // A reload cannot re-read the tokens' variables: [api] stays as it started, and the
    // journal says so.
    let moved = std::fs::read_to_string(&bed.config)
        .unwrap()
        .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\"");
    std::fs::write(&bed.config, moved).unwrap();
    daemon.signal("HUP");
    failover_bed::eventually(20, "the reload's word on [api]", || {
        daemon::events(&bed.state, "config_reload_failed")
            .iter()
            .any(|e| {
                e["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("[api] differs"))
            })
    });
    let r = curl(&[
        "--cacert",
        cacert.to_str().unwrap(),
        "-H",
        &auth,
        &format!("{base}/jobs"),
    ]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(daemon.stop().success());
}
