//! `lifeboat config check` through the binary: good configs print a summary and exit 0;
//! every kind of bad input exits 2 with `FILE:LINE:COL: KEY: message` and a `fix:` line
//! on stderr; the config file is found by --config, then $LIFEBOAT_CONFIG, then the
//! platform config dir.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A small valid config: one host with two GPUs, one job on GPU 0 with GPU 1 as standby.
const BASE: &str = r#"[[host]]
name = "pc1"
address = "192.168.1.10"
gpus = 2

[[job]]
name = "train"
host = "pc1"
gpu = 0
workdir = "/w"
launch = "python train.py --resume {checkpoint}"
checkpoint_dir = "/w/ckpt"
standby = ["pc1:1"]

[storage]
nas = "/tmp"
"#;

fn lifeboat() -> Command {
    let mut c = Command::cargo_bin("lifeboat").unwrap();
    c.env_remove("LIFEBOAT_CONFIG");
    c
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples")
}

/// Writes `text` to `<tmp>/<name>` and returns both (the dir must outlive the run).
fn write(name: &str, text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

/// Runs `config check` on `text` (saved as `name`); asserts exit 2 and that stderr has
/// `name:LINE:COL: KEY: ` and every part in `parts`. Returns stderr.
#[track_caller]
fn rejects(name: &str, text: &str, at: &str, key: &str, parts: &[&str]) -> String {
    let (_dir, path) = write(name, text);
    let out = lifeboat()
        .args(["config", "check"])
        .arg(&path)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let head = format!("{}:{at}: {key}: ", path.display());
    assert!(stderr.contains(&head), "stderr lacks {head:?}:\n{stderr}");
    assert!(
        stderr.contains("\n  fix: "),
        "stderr has no fix line:\n{stderr}"
    );
    for p in parts {
        assert!(stderr.contains(p), "stderr lacks {p:?}:\n{stderr}");
    }
    stderr
}

// ── Good configs ─────────────────────────────────────────────────────────────────────

/// The examples are valid configs; on this machine their NAS is not mounted and their
/// tokens are not set, which the check says (exit 1) after the summary.
#[test]
fn gate0_example_passes_and_prints_a_summary() {
    let path = examples().join("gate0.toml");
    lifeboat()
        .env_remove("TELEGRAM_BOT_TOKEN")
        .args(["config", "check"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::is_empty())
        .stdout(predicate::str::contains(
            "✖ storage.nas: NAS folder /mnt/nas/dc1/checkpoints does not exist",
        ))
        .stdout(predicate::str::contains("✖ env TELEGRAM_BOT_TOKEN: "))
        .stdout(predicate::str::starts_with(format!("ok: {}\n", path.display())))
        .stdout(predicate::str::contains("profile lan (probe every 1s, fail after 3 misses)"))
        .stdout(predicate::str::contains("1 host: pc1 (primary, 2 GPUs"))
        .stdout(predicate::str::contains(
            "on pc1:gpu0 → standbys pc1:gpu1; strategies restart-in-place → warm-standby → escalate",
        ))
        .stdout(predicate::str::contains(
            "storage: NAS /mnt/nas/dc1/checkpoints, S3 s3://dc1-gate0-checkpoints/gate0 (me-south-1); keep last 3",
        ))
        .stdout(predicate::str::contains("notify: telegram chat -5275672778 (token from $TELEGRAM_BOT_TOKEN)"));
}

#[test]
fn cloud_fleet_example_passes_and_prints_a_summary() {
    lifeboat()
        .env_remove("VAST_API_KEY")
        .args(["config", "check"])
        .arg(examples().join("cloud-fleet.toml"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✖ env VAST_API_KEY: "))
        .stdout(predicate::str::contains("profile cloud"))
        .stdout(predicate::str::contains("4 hosts:"))
        .stdout(predicate::str::contains("gcp-cpu (cpu-standby, no GPU"))
        .stdout(predicate::str::contains(
            "strategies warm-standby → cpu-standby → provision → escalate",
        ))
        .stdout(predicate::str::contains(
            "via https://s3.eu-central-003.backblazeb2.com",
        ))
        .stdout(predicate::str::contains(
            "notify: webhook https://hooks.example.com/lifeboat",
        ))
        .stdout(predicate::str::contains(
            "providers: vast (vast, key from $VAST_API_KEY)",
        ));
}

// ── 1–3: unknown keys, missing keys, bad durations ───────────────────────────────────

#[test]
fn unknown_key_suggests_the_right_one() {
    rejects(
        "typo.toml",
        &edit("address", "adress"),
        "3:1",
        "host \"pc1\".adress",
        &[
            "unknown key \"adress\"; did you mean \"address\"?",
            "rename \"adress\" to \"address\"",
        ],
    );
}

#[test]
fn missing_key_names_the_table_and_shows_an_example() {
    rejects(
        "missing.toml",
        &edit("address = \"192.168.1.10\"\n", ""),
        "1:1",
        "host \"pc1\".address",
        &[
            "missing required key \"address\"",
            "fix: add address = \"192.168.1.10\"",
        ],
    );
}

#[test]
fn bad_duration_shows_the_format() {
    rejects(
        "duration.toml",
        &with("[detection]\nprobe_interval = \"10 sec\"\n"),
        "19:18",
        "detection.probe_interval",
        &[
            "\"10 sec\" is not a duration: spaces are not allowed",
            "e.g. \"10s\"",
        ],
    );
}

// ── 4–6: references, duplicates, standby on itself ───────────────────────────────────

#[test]
fn job_on_an_unknown_host_lists_the_known_hosts() {
    rejects(
        "host.toml",
        &edit("host = \"pc1\"", "host = \"pc2\""),
        "8:8",
        "job \"train\".host",
        &[
            "no host named \"pc2\"; known hosts: \"pc1\"",
            "did you mean \"pc1\"?",
        ],
    );
}

#[test]
fn unknown_standby_lists_the_known_hosts() {
    rejects(
        "standby.toml",
        &edit("[\"pc1:1\"]", "[\"pc1:1\", \"cpu-vm\"]"),
        "13:21",
        "job \"train\".standby[1]",
        &[
            "no host named \"cpu-vm\"; known hosts: \"pc1\"",
            "add a [[host]] with name = \"cpu-vm\"",
        ],
    );
}

#[test]
fn duplicate_host_points_at_the_second_and_names_the_first() {
    rejects(
        "duphost.toml",
        &with("[[host]]\nname = \"pc1\"\naddress = \"10.0.0.2\"\ngpus = 1\n"),
        "19:8",
        "host[1].name",
        &[
            "duplicate host name \"pc1\"; the first one is at line 2",
            "own name",
        ],
    );
}

#[test]
fn duplicate_job_points_at_the_second_and_names_the_first() {
    let job2 = "[[job]]\nname = \"train\"\nhost = \"pc1\"\ngpu = 1\nworkdir = \"/w2\"\nlaunch = \"x\"\ncheckpoint_dir = \"/c\"\n";
    rejects(
        "dupjob.toml",
        &with(job2),
        "19:8",
        "job[1].name",
        &["duplicate job name \"train\"; the first one is at line 7"],
    );
}

#[test]
fn standby_on_the_jobs_own_gpu_is_refused() {
    rejects(
        "self.toml",
        &edit("[\"pc1:1\"]", "[\"pc1:0\"]"),
        "13:12",
        "job \"train\".standby[0]",
        &[
            "\"pc1:0\" is the job's own place (pc1:gpu0)",
            "e.g. \"pc1:1\"",
        ],
    );
}

// ── 7: relative paths ────────────────────────────────────────────────────────────────

#[test]
fn relative_paths_are_refused_everywhere() {
    let text = format!(
        "[settings]\nstate_dir = \"state\"\n{}",
        BASE.replace("gpus = 2", "gpus = 2\nssh_key = \"~/.ssh/id_ed25519\"")
            .replace("\"/w\"", "\"w\"")
            .replace("\"/w/ckpt\"", "\"ckpt\"")
            .replace("gpu = 0", "gpu = 0\nheartbeat = \"hb\"")
            .replace("\"/tmp\"", "\"mnt/nas\"")
    );
    let stderr = rejects(
        "paths.toml",
        &text,
        "2:13",
        "settings.state_dir",
        &["\"state\" is not an absolute path", "6 problems"],
    );
    for (at, key, value) in [
        ("7:11", "host \"pc1\".ssh_key", "\"~/.ssh/id_ed25519\""),
        ("13:13", "job \"train\".heartbeat", "\"hb\""),
        ("14:11", "job \"train\".workdir", "\"w\""),
        ("16:18", "job \"train\".checkpoint_dir", "\"ckpt\""),
        ("20:7", "storage.nas", "\"mnt/nas\""),
    ] {
        let line = format!("paths.toml:{at}: {key}: {value} is not an absolute path");
        assert!(stderr.contains(&line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert!(stderr.contains("\"~\" is not expanded here"), "{stderr}");
}

// ── 8: secrets ───────────────────────────────────────────────────────────────────────

const TOKEN: &str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";

#[test]
fn secret_in_an_env_name_slot_is_refused_without_echoing_it() {
    let stderr = rejects(
        "secret.toml",
        &with(&format!(
            "[[notify]]\nkind = \"telegram\"\nbot_token_env = \"{TOKEN}\"\nchat_id = \"-5275672778\"\n"
        )),
        "20:17",
        "notify[0].bot_token_env",
        &[
            "\"123…\" looks like a secret, not an environment variable name",
            "put the token in an environment variable and write its name here, e.g. bot_token_env = \"TELEGRAM_BOT_TOKEN\"",
        ],
    );
    assert!(
        !stderr.contains(TOKEN) && !stderr.contains("ABC-DEF"),
        "{stderr}"
    );
}

#[test]
fn secret_keys_are_refused_without_echoing_them() {
    let cases = [
        (
            format!("[[notify]]\nkind = \"telegram\"\nchat_id = \"-1\"\nbot_token = \"{TOKEN}\"\n"),
            "21:1",
            "notify[0].bot_token",
            "use `bot_token_env = \"NAME\"`",
        ),
        (
            format!("[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key = \"{TOKEN}\"\n"),
            "21:1",
            "provider \"vast\".api_key",
            "use `api_key_env = \"NAME\"`",
        ),
        (
            format!("[storage.s3]\nbucket = \"b-1\"\nregion = \"me-south-1\"\nsecret_access_key = \"{TOKEN}\"\n"),
            "21:1",
            "storage.s3.secret_access_key",
            "AWS SDK's default chain",
        ),
    ];
    for (extra, at, key, fix) in cases {
        let stderr = rejects(
            "secretkey.toml",
            &with(&extra),
            at,
            key,
            &[
                "would hold a secret (\"123…\"); secrets never live in the config file",
                fix,
            ],
        );
        assert!(
            !stderr.contains(TOKEN) && !stderr.contains("ABC-DEF"),
            "{stderr}"
        );
    }
    let stderr = rejects(
        "password.toml",
        &edit("gpus = 2", "gpus = 2\npassword = \"hunter2hunter2\""),
        "5:1",
        "host \"pc1\".password",
        &["secrets never live in the config file", "ssh_key"],
    );
    assert!(!stderr.contains("hunter2hunter2"), "{stderr}");
}

// ── 9: TOML syntax ───────────────────────────────────────────────────────────────────

#[test]
fn syntax_errors_carry_line_and_column() {
    rejects(
        "syntax.toml",
        &edit("gpus = 2", "gpus = two"),
        "4:8",
        "host[0].gpus",
        &[
            "TOML syntax error: invalid string",
            "`gpus = two`",
            "fix: write the value like this: gpus = 2",
        ],
    );
    let (_dir, path) = write("header.toml", "[[host]\nname = \"pc1\"\n");
    lifeboat()
        .args(["config", "check"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:1:7: TOML syntax error: invalid table header",
            path.display()
        )))
        .stderr(predicate::str::contains(
            "fix: a table header is [name] or [[name]]",
        ));
}

// ── 10: everything else ──────────────────────────────────────────────────────────────

#[test]
fn gpu_index_must_exist_on_the_host() {
    rejects(
        "gpu.toml",
        &edit("gpu = 0", "gpu = 2"),
        "9:7",
        "job \"train\".gpu",
        &[
            "GPU 2 does not exist on host \"pc1\", which has 2 GPUs (indices 0 to 1)",
            "raise gpus",
        ],
    );
}

#[test]
fn unknown_role_profile_and_strategy_get_a_suggestion() {
    rejects(
        "role.toml",
        &edit("gpus = 2", "gpus = 2\nrole = \"primry\""),
        "5:8",
        "host \"pc1\".role",
        &[
            "unknown role \"primry\"; did you mean \"primary\"?",
            "\"cpu-standby\"",
        ],
    );
    rejects(
        "profile.toml",
        &format!("[settings]\nprofile = \"clod\"\n{BASE}"),
        "2:11",
        "settings.profile",
        &[
            "unknown detection profile \"clod\"; did you mean \"cloud\"?",
            "use one of: \"lan\", \"cloud\"",
        ],
    );
    rejects(
        "strategy.toml",
        &edit(
            "standby = [\"pc1:1\"]",
            "standby = [\"pc1:1\"]\nstrategies = [\"warm-standy\"]",
        ),
        "14:15",
        "job \"train\".strategies[0]",
        &["unknown strategy \"warm-standy\"; did you mean \"warm-standby\"?"],
    );
}

#[test]
fn port_out_of_range() {
    rejects(
        "port.toml",
        &edit("\"192.168.1.10\"", "\"192.168.1.10:70000\""),
        "3:11",
        "host \"pc1\".address",
        &[
            "port 70000 in \"192.168.1.10:70000\" is out of range",
            "1 to 65535",
        ],
    );
}

#[test]
fn empty_strategy_list_and_escalate_not_last() {
    rejects(
        "empty.toml",
        &edit(
            "standby = [\"pc1:1\"]",
            "standby = [\"pc1:1\"]\nstrategies = []",
        ),
        "14:14",
        "job \"train\".strategies",
        &[
            "the strategy list is empty",
            "remove the key to use the default chain",
        ],
    );
    rejects(
        "escalate.toml",
        &edit(
            "standby = [\"pc1:1\"]",
            "standby = [\"pc1:1\"]\nstrategies = [\"escalate\", \"warm-standby\"]",
        ),
        "14:27",
        "job \"train\".strategies[1]",
        &[
            "\"warm-standby\" comes after \"escalate\", so it is never reached",
            "move \"escalate\" to the end",
        ],
    );
}

#[test]
fn job_on_a_cpu_standby_host_is_refused() {
    let text = with("[[host]]\nname = \"vm\"\naddress = \"10.0.0.9\"\nrole = \"cpu-standby\"\n")
        .replace("host = \"pc1\"\ngpu = 0", "host = \"vm\"");
    rejects(
        "cpujob.toml",
        &text,
        "8:8",
        "job \"train\".host",
        &["host \"vm\" is a cpu-standby", "list \"vm\" in standby"],
    );
}

#[test]
fn zero_restart_budget_and_empty_backoff() {
    rejects(
        "budget.toml",
        &with("[recovery]\nrestart_budget = 0\n"),
        "19:18",
        "recovery.restart_budget",
        &[
            "restart_budget = 0 would forbid every failover",
            "strategies = [\"escalate\"]",
        ],
    );
    rejects(
        "backoff.toml",
        &with("[recovery]\nreconnect_backoff = []\n"),
        "19:21",
        "recovery.reconnect_backoff",
        &[
            "reconnect_backoff is empty",
            "reconnect_backoff = [\"1s\", \"2s\", \"4s\", \"8s\", \"16s\"]",
        ],
    );
}

// ── Finding the file ─────────────────────────────────────────────────────────────────

#[test]
fn config_flag_beats_the_environment_variable() {
    let (_a, flag) = write("flag.toml", BASE);
    let (_b, env) = write("env.toml", BASE);
    lifeboat()
        .env("LIFEBOAT_CONFIG", &env)
        .arg("--config")
        .arg(&flag)
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "ok: {}\n",
            flag.display()
        )));
}

#[test]
fn environment_variable_is_used_without_a_flag() {
    let (_b, env) = write("env.toml", BASE);
    lifeboat()
        .env("LIFEBOAT_CONFIG", &env)
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "ok: {}\n",
            env.display()
        )));
}

#[test]
fn platform_config_dir_is_the_last_resort() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config/lifeboat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), BASE).unwrap();
    lifeboat()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("config/lifeboat/config.toml"));
}

#[test]
fn no_config_anywhere_says_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    lifeboat()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no config file found"))
        .stderr(predicate::str::contains("--config: not given"))
        .stderr(predicate::str::contains("LIFEBOAT_CONFIG: not set"))
        .stderr(predicate::str::contains(
            "config/lifeboat/config.toml: no such file",
        ))
        .stderr(predicate::str::contains(
            "fix: pass --config FILE, or set LIFEBOAT_CONFIG=FILE",
        ));
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    lifeboat()
        .args(["config", "check"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: cannot read the config file: no such file",
            path.display()
        )))
        .stderr(predicate::str::contains("fix: check the path"));
    // A missing file named by the environment variable is reported, not skipped.
    lifeboat()
        .env("LIFEBOAT_CONFIG", &path)
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: cannot read",
            path.display()
        )));
}
