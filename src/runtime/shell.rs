//! Running a shell script on a host: the one thing SSH and the local machine must both do.
//! Probes and job control are scripts (see `scripts`), so both transports share them.

use crate::core::fleet::HostSpec;
use async_trait::async_trait;
use std::time::Duration;

/// What a script printed and how it ended. Output beyond the caller's cap is cut off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None` when the process ended without an exit status (killed by a signal).
    pub exit: Option<u32>,
    /// More output was produced than the cap allowed.
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connection refused, reset, no route, or the session died.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The host's key is unknown, changed or revoked: never retried silently.
    #[error("host key refused: {0}")]
    HostKey(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("{0}")]
    Other(String),
}

/// Runs scripts on hosts.
#[async_trait]
pub trait Shell: Send + Sync {
    /// Runs `script` with `sh` on `host`, feeding it on stdin; stops reading after
    /// `max_output` bytes of stdout (and of stderr), and gives up after `limit`.
    async fn run(
        &self,
        host: &HostSpec,
        script: &str,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ShellError>;
}
