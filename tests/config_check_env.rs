//! `lifeboat config check` checks what it can here without acting, through the binary: a
//! NAS folder that is missing, an env var the config names that is not set, a theme that
//! does not exist, a token in a URL's query string; `--json` prints one JSON object; and
//! `--probe` reaches every host (a real sshd, and a port nobody answers) once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sshd.rs"]
mod sshd;

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;
use tempfile::TempDir;

/// One host, one job; `{nas}` and `{extra}` are filled in.
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
nas = "{nas}"
{extra}"#;

struct Case {
    dir: TempDir,
    path: PathBuf,
}

/// A config whose NAS folder exists (unless `nas` is given) plus `extra`.
fn case(nas: Option<&str>, extra: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("nas");
    std::fs::create_dir_all(&folder).unwrap();
    let nas = nas.map_or_else(|| folder.display().to_string(), str::to_string);
    let text = BASE.replace("{nas}", &nas).replace("{extra}", extra);
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    Case { dir, path }
}

fn check(c: &Case, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("lifeboat")
        .unwrap()
        .env_remove("LIFEBOAT_CONFIG")
        .env_remove("LIFEBOAT_TEST_HOOK_TOKEN")
        // No user themes: only the built-ins exist.
        .env("HOME", c.dir.path())
        .env("XDG_CONFIG_HOME", c.dir.path().join("config"))
        .args(["config", "check"])
        .arg(&c.path)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_ready_config_passes_every_check() {
    let c = case(None, "");
    let (code, out, err) = check(&c, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("checks: 1 passed, 0 failed"), "{out}");
    assert!(out.contains("✓ storage.nas: "), "{out}");
    assert!(out.contains("exists and is writable"), "{out}");
}

#[test]
fn a_missing_nas_folder_fails_the_check() {
    let c = case(Some("/nonexistent/lifeboat-nas"), "");
    let (code, out, _) = check(&c, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("ok: "),
        "the config itself is valid:\n{out}"
    );
    assert!(
        out.contains("✖ storage.nas: NAS folder /nonexistent/lifeboat-nas does not exist: is the NAS mounted?"),
        "{out}"
    );
}

#[test]
fn a_nas_path_that_is_a_file_fails_the_check() {
    let c = case(None, "");
    let file = c.dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let c2 = case(Some(file.to_str().unwrap()), "");
    let (code, out, _) = check(&c2, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is not a folder"), "{out}");
}

const HOOK: &str = "\n[[notify]]\nkind = \"webhook\"\nurl = \"https://hooks.example.com/lifeboat\"\ntoken_env = \"LIFEBOAT_TEST_HOOK_TOKEN\"\n";

#[test]
fn an_env_var_the_config_names_must_be_set() {
    let c = case(None, HOOK);
    let (code, out, _) = check(&c, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✖ env LIFEBOAT_TEST_HOOK_TOKEN: [[notify]] token_env names $LIFEBOAT_TEST_HOOK_TOKEN, but it is not set"),
        "{out}"
    );
    let out = Command::cargo_bin("lifeboat")
        .unwrap()
        .env("LIFEBOAT_TEST_HOOK_TOKEN", "t0ken")
        .args(["config", "check"])
        .arg(&c.path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("✓ env LIFEBOAT_TEST_HOOK_TOKEN: set"),
        "{text}"
    );
    assert!(
        !text.contains("t0ken"),
        "the value is never printed:\n{text}"
    );
}

#[test]
fn an_unknown_theme_fails_the_check() {
    let c = case(None, "");
    let text = std::fs::read_to_string(&c.path).unwrap();
    std::fs::write(
        &c.path,
        format!("[settings]\ntheme = \"hihg-contrast\"\n\n{text}"),
    )
    .unwrap();
    let (code, out, _) = check(&c, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✖ theme: unknown theme \"hihg-contrast\""),
        "{out}"
    );
    assert!(out.contains("did you mean \"high-contrast\""), "{out}");
    // A built-in name passes.
    std::fs::write(&c.path, format!("[settings]\ntheme = \"light\"\n\n{text}")).unwrap();
    let (code, out, _) = check(&c, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("✓ theme: \"light\" exists"), "{out}");
}

#[test]
fn a_token_in_a_url_query_string_fails_the_check_without_repeating_it() {
    let hook = "\n[[notify]]\nkind = \"webhook\"\nurl = \"https://hooks.example.com/x?channel=ops&token=s3cr3t\"\n";
    let c = case(None, hook);
    let (code, out, _) = check(&c, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("✖ notify.url: "), "{out}");
    assert!(
        out.contains("carries \"token\" in its query string"),
        "{out}"
    );
    assert!(
        !out.contains("s3cr3t"),
        "the check repeats the secret:\n{out}"
    );
}

#[test]
fn json_prints_one_object_with_every_check() {
    let c = case(Some("/nonexistent/lifeboat-nas"), HOOK);
    let (code, out, _) = check(&c, &["--json"]);
    assert_eq!(code, Some(1), "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["config"], c.path.display().to_string());
    let checks = v["checks"].as_array().unwrap();
    let nas = checks.iter().find(|f| f["check"] == "storage.nas").unwrap();
    assert_eq!(nas["ok"], false);
    let env = checks
        .iter()
        .find(|f| f["check"] == "env LIFEBOAT_TEST_HOOK_TOKEN")
        .unwrap();
    assert_eq!(env["ok"], false);
    // A config error is JSON too, and still exit 2.
    std::fs::write(&c.path, "[[host]]\nname = 1\n").unwrap();
    let (code, out, _) = check(&c, &["--json"]);
    assert_eq!(code, Some(2), "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("fleet.toml"), "{v}");
}

/// `[[host]]` text for a real sshd, named `name`.
fn host_entry(h: &sshd::Sshd, name: &str, port: u16) -> String {
    let s = h.spec();
    format!(
        "[[host]]\nname = \"{name}\"\naddress = \"{}:{port}\"\nuser = \"{}\"\nrole = \"standby\"\ngpus = 1\nssh_key = \"{}\"\nknown_hosts = \"{}\"\n\n",
        s.address,
        s.user.clone().unwrap(),
        s.ssh_key.clone().unwrap().display(),
        s.ssh.known_hosts.clone().unwrap().display()
    )
}

#[test]
fn probe_reaches_every_host_once_and_says_which_did_not_answer() {
    let h = sshd::Sshd::start("probe");
    let port = h.spec().port;
    // A port nobody listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = case(None, "");
    let text = std::fs::read_to_string(&c.path).unwrap();
    let hosts = format!(
        "{}{}",
        host_entry(&h, "up", port),
        host_entry(&h, "down", closed)
    );
    std::fs::write(&c.path, format!("{hosts}{text}")).unwrap();
    let (code, out, err) = check(&c, &["--json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let find = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == format!("host {name}"))
            .cloned()
    };
    assert!(find("up").is_none(), "no probe without --probe: {v}");
    assert_eq!(code, Some(0), "{v}");
    let (code, out, _) = check(&c, &["--json", "--probe"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let find = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == format!("host {name}"))
            .cloned()
            .unwrap_or_else(|| panic!("no probe of {name}: {v}"))
    };
    assert_eq!(find("up")["ok"], true, "{v}");
    assert_eq!(find("down")["ok"], false, "{v}");
    assert!(
        find("down")["detail"]
            .as_str()
            .unwrap()
            .contains(&closed.to_string()),
        "{v}"
    );
    assert_eq!(code, Some(1), "{v}");
}

#[path = "support/s3.rs"]
mod s3;

/// `config check --probe --json` with these AWS credentials; the S3 finding.
fn s3_finding(c: &Case, key: &str, secret: &str) -> Value {
    let out = Command::cargo_bin("lifeboat")
        .unwrap()
        .env_remove("LIFEBOAT_CONFIG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_CONFIG_FILE", c.dir.path().join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            c.dir.path().join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", c.dir.path())
        .args(["config", "check"])
        .arg(&c.path)
        .args(["--probe", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"].as_str().unwrap().starts_with("s3 "))
        .cloned()
        .unwrap_or_else(|| panic!("no S3 probe: {v}"))
}

#[test]
fn probe_reaches_s3_and_names_what_is_wrong() {
    let srv = s3::S3Server::start();
    let s3 = |bucket: &str| {
        format!(
            "\n[storage.s3]\nbucket = \"{bucket}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\npath_style = true\n",
            srv.endpoint()
        )
    };
    let good = case(None, &s3(s3::BUCKET));
    let f = s3_finding(&good, s3::ACCESS_KEY, s3::SECRET_KEY);
    assert_eq!(f["ok"], true, "{f}");
    let f = s3_finding(&good, s3::ACCESS_KEY, "not-the-secret");
    assert_eq!(f["ok"], false, "{f}");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .starts_with("credentials refused: "),
        "{f}"
    );
    let missing = case(None, &s3("no-such-bucket"));
    let f = s3_finding(&missing, s3::ACCESS_KEY, s3::SECRET_KEY);
    assert_eq!(f["ok"], false, "{f}");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .starts_with("no such bucket: "),
        "{f}"
    );
}
