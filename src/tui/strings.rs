//! Every word the console's views show, in one place so wording can be reviewed together.
//! Numbers are formatted in `views::format`; sentences that embed them are built here.

use crate::core::recovery::RecoveryState;

mod dialogs;
pub use dialogs::*;
mod drills;
pub use drills::*;
mod inventory;
pub use inventory::*;
mod readiness;
pub use readiness::*;
mod stores;
pub use stores::*;

pub const APP: &str = "lifeboat";
pub const READ_ONLY: &str = " READ-ONLY ";
pub const TOO_SMALL: &str = "Lifeboat needs a terminal of at least 40×8.";

/// Tab titles, in `View::ALL` order.
pub const TABS: [&str; 6] = ["Fleet", "Jobs", "Checkpoints", "Tasks", "Events", "Drills"];

// Header totals.
pub const HOSTS: &str = "hosts";
pub const GPUS: &str = "GPUs";
pub const JOBS: &str = "jobs";
pub const RUNNING: &str = "running";
/// Jobs on hosts not probed yet: not known to run.
pub const NOT_SEEN_YET: &str = "waiting";
pub const RECOVERING: &str = "recovering";
pub const ESCALATED: &str = "escalated";
pub const FAILED: &str = "failed";
pub const AUTOMATION_ON: &str = "automation on";
pub const AUTO_ON_SHORT: &str = "auto on";

pub fn paused_by(who: &str) -> String {
    format!("AUTOMATION PAUSED by {who}")
}

pub fn frozen(why: &str) -> String {
    format!("FAILOVER FROZEN: {why}")
}

pub fn gpus_ok(ok: usize, total: usize) -> String {
    format!("{ok}/{total} ok")
}

/// The badge glyph shown before a host's health word.
pub fn badge_glyph(badge: &str) -> &'static str {
    match badge {
        "healthy" => "●",
        "degraded" => "▲",
        "suspect" => "◆",
        "failed" => "✖",
        "fenced" => "■",
        _ => "○",
    }
}

// Fleet.
pub const FLEET: &str = "Fleet";
pub const GPU_COLS: [&str; 13] = [
    "GPU",
    "NAME",
    "UTIL",
    "MEMORY",
    "TEMP",
    "POWER",
    "ECC",
    "THROTTLE",
    "JOB",
    "HB AGE",
    "UTIL HISTORY",
    "TEMP HISTORY",
    "NOTES",
];
pub const NO_GPUS: &str = "no GPUs (CPU standby)";
pub const NO_READING: &str = "no reading: missing from nvidia-smi";
pub const WAITING_FIRST_PROBE: &str = "waiting for first probe";
/// The badge cell of a host not probed yet.
/// The strip of escalated jobs under the header.
pub const NEEDS_HUMAN: &str = "NEEDS A HUMAN";
/// Starts the "what is failing and what happens next" line.
pub const NEXT_MARK: &str = "▸";
/// In the header on the simulated fleet.
pub const DEMO: &str = "DEMO";
pub const NO_HOSTS: &str = "No hosts match.";
pub const NO_HOSTS_CONFIGURED: &str = "No hosts configured.";
pub const PROBE: &str = "probe";
pub const RUNS: &str = "runs";
pub const LAST_GOOD: &str = "last good values";
pub const THROTTLE_NONE: &str = "—";
pub const THERMAL: &str = "thermal";
pub const POWER_CAP: &str = "pwr-cap";
pub const BRAKE: &str = "brake";
pub const HW_SLOW: &str = "hw-slow";

/// `1 host`, `2 hosts`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn fleet_title(hosts: usize, gpus: usize) -> String {
    format!(
        " {FLEET} · {} · {} ",
        count(hosts, "host", "hosts"),
        count(gpus, "GPU", "GPUs")
    )
}

pub fn gpu_count(seen: usize, expected: u32) -> String {
    format!("{seen}/{expected} GPUs")
}

pub fn last_ok(age: &str) -> String {
    format!("last ok {age} ago")
}

pub fn never_ok() -> &'static str {
    "never answered"
}

pub fn ago(age: &str) -> String {
    format!("{age} ago")
}

pub fn range(first: usize, last: usize, total: usize) -> String {
    format!(" {first}–{last} of {total} ")
}

// Host detail.
pub const DETAIL_CLOSE: &str = " Esc closes ";
pub const STATE: &str = "state";
pub const REASON: &str = "reason";
pub const DETECTOR: &str = "detector";
pub const PROBES: &str = "probes";
pub const CHANNELS: &str = "channels";
pub const NO_CHANNELS: &str = "SSH probe only (no provider or agent channel)";
pub const FATAL: &str = "fatal";
pub const DEGRADED: &str = "degraded";
pub const JOBS_HERE: &str = "jobs";
pub const NO_JOBS_HERE: &str = "none placed here";
pub const RECENT_EVENTS: &str = "recent events";
pub const NO_EVENTS: &str = "no events for this host yet";
pub const NO_JOB_EVENTS: &str = "no events for this job yet";

pub fn detector_line(misses: u32, successes: u32, damped: bool, penalty: f64) -> String {
    let damped = if damped {
        "DAMPED (flapping)"
    } else {
        "not damped"
    };
    format!("{misses} missed · {successes} good in a row · {damped} · flap penalty {penalty:.1}")
}

pub fn probe_line(last_ok: Option<&str>, latency: Option<&str>) -> String {
    let ok = last_ok.map_or_else(|| never_ok().to_string(), self::last_ok);
    match latency {
        Some(l) => format!("{ok} · latency {l}"),
        None => ok,
    }
}

pub fn host_title(id: &str, address: &str, role: &str) -> String {
    format!(" {id} · {address} · {role} ")
}

// Jobs.
pub const JOB_COLS: [&str; 10] = [
    "JOB", "STATE", "ON", "HOME", "EPOCH", "STEP", "HB AGE", "CKPT", "BUDGET", "WHY",
];
pub const NO_JOBS: &str = "No jobs match.";
pub const NO_JOB_SELECTED: &str = "Select a job to see its recovery.";
pub const WHY: &str = "why";
pub const CHAIN: &str = "chain";
pub const PLAN: &str = "plan";
pub const STEPS: &str = "steps";
pub const RTO: &str = "RTO";
pub const RECONNECT: &str = "reconnect";
pub const BUDGET: &str = "budget";
pub const PLACEMENT: &str = "placement";
pub const STANDBYS: &str = "standbys";
pub const NO_STANDBYS: &str = "none configured";
pub const CHECKPOINT: &str = "checkpoint";
pub const PAUSED: &str = "paused";
pub const NO_STEPS: &str = "no failover in progress";
pub const RUNNING_FOR: &str = "running";

pub fn job_title(id: &str, state: &str) -> String {
    format!(" {id} · {state} ")
}

pub fn jobs_title(n: usize) -> String {
    format!(" Jobs · {n} ")
}

/// Short state words for narrow tables.
pub fn state_short(s: RecoveryState) -> &'static str {
    match s {
        RecoveryState::Running => "RUNNING",
        RecoveryState::InterruptionDetected => "DETECTED",
        RecoveryState::Reconnecting => "RECONNECTING",
        RecoveryState::FailingOver => "FAILING_OVER",
        RecoveryState::Escalating => "ESCALATING",
        RecoveryState::Resolved => "RESOLVED",
        RecoveryState::Failed => "FAILED",
    }
}

pub const INCIDENT: &str = "incident";
pub const NOT_ACKNOWLEDGED: &str = "  nobody has acknowledged it: press a";

pub fn paged_ago(age: &str) -> String {
    format!("paged once, {age} ago")
}

pub fn acknowledged_by(who: &str, age: &str) -> String {
    format!("  acknowledged by {who} {age} ago")
}

pub fn latest_finding(age: &str, what: &str, n: usize) -> String {
    format!("latest of {n} finding(s), {age} ago: {what}")
}

pub const NOTHING_TO_ACK: &str = "nothing to acknowledge: no escalated job waits for a human";

pub fn acknowledging(job: &str) -> String {
    format!("acknowledge {job}: sent; it stays ESCALATING until it runs well, or you fail it over, resume or cancel it")
}

/// The STATE cell of a job whose automation is paused: PAUSED while it runs or is held
/// by the pause (other states say more and keep their word).
pub fn paused_state(s: RecoveryState, paused: bool, wide: bool) -> Option<String> {
    match s {
        RecoveryState::Running | RecoveryState::Resolved if paused => Some("PAUSED".into()),
        RecoveryState::InterruptionDetected if paused && wide => Some("PAUSED (DETECTED)".into()),
        RecoveryState::InterruptionDetected if paused => Some("PAUSED".into()),
        _ => None,
    }
}

pub fn reconnect_line(attempt: u32, next_in: Option<&str>) -> String {
    match next_in {
        Some(t) => format!("attempt {attempt} · next in {t}"),
        None => format!("attempt {attempt}"),
    }
}

pub fn budget_line(used: u32, budget: u32) -> String {
    if used >= budget {
        format!("{used} of {budget} failovers used this window — the next trouble escalates")
    } else {
        format!("{used} of {budget} failovers used this window")
    }
}

pub fn placement_line(on: &str, home: &str, epoch: &str) -> String {
    if on == home {
        format!("on {on} (home) · epoch {epoch}")
    } else {
        format!("on {on} · away from home {home} · epoch {epoch}")
    }
}

pub fn rto_line(total: &str, steps: &str, current: Option<(&str, &str)>) -> String {
    match current {
        Some((step, elapsed)) => {
            format!("{total} so far (done steps {steps} + {step} {elapsed})")
        }
        None => format!("{total} in failover steps so far"),
    }
}

pub fn step_running(elapsed: &str, limit: Option<&str>) -> String {
    match limit {
        Some(l) => format!("running {elapsed} of {l}"),
        None => format!("running {elapsed}"),
    }
}

pub fn paused_job(who: &str) -> String {
    format!("automation paused for this job by {who}")
}

pub fn earlier_steps(n: usize) -> String {
    format!("… {n} earlier step(s)")
}

// Checkpoints.
pub const CKPT_JOB_COLS: [&str; 5] = ["JOB", "RPO EXPOSURE", "RESTORES FROM", "CKPTS", "NEWEST"];
pub const CKPT_COLS: [&str; 7] = ["ID", "STEP", "AGE", "SIZE", "WHERE", "VERIFIED", "SHA-256"];
pub const NO_VERIFIED: &str = "no verified checkpoint — a failover now restarts from scratch";
pub const NO_CHECKPOINTS: &str = "No checkpoints known for this job yet.";
pub const VERIFIED_YES: &str = "✓ verified";
pub const VERIFIED_NO: &str = "✗ not yet";
pub const RESTORE_POINT: &str = "◆";
pub const NONE: &str = "none";

pub fn checkpoints_title(n: usize) -> String {
    format!(" Checkpoints · {n} jobs ")
}

pub fn inventory_title(job: &str, n: usize) -> String {
    format!(" {job} · {n} checkpoint(s), newest first ")
}

pub fn rpo_line(age: &str, id: &str, step: u64) -> String {
    format!(
        "RPO exposure {age}: a failover now restores {id} (step {step}) and loses what came after"
    )
}

pub fn restores_from(id: &str, step: u64) -> String {
    format!("{id} @ step {step}")
}

// Tasks.
pub const TASK_COLS: [&str; 6] = ["JOB", "WHAT", "STARTED", "ELAPSED", "PROGRESS", "LEFT"];
pub const NO_TASKS: &str =
    "Nothing in flight. Reconnect probes and failover steps show here while they run.";
pub const CANCEL_HINT: &str = "c cancels the selected job's recovery";

pub fn tasks_title(n: usize) -> String {
    format!(" Tasks · {n} in flight ")
}

pub fn times_out_in(t: &str) -> String {
    format!("in {t}")
}

pub const OVERDUE: &str = "overdue";
/// The progress of a step that moves no bytes: nothing to take a share of.
pub const NOT_MEASURED: &str = "running · no bytes";

// Events.
pub const NO_EVENTS_LOG: &str = "No events yet.";
pub const NO_EVENTS_MATCH: &str = "No events match the filter.";

pub fn events_title(shown: usize, total: usize) -> String {
    if shown == total {
        format!(" Events · {total} · times UTC ")
    } else {
        format!(" Events · {shown} of {total} · times UTC ")
    }
}

pub fn by_operator(who: &str) -> String {
    format!(" — by {who}")
}

/// A short tag for an event kind, when the event's text does not start with one.
pub fn event_tag(kind: &str) -> &'static str {
    match kind {
        "health_changed" => "HEALTH",
        "recovery_state" => "STATE",
        "failover_step" => "STEP",
        "failover_finished" => "RTO",
        "escalated" => "ESCALATE",
        "decision" => "WHY",
        "automation_changed" => "AUTO",
        "command_accepted" | "command_rejected" => "CMD",
        "checkpoint_recorded" => "CKPT",
        "fault_injected" => "FAULT",
        _ => "EVENT",
    }
}

// Footer.
pub const KEY_HELP: (&str, &str) = ("?", "help");
pub const KEY_CMD: (&str, &str) = (":", "cmd");
pub const KEY_FILTER: (&str, &str) = ("/", "filter");
pub const KEY_MOVE: (&str, &str) = ("↑↓", "select");
pub const KEY_VIEW: (&str, &str) = ("Tab", "view");
pub const KEY_DETAIL: (&str, &str) = ("⏎", "detail");
pub const KEY_CLOSE: (&str, &str) = ("Esc", "close");
pub const KEY_FAILOVER: (&str, &str) = ("f", "failover");
pub const KEY_SWITCH: (&str, &str) = ("s", "switch");
pub const KEY_PAUSE: (&str, &str) = ("p/r", "pause/resume");
pub const KEY_CANCEL: (&str, &str) = ("c", "cancel");
pub const KEY_ACK: (&str, &str) = ("a", "acknowledge");
pub const KEY_INJECT: (&str, &str) = ("x", "inject");
pub const KEY_QUIT: (&str, &str) = ("q", "quit");
pub const READ_ONLY_NOTE: &str = "read-only";
pub const FILTER_PROMPT: &str = "/";

pub fn filter_count(shown: usize, total: usize) -> String {
    format!("  {shown} of {total} shown · Esc clears")
}

pub fn filter_active(text: &str) -> String {
    format!("filter: {text}")
}

/// The tail of a transfer's gauge: " 128K/256K".
pub fn bytes_of(done: &str, total: &str) -> String {
    format!(" {done}/{total}")
}

/// A transfer's rate and time left: "210K/s 1.2s".
pub fn rate_eta(rate: &str, eta: &str) -> String {
    format!("{rate}/s {eta}")
}
