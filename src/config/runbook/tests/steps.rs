//! Steps and probes: each kind's keys, keys of another kind, probe parameters, and the
//! order rule for probes measured against an injection.

use super::{check, edit, line, one, problems, GOOD};

#[test]
fn unknown_words_list_the_known_ones() {
    let cases = [
        (
            "kind = \"diagnose\"",
            "kind = \"diagnoze\"",
            "step[0].kind",
            "unknown step kind",
            "\"inject\", \"observe\"",
        ),
        (
            "show = \"status\"",
            "show = \"logs\"",
            "step[0].show",
            "unknown diagnosis \"logs\"",
            "\"status\", \"readiness\", \"checkpoints\"",
        ),
        (
            "fault = \"job-crash\"",
            "fault = \"job-crashed\"",
            "step[1].fault",
            "unknown fault",
            "\"gpu-lost\"",
        ),
        (
            "until = \"fault-detected\"",
            "until = \"detected\"",
            "step[2].until",
            "unknown probe",
            "\"fault-detected\"",
        ),
        (
            "check = \"job-running\"",
            "check = \"running\"",
            "step[3].check",
            "unknown probe",
            "\"job-running\"",
        ),
        (
            "probe = \"readiness\"",
            "probe = \"ready\"",
            "precondition[0].probe",
            "unknown probe",
            "\"readiness\"",
        ),
    ];
    for (from, to, key, message, fix) in cases {
        let text = edit(from, to);
        let p = one(&text);
        check(&p, line(&text, to), key, &[message], &[fix]);
    }
}

#[test]
fn every_step_needs_a_kind_and_a_title() {
    let p = one(&edit("kind = \"diagnose\"\n", ""));
    check(
        &p,
        line(GOOD, "[[step]]"),
        "step[0].kind",
        &["missing required key \"kind\""],
        &["\"diagnose\", \"inject\""],
    );
    let p = one(&edit("title = \"Lifeboat notices\"\n", ""));
    check(
        &p,
        line(GOOD, "kind = \"observe\"") - 1,
        "step[2].title",
        &["missing required key \"title\""],
        &["what the operator sees"],
    );
    let p = one(&edit("title = \"Lifeboat notices\"", "title = \" \""));
    check(
        &p,
        line(GOOD, "Lifeboat notices"),
        "step[2].title",
        &["cannot be empty"],
        &[],
    );
}

#[test]
fn each_kind_needs_its_keys() {
    let cases = [
        ("show = \"status\"\n", "step[0].show", "kind = \"diagnose\""),
        (
            "fault = \"job-crash\"\n",
            "step[1].fault",
            "kind = \"inject\"",
        ),
        (
            "duration = \"5m\"\n",
            "step[1].duration",
            "kind = \"inject\"",
        ),
        (
            "until = \"fault-detected\"\n",
            "step[2].until",
            "kind = \"observe\"",
        ),
        (
            "deadline = \"60s\"\n",
            "step[2].deadline",
            "kind = \"observe\"",
        ),
        (
            "check = \"job-running\"\n",
            "step[3].check",
            "kind = \"verify\"",
        ),
        (
            "prompt = \"Check the job's loss curve.\"\n",
            "step[4].prompt",
            "kind = \"manual\"",
        ),
    ];
    for (cut, key, kind) in cases {
        let p = one(&edit(cut, ""));
        let k = key.rsplit('.').next().unwrap();
        check(
            &p,
            line(GOOD, kind) - 1,
            key,
            &[&format!("missing required key \"{k}\" for a")],
            &[&format!("add {k} = ")],
        );
    }
}

#[test]
fn an_observe_step_without_a_deadline_is_refused() {
    let p = one(&edit("deadline = \"60s\"\n", ""));
    assert!(p.message.contains("for an observe step"), "{p:#?}");
    assert!(
        p.fix.contains("the drill fails if the probe does not hold"),
        "{p:#?}"
    );
}

#[test]
fn durations_are_checked_and_above_zero() {
    let p = one(&edit("duration = \"5m\"", "duration = \"5 minutes\""));
    check(
        &p,
        line(GOOD, "duration ="),
        "step[1].duration",
        &["is not a duration"],
        &["units: ms, s, m, h, d"],
    );
    let p = one(&edit("deadline = \"60s\"", "deadline = \"0s\""));
    check(
        &p,
        line(GOOD, "deadline ="),
        "step[2].deadline",
        &["is zero"],
        &[],
    );
}

#[test]
fn keys_of_another_kind_are_refused_naming_the_kind() {
    let text = edit(
        "deadline = \"60s\"",
        "deadline = \"60s\"\nfault = \"job-crash\"",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "deadline =") + 1,
        "step[2].fault",
        &["\"fault\" is a key of an inject step, not of an observe step"],
        &["remove it, or make this step kind = \"inject\""],
    );
    let text = edit("show = \"status\"", "show = \"status\"\nmax_age = \"1m\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "max_age = \"1m\""),
        "step[0].max_age",
        &["a key of observe and verify steps, not of a diagnose step"],
        &[],
    );
    let text = edit(
        "check = \"job-running\"",
        "check = \"job-running\"\nprompt = \"x\"",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "prompt = \"x\""),
        "step[3].prompt",
        &["a key of a manual step"],
        &["kind = \"manual\""],
    );
}

#[test]
fn probe_parameters_are_required_and_only_where_they_belong() {
    let text = edit("max_age = \"30m\"\n", "");
    let p = one(&text);
    check(
        &p,
        line(&text, "checkpoint-fresh"),
        "precondition[1].max_age",
        &["\"checkpoint-fresh\" needs max_age"],
        &["add max_age = \"30m\""],
    );
    let text = edit(
        "probe = \"readiness\"",
        "probe = \"readiness\"\nwithin = \"1m\"",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "within = \"1m\""),
        "precondition[0].within",
        &["parameter of the probe \"heartbeat-advancing\", not of \"readiness\""],
        &["remove within"],
    );
    let text = edit(
        "check = \"job-running\"",
        "check = \"checkpoint-fresh\"\nmax_age = \"1h\"",
    );
    let r = super::ok(&text);
    assert!(matches!(
        r.steps[3].action,
        crate::core::drill::runbook::StepAction::Verify {
            check: crate::core::drill::runbook::Probe::CheckpointFresh { .. }
        }
    ));
    let p = one(&edit("within = \"2m\"", "within = \"0s\""));
    check(
        &p,
        line(GOOD, "within ="),
        "precondition[2].within",
        &["is zero"],
        &[],
    );
}

#[test]
fn a_probe_measured_against_an_injection_comes_after_one() {
    // The observe step moved before the inject step.
    let text = edit(
        "[[step]]\nkind = \"inject\"\ntitle = \"Kill the job's process\"\nfault = \"job-crash\"\nduration = \"5m\"\n[[step]]\nkind = \"observe\"\ntitle = \"Lifeboat notices\"\nuntil = \"fault-detected\"\ndeadline = \"60s\"\n",
        "[[step]]\nkind = \"observe\"\ntitle = \"Lifeboat notices\"\nuntil = \"fault-detected\"\ndeadline = \"60s\"\n[[step]]\nkind = \"inject\"\ntitle = \"Kill the job's process\"\nfault = \"job-crash\"\nduration = \"5m\"\n",
    );
    let p = one(&text);
    check(
        &p,
        line(&text, "until ="),
        "step[1].until",
        &[
            "\"fault-detected\" is measured against an injection",
            "no inject step comes before",
        ],
        &["move this step after the inject step (step[2])"],
    );
    let text = edit("check = \"job-running\"", "check = \"no-failover\"")
        .replace("kind = \"inject\"\ntitle = \"Kill the job's process\"\nfault = \"job-crash\"\nduration = \"5m\"\n", "kind = \"manual\"\ntitle = \"x\"\nprompt = \"y\"\n");
    let p = problems(&text);
    assert!(
        p.iter()
            .any(|p| p.key == "step[3].check" && p.fix.contains("add an inject step before it")),
        "{p:#?}"
    );
}

#[test]
fn a_precondition_cannot_need_an_injection() {
    let text = edit("probe = \"readiness\"", "probe = \"job-moved\"");
    let p = one(&text);
    check(
        &p,
        line(&text, "job-moved"),
        "precondition[0].probe",
        &["a precondition is checked before any"],
        &["in an observe or verify step after the inject step"],
    );
}
