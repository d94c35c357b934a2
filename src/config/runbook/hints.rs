//! An example line for every key a runbook may have, so schema and syntax errors in a
//! runbook suggest runbook keys (never the config file's).

use crate::config::hints::Schema;

/// `(table, key, example)`, as in the config's table.
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "",
        "runbook",
        "[runbook] with title = \"Job crash\", scenario = \"job-crash\" and version = 1",
    ),
    ("", "targets", "[targets] with jobs = \"any-running\""),
    (
        "",
        "blast_radius",
        "[blast_radius] with max_hosts = 1 and max_jobs = 1",
    ),
    (
        "",
        "precondition",
        "[[precondition]] with probe = \"readiness\"",
    ),
    (
        "",
        "step",
        "[[step]] with kind = \"diagnose\", title = \"Where the job runs\" and show = \"status\"",
    ),
    ("", "stop", "[[stop]] with when = \"other-job-interrupted\""),
    (
        "",
        "rollback",
        "[[rollback]] with action = \"clear-faults\"",
    ),
    (
        "",
        "expect",
        "[expect] with detection = \"15s\" and rto = \"90s\"",
    ),
    ("runbook", "title", "title = \"Job crash\""),
    (
        "runbook",
        "description",
        "description = \"The training process dies; Lifeboat restarts it.\"",
    ),
    ("runbook", "scenario", "scenario = \"job-crash\""),
    ("runbook", "version", "version = 1"),
    (
        "targets",
        "jobs",
        "jobs = \"any-running\" (or \"all\", or [\"train\"])",
    ),
    (
        "targets",
        "hosts",
        "hosts = \"of-jobs\" (or \"half-fleet\", \"none\", or [\"pc1\"])",
    ),
    ("blast_radius", "max_hosts", "max_hosts = 1"),
    ("blast_radius", "max_jobs", "max_jobs = 1"),
    ("precondition", "probe", "probe = \"readiness\""),
    ("precondition", "max_age", "max_age = \"30m\""),
    ("precondition", "within", "within = \"2m\""),
    ("step", "kind", "kind = \"observe\""),
    ("step", "title", "title = \"Lifeboat notices\""),
    ("step", "show", "show = \"status\""),
    ("step", "fault", "fault = \"job-crash\""),
    ("step", "duration", "duration = \"5m\""),
    ("step", "until", "until = \"fault-detected\""),
    ("step", "deadline", "deadline = \"60s\""),
    ("step", "check", "check = \"job-running\""),
    ("step", "max_age", "max_age = \"30m\""),
    ("step", "within", "within = \"2m\""),
    (
        "step",
        "prompt",
        "prompt = \"Check the job's loss curve continues.\"",
    ),
    ("stop", "when", "when = \"other-job-interrupted\""),
    ("stop", "limit", "limit = \"5m\""),
    ("rollback", "action", "action = \"clear-faults\""),
    ("expect", "detection", "detection = \"15s\""),
    ("expect", "rto", "rto = \"90s\""),
    ("expect", "rpo_steps", "rpo_steps = 1000"),
    ("expect", "rpo", "rpo = \"10m\""),
];

/// The runbook schema's words for error messages.
pub const RUNBOOK: Schema = Schema {
    examples: EXAMPLES,
    table_arrays: &["step", "precondition", "stop", "rollback"],
    noun: "a runbook",
    docs: "assets/runbooks/",
    headers: "[runbook] or [[step]]",
    array: "jobs = [\"train\", \"eval\"]",
    text: "title = \"Job crash\"",
};
