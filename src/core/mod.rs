//! The pure core: every decision Lifeboat makes, as functions of time and input.

pub mod fleet;
pub mod gpu;
pub mod gpu_parse;
pub mod ids;
pub mod policy;
pub mod time;
pub mod xid;
pub mod detector;
pub mod engine;
pub mod event;
mod commands;
mod failover;
pub mod io;
pub mod recovery;
pub mod snapshot;

#[cfg(test)]
mod harness;
#[cfg(test)]
mod scenario_tests;
