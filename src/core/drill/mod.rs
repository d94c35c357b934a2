//! Disaster-recovery drills: the runbook model ([`runbook`]), decided on in the core so a
//! drill's every effect goes through the same journaled path as the supervisor's own.

pub mod engine;
pub mod plan;
pub mod probe;
pub mod runbook;

#[cfg(test)]
mod engine_tests;
