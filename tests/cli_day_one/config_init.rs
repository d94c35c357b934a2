//! `config init` through the binary: the starter and every example written, then each
//! passing `config check`; an existing file kept unless forced.

use super::Home;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

/// `config check` on `file` (the located config when `None`) with the example's token
/// variables set to fakes: never a config error (2); a failure (1) only because a NAS
/// folder does not exist on this machine. Returns the exit code.
fn check_passes(home: &Home, file: Option<&Path>) -> i32 {
    let mut c = home.cmd();
    c.args(["config", "check", "--json"]);
    if let Some(f) = file {
        c.arg(f);
    }
    for var in [
        "TELEGRAM_BOT_TOKEN",
        "VAST_API_KEY",
        "VAST_KEY_PASSPHRASE",
        "LIFEBOAT_HOOK_TOKEN",
    ] {
        c.env(var, "fake-value");
    }
    let out = c.output().unwrap();
    let code = out.status.code().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        code == 0 || code == 1,
        "config check exited {code}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    for check in v["checks"].as_array().unwrap() {
        assert!(
            check["ok"] == true || check["check"] == "storage.nas",
            "failed check: {check}"
        );
    }
    code
}

#[test]
fn init_writes_the_starter_where_a_plain_lifeboat_looks() {
    let home = Home::new();
    let path = home.default_config();
    home.cmd()
        .args(["config", "init"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "wrote the starter config to {}",
            path.display()
        )))
        .stdout(predicate::str::contains("lifeboat config check"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# Lifeboat"), "{text}");
    check_passes(&home, None);
}

#[test]
fn init_keeps_an_existing_file_unless_forced() {
    let home = Home::new();
    let path = home.default_config();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "# mine\n").unwrap();
    home.cmd()
        .args(["config", "init"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(path.display().to_string()))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    home.cmd()
        .args(["config", "init", "--force", "--example", "local-gpu"])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote the local-gpu example"));
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("access = \"local\""));
}

#[test]
fn init_follows_lifeboat_config_and_creates_folders() {
    let home = Home::new();
    let path = home.dir.path().join("etc/fleet/lifeboat.toml");
    home.cmd()
        .env("LIFEBOAT_CONFIG", &path)
        .args(["config", "init", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "\"path\":\"{}\"",
            path.display()
        )));
    assert!(path.is_file());
    assert!(!home.default_config().exists());
}

#[test]
fn every_example_is_written_and_then_passes_config_check() {
    let home = Home::new();
    for name in ["gate0", "cloud-fleet", "local-gpu"] {
        let path = home.dir.path().join(format!("deep/{name}/fleet.toml"));
        home.cmd()
            .args(["config", "init", "--example", name])
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "wrote the {name} example to"
            )));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("assets/examples/"), "{name}: stale hint");
        check_passes(&home, Some(&path));
    }
}

#[test]
fn an_unknown_example_is_a_usage_error_listing_the_examples() {
    let home = Home::new();
    home.cmd()
        .args(["config", "init", "--example", "gate1", "x.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gate0"))
        .stderr(predicate::str::contains("cloud-fleet"))
        .stderr(predicate::str::contains("local-gpu"));
    assert!(!home.dir.path().join("x.toml").exists());
}
