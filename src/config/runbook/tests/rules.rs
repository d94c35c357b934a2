//! The header, targets, blast radius, stop conditions, rollbacks, expectations, and the
//! rules across tables: each bad input and the problem it must produce.

use super::{check, edit, line, one, problems, GOOD};
use crate::config::runbook::parse_runbook;
use std::path::Path;

#[test]
fn an_unknown_scenario_lists_the_known_ones() {
    let text = edit("scenario = \"job-crash\"", "scenario = \"job-crahs\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "scenario ="),
        "runbook.scenario",
        &[
            "unknown scenario \"job-crahs\"",
            "did you mean \"job-crash\"",
        ],
        &["\"gpu-failure\"", "\"restore-test\""],
    );
}

#[test]
fn title_scenario_and_version_are_required_at_the_runbook_table() {
    for (cut, key) in [
        ("title = \"Job crash\"\n", "runbook.title"),
        ("scenario = \"job-crash\"\n", "runbook.scenario"),
        ("version = 1\n", "runbook.version"),
    ] {
        let p = one(&edit(cut, ""));
        check(&p, 1, key, &["missing required key"], &["add "]);
    }
    let p = one(&edit("version = 1", "version = 0"));
    check(
        &p,
        line(GOOD, "version"),
        "runbook.version",
        &["version 0"],
        &["version = 1"],
    );
}

#[test]
fn the_runbook_and_blast_radius_tables_are_required() {
    let text = GOOD.replace(
        "[runbook]\ntitle = \"Job crash\"\ndescription = \"The training process dies.\"\nscenario = \"job-crash\"\nversion = 1\n",
        "",
    );
    let p = one(&text);
    assert_eq!((p.at, p.key.as_str()), (None, "runbook"));
    assert!(p.fix.contains("[runbook] with title"), "{p:#?}");
    let p = one(&edit("[blast_radius]\nmax_hosts = 1\nmax_jobs = 1\n", ""));
    assert_eq!((p.at, p.key.as_str()), (None, "blast_radius"));
    assert!(p.fix.contains("max_hosts = 1"), "{p:#?}");
}

#[test]
fn blast_radius_limits_are_at_least_one_and_required() {
    let p = one(&edit("max_hosts = 1", "max_hosts = 0"));
    check(
        &p,
        line(GOOD, "max_hosts"),
        "blast_radius.max_hosts",
        &["would refuse every drill"],
        &["max_hosts = 1"],
    );
    let p = one(&edit("max_jobs = 1", "max_jobs = 0"));
    check(
        &p,
        line(GOOD, "max_jobs"),
        "blast_radius.max_jobs",
        &[],
        &[],
    );
    let p = one(&edit("max_jobs = 1\n", ""));
    check(
        &p,
        line(GOOD, "[blast_radius]"),
        "blast_radius.max_jobs",
        &["missing required key \"max_jobs\""],
        &["max_jobs = 1"],
    );
}

#[test]
fn job_lists_are_non_empty_distinct_and_valid_names() {
    let text = edit("jobs = [\"train\"]", "jobs = []");
    let p = one(&text);
    check(
        &p,
        line(&text, "jobs ="),
        "targets.jobs",
        &["an empty list selects no job"],
        &["jobs = [\"train\"]", "\"any-running\""],
    );
    let text = edit(
        "jobs = [\"train\"]",
        "jobs = [\"train\", \"eval\", \"train\"]",
    )
    .replace("max_jobs = 1", "max_jobs = 3");
    let p = one(&text);
    check(
        &p,
        line(&text, "jobs ="),
        "targets.jobs[2]",
        &["\"train\" is listed twice (jobs[0] and jobs[2])"],
        &["remove the repeat"],
    );
    let p = one(&edit("jobs = [\"train\"]", "jobs = [\"my job\"]"));
    check(
        &p,
        line(GOOD, "jobs ="),
        "targets.jobs[0]",
        &["not a valid job name"],
        &[],
    );
    let text = edit("hosts = \"of-jobs\"", "hosts = [\"pc1\", \"pc1\"]");
    let p = one(&text);
    check(
        &p,
        line(&text, "hosts ="),
        "targets.hosts[1]",
        &["listed twice"],
        &[],
    );
}

#[test]
fn an_unknown_selector_word_lists_the_words() {
    let p = one(&edit("hosts = \"of-jobs\"", "hosts = \"of-job\""));
    check(
        &p,
        line(GOOD, "hosts ="),
        "targets.hosts",
        &[
            "unknown host selector \"of-job\"",
            "did you mean \"of-jobs\"",
        ],
        &["\"of-jobs\", \"half-fleet\", \"none\""],
    );
}

#[test]
fn named_targets_must_fit_the_blast_radius() {
    let text = edit("jobs = [\"train\"]", "jobs = [\"train\", \"eval\"]");
    let p = one(&text);
    check(
        &p,
        line(&text, "jobs ="),
        "targets.jobs",
        &["2 jobs are named", "max_jobs = 1"],
        &["raise max_jobs to 2"],
    );
}

#[test]
fn stop_conditions_are_known_and_rto_exceeds_takes_a_limit() {
    let text = edit(
        "when = \"other-job-interrupted\"",
        "when = \"other-job-down\"",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "other-job-down"),
        "stop[0].when",
        &["unknown stop condition"],
        &["\"other-job-interrupted\", \"other-host-failed\", \"rto-exceeds\""],
    );
    let p = one(&edit("limit = \"5m\"\n", ""));
    check(
        &p,
        line(GOOD, "when = \"rto-exceeds\""),
        "stop[1].limit",
        &["needs limit"],
        &["limit = \"5m\""],
    );
    let text = edit(
        "when = \"other-job-interrupted\"",
        "when = \"other-job-interrupted\"\nlimit = \"1m\"",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "limit = \"1m\""),
        "stop[0].limit",
        &["belongs to when = \"rto-exceeds\""],
        &["remove limit"],
    );
}

#[test]
fn rollbacks_are_known_and_listed_once() {
    let p = one(&edit(
        "action = \"clear-faults\"",
        "action = \"clear-fault\"",
    ));
    check(
        &p,
        line(GOOD, "action ="),
        "rollback[0].action",
        &["unknown rollback action", "did you mean \"clear-faults\""],
        &["\"resume-automation\", \"remove-scratch\""],
    );
    let text = edit(
        "action = \"clear-faults\"",
        "action = \"clear-faults\"\n[[rollback]]\naction = \"clear-faults\"",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "action = \"clear-faults\"") + 2,
        "rollback[1].action",
        &["listed twice"],
        &["remove this [[rollback]]"],
    );
}

#[test]
fn an_inject_step_needs_a_clear_faults_rollback() {
    let text = edit("[[rollback]]\naction = \"clear-faults\"\n", "");
    let p = one(&text);
    check(
        &p,
        line(&text, "kind = \"inject\""),
        "rollback",
        &["step[1] injects a fault", "clear-faults"],
        &["add [[rollback]] with action = \"clear-faults\""],
    );
}

#[test]
fn a_partition_needs_automation_resumed() {
    let text = edit("fault = \"job-crash\"", "fault = \"partition\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "fault ="),
        "rollback",
        &["freezes automation"],
        &["action = \"resume-automation\""],
    );
    let text = format!("{text}\n[[rollback]]\naction = \"resume-automation\"\n");
    super::ok(&text);
}

#[test]
fn a_host_fault_needs_hosts() {
    let text = edit("hosts = \"of-jobs\"", "hosts = \"none\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "fault ="),
        "step[1].fault",
        &["acts on hosts", "hosts = \"none\""],
        &["hosts = \"of-jobs\"", "\"nas-lost\""],
    );
    super::ok(&text.replace("fault = \"job-crash\"", "fault = \"nas-lost\""));
}

#[test]
fn expectations_are_durations_and_rto_is_not_before_detection() {
    let p = one(&edit("rto = \"60s\"", "rto = \"5s\""));
    check(
        &p,
        line(GOOD, "rto ="),
        "expect.rto",
        &["shorter than detection"],
        &["detection = \"15s\" and rto = \"90s\""],
    );
    let p = one(&edit("detection = \"10s\"", "detection = \"10 s\""));
    check(
        &p,
        line(GOOD, "detection ="),
        "expect.detection",
        &["\"10 s\" is not a duration: spaces are not allowed"],
        &["e.g. \"10s\""],
    );
    let p = one(&edit("rpo = \"10m\"", "rpo = \"10min\""));
    check(
        &p,
        line(GOOD, "rpo ="),
        "expect.rpo",
        &["\"min\" is not a unit"],
        &[],
    );
}

/// The restore test's shape: no injection.
const NON_DISRUPTIVE: &str = r#"[runbook]
title = "Restore test"
scenario = "restore-test"
version = 1

[blast_radius]
max_hosts = 1
max_jobs = 1

[[step]]
kind = "verify"
title = "Restore to scratch"
check = "restore-verified"

[[rollback]]
action = "remove-scratch"
"#;

#[test]
fn a_runbook_without_an_injection_expects_no_recovery() {
    let r = parse_runbook(NON_DISRUPTIVE, Path::new("restore-test.toml")).unwrap();
    assert_eq!(
        r.rollbacks,
        vec![crate::core::drill::runbook::Rollback::RemoveScratch]
    );
    let text = format!("{NON_DISRUPTIVE}\n[expect]\nrto = \"60s\"\nrpo_steps = 10\n");
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:#?}");
    check(
        &p[0],
        line(&text, "rto ="),
        "expect.rto",
        &["no step injects a fault"],
        &["add an inject step"],
    );
    check(
        &p[1],
        line(&text, "rpo_steps"),
        "expect.rpo_steps",
        &["no lost steps"],
        &[],
    );
    let text = format!("{NON_DISRUPTIVE}\n[[stop]]\nwhen = \"rto-exceeds\"\nlimit = \"5m\"\n");
    let p = one(&text);
    check(
        &p,
        line(&text, "rto-exceeds"),
        "stop[0].when",
        &["counts from the injection"],
        &["remove this [[stop]]"],
    );
}

#[test]
fn a_scratch_restore_needs_its_scratch_removed() {
    let text = NON_DISRUPTIVE.replace("\n[[rollback]]\naction = \"remove-scratch\"\n", "");
    let p = one(&text);
    check(
        &p,
        line(&text, "check ="),
        "rollback",
        &["step[0].check = \"restore-verified\"", "remove-scratch"],
        &["action = \"remove-scratch\""],
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = edit("version = 1", "version = 0")
        .replace("max_jobs = 1", "max_jobs = 0")
        .replace("deadline = \"60s\"", "deadline = \"soon\"");
    let p = problems(&text);
    let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "runbook.version",
            "blast_radius.max_jobs",
            "step[2].deadline"
        ]
    );
}

#[test]
fn the_file_stem_must_be_a_runbook_name() {
    let e = parse_runbook(GOOD, Path::new("/x/my runbook.toml")).unwrap_err();
    let p = &e.problems()[0];
    assert_eq!(p.at, None);
    assert!(p.message.contains("\"my runbook\""), "{p:#?}");
    assert!(p.fix.contains("rename the file"), "{p:#?}");
}
