//! A simulated fleet — a simulator, not real hosts — used by `--demo` and by tests. It
//! sits behind the same `Transport` boundary as SSH, writes real checkpoint bytes, and
//! injects faults on a seeded schedule or on command.

pub mod chaos;
pub mod demo;
pub mod driver;
pub mod run;
pub mod transport;
pub mod world;
pub mod world_thread;
