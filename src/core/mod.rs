//! The pure core: every decision Lifeboat makes, as functions of time and input.

pub mod commands;
pub mod detector;
pub mod discovery;
pub mod drill;
pub mod durable;
pub mod engine;
mod escalation;
pub mod event;
mod failover;
mod first_start;
pub mod fleet;
pub mod gpu;
mod gpu_failure;
mod gpu_fields;
pub mod gpu_parse;
pub mod history;
pub mod host_path;
pub mod identity;
pub mod ids;
mod interruption;
pub mod inventory;
pub mod io;
mod lost_host;
pub mod manifest;
mod newer_copy;
pub mod outlook;
pub mod policy;
pub mod probe_parse;
mod probes;
pub mod progress;
pub mod provider_verdict;
pub mod readiness;
mod readiness_checks;
pub mod readiness_parse;
pub mod readiness_snapshot;
pub mod recovery;
pub mod retention;
mod return_gpu;
pub mod safe_text;
pub mod seal;
pub mod snapshot;
mod steps;
pub mod store_health;
pub mod time;
pub mod workspace;
pub mod xid;

#[cfg(test)]
mod escalation_tests;
#[cfg(test)]
mod failover_reason_tests;
#[cfg(test)]
mod fence_tests;
#[cfg(test)]
pub(crate) mod harness;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod lost_host_tests;
#[cfg(test)]
mod partition_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod scenario_tests;
