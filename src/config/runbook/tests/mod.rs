//! Unit tests of [`parse_runbook`](super::parse_runbook) from strings: a good runbook,
//! every rule with the problem it must produce, the shipped runbooks, and folders.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod files;
mod good;
mod rules;
mod schema;
mod shipped;
mod steps;

use super::parse_runbook;
use crate::config::Problem;
use crate::core::drill::runbook::Runbook;
use std::path::Path;

pub use crate::config::tests::check;

/// A runbook with every kind of table and step, valid.
pub const GOOD: &str = r#"[runbook]
title = "Job crash"
description = "The training process dies."
scenario = "job-crash"
version = 1

[targets]
jobs = ["train"]
hosts = "of-jobs"

[blast_radius]
max_hosts = 1
max_jobs = 1

[[precondition]]
probe = "readiness"
[[precondition]]
probe = "checkpoint-fresh"
max_age = "30m"
[[precondition]]
probe = "heartbeat-advancing"
within = "2m"

[[step]]
kind = "diagnose"
title = "Where the job runs"
show = "status"
[[step]]
kind = "inject"
title = "Kill the job's process"
fault = "job-crash"
duration = "5m"
[[step]]
kind = "observe"
title = "Lifeboat notices"
until = "fault-detected"
deadline = "60s"
[[step]]
kind = "verify"
title = "The job runs again"
check = "job-running"
[[step]]
kind = "manual"
title = "Look at the loss"
prompt = "Check the job's loss curve."

[[stop]]
when = "other-job-interrupted"
[[stop]]
when = "rto-exceeds"
limit = "5m"

[[rollback]]
action = "clear-faults"

[expect]
detection = "10s"
rto = "60s"
rpo_steps = 1000
rpo = "10m"
"#;

pub fn ok(text: &str) -> Runbook {
    match parse_runbook(text, Path::new("/team/runbooks/job-crash.toml")) {
        Ok(r) => r,
        Err(e) => panic!("expected a valid runbook, got:\n{e}"),
    }
}

pub fn problems(text: &str) -> Vec<Problem> {
    match parse_runbook(text, Path::new("job-crash.toml")) {
        Ok(_) => panic!("expected problems, the runbook was accepted:\n{text}"),
        Err(e) => e.problems().to_vec(),
    }
}

/// The single problem `text` has.
pub fn one(text: &str) -> Problem {
    let p = problems(text);
    assert_eq!(p.len(), 1, "expected exactly one problem, got {p:#?}");
    p.into_iter().next().unwrap()
}

/// `GOOD` with `from` replaced by `to` (which must occur once).
pub fn edit(from: &str, to: &str) -> String {
    assert_eq!(GOOD.matches(from).count(), 1, "GOOD has {from:?} not once");
    GOOD.replacen(from, to, 1)
}

/// The 1-based line of the first `needle` in `text`.
pub fn line(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    text[..at].matches('\n').count() + 1
}
