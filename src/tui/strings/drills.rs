//! The drills view's words: the list, the plan, the live run, and the refusals.

pub const DRILLS_TITLE: &str = " Drills ";
pub const DRILLS_LOADING: &str = "asking the supervisor for the runbooks…";
pub const DRILLS_NONE_MATCH: &str = "no runbook matches the filter";
pub const DRILL_COLS: [&str; 5] = ["RUNBOOK", "SCENARIO", "LAST RUN", "RTO TREND", "TITLE"];
pub const DRILL_NEVER: &str = "never run";
pub const DRILL_PLAN_HINT: &str = "enter: the plan, checked on the fleet now · s: start it";
pub const DRILL_PLAN_PRE: &str = "preconditions";
pub const DRILL_PLAN_STEPS: &str = "steps";
pub const DRILL_STOPS: &str = "stop conditions";
pub const DRILL_ROLLBACKS: &str = "rollbacks (always run)";
pub const DRILL_NO_STOPS: &str = "none";
pub const DRILL_CLOCK_WAIT: &str = "…";
pub const DRILL_STEP_PENDING: &str = "pending";
pub const DRILL_STEP_RUNNING: &str = "running";
pub const DRILL_STEP_PASSED: &str = "passed";
pub const DRILL_STEP_FAILED: &str = "failed";
pub const DRILL_ABORT_REASON: &str = "aborted from the console";

pub fn drill_team(team: bool) -> &'static str {
    if team {
        "team"
    } else {
        "shipped"
    }
}

pub fn drill_targets(jobs: &[String], hosts: &[String], max_hosts: u32, max_jobs: u32) -> String {
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "targets: jobs {}; hosts {} — blast radius ≤ {max_hosts} hosts, ≤ {max_jobs} jobs",
        list(jobs),
        list(hosts)
    )
}

pub fn drill_refused(why: &str) -> String {
    format!("cannot start: {why}")
}

pub fn drill_ready(name: &str) -> String {
    format!("ready: s starts it guided (you type {name} to confirm)")
}

pub fn drill_run_title(runbook: &str, run: &str) -> String {
    format!(" Drill {runbook} · {run} ")
}

pub fn drill_holding(step: &str) -> String {
    format!("HOLDING (enter runs it · r runs to the end) before {step}")
}

pub fn drill_asking(prompt: &str) -> String {
    format!("WAITING for you (enter when done): {prompt}")
}

pub fn drill_finished(detail: &str) -> String {
    format!("FINISHED {detail}")
}

/// The clocks' labels.
pub const CLOCK_SINCE_START: &str = "since start";
pub const CLOCK_SINCE_INJECTION: &str = "since injection";
pub const CLOCK_DETECTION: &str = "detection";
pub const CLOCK_RTO: &str = "RTO";
pub const CLOCK_RPO: &str = "RPO";
pub const CLOCK_PHASE: &str = "target now";
pub const CLOCK_PHASES: &str = "RTO phases";

// Refusals and messages.
pub fn drill_readonly(what: &str) -> String {
    format!("read-only console (--readonly): {what} refused, nothing changed; you may watch")
}

pub fn drill_role(who: &str, role: &str, what: &str) -> String {
    format!("{who} is a {role}: {what} needs the operator role; you may watch")
}

pub fn drill_busy(runbook: &str) -> String {
    format!("drill {runbook} is running: abort it first (x)")
}

pub const DRILL_NONE_RUNNING: &str = "no drill is running";
pub const DRILL_PICK: &str = "select a runbook first";

pub fn drill_step_busy(step: &str) -> String {
    format!("{step} is under way; enter runs the next step once it has ended")
}

pub fn drill_asking_plan(name: &str) -> String {
    format!("checking the plan of {name} on the fleet…")
}

pub fn drill_cannot_start(name: &str, why: &str) -> String {
    format!("drill {name} cannot start: {why}")
}

pub fn drill_start_title(name: &str) -> String {
    format!("Start drill {name}")
}

pub fn drill_abort_title(runbook: &str) -> String {
    format!("Abort drill {runbook}")
}

// Footer keys of the drills view.
pub const KEY_DRILL_PLAN: (&str, &str) = ("⏎", "plan");
pub const KEY_DRILL_STEP: (&str, &str) = ("⏎", "next step");
pub const KEY_DRILL_START: (&str, &str) = ("s", "start drill");
pub const KEY_DRILL_TO_END: (&str, &str) = ("r", "run to end");
pub const KEY_DRILL_ABORT: (&str, &str) = ("x", "abort");
