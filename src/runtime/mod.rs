//! The IO shell: supervisor, effect execution, journal, transports and logging.

pub mod clock;
pub mod console_files;
pub mod exec;
pub mod journal;
pub mod local;
pub mod logging;
pub mod notice;
pub mod scripts;
pub mod shell;
pub mod shell_transport;
pub mod status;
pub mod supervisor;
pub mod transport;

#[cfg(test)]
mod supervisor_tests;
