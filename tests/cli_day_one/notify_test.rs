//! `notify test` through the binary against Telegram and webhook fakes on loopback: one
//! message per destination, reported apart, and the tokens never in the output.

use super::http_recorder::{HttpRecorder, Reply};
use super::{lifeboat, Home};
use predicates::prelude::*;
use serde_json::Value;

const TG_TOKEN: &str = "123456789:AAF-dayOneSecret_xyz";
const HOOK_TOKEN: &str = "hook-dayone-secret-42";

fn fleet(notify: &str) -> String {
    format!(
        r#"[[host]]
name = "pc1"
address = "192.0.2.10"
gpus = 1

[[job]]
name = "train"
host = "pc1"
gpu = 0
workdir = "/w"
launch = "python train.py --resume {{checkpoint}}"
checkpoint_dir = "/w/ckpt"

[storage]
nas = "/tmp"
{notify}"#
    )
}

fn telegram(server: &HttpRecorder) -> String {
    format!(
        "\n[[notify]]\nkind = \"telegram\"\nbot_token_env = \"DAY_ONE_TG_TOKEN\"\nchat_id = \"-100777\"\napi_url = \"{}\"\n",
        server.url()
    )
}

fn webhook(server: &HttpRecorder) -> String {
    format!(
        "\n[[notify]]\nkind = \"webhook\"\nurl = \"{}/hooks/lifeboat\"\ntoken_env = \"DAY_ONE_HOOK_TOKEN\"\n",
        server.url()
    )
}

/// Runs `notify test` (plus `args`) on `config` off the runtime the fakes answer on;
/// returns the exit code, stdout and stderr.
async fn notify_test(config: String, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, config).unwrap();
    let mut c = lifeboat();
    c.env("DAY_ONE_TG_TOKEN", TG_TOKEN)
        .env("DAY_ONE_HOOK_TOKEN", HOOK_TOKEN)
        .arg("--config")
        .arg(&path)
        .args(["notify", "test"])
        .args(args);
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    drop(dir);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_no_token(text: &str) {
    for secret in [TG_TOKEN, HOOK_TOKEN, "dayOneSecret", "dayone-secret"] {
        assert!(!text.contains(secret), "token in the output:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_good_and_one_failing_destination_are_reported_apart() {
    let tg = HttpRecorder::start(vec![]).await;
    // The webhook refuses, echoing the token it was sent: the report must not repeat it.
    let refusal = format!("bad bearer token {HOOK_TOKEN}");
    let hook = HttpRecorder::start(vec![Reply::status(401, &refusal)]).await;
    let config = fleet(&(telegram(&tg) + &webhook(&hook)));
    let (code, out, err) = notify_test(config, &[]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("✓ notify[0] (telegram chat -100777) [telegram]: ok, HTTP 200 in "),
        "{out}"
    );
    assert!(
        out.contains("✖ notify[1] (webhook 127.0.0.1) [webhook]: failed after "),
        "{out}"
    );
    assert!(
        out.contains("HTTP 401") && out.contains("$DAY_ONE_HOOK_TOKEN"),
        "{out}"
    );
    assert!(out.contains("1 of 2 destinations failed"), "{out}");
    assert_no_token(&out);
    assert_no_token(&err);

    // Each got exactly one clearly marked message: sent directly, never retried.
    let sent = tg.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, format!("/bot{TG_TOKEN}/sendMessage"));
    let text = sent[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("Lifeboat test message from ") && text.contains("— no action needed (sent "),
        "{text}"
    );
    let posted = hook.requests();
    assert_eq!(posted.len(), 1);
    let body = posted[0].json();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Lifeboat test message from "));
    assert_eq!(
        posted[0].header("authorization"),
        Some(format!("Bearer {HOOK_TOKEN}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_gives_each_destination_its_status_or_error() {
    let tg = HttpRecorder::start(vec![Reply::status(
        400,
        &format!(
            r#"{{"ok":false,"error_code":400,"description":"chat not found for {TG_TOKEN}"}}"#
        ),
    )])
    .await;
    let hook = HttpRecorder::start(vec![Reply::status(204, "")]).await;
    let config = fleet(&(telegram(&tg) + &webhook(&hook)));
    let (code, out, err) = notify_test(config, &["--json"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert_no_token(&out);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["message"].as_str().unwrap().contains("no action needed"));
    let d = v["destinations"].as_array().unwrap();
    assert_eq!(
        (d[0]["kind"].as_str(), d[0]["ok"].as_bool()),
        (Some("telegram"), Some(false))
    );
    assert!(
        d[0]["error"].as_str().unwrap().contains("chat not found"),
        "{out}"
    );
    assert_eq!(d[0]["status"], Value::Null);
    assert_eq!(
        (d[1]["kind"].as_str(), d[1]["ok"].as_bool()),
        (Some("webhook"), Some(true))
    );
    assert_eq!(d[1]["status"], 204);
    assert!(d[1]["ms"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_destination_ok_exits_zero() {
    let tg = HttpRecorder::start(vec![]).await;
    let (code, out, err) = notify_test(fleet(&telegram(&tg)), &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("every destination (1) took the test message"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_destination_is_a_config_error_saying_how_to_add_one() {
    let (code, out, err) = notify_test(fleet(""), &[]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("has no [[notify]] table") && err.contains("kind = \"webhook\""),
        "{err}"
    );
}

#[test]
fn notify_test_finds_the_config_as_the_other_subcommands_do() {
    let home = Home::new();
    home.cmd()
        .args(["notify", "test"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LIFEBOAT_CONFIG"))
        .stderr(predicate::str::contains("--config"));
}
