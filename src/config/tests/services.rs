//! Policy, storage, notifiers, providers and secrets.

use super::*;
use crate::config::{ConfigError, NotifierConfig};

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
    let p = one(&with("[detection]\nlost_after = 1\n"));
    check(
        &p,
        19,
        "detection.lost_after",
        &["lost_after = 1 is below 2"],
        &["use 2 or more"],
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
fn telegram_api_url_is_optional_and_checked() {
    let tg = "[[notify]]\nkind = \"telegram\"\nbot_token_env = \"T\"\nchat_id = \"-1\"\n";
    let c = ok(&with(tg));
    assert!(matches!(
        &c.notifiers[0],
        NotifierConfig::Telegram { api_url: None, .. }
    ));
    let c = ok(&with(&format!(
        "{tg}api_url = \"http://127.0.0.1:8081/\"\n"
    )));
    assert!(
        matches!(&c.notifiers[0], NotifierConfig::Telegram { api_url: Some(u), .. } if u == "http://127.0.0.1:8081"),
        "{:?}",
        c.notifiers
    );
    check(
        &one(&with(&format!("{tg}api_url = \"api.telegram.org\"\n"))),
        22,
        "notify[0].api_url",
        &["not an http:// or https:// URL"],
        &["api_url = \"https://api.telegram.org\""],
    );
    check(
        &one(&with(
            "[[notify]]\nkind = \"webhook\"\nurl = \"https://h.example\"\napi_url = \"https://a.example\"\n",
        )),
        21,
        "notify[0].api_url",
        &["\"api_url\" is a telegram setting"],
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

/// `BASE` with a vast `[[provider]]` and the train job's `[job.provision]` (its first
/// key, `provider`, is on line 24), plus `extra` keys in that table from line 26.
fn provision(extra: &str) -> String {
    with(&format!(
        "[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key_env = \"VAST_API_KEY\"\n\n\
         [job.provision]\nprovider = \"vast\"\nimage = \"pytorch/pytorch:latest\"\n{extra}"
    ))
}

#[test]
fn provision_tables_are_read_with_defaults() {
    let c = ok(&provision(
        "gpu_name = \"RTX_4090\"\nnum_gpus = 2\nmax_price = 2\nmin_ram_gb = 32\nmin_disk_gb = 100\n\
         min_reliability = 0.98\nregions = [\"se\", \"NO\"]\ndisk_gb = 64\nvolume = \"ckpt-eu\"\n",
    ));
    let p = &c.provision["train"];
    assert_eq!(p.provider, "vast");
    assert_eq!(p.image, "pytorch/pytorch:latest");
    assert_eq!(p.gpu_name.as_deref(), Some("RTX_4090"));
    assert_eq!(p.num_gpus, Some(2));
    assert_eq!(p.max_price, Some(2.0), "an integer price reads as dollars");
    assert_eq!((p.min_ram_gb, p.min_disk_gb), (Some(32), Some(100)));
    assert_eq!(p.min_reliability, Some(0.98));
    assert_eq!(p.regions, ["SE", "NO"]);
    assert_eq!(p.disk_gb, 64);
    assert_eq!(p.volume.as_deref(), Some("ckpt-eu"));
    assert_eq!(p.mount_path, "/data");

    let c = ok(&provision(""));
    let p = &c.provision["train"];
    assert_eq!(p.disk_gb, crate::config::ProvisionSpec::DEFAULT_DISK_GB);
    assert!(p.regions.is_empty() && p.volume.is_none() && p.max_price.is_none());
    assert!(
        ok(BASE).provision.is_empty(),
        "a job without the table has none"
    );
}

#[test]
fn provision_values_are_checked_with_the_key_named() {
    let k = "job \"train\".provision";
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "max_price = 0",
            "max_price",
            "max_price = 0 is not a price",
            "max_price = 1.5",
        ),
        (
            "max_price = 5000.0",
            "max_price",
            "not a price in dollars per hour",
            "at most 1000",
        ),
        (
            "num_gpus = 0",
            "num_gpus",
            "num_gpus = 0 is outside 1..=64",
            "num_gpus = 1",
        ),
        (
            "disk_gb = 4",
            "disk_gb",
            "disk_gb = 4 is outside 8..=",
            "disk_gb = 64",
        ),
        (
            "min_ram_gb = 0",
            "min_ram_gb",
            "min_ram_gb = 0 is outside",
            "min_ram_gb = 32",
        ),
        (
            "min_reliability = 1.5",
            "min_reliability",
            "not a score from 0 to 1",
            "0.98",
        ),
        (
            "gpu_name = \"RTX/4090\"",
            "gpu_name",
            "\"RTX/4090\" is not a GPU model name",
            "\"RTX 4090\"",
        ),
        (
            "regions = []",
            "regions",
            "regions is empty",
            "remove the key",
        ),
        (
            "regions = [\"SE\", \"Europe\"]",
            "regions[1]",
            "\"Europe\" is not a two-letter country code",
            "[\"SE\", \"NO\", \"DE\"]",
        ),
        (
            "regions = [\"se\", \"SE\"]",
            "regions[1]",
            "\"SE\" is listed twice",
            "",
        ),
        (
            "volume = \"my volume\"",
            "volume",
            "not a valid volume name",
            "",
        ),
        (
            "volume = \"v\"\nmount_path = \"data\"",
            "mount_path",
            "\"data\" is not an absolute directory",
            "\"/data\"",
        ),
        (
            "mount_path = \"/data\"",
            "mount_path",
            "no volume to mount",
            "add volume",
        ),
    ];
    for (extra, key, message, fix) in cases {
        let p = one(&provision(&format!("{extra}\n")));
        let line = if *key == "mount_path" && extra.contains("volume") {
            27
        } else {
            26
        };
        check(&p, line, &format!("{k}.{key}"), &[message], &[fix]);
    }

    let p = one(&provision("").replace("provider = \"vast\"\nimage", "provider = \"vats\"\nimage"));
    check(
        &p,
        24,
        &format!("{k}.provider"),
        &["unknown provider \"vats\"", "did you mean \"vast\"?"],
        &["\"vast\""],
    );
    let p = one(&with(
        "[job.provision]\nprovider = \"vast\"\nimage = \"x\"\n",
    ));
    check(
        &p,
        19,
        &format!("{k}.provider"),
        &["there is no [[provider]] named \"vast\""],
        &["kind = \"vast\"", "api_key_env = \"VAST_API_KEY\""],
    );
    let p =
        one(&provision("").replace("image = \"pytorch/pytorch:latest\"", "image = \"my image\""));
    check(
        &p,
        25,
        &format!("{k}.image"),
        &["\"my image\" is not a container image name"],
        &[],
    );
}

#[test]
fn provision_schema_and_strategy_problems_are_named() {
    let p = one(&provision("max_pric = 1.5\n"));
    assert!(p.key.contains("provision"), "{p:#?}");
    assert!(p.message.contains("max_pric"), "{p:#?}");
    assert!(p.fix.contains("max_price"), "{p:#?}");
    let p = one(&provision("").replace("image = \"pytorch/pytorch:latest\"\n", ""));
    assert!(p.message.contains("image"), "{p:#?}");

    let text = provision("").replace(
        "standby = [\"pc1:1\"]",
        "standby = [\"pc1:1\"]\nstrategies = [\"regional-volume\", \"escalate\"]",
    );
    let p = one(&text);
    assert_eq!(p.key, "job \"train\".provision", "{p:#?}");
    assert!(p.message.contains("names no volume"), "{p:#?}");
    assert!(p.fix.contains("volume = "), "{p:#?}");
    let c = ok(&text.replace("image = \"pytorch", "volume = \"ckpt\"\nimage = \"pytorch"));
    assert_eq!(c.provision["train"].volume.as_deref(), Some("ckpt"));
}
