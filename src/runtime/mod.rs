//! The IO shell: supervisor, effect execution, journal, transports and logging.

pub mod clock;
pub mod console_files;
pub mod exec;
pub mod journal;
pub mod live;
pub mod local;
pub mod logging;
pub mod notice;
pub mod scripts;
pub mod shell;
pub mod shell_transport;
pub mod ssh;
pub mod status;
pub mod supervisor;
pub mod transport;

#[cfg(test)]
mod supervisor_tests;

/// The shell used for SSH hosts.
pub fn ssh_shell() -> std::sync::Arc<dyn shell::Shell> {
    std::sync::Arc::new(NoSsh)
}

/// Until the SSH client lands in this build, SSH hosts are reported unreachable, saying why.
struct NoSsh;

#[async_trait::async_trait]
impl shell::Shell for NoSsh {
    async fn run(
        &self,
        host: &crate::core::fleet::HostSpec,
        _: &str,
        _: std::time::Duration,
        _: usize,
    ) -> Result<shell::ShellOutput, shell::ShellError> {
        Err(shell::ShellError::Other(format!(
            "{}: this build has no SSH client yet; use access = \"local\" for this machine",
            host.id
        )))
    }
}
