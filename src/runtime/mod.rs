//! The IO shell: supervisor, effect execution, journal, transports and logging.

pub mod clock;
pub mod console_files;
pub mod exec;
pub mod journal;
pub mod logging;
pub mod shell;
pub mod notice;
pub mod status;
pub mod supervisor;
pub mod transport;

#[cfg(test)]
mod supervisor_tests;
