//! Running a shell script on a host: the one thing SSH and the local machine must both do.
//! Probes and job control are scripts (see `scripts`), so both transports share them.

use crate::core::fleet::HostSpec;
use async_trait::async_trait;
use bytes::Bytes;
use std::time::Duration;
use tokio::sync::mpsc;

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

    /// Runs the one-line `command` with `sh -c` on `host` and streams its stdout into
    /// `output` in chunks (backpressure: it waits when `output` is full). stderr is kept
    /// up to 64 KiB in the returned `ShellOutput` (whose `stdout` stays empty). Fails
    /// with `Timeout(stall)` when no byte moves for `stall`; a dropped receiver ends the
    /// command early and is not an error.
    async fn read_stream(
        &self,
        host: &HostSpec,
        command: &str,
        output: mpsc::Sender<Result<Bytes, String>>,
        stall: Duration,
    ) -> Result<ShellOutput, ShellError>;

    /// Runs the one-line `command` with `sh -c` on `host`, feeding the chunks from
    /// `input` to its stdin, then EOF when the sender is dropped. An `Err` chunk aborts:
    /// the command is killed (or its channel closed) without EOF, and the call returns
    /// `Other` with that message. stdout and stderr are kept up to 64 KiB each. Fails
    /// with `Timeout(stall)` when no byte moves for `stall`.
    async fn write_stream(
        &self,
        host: &HostSpec,
        command: &str,
        input: mpsc::Receiver<Result<Bytes, String>>,
        stall: Duration,
    ) -> Result<ShellOutput, ShellError>;

    /// Runs `script` on `host` reached through `peer`'s connection (a look at a host
    /// Lifeboat lost), all within `limit`. Shells without peers say so.
    async fn run_through(
        &self,
        peer: &HostSpec,
        host: &HostSpec,
        script: &str,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ThroughError> {
        let _ = (host, script, limit, max_output);
        Err(ThroughError::Peer(format!(
            "{}: this shell does not reach hosts through peers",
            peer.id
        )))
    }
}

/// Why a look through a peer found nothing.
#[derive(Debug)]
pub enum ThroughError {
    /// The peer itself could not be used: says nothing about the host.
    Peer(String),
    /// The peer's sshd would not connect anywhere (forwarding off …): says nothing either.
    Refused(String),
    /// The peer could not connect to the host: refused, or no route.
    Connect(String),
    /// The host said nothing within the limit (TCP accepted or not).
    Silent,
    /// Reached the host, but the SSH session failed (host key, login, script).
    Session(ShellError),
}
