//! What serde and the TOML parser catch: syntax, unknown keys, missing keys, wrong types
//! — each turned into a problem with a position, a key path and a fix.

use super::*;
use crate::config::hints;

#[test]
fn syntax_errors_carry_line_and_column() {
    let p = one(&edit("gpus = 2", "gpus = two"));
    check(
        &p,
        4,
        "host[0].gpus",
        &["TOML syntax error", "`gpus = two`"],
        &["gpus = 2"],
    );
    assert_eq!(p.at.unwrap().col, 8);
    let p = one("[[host]\nname = \"a\"\n");
    check(&p, 1, "", &["invalid table header"], &["[[host]]"]);
    let p = one("[[host]]\nname = \"a\nx = 1\n");
    check(
        &p,
        2,
        "host[0].name",
        &["invalid basic string"],
        &["close the string"],
    );
    let p = one(&format!("{BASE}\n[detection]\nprobe_interval = 10 sec\n"));
    check(
        &p,
        19,
        "detection.probe_interval",
        &["expected newline"],
        &["probe_interval = \"1s\""],
    );
}

#[test]
fn duplicate_keys_are_syntax_errors() {
    let p = one(&edit("gpus = 2", "gpus = 2\ngpus = 3"));
    check(
        &p,
        5,
        "host[0].gpus",
        &["duplicate key `gpus`"],
        &["once per table"],
    );
}

#[test]
fn unknown_keys_suggest_the_right_one() {
    let p = one(&edit("address", "adress"));
    check(
        &p,
        3,
        "host \"pc1\".adress",
        &["unknown key \"adress\"", "did you mean \"address\"?"],
        &["rename \"adress\" to \"address\""],
    );
    let p = one(&edit("checkpoint_dir", "checkpoint_directory"));
    check(
        &p,
        12,
        "job \"train\".checkpoint_directory",
        &["did you mean \"checkpoint_dir\"?"],
        &[],
    );
    let p = one(&with("[storage.s3]\nbucket = \"b-1\"\nregon = \"x\"\n"));
    check(
        &p,
        20,
        "storage.s3.regon",
        &["did you mean \"region\"?"],
        &[],
    );
    let p = one(&edit("gpu = 0", "gpu = 0\nheartbeat = { fil = \"/w/hb\" }"));
    check(
        &p,
        10,
        "job \"train\".heartbeat.fil",
        &["did you mean \"file\"?"],
        &[],
    );
}

#[test]
fn unknown_tables_and_keys_without_a_near_miss_list_the_allowed_ones() {
    let p = one(&format!("[[hosts]]\nname = \"x\"\n{BASE}"));
    check(
        &p,
        1,
        "hosts",
        &[
            "unknown top-level table \"hosts\"",
            "did you mean \"host\"?",
        ],
        &[],
    );
    let p = one(&edit("gpus = 2", "gpus = 2\ncolour = \"red\""));
    check(
        &p,
        5,
        "host \"pc1\".colour",
        &["unknown key \"colour\""],
        &["allowed here: name, address, user, role, gpus, ssh_key, provider, instance"],
    );
}

#[test]
fn right_keys_in_the_wrong_table_say_where_they_belong() {
    let p = one(&format!("profile = \"lan\"\n{BASE}"));
    check(
        &p,
        1,
        "profile",
        &["\"profile\" does not belong here; it is a key of [settings] and [storage.s3]"],
        &["move it under [settings] or [storage.s3]"],
    );
    let p = one(&edit("gpus = 2", "gpus = 2\nkeep_last = 3"));
    check(
        &p,
        5,
        "host \"pc1\".keep_last",
        &["it is a key of [storage]"],
        &["move it under [storage]"],
    );
    let p = one(&edit("gpus = 2", "gpu = 2"));
    check(&p, 4, "host \"pc1\".gpu", &["did you mean \"gpus\"?"], &[]);
    let p = one(&format!("{BASE}\n[[host.disks]]\nx = 1\n"));
    assert!(p.message.contains("unknown table \"disks\""), "{p:#?}");
}

#[test]
fn missing_keys_name_the_table_and_show_an_example() {
    let p = one(&edit("address = \"192.168.1.10\"\n", ""));
    check(
        &p,
        1,
        "host \"pc1\".address",
        &["missing required key \"address\""],
        &["add address = \"192.168.1.10\""],
    );
    let p = one(&edit(
        "launch = \"python train.py --resume {checkpoint}\"\n",
        "",
    ));
    check(
        &p,
        6,
        "job \"train\".launch",
        &["missing required key \"launch\""],
        &["add launch = \"python train.py --resume {checkpoint}\""],
    );
    let p = one(&with("[storage.s3]\nbucket = \"b-1\"\n"));
    check(
        &p,
        18,
        "storage.s3.region",
        &["missing required key \"region\""],
        &["region = \"me-south-1\""],
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let p = one(&edit("gpu = 0", "gpu = \"0\""));
    check(
        &p,
        9,
        "job \"train\".gpu",
        &["expected a whole number, 0 or more, found \"0\""],
        &["gpu = 0"],
    );
    let p = one(&edit("gpu = 0", "gpu = -1"));
    check(&p, 9, "job \"train\".gpu", &["-1 is out of range"], &[]);
    let p = one(&edit("[\"pc1:1\"]", "\"pc1:1\""));
    check(
        &p,
        13,
        "job \"train\".standby",
        &["expected an array"],
        &["standby = [\"pc1:1\", \"cpu-vm\"]"],
    );
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1:1\", 2]"));
    check(
        &p,
        13,
        "job \"train\".standby[1]",
        &["expected a string in double quotes, found 2"],
        &["put the value in double quotes"],
    );
    let p = one(&with(
        "[[notify]]\nkind = \"telegram\"\nbot_token_env = \"T\"\nchat_id = -5275672778\n",
    ));
    check(
        &p,
        21,
        "notify[0].chat_id",
        &["found -5275672778"],
        &["double quotes", "chat_id = \"-5275672778\""],
    );
    let p = one("[host]\nname = \"pc1\"\n");
    check(
        &p,
        1,
        "host",
        &["expected an array"],
        &["write [[host]] (double brackets)"],
    );
}

#[test]
fn every_schema_key_has_an_example() {
    // serde's list of allowed keys, per table, must match the examples used in fixes.
    let tables = [
        "",
        "settings",
        "detection",
        "detection.flap",
        "detection.partition",
        "recovery",
        "recovery.timeouts",
        "host",
        "job",
        "job.heartbeat",
        "job.retention",
        "job.workspace",
        "storage",
        "storage.s3",
        "storage.nas_retention",
        "notify",
        "provider",
        "console",
        "api",
    ];
    for t in tables {
        let text = match t {
            "" => "zzzzzz = 1\n".to_string(),
            "job.heartbeat" => "[[job]]\nheartbeat = { zzzzzz = \"x\" }\n".to_string(),
            "job.retention" => "[[job]]\nretention = { zzzzzz = 1 }\n".to_string(),
            "job.workspace" => "[[job]]\nworkspace = { zzzzzz = 1 }\n".to_string(),
            t if hints::CONFIG.is_table_array("", t) => format!("[[{t}]]\nzzzzzz = 1\n"),
            t => format!("[{t}]\nzzzzzz = 1\n"),
        };
        let p = one(&text);
        let listed = p
            .fix
            .split("allowed here: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{t}: {p:#?}"));
        let mut from_serde: Vec<&str> = listed.split(", ").collect();
        let mut from_hints = hints::CONFIG.keys_of(t);
        from_serde.sort_unstable();
        from_hints.sort_unstable();
        assert_eq!(from_serde, from_hints, "table {t:?}");
    }
}
