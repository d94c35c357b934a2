//! Lifeboat keeps long GPU jobs alive: it watches a fleet of GPU hosts, detects when a
//! GPU, host or job dies, fails the job over and restores it from its last checkpoint.
//!
//! The shape (see DESIGN.md):
//! - [`core`] decides. Pure: `handle(now, Input)` in, `Effect`s and `Event`s out, and an
//!   immutable `Snapshot` for every view. No IO, no clock, no tokio.
//! - [`runtime`] does. A `Supervisor` task owns the core, executes effects through
//!   transports with deadlines, journals intent before effect, and publishes snapshots.
//! - [`sim`] is a simulated fleet behind the same transport boundary, for `--demo` and tests.
//! - [`config`] turns a TOML file into a validated `Config`.
//!
//! Glossary: an **Input** is a fact handed to the core (a probe finished, a command was
//! given); an **Effect** is work the core asks for (probe, fence, launch …), tagged with an
//! `OpId`; an **Event** is a fact the core announces (state changed, step done) for the
//! journal and the event stream; a **Command** is an operator's request; a **Snapshot** is
//! the read-only picture of everything, stamped with an epoch.

pub mod config;
pub mod core;
pub mod protocol;
pub mod runtime;
pub mod sim;
pub mod tui;
