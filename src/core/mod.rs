//! The pure core: every decision Lifeboat makes, as functions of time and input.

pub mod fleet;
pub mod gpu;
pub mod ids;
pub mod policy;
pub mod time;
