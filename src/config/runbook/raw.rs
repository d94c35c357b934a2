//! A runbook file's schema, exactly as serde reads it (before any checking).
//!
//! A runbook is one TOML file; its name is the file's stem (`job-crash.toml` is the
//! runbook `job-crash`, run as `lifeboat drill run job-crash`), so the file has no
//! `name` key. Durations are written as in the config: `"900ms"`, `"10s"`, `"5m"`, `"1h30m"`.
//!
//! ```toml
//! [runbook]                       # required
//! title = "Job crash"             # required: what the operator sees
//! description = "The training process dies; Lifeboat restarts it from its newest verified checkpoint."
//! scenario = "job-crash"          # required: gpu-failure | job-crash | job-hang |
//!                                 #   host-unreachable | host-down | spot-preemption |
//!                                 #   network-partition | supervisor-loss | nas-lost |
//!                                 #   checkpoint-corruption | fleet-loss | restore-test
//! version = 1                     # required, ≥ 1: the runbook's own revision
//!
//! [targets]                       # optional
//! jobs = "any-running"            # "any-running" (default): the first running job |
//!                                 #   "all" | ["train", "eval"]: these jobs (no repeats)
//! hosts = "of-jobs"               # "of-jobs" (default): the jobs' hosts | "half-fleet":
//!                                 #   half the fleet, rounded up (a partition) | "none":
//!                                 #   no host is touched | ["pc1", "pc2"]
//!
//! [blast_radius]                  # required: resolved targets beyond it refuse the drill
//! max_hosts = 1                   # ≥ 1
//! max_jobs = 1                    # ≥ 1
//!
//! [[precondition]]                # the steady state the drill needs first (any number)
//! probe = "readiness"             # a probe that needs no injection (see below)
//! [[precondition]]
//! probe = "checkpoint-fresh"
//! max_age = "30m"                 # required by checkpoint-fresh
//! [[precondition]]
//! probe = "heartbeat-advancing"
//! within = "2m"                   # required by heartbeat-advancing
//!
//! [[step]]                        # the method, in order (at least one)
//! kind = "diagnose"               # every step has kind and title
//! title = "Where the job runs and its newest checkpoint"
//! show = "status"                 # status | readiness | checkpoints
//! [[step]]
//! kind = "inject"
//! title = "Kill the job's process"
//! fault = "job-crash"             # gpu-lost | job-crash | job-hang | host-hang | host-down |
//!                                 #   spot-preemption | partition | supervisor-kill |
//!                                 #   nas-lost | corrupt-copy | fleet-loss
//! duration = "5m"                 # the dead-man timer: the fault undoes itself after this
//! [[step]]
//! kind = "observe"                # waits until the probe holds
//! title = "Lifeboat notices"
//! until = "fault-detected"        # a probe; max_age / within here for those that take them
//! deadline = "60s"                # required: the drill fails past it
//! [[step]]
//! kind = "verify"                 # checks the probe once
//! title = "The job runs again"
//! check = "job-running"           # a probe; max_age / within likewise
//! [[step]]
//! kind = "manual"                 # the operator does or confirms something
//! title = "Look at the loss"
//! prompt = "Check the job's loss curve continues from the restored step."
//!
//! # Probes: readiness | checkpoint-fresh (max_age) | heartbeat-advancing (within) |
//! #   stores-reachable | job-running | hosts-healthy | copies-verified | restore-verified |
//! #   and, only after an inject step: job-moved | failover-finished | fault-detected |
//! #   no-failover | automation-frozen. restore-verified restores the newest checkpoint
//! #   to a scratch place on the standby when it is checked.
//!
//! [[stop]]                        # what aborts the drill (any number)
//! when = "other-job-interrupted"  # other-job-interrupted | other-host-failed |
//!                                 #   rto-exceeds (with limit = "5m"; needs an inject step)
//!
//! [[rollback]]                    # what always runs at the end, each action once
//! action = "clear-faults"         # clear-faults (required with an inject step) |
//!                                 #   resume-automation (required with a partition) |
//!                                 #   remove-scratch (required with restore-verified)
//!
//! [expect]                        # optional, and only with an inject step: what the
//! detection = "10s"               #   drill must measure to pass: injection → noticed,
//! rto = "60s"                     #   injection → running again (≥ detection),
//! rpo_steps = 1000                #   steps lost,
//! rpo = "10m"                     #   training time lost
//! ```
//!
//! Every table denies unknown keys; step keys that belong to another kind of step are
//! refused by the checks. A runbook holds no secrets and has no key for one. Leaves that
//! checks may point at are `Spanned`.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

pub type Str = Spanned<String>;
pub type Num = Spanned<u32>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRunbook {
    pub runbook: Option<RawHeader>,
    pub targets: Option<RawTargets>,
    pub blast_radius: Option<RawBlastRadius>,
    #[serde(default)]
    pub precondition: Vec<RawPrecondition>,
    #[serde(default)]
    pub step: Vec<RawStep>,
    #[serde(default)]
    pub stop: Vec<RawStop>,
    #[serde(default)]
    pub rollback: Vec<RawRollback>,
    pub expect: Option<RawExpect>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub title: Option<Str>,
    pub description: Option<Str>,
    pub scenario: Option<Str>,
    pub version: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    pub jobs: Option<Spanned<RawSelector>>,
    pub hosts: Option<Spanned<RawSelector>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlastRadius {
    pub max_hosts: Option<Num>,
    pub max_jobs: Option<Num>,
}

/// `[[precondition]]`: a probe and its parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrecondition {
    pub probe: Option<Str>,
    pub max_age: Option<Str>,
    pub within: Option<Str>,
}

/// One `[[step]]`; which keys apply depends on `kind`, so they are checked after parsing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub kind: Option<Str>,
    pub title: Option<Str>,
    pub show: Option<Str>,
    pub fault: Option<Str>,
    pub duration: Option<Str>,
    pub until: Option<Str>,
    pub deadline: Option<Str>,
    pub check: Option<Str>,
    pub max_age: Option<Str>,
    pub within: Option<Str>,
    pub prompt: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStop {
    pub when: Option<Str>,
    pub limit: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollback {
    pub action: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub detection: Option<Str>,
    pub rto: Option<Str>,
    pub rpo_steps: Option<Spanned<u64>>,
    pub rpo: Option<Str>,
}

/// `jobs` / `hosts`: a word (`"any-running"`, `"of-jobs"` …) or an array of names.
#[derive(Debug, Clone, PartialEq)]
pub enum RawSelector {
    Word(String),
    Names(Vec<Str>),
}

impl<'de> Deserialize<'de> for RawSelector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SelectorVisitor)
    }
}

struct SelectorVisitor;

impl<'de> Visitor<'de> for SelectorVisitor {
    type Value = RawSelector;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a word in double quotes or an array of names")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSelector, E> {
        Ok(RawSelector::Word(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSelector, A::Error> {
        let mut names = Vec::new();
        while let Some(n) = seq.next_element::<Str>()? {
            names.push(n);
        }
        Ok(RawSelector::Names(names))
    }
}
