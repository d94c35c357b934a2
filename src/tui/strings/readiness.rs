//! The words of the failover readiness panel (`w` on a job, `:readiness JOB`). The checks'
//! own details come from `core::readiness`, which the CLI's dry run prints too.

pub fn readiness_title(job: &str) -> String {
    format!(" Would a failover of {job} work now? ")
}

pub const READINESS_INTRO: &str =
    "From what this console last saw; nothing is changed. Disk and processes outside Lifeboat need the CLI's dry run.";
pub const READINESS_HINT: &str =
    "↑↓ scroll · Esc closes · f starts a real failover from the jobs view";
pub const READINESS_GONE: &str = "this job is no longer in the fleet";

pub fn readiness_verdict(yes: bool, reason: &str) -> String {
    let word = if yes { "yes" } else { "no" };
    format!("would_succeed: {word} — {reason}")
}
