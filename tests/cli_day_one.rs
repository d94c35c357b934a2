//! The CLI a user expects on day one, through the binary: shell completions and man pages
//! generated from the clap definitions, `config init` (starter and examples, each then
//! passing `config check`), and `notify test` against Telegram and webhook fakes on
//! loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "cli_day_one/config_init.rs"]
mod config_init;
#[path = "support/http_recorder.rs"]
mod http_recorder;
#[path = "cli_day_one/notify_test.rs"]
mod notify_test;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn lifeboat() -> Command {
    let mut c = Command::cargo_bin("lifeboat").unwrap();
    c.env_remove("LIFEBOAT_CONFIG");
    c
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `lifeboat --help` lists (so a new one is covered without editing this).
fn subcommands() -> Vec<String> {
    let help = stdout(lifeboat().arg("--help"));
    let names: Vec<String> = help
        .split("Commands:\n")
        .nth(1)
        .expect("--help lists commands")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    for must in ["config", "completions", "man", "notify"] {
        assert!(names.iter().any(|n| n == must), "{must} missing: {names:?}");
    }
    names
}

/// A temp home: `config init` and `config check` with no FILE use its config dir.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = lifeboat();
        c.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .current_dir(self.dir.path());
        c
    }

    fn default_config(&self) -> PathBuf {
        self.dir.path().join("config/lifeboat/config.toml")
    }
}

// ── Completions and man pages ────────────────────────────────────────────────────────

#[test]
fn the_bash_completion_script_loads_and_registers_lifeboat() {
    let bin = assert_cmd::cargo::cargo_bin("lifeboat");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("source <(\"$0\" completions bash) && complete -p lifeboat")
        .arg(&bin)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("-F _lifeboat") && text.trim_end().ends_with("lifeboat"),
        "{text}"
    );
}

#[test]
fn every_shell_script_names_every_subcommand() {
    let names = subcommands();
    for (shell, marker) in [
        ("bash", "_lifeboat()"),
        ("zsh", "#compdef lifeboat"),
        ("fish", "complete -c lifeboat"),
    ] {
        let script = stdout(lifeboat().args(["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for n in &names {
            assert!(script.contains(n.as_str()), "{shell} script lacks {n}");
        }
    }
    // Nested subcommands complete too.
    let bash = stdout(lifeboat().args(["completions", "bash"]));
    assert!(bash.contains("check") && bash.contains("replicate"));
}

#[test]
fn an_unknown_shell_is_a_usage_error_listing_the_shells() {
    lifeboat()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bash").and(predicate::str::contains("fish")));
}

#[test]
fn the_man_page_is_roff_and_lists_every_subcommand() {
    let page = stdout(lifeboat().arg("man"));
    assert!(page.contains("\n.TH LIFEBOAT 1 "), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}");
    }
    for n in subcommands() {
        let entry = format!("lifeboat\\-{}(1)", n.replace('-', "\\-"));
        assert!(page.contains(&entry), "no {entry}");
    }
    // The COMMANDS section reaches the nested ones.
    for nested in [
        "lifeboat config check",
        "lifeboat config init",
        "lifeboat notify test",
        "lifeboat checkpoints list",
    ] {
        assert!(page.contains(nested), "no {nested}");
    }
}

#[test]
fn man_out_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("share/man/man1");
    let listed = stdout(lifeboat().args(["man", "--out"]).arg(&out));
    let mut expected: Vec<String> = subcommands()
        .iter()
        .map(|n| format!("lifeboat-{n}.1"))
        .collect();
    expected.extend(
        [
            "lifeboat.1",
            "lifeboat-config-check.1",
            "lifeboat-config-init.1",
            "lifeboat-notify-test.1",
            "lifeboat-checkpoints-list.1",
        ]
        .map(String::from),
    );
    for name in expected {
        let path = out.join(&name);
        assert!(
            listed.contains(&path.display().to_string()),
            "{name} not listed:\n{listed}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let title = name.trim_end_matches(".1").to_uppercase();
        assert!(
            text.contains(&format!("\n.TH {title} 1 ")),
            "{name}:\n{text}"
        );
    }
    assert!(!out.join("lifeboat-help.1").exists());
}
