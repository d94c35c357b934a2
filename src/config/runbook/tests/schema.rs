//! Syntax and schema errors in a runbook speak of runbook keys: unknown keys with
//! suggestions, the name key, secrets, wrong types, and broken TOML.

use super::{check, edit, line, one, GOOD};
use crate::config::hints::Schema;
use crate::config::runbook::hints::RUNBOOK;

#[test]
fn a_misspelt_key_gets_a_suggestion() {
    let text = edit("until = \"fault-detected\"", "untill = \"fault-detected\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "untill"),
        "step[2].untill",
        &["unknown key \"untill\"; did you mean \"until\"?"],
        &["rename \"untill\" to \"until\""],
    );
}

#[test]
fn a_key_of_another_table_says_where_it_goes() {
    let text = edit("rpo = \"10m\"", "rpo = \"10m\"\nlimit = \"5m\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "rpo = \"10m\"") + 1,
        "expect.limit",
        &["it is a key of [[stop]]"],
        &["move it under [[stop]]"],
    );
}

#[test]
fn an_unknown_key_lists_the_allowed_ones() {
    let p = one(&edit("max_jobs = 1", "max_jobs = 1\nzzzz = 2"));
    assert!(
        p.fix.contains("allowed here: max_hosts, max_jobs"),
        "{p:#?}"
    );
}

#[test]
fn a_name_key_is_refused_because_the_file_names_the_runbook() {
    let text = edit(
        "title = \"Job crash\"",
        "name = \"crash\"\ntitle = \"Job crash\"",
    );
    let p = one(&text);
    check(
        &p,
        2,
        "runbook.name",
        &["its name is its file's stem (\"job-crash\")"],
        &["remove name", "rename the file"],
    );
}

#[test]
fn secrets_have_no_key_and_are_never_echoed() {
    let text = edit(
        "title = \"Job crash\"",
        "title = \"Job crash\"\napi_token = \"ghp_abcdefghijklmnopqrstuvwxyz0123456789\"",
    );
    let p = one(&text);
    assert_eq!(p.key, "runbook.api_token");
    assert!(
        p.message.contains("secrets never live in a runbook"),
        "{p:#?}"
    );
    assert!(!format!("{p:?}").contains("abcdefghijklmnop"), "{p:#?}");
}

#[test]
fn wrong_types_say_what_was_expected() {
    let p = one(&edit("version = 1", "version = \"1\""));
    check(
        &p,
        line(GOOD, "version"),
        "runbook.version",
        &["expected a whole number"],
        &["version = 1"],
    );
    let p = one(&edit("jobs = [\"train\"]", "jobs = 3"));
    check(
        &p,
        line(GOOD, "jobs ="),
        "targets.jobs",
        &["a word in double quotes or an array of names"],
        &["jobs = \"any-running\""],
    );
    let p = one(&edit("[[rollback]]\naction", "[rollback]\naction"));
    assert!(
        p.fix.contains("write [[rollback]] (double brackets)"),
        "{p:#?}"
    );
    let p = one(&edit("max_hosts = 1", "max_hosts = -1"));
    check(
        &p,
        line(GOOD, "max_hosts"),
        "blast_radius.max_hosts",
        &["out of range"],
        &[],
    );
}

#[test]
fn syntax_errors_name_the_runbook_key_and_a_runbook_example() {
    let text = edit("deadline = \"60s\"", "deadline = 60s");
    let p = one(&text);
    check(
        &p,
        line(&text, "deadline = 60s"),
        "step[2].deadline",
        &["TOML syntax error"],
        &["deadline = \"60s\""],
    );
    let p = one(&edit("title = \"Job crash\"", "title = \"Job crash"));
    check(
        &p,
        2,
        "runbook.title",
        &["TOML syntax error"],
        &["close the string"],
    );
    let p = one(&edit(
        "title = \"Job crash\"",
        "title = \"Job crash\"\ntitle = \"Again\"",
    ));
    assert!(p.fix.contains("[[step]] / [[precondition]]"), "{p:#?}");
}

/// Every table's keys in the examples are exactly the keys serde takes.
#[test]
fn the_examples_cover_every_key_and_no_other() {
    let tables = [
        "",
        "runbook",
        "targets",
        "blast_radius",
        "precondition",
        "step",
        "stop",
        "rollback",
        "expect",
    ];
    let s: &Schema = &RUNBOOK;
    for t in tables {
        let text = match t {
            "" => "zzzzzz = 1\n".to_string(),
            t if s.is_table_array("", t) => format!("[[{t}]]\nzzzzzz = 1\n"),
            t => format!("[{t}]\nzzzzzz = 1\n"),
        };
        let p = one(&text);
        let listed = p
            .fix
            .split("allowed here: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{t}: {p:#?}"));
        let mut from_serde: Vec<&str> = listed.split(", ").collect();
        let mut from_hints = s.keys_of(t);
        from_serde.sort_unstable();
        from_hints.sort_unstable();
        assert_eq!(from_serde, from_hints, "table {t:?}");
        assert_eq!(s.tables_with("zzzzzz"), Vec::<&str>::new());
    }
    // No config key leaks into a runbook's suggestions.
    assert!(s.tables_with("name").is_empty());
    assert!(s.example("host", "address").is_none());
}
