//! Policy, storage, notifiers, providers and secrets.

use super::*;
use crate::config::ConfigError;

#[test]
fn bad_durations_show_an_example() {
    let p = one(&with("[detection]\nprobe_interval = \"10 sec\"\n"));
    check(
        &p,
        19,
        "detection.probe_interval",
        &["\"10 sec\" is not a duration: spaces are not allowed"],
        &["e.g. \"10s\"", "\"1h30m\""],
    );
    let p = one(&with("[recovery]\nreconnect_backoff = [\"1s\", \"2x\"]\n"));
    check(
        &p,
        19,
        "recovery.reconnect_backoff[1]",
        &["\"2x\" is not a duration: \"x\" is not a unit"],
        &[],
    );
    let p = one(&with("[recovery.timeouts]\nfence = \"0s\"\n"));
    check(&p, 19, "recovery.timeouts.fence", &["is zero"], &[]);
}

#[test]
fn profiles_and_detection_overrides_are_checked() {
    let p = one(&with("[settings]\nprofile = \"clod\"\n"));
    check(
        &p,
        19,
        "settings.profile",
        &[
            "unknown detection profile \"clod\"",
            "did you mean \"cloud\"?",
        ],
        &["\"lan\", \"cloud\""],
    );
    let p = one(&with("[detection]\nprobe_timeout = \"2s\"\n"));
    check(
        &p,
        19,
        "detection.probe_timeout",
        &["probe_timeout \"2s\" is not shorter than probe_interval \"1s\""],
        &[],
    );
    let p = one(&with("[detection]\nsuspect_after = 0\n"));
    check(
        &p,
        19,
        "detection.suspect_after",
        &["suspect_after = 0 is not allowed"],
        &[],
    );
    let p = one(&with("[detection]\nfail_after = 5\n"));
    check(
        &p,
        19,
        "detection.fail_after",
        &["fail_ceiling = 3 is below fail_after = 5"],
        &[],
    );
    let p = one(&with("[detection.flap]\nreuse = 5.0\n"));
    check(&p, 19, "detection.flap.reuse", &["below suppress = 3"], &[]);
    let p = one(&with("[detection.partition]\nshare = 1.5\n"));
    check(
        &p,
        19,
        "detection.partition.share",
        &["share = 1.5 is not a fraction"],
        &[],
    );
}

#[test]
fn recovery_needs_a_budget_and_a_backoff() {
    let p = one(&with("[recovery]\nrestart_budget = 0\n"));
    check(
        &p,
        19,
        "recovery.restart_budget",
        &["restart_budget = 0 would forbid every failover"],
        &["strategies = [\"escalate\"]"],
    );
    let p = one(&with("[recovery]\nreconnect_backoff = []\n"));
    check(
        &p,
        19,
        "recovery.reconnect_backoff",
        &["reconnect_backoff is empty"],
        &["[\"1s\", \"2s\", \"4s\", \"8s\", \"16s\"]"],
    );
}

#[test]
fn storage_is_needed_and_checked() {
    let p = one(&edit("[storage]\nnas = \"/mnt/nas\"\n", ""));
    check_fileish(&p, "storage", "checkpoints would be kept nowhere");
    let p = one(&edit("nas = \"/mnt/nas\"\n", ""));
    check(&p, 15, "storage", &["names no store"], &["[storage.s3]"]);
    let p = one(&edit(
        "nas = \"/mnt/nas\"",
        "nas = \"/mnt/nas\"\nkeep_last = 0",
    ));
    check(
        &p,
        17,
        "storage.keep_last",
        &["keep_last = 0 would delete every checkpoint"],
        &[],
    );
    let s3 = |body: &str| one(&with(&format!("[storage.s3]\n{body}\n")));
    check(
        &s3("bucket = \"s3://b-1/x/\"\nregion = \"r\""),
        19,
        "storage.s3.bucket",
        &["is a URL, not a bucket name"],
        &["bucket = \"b-1\" and prefix = \"x\""],
    );
    check(
        &s3("bucket = \"My_Bucket\"\nregion = \"r\""),
        19,
        "storage.s3.bucket",
        &["not a valid S3 bucket name"],
        &[],
    );
    check(
        &s3("bucket = \"b-1\"\nregion = \"Middle East\""),
        20,
        "storage.s3.region",
        &["not an S3 region"],
        &[],
    );
    check(
        &s3("bucket = \"b-1\"\nregion = \"r\"\nendpoint = \"minio:9000\""),
        21,
        "storage.s3.endpoint",
        &["not an http:// or https:// URL"],
        &[],
    );
    check(
        &s3("bucket = \"b-1\"\nregion = \"r\"\nprefix = \"/x\""),
        21,
        "storage.s3.prefix",
        &["not a usable key prefix"],
        &[],
    );
}

fn check_fileish(p: &Problem, key: &str, message: &str) {
    assert_eq!(p.at, None, "{p:#?}");
    assert_eq!(p.key, key);
    assert!(p.message.contains(message), "{p:#?}");
}

#[test]
fn notifiers_are_checked_by_kind() {
    let n = |body: &str| one(&with(&format!("[[notify]]\n{body}\n")));
    check(
        &n("kind = \"telegam\""),
        19,
        "notify[0].kind",
        &[
            "unknown notifier kind \"telegam\"",
            "did you mean \"telegram\"?",
        ],
        &[],
    );
    check(
        &n("kind = \"telegram\"\nchat_id = \"-1\""),
        18,
        "notify[0]",
        &["missing required key \"bot_token_env\""],
        &["bot_token_env = \"TELEGRAM_BOT_TOKEN\""],
    );
    check(
        &n("kind = \"telegram\"\nbot_token_env = \"T\"\nchat_id = \"group\""),
        21,
        "notify[0].chat_id",
        &["not a Telegram chat id"],
        &[],
    );
    check(
        &n("kind = \"webhook\"\nurl = \"https://h.example\"\nchat_id = \"-1\""),
        21,
        "notify[0].chat_id",
        &["\"chat_id\" is a telegram setting"],
        &[],
    );
    check(
        &n("kind = \"webhook\"\nurl = \"https://user:pw@h.example/x\""),
        20,
        "notify[0].url",
        &["user name or password"],
        &[],
    );
    check(
        &n("kind = \"webhook\"\nurl = \"https://h.example\"\ntoken_env = \"my-token\""),
        21,
        "notify[0].token_env",
        &["\"my-token\" is not an environment variable name"],
        &[],
    );
}

#[test]
fn providers_are_checked() {
    let p = one(&with(
        "[[provider]]\nname = \"vast\"\nkind = \"runpod\"\napi_key_env = \"K\"\n",
    ));
    check(
        &p,
        20,
        "provider \"vast\".kind",
        &["unknown provider kind \"runpod\""],
        &["\"vast\""],
    );
    let p = one(&with("[[provider]]\nname = \"v\"\nkind = \"vast\"\napi_key_env = \"K\"\n[[provider]]\nname = \"v\"\nkind = \"vast\"\napi_key_env = \"K\"\n"));
    check(
        &p,
        23,
        "provider[1].name",
        &["duplicate provider name \"v\"", "line 19"],
        &[],
    );
}

const TOKEN: &str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";

#[test]
fn secrets_in_env_name_slots_are_refused_and_not_echoed() {
    let text = with(&format!(
        "[[notify]]\nkind = \"telegram\"\nbot_token_env = \"{TOKEN}\"\nchat_id = \"-1\"\n"
    ));
    let p = one(&text);
    check(
        &p,
        20,
        "notify[0].bot_token_env",
        &["\"123…\" looks like a secret, not an environment variable name"],
        &["put the token in an environment variable and write its name here, e.g. bot_token_env = \"TELEGRAM_BOT_TOKEN\""],
    );
    let whole = parse_str(&text, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        !whole.contains(TOKEN) && !whole.contains("ABC-DEF"),
        "{whole}"
    );
}

#[test]
fn secret_keys_are_refused_anywhere_and_not_echoed() {
    let cases = [
        (
            format!("[[notify]]\nkind = \"telegram\"\nchat_id = \"-1\"\nbot_token = \"{TOKEN}\"\n"),
            "notify[0].bot_token",
            "use `bot_token_env = \"NAME\"`",
        ),
        (
            format!("[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key = \"{TOKEN}\"\n"),
            "provider \"vast\".api_key",
            "use `api_key_env = \"NAME\"`",
        ),
        (
            format!(
                "[storage.s3]\nbucket = \"b-1\"\nregion = \"r\"\nsecret_access_key = \"{TOKEN}\"\n"
            ),
            "storage.s3.secret_access_key",
            "AWS SDK's default chain",
        ),
        (
            format!("password = \"{TOKEN}\"\n"),
            "password",
            "environment variable",
        ),
    ];
    for (extra, key, fix) in cases {
        let text = if extra.starts_with("password") {
            format!("{extra}{BASE}")
        } else {
            with(&extra)
        };
        let p = one(&text);
        assert_eq!(p.key, key);
        assert!(
            p.message.contains("secrets never live in the config file"),
            "{p:#?}"
        );
        assert!(p.message.contains("\"123…\""), "{p:#?}");
        assert!(p.fix.contains(fix), "{p:#?}");
        let whole = parse_str(&text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(!whole.contains(TOKEN), "{whole}");
    }
    let p = one(&edit("gpus = 2", "gpus = 2\nssh_password = \"hunter2\""));
    assert!(p.fix.contains("ssh_key"), "{p:#?}");
    assert!(!p.message.contains("hunter2"));
}

#[test]
fn secrets_in_broken_lines_are_not_echoed_either() {
    let text = with(&format!(
        "[[notify]]\nkind = \"telegram\"\nbot_token = {TOKEN}\n"
    ));
    let whole = parse_str(&text, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        whole.contains("TOML syntax error") && whole.contains("123…"),
        "{whole}"
    );
    assert!(!whole.contains("ABC-DEF"), "{whole}");
    assert!(whole.contains("bot_token_env"), "{whole}");
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = edit("workdir = \"/w\"", "workdir = \"w\"")
        .replace("nas = \"/mnt/nas\"", "nas = \"n\"")
        .replace("gpu = 0", "gpu = 9");
    let err = parse_str(&text, Path::new("/x/t.toml")).unwrap_err();
    let lines: Vec<usize> = err
        .problems()
        .iter()
        .filter_map(|p| p.at.map(|a| a.line))
        .collect();
    assert_eq!(lines, vec![9, 10, 16]);
    let shown = err.to_string();
    assert!(
        shown.starts_with("/x/t.toml: 3 problems\n/x/t.toml:9:7: job \"train\".gpu: "),
        "{shown}"
    );
    assert!(matches!(err, ConfigError::Invalid { .. }));
}

#[test]
fn provider_poll_interval_is_a_checked_duration() {
    let base = "[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key_env = \"VAST_API_KEY\"\n";
    let cfg = ok(&with(&format!("{base}poll_every = \"30s\"\n")));
    assert_eq!(
        cfg.providers[0].poll_every,
        std::time::Duration::from_secs(30)
    );
    assert_eq!(
        ok(&with(base)).providers[0].poll_every,
        std::time::Duration::from_secs(15)
    );
    let p = one(&with(&format!("{base}poll_every = \"30 sec\"\n")));
    assert!(p.key.ends_with("poll_every"), "{p:?}");
}
