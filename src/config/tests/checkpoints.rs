//! Checkpoint keys: replication and scrubbing in `[storage]`, retention policies (the
//! base, per-store and per-job overrides), and a job's marker and prestaging.

use super::*;
use crate::config::{summary, ReplicaOrder, StorageConfig};
use crate::core::retention::Retention;
use std::time::Duration;

/// `BASE` with `extra` added to its `[storage]` table (after `nas`, at line 17 on).
fn storage(extra: &str) -> String {
    edit(
        "nas = \"/mnt/nas\"",
        &format!("nas = \"/mnt/nas\"\n{extra}"),
    )
}

/// `BASE` with `extra` added to its job (after `standby`, at line 14 on).
fn job(extra: &str) -> String {
    edit(
        "standby = [\"pc1:1\"]",
        &format!("standby = [\"pc1:1\"]\n{extra}"),
    )
}

fn keep(last: u32, daily: u32) -> Retention {
    Retention {
        last,
        daily,
        ..Retention::default()
    }
}

const S3: &str = "[storage.s3]\nbucket = \"b-1\"\nregion = \"me-south-1\"\n";

#[test]
fn storage_defaults_keep_three_replicate_two_and_scrub_a_twelfth_every_6h() {
    let st = ok(BASE).storage;
    assert_eq!(
        st,
        StorageConfig {
            nas: Some("/mnt/nas".into()),
            ..StorageConfig::default()
        }
    );
    assert_eq!((st.keep_last, st.retention.clone()), (3, keep(3, 0)));
    assert_eq!(st.parallel, 2);
    assert_eq!(st.order, ReplicaOrder::Parallel);
    assert_eq!(st.scrub_every, Some(Duration::from_secs(6 * 3600)));
    assert_eq!(st.scrub_fraction, 12);
    assert_eq!(st.nas_retention, None);
    let job = &ok(BASE).fleet.jobs[0];
    assert_eq!(
        (&job.checkpoint_marker, job.prestage, &job.retention),
        (&None, false, &None)
    );
}

#[test]
fn every_storage_key_is_read() {
    let c = ok(&with(
        "[storage]\nnas = \"/mnt/nas\"\nkeep_last = 4\nkeep_hourly = 24\nkeep_daily = 7\nkeep_weekly = 4\nkeep_monthly = 12\nkeep_yearly = 2\nparallel = 16\norder = \"nas-then-s3\"\nscrub_every = \"1h30m\"\nscrub_fraction = 1\n",
    )
    .replacen("[storage]\nnas = \"/mnt/nas\"\n", "", 1));
    let st = &c.storage;
    assert_eq!(
        st.retention,
        Retention {
            last: 4,
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 2
        }
    );
    assert_eq!(st.keep_last, 4);
    assert_eq!(st.parallel, 16);
    assert_eq!(st.order, ReplicaOrder::NasThenS3);
    assert_eq!(st.scrub_every, Some(Duration::from_secs(5400)));
    assert_eq!(st.scrub_fraction, 1);
    let off = ok(&storage("scrub_every = \"off\"\nscrub_fraction = 1000"));
    assert_eq!(off.storage.scrub_every, None);
    assert_eq!(off.storage.scrub_fraction, 1000);
}

#[test]
fn overrides_replace_the_policy_for_their_store_and_jobs_win_over_stores() {
    let c = ok(&with(&format!(
        "{S3}keep_last = 10\nkeep_daily = 30\n[storage.nas_retention]\nkeep_last = 5\n"
    ))
    .replace("nas = \"/mnt/nas\"", "nas = \"/mnt/nas\"\nkeep_daily = 7"));
    let st = &c.storage;
    assert_eq!(st.retention, keep(3, 7));
    assert_eq!(
        st.s3.as_ref().and_then(|s| s.retention.clone()),
        Some(keep(10, 30))
    );
    // Replaced whole: the NAS keeps its last 5 and no dailies.
    assert_eq!(st.nas_retention, Some(keep(5, 0)));
    assert_eq!(st.policy_for("nas", None), keep(5, 0));
    assert_eq!(st.policy_for("s3", None), keep(10, 30));
    let job = keep(1, 14);
    assert_eq!(st.policy_for("nas", Some(&job)), job);
    assert_eq!(st.policy_for("s3", Some(&job)), job);
    // No overrides: [storage]'s own policy everywhere.
    let plain = ok(&storage("keep_last = 6")).storage;
    assert_eq!(plain.policy_for("nas", None), keep(6, 0));
    assert_eq!(plain.policy_for("s3", None), keep(6, 0));
    // An override by the calendar alone is fine.
    let cal = ok(&with(&format!("{S3}keep_weekly = 8\n")));
    let s3 = cal.storage.s3.unwrap().retention.unwrap();
    assert_eq!((s3.last, s3.weekly), (0, 8));
}

#[test]
fn job_checkpoint_keys_are_read() {
    let c = ok(&job(
        "checkpoint_marker = \"COMPLETE\"\nprestage = true\nretention = { keep_last = 5, keep_daily = 7 }",
    ));
    let j = &c.fleet.jobs[0];
    assert_eq!(j.checkpoint_marker.as_deref(), Some("COMPLETE"));
    assert!(j.prestage);
    assert_eq!(j.retention, Some(keep(5, 7)));
    assert_eq!(
        c.storage.policy_for("nas", j.retention.as_ref()),
        keep(5, 7)
    );
    // Dotted keys make the same table; calendar-only is fine; prestage = false needs no standby.
    let c = ok(&job("retention.keep_daily = 7\nretention.keep_last = 2"));
    assert_eq!(c.fleet.jobs[0].retention, Some(keep(2, 7)));
    let c = ok(&edit("standby = [\"pc1:1\"]\n", "prestage = false\n"));
    assert!(!c.fleet.jobs[0].prestage);
    let c = ok(&job("checkpoint_marker = \"done.flag\""));
    assert_eq!(
        c.fleet.jobs[0].checkpoint_marker.as_deref(),
        Some("done.flag")
    );
}

#[test]
fn the_manifest_key_is_named_never_written() {
    let c = ok(&storage("manifest_key_env = \"LIFEBOAT_MANIFEST_KEY\""));
    assert_eq!(
        c.storage.manifest_key_env.as_deref(),
        Some("LIFEBOAT_MANIFEST_KEY")
    );
    let p = one(&storage("manifest_key_env = \"not a name\""));
    check(
        &p,
        17,
        "storage.manifest_key_env",
        &["is not an environment variable name"],
        &["manifest_key_env = \"LIFEBOAT_MANIFEST_KEY\""],
    );
    let secret = "ghp_0123456789abcdefABCDEF0123456789abcd";
    let p = one(&storage(&format!("manifest_key_env = \"{secret}\"")));
    assert!(p.message.contains("looks like a secret"), "{p:#?}");
}

#[test]
fn storage_numbers_are_checked_against_their_range() {
    let p = one(&storage("parallel = 0"));
    check(
        &p,
        17,
        "storage.parallel",
        &["parallel = 0 is out of range: 1 to 16 (checkpoints replicated at once)"],
        &["use 1 to 16, e.g. parallel = 2"],
    );
    let p = one(&storage("parallel = 17"));
    check(
        &p,
        17,
        "storage.parallel",
        &["parallel = 17 is out of range"],
        &[],
    );
    let p = one(&storage("scrub_fraction = 0"));
    check(
        &p,
        17,
        "storage.scrub_fraction",
        &[
            "scrub_fraction = 0 is out of range: 1 to 1000",
            "1 = all of them",
        ],
        &["scrub_fraction = 12"],
    );
    let p = one(&storage("scrub_fraction = 1001"));
    check(
        &p,
        17,
        "storage.scrub_fraction",
        &["1001 is out of range"],
        &[],
    );
    let p = one(&storage("keep_daily = -1"));
    check(
        &p,
        17,
        "storage.keep_daily",
        &["-1 is out of range"],
        &["keep_daily = 7"],
    );
}

#[test]
fn order_and_scrub_every_are_checked() {
    let p = one(&storage("order = \"nas_then_s3\""));
    check(
        &p,
        17,
        "storage.order",
        &[
            "unknown replication order \"nas_then_s3\"",
            "did you mean \"nas-then-s3\"?",
        ],
        &["\"parallel\", \"nas-then-s3\""],
    );
    let p = one(&storage("scrub_every = \"0s\""));
    check(
        &p,
        17,
        "storage.scrub_every",
        &["scrub_every = \"0s\" would re-hash the copies without pause"],
        &[
            "to turn scrubbing off, write scrub_every = \"off\"",
            "\"6h\"",
        ],
    );
    let p = one(&storage("scrub_every = \"never\""));
    check(
        &p,
        17,
        "storage.scrub_every",
        &["\"never\" is not a duration"],
        &["e.g. \"10s\"", "or \"off\" to never scrub"],
    );
    let p = one(&storage("scrub_every = 6"));
    check(
        &p,
        17,
        "storage.scrub_every",
        &["expected a string in double quotes, found 6"],
        &["scrub_every = \"6h\""],
    );
}

#[test]
fn store_overrides_must_keep_something() {
    let p = one(&with(&format!("{S3}keep_last = 0\nkeep_daily = 30\n")));
    check(
        &p,
        21,
        "storage.s3.keep_last",
        &["keep_last = 0 would keep no checkpoint by count (0 does not mean \"all\")"],
        &["keep_last = 5", "leave keep_last out"],
    );
    let p = one(&with(&format!("{S3}keep_daily = 0\n")));
    check(
        &p,
        21,
        "storage.s3.keep_daily",
        &["keeps nothing, so pruning would delete every checkpoint but the newest"],
        &["remove the keep_* keys from [storage.s3] to use [storage]'s"],
    );
    let p = one(&with("[storage.nas_retention]\n"));
    check(
        &p,
        18,
        "storage.nas_retention",
        &["this retention policy keeps nothing"],
        &["keep_last = 5", "remove [storage.nas_retention]"],
    );
    let p = one(&with("[storage.nas_retention]\nkeep_last = 0\n"));
    check(
        &p,
        19,
        "storage.nas_retention.keep_last",
        &["keep_last = 0"],
        &[],
    );
    let p = one(&with("[storage.nas_retention]\nkeep_dayly = 7\n"));
    check(
        &p,
        19,
        "storage.nas_retention.keep_dayly",
        &["did you mean \"keep_daily\"?"],
        &[],
    );
    // The base policy keeps its old message.
    let p = one(&storage("keep_last = 0\nkeep_daily = 7"));
    check(
        &p,
        17,
        "storage.keep_last",
        &["keep_last = 0 would delete every checkpoint"],
        &[],
    );
}

#[test]
fn a_nas_policy_needs_a_nas() {
    let text = with(&format!("{S3}[storage.nas_retention]\nkeep_last = 5\n")).replacen(
        "nas = \"/mnt/nas\"\n",
        "",
        1,
    );
    let p = one(&text);
    check(
        &p,
        20,
        "storage.nas_retention",
        &["[storage.nas_retention] is set, but [storage] has no nas store"],
        &[
            "add nas = \"/mnt/nas/checkpoints\"",
            "or remove [storage.nas_retention]",
        ],
    );
}

#[test]
fn markers_are_one_plain_file_name() {
    let m = |v: &str| one(&job(&format!("checkpoint_marker = \"{v}\"")));
    check(
        &m("done/COMPLETE"),
        14,
        "job \"train\".checkpoint_marker",
        &["\"done/COMPLETE\" is a path; checkpoint_marker is one file name"],
        &["checkpoint_marker = \"COMPLETE\""],
    );
    check(
        &m(".done"),
        14,
        "job \"train\".checkpoint_marker",
        &["\".done\" starts with '.'"],
        &["checkpoint_marker = \"done\""],
    );
    check(
        &m(".."),
        14,
        "job \"train\".checkpoint_marker",
        &["starts with '.'"],
        &["checkpoint_marker = \"COMPLETE\""],
    );
    check(
        &m("manifest.json"),
        14,
        "job \"train\".checkpoint_marker",
        &["\"manifest.json\" is the name of Lifeboat's own manifest"],
        &["checkpoint_marker = \"COMPLETE\""],
    );
    check(
        &m(""),
        14,
        "job \"train\".checkpoint_marker",
        &["checkpoint_marker cannot be empty"],
        &["remove the key to judge completeness by size and mtime"],
    );
    check(
        &m("a\\tb"),
        14,
        "job \"train\".checkpoint_marker",
        &["not a usable file name"],
        &[],
    );
}

#[test]
fn prestaging_needs_a_standby() {
    let p = one(&edit("standby = [\"pc1:1\"]", "prestage = true"));
    check(
        &p,
        13,
        "job \"train\".prestage",
        &["prestage = true, but the job has no standby to stage checkpoints on"],
        &[
            "add a standby, e.g. standby = [\"pc1:1\"]",
            "or remove prestage",
        ],
    );
    let p = one(&edit(
        "standby = [\"pc1:1\"]",
        "standby = []\nprestage = true",
    ));
    check(&p, 14, "job \"train\".prestage", &["no standby"], &[]);
    let p = one(&job("prestage = \"yes\""));
    check(
        &p,
        14,
        "job \"train\".prestage",
        &["expected true or false"],
        &["prestage = true"],
    );
}

#[test]
fn a_jobs_retention_must_keep_something_and_use_known_keys() {
    let p = one(&job("retention = {}"));
    check(
        &p,
        14,
        "job \"train\".retention",
        &["this retention policy keeps nothing, so pruning would delete every checkpoint but the newest"],
        &["keep_last = 5", "or remove the job's retention to use the stores' policies"],
    );
    let p = one(&job("retention = { keep_daily = 0, keep_weekly = 0 }"));
    check(
        &p,
        14,
        "job \"train\".retention.keep_daily",
        &["keeps nothing"],
        &[],
    );
    let p = one(&job("retention = { keep_last = 0, keep_daily = 3 }"));
    check(
        &p,
        14,
        "job \"train\".retention.keep_last",
        &["keep_last = 0 would keep no checkpoint by count"],
        &[],
    );
    let p = one(&job("retention = { keep_lats = 5 }"));
    check(
        &p,
        14,
        "job \"train\".retention.keep_lats",
        &["unknown key \"keep_lats\"", "did you mean \"keep_last\"?"],
        &[],
    );
    let p = one(&job("retention = { keep_daily = \"7\" }"));
    check(
        &p,
        14,
        "job \"train\".retention.keep_daily",
        &["expected a whole number"],
        &["retention = { keep_daily = 7 }"],
    );
    // A keep_* key written on the job itself belongs in its retention table.
    let p = one(&job("keep_daily = 7"));
    check(
        &p,
        14,
        "job \"train\".keep_daily",
        &["\"keep_daily\" does not belong here; it goes in this job's retention table"],
        &["move it into retention, e.g. retention = { keep_daily = 7 }"],
    );
    // Elsewhere, every table that has it is named, shallow ones first.
    let p = one(&edit("gpus = 2", "gpus = 2\nkeep_daily = 7"));
    check(
        &p,
        5,
        "host \"pc1\".keep_daily",
        &["it is a key of [storage], retention = { … } in a [[job]], [storage.nas_retention] and [storage.s3]"],
        &["move it under [storage], retention = { … } in a [[job]], [storage.nas_retention] or [storage.s3]"],
    );
}

#[test]
fn summary_shows_policies_and_what_differs_from_the_defaults() {
    let s = summary(&ok(BASE));
    assert!(
        s.contains("storage: NAS /mnt/nas; keep last 3\n")
            || s.ends_with("storage: NAS /mnt/nas; keep last 3"),
        "{s}"
    );
    let text = with(&format!(
        "{S3}keep_daily = 30\n[storage.nas_retention]\nkeep_last = 5\nkeep_weekly = 4\n"
    ))
    .replace(
        "nas = \"/mnt/nas\"",
        "nas = \"/mnt/nas\"\nkeep_hourly = 24\nparallel = 4\norder = \"nas-then-s3\"\nscrub_fraction = 1",
    )
    .replace(
        "standby = [\"pc1:1\"]",
        "standby = [\"pc1:1\"]\ncheckpoint_marker = \"COMPLETE\"\nprestage = true\nretention = { keep_last = 2, keep_monthly = 6 }",
    );
    let s = summary(&ok(&text));
    for part in [
        "; keep last 3, 24 hourly; NAS: keep last 5, 4 weekly; S3: keep 30 daily; 4 at once, NAS then S3, scrub 1/1 every 6h",
        "strategies restart-in-place → warm-standby → escalate; checkpoint marker COMPLETE; prestaged on pc1:gpu1; keep last 2, 6 monthly",
    ] {
        assert!(s.contains(part), "summary lacks {part:?}:\n{s}");
    }
    let s = summary(&ok(&storage("scrub_every = \"off\"")));
    assert!(s.contains("keep last 3; no scrub"), "{s}");
}

#[test]
fn the_commented_checkpoint_keys_in_gate0_are_valid_when_uncommented() {
    let gate0 = include_str!("../../../assets/examples/gate0.toml");
    // `# key = …` and `# [table]` lines; prose comments stay comments.
    let is_setting = |rest: &str| {
        rest.starts_with("[storage.")
            || rest.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    };
    let text: Vec<&str> = gate0
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if is_setting(rest) => rest,
            _ => l,
        })
        .collect();
    let c = ok(&text.join("\n"));
    let st = &c.storage;
    assert_eq!(
        st.retention,
        Retention {
            last: 3,
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 2
        }
    );
    assert_eq!(st.nas_retention, Some(keep(5, 0)));
    assert_eq!(st.s3.as_ref().unwrap().retention, Some(keep(10, 30)));
    assert_eq!(c.state_dir.as_deref(), Some(Path::new("/var/lib/lifeboat")));
    let j = &c.fleet.jobs[0];
    assert_eq!(j.checkpoint_marker.as_deref(), Some("COMPLETE"));
    assert_eq!(j.retention, Some(keep(5, 7)));
    assert!(!j.prestage);
    assert_eq!(StorageConfig::default().parallel, st.parallel);
}
