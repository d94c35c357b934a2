//! Byte streams over one session channel: a command's stdout forwarded chunk by chunk
//! into a bounded queue (`read`), or a bounded queue fed to its stdin (`write`), with a
//! stall timeout, stderr kept up to 64 KiB, and the remote process killed when we quit.

use super::host_key::Client;
use crate::runtime::shell::{ShellError, ShellOutput};
use bytes::{Bytes, BytesMut};
use russh::client::{Handle, Msg};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

/// stdout (of `write`) and stderr kept per call; the rest is counted as truncated.
pub const KEEP: usize = 64 << 10;

/// The most handed to russh at once while writing, so the stall timer sees progress
/// within a big chunk (russh splits it further into packets that fit the window).
const PIECE: usize = 256 << 10;

/// Queue items: stdout chunks, or why the stream broke.
pub type Chunk = Result<Bytes, String>;
type Writer = ChannelWriteHalf<Msg>;

/// `command` for `sh -c`, whatever the account's login shell is (sshd runs every
/// command through it, and it may not speak POSIX sh).
fn sh_c(command: &str) -> String {
    format!("exec sh -c '{}'", command.replace('\'', r"'\''"))
}

/// A session channel running `command`; the exec reply comes later on the read half.
async fn open(
    handle: &Handle<Client>,
    command: &str,
    stall: Duration,
) -> Result<(ChannelReadHalf, Writer), ShellError> {
    let channel = timeout(stall, handle.channel_open_session())
        .await
        .map_err(|_| ShellError::Timeout(stall))?
        .map_err(|e| ShellError::Unreachable(format!("cannot open a session: {e}")))?;
    let (rd, wr) = channel.split();
    match timeout(stall, wr.exec(true, sh_c(command))).await {
        Ok(Ok(())) => Ok((rd, wr)),
        Ok(Err(e)) => Err(ShellError::Unreachable(format!(
            "cannot start the command: {e}"
        ))),
        Err(_) => {
            abandon(wr);
            Err(ShellError::Timeout(stall))
        }
    }
}

/// Kills the remote command (sshd signals its whole process group) and closes the
/// channel, in the background: a plain close would look like EOF on the command's
/// stdin, and `cat > tmp && mv tmp final` would then finish with half a file.
fn abandon(wr: Writer) {
    tokio::spawn(async move {
        let _ = timeout(Duration::from_secs(2), async {
            let _ = wr.signal(Sig::KILL).await;
            let _ = wr.close().await;
        })
        .await;
    });
}

/// Tells the consumer the stream broke (it must not take the early end for the end),
/// in the background, so a full queue holds up neither the caller nor an error.
pub fn tell(output: mpsc::Sender<Chunk>, e: &ShellError, stall: Duration) {
    let msg = e.to_string();
    tokio::spawn(async move {
        let _ = timeout(stall, output.send(Err(msg))).await;
    });
}

/// What the remote command said besides the streamed bytes.
#[derive(Default)]
struct Tail {
    out: ShellOutput,
    status: bool,
    signalled: bool,
}

impl Tail {
    fn keep(&mut self, stderr: bool, data: &[u8]) {
        let buf = if stderr {
            &mut self.out.stderr
        } else {
            &mut self.out.stdout
        };
        let take = KEEP.saturating_sub(buf.len()).min(data.len());
        buf.extend_from_slice(&data[..take]);
        self.out.truncated |= take < data.len();
    }

    /// Notes a control message; `Some` once the channel is over.
    fn note(&mut self, msg: &ChannelMsg) -> Option<End> {
        match msg {
            ChannelMsg::ExitStatus { exit_status } => {
                self.out.exit = Some(*exit_status);
                self.status = true;
            }
            ChannelMsg::ExitSignal { .. } => {
                self.signalled = true;
                self.status = true;
            }
            ChannelMsg::Failure => return Some(End::Refused),
            ChannelMsg::Close => return Some(End::Done),
            _ => {}
        }
        None
    }

    /// The channel's message queue ended: fine once the exit status is in.
    fn gone(&self) -> End {
        if self.status {
            End::Done
        } else {
            End::Lost
        }
    }

    fn finish(self) -> ShellOutput {
        let mut out = self.out;
        if self.signalled {
            out.exit = None;
        }
        out
    }
}

/// How a stream ended, before the channel is dealt with.
enum End {
    Done,
    /// The consumer went away (read) or the command quit early: not an error.
    Dropped,
    Stalled,
    Lost,
    Refused,
    Aborted(String),
}

fn error(end: End, stall: Duration) -> ShellError {
    match end {
        End::Stalled => ShellError::Timeout(stall),
        End::Refused => ShellError::Other("the host refused to run the command".into()),
        End::Aborted(msg) => ShellError::Other(msg),
        _ => ShellError::Unreachable("the connection was lost during the transfer".into()),
    }
}

/// The most gathered into one chunk while reading: a host's packets are 32 KiB, and
/// handing each one on costs a wake-up of every stage after it (the tee, the store's
/// writer thread), which on a busy machine cost more than copying them together.
const BATCH: usize = 1 << 20;

/// Runs `command`, sending its stdout to `output` as it arrives: whatever is already
/// queued is gathered into one chunk (up to [`BATCH`]), and nothing waits for more. On
/// an error the caller tells the consumer (see `tell`).
pub async fn read(
    handle: &Handle<Client>,
    command: &str,
    output: &mpsc::Sender<Chunk>,
    stall: Duration,
) -> Result<ShellOutput, ShellError> {
    use futures::FutureExt;
    let (mut rd, wr) = open(handle, command, stall).await?;
    let mut tail = Tail::default();
    let mut batch = BytesMut::new();
    let end = loop {
        let msg = match rd.wait().now_or_never() {
            Some(m) => m,
            None => {
                // Nothing queued: hand on what was gathered, then wait.
                if !batch.is_empty() && output.send(Ok(batch.split().freeze())).await.is_err() {
                    break End::Dropped;
                }
                // The stall timer runs while we wait for the host, not while the
                // consumer is slow: a full queue stops this loop, russh's channel
                // buffer fills, and russh stops reading the connection, which stalls
                // sshd in turn.
                let m = tokio::select! {
                    m = timeout(stall, rd.wait()) => m,
                    _ = output.closed() => break End::Dropped,
                };
                match m {
                    Err(_) => break End::Stalled,
                    Ok(m) => m,
                }
            }
        };
        let Some(msg) = msg else { break tail.gone() };
        match msg {
            ChannelMsg::Data { data } => {
                if batch.is_empty() && data.len() >= BATCH {
                    if output.send(Ok(data)).await.is_err() {
                        break End::Dropped;
                    }
                    continue;
                }
                if batch.is_empty() {
                    batch.reserve(BATCH);
                }
                batch.extend_from_slice(&data);
                if batch.len() >= BATCH && output.send(Ok(batch.split().freeze())).await.is_err() {
                    break End::Dropped;
                }
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => tail.keep(true, &data),
            other => {
                if let Some(end) = tail.note(&other) {
                    break end;
                }
            }
        }
    };
    match end {
        End::Done => {
            if !batch.is_empty() && output.send(Ok(batch.freeze())).await.is_err() {
                abandon(wr);
            }
            Ok(tail.finish())
        }
        End::Dropped => {
            abandon(wr);
            Ok(tail.finish())
        }
        end => {
            if !matches!(end, End::Lost) {
                abandon(wr);
            }
            Err(error(end, stall))
        }
    }
}

/// Feeds `input` to the channel, then EOF; stops at the first `Err` chunk.
async fn feed(wr: &Writer, input: &mut mpsc::Receiver<Chunk>, stall: Duration) -> End {
    while let Some(item) = input.recv().await {
        let chunk = match item {
            Ok(c) => c,
            Err(msg) => return End::Aborted(msg),
        };
        let mut at = 0;
        while at < chunk.len() {
            let end = (at + PIECE).min(chunk.len());
            // Waits for window: a host that stops reading stalls us here.
            match timeout(stall, wr.data_bytes(chunk.slice(at..end))).await {
                Err(_) => return End::Stalled,
                Ok(Err(_)) => return End::Lost,
                Ok(Ok(())) => at = end,
            }
        }
    }
    match timeout(stall, wr.eof()).await {
        Err(_) => End::Stalled,
        Ok(Err(_)) => End::Lost,
        Ok(Ok(())) => End::Done,
    }
}

/// Runs `command`, feeding `input` to its stdin; returns its stdout and stderr (capped).
pub async fn write(
    handle: &Handle<Client>,
    command: &str,
    mut input: mpsc::Receiver<Chunk>,
    stall: Duration,
) -> Result<ShellOutput, ShellError> {
    let (mut rd, wr) = open(handle, command, stall).await?;
    let mut tail = Tail::default();
    let end = {
        let feeding = feed(&wr, &mut input, stall);
        tokio::pin!(feeding);
        let mut fed = false;
        let mut quiet_until = Instant::now() + stall;
        // The replies are read all along: left unread, they would fill russh's channel
        // buffer and stop the whole connection, window adjustments included.
        loop {
            tokio::select! {
                f = &mut feeding, if !fed => match f {
                    End::Done => {
                        fed = true;
                        quiet_until = Instant::now() + stall;
                    }
                    other => break other,
                },
                m = rd.wait() => {
                    quiet_until = Instant::now() + stall;
                    let Some(msg) = m else { break tail.gone() };
                    match msg {
                        ChannelMsg::Data { data } => tail.keep(false, &data),
                        ChannelMsg::ExtendedData { data, ext: 1 } => tail.keep(true, &data),
                        // The command may end before taking all the input: its exit
                        // status tells whether that was fine.
                        other => if let Some(end) = tail.note(&other) { break end },
                    }
                }
                // Once stdin is closed, the command must finish or speak within `stall`.
                _ = sleep_until(quiet_until), if fed => break End::Stalled,
            }
        }
    };
    match end {
        End::Done | End::Dropped => Ok(tail.finish()),
        end => {
            if !matches!(end, End::Lost) {
                abandon(wr);
            }
            Err(error(end, stall))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn commands_survive_the_login_shell_quoted() {
        assert_eq!(sh_c("cat 'a b'"), r"exec sh -c 'cat '\''a b'\'''");
        assert_eq!(sh_c("echo $HOME"), "exec sh -c 'echo $HOME'");
    }

    #[test]
    fn stderr_is_capped_and_a_signal_means_no_status() {
        let mut t = Tail::default();
        t.keep(true, &vec![b'x'; KEEP + 1]);
        assert_eq!(t.out.stderr.len(), KEEP);
        assert!(t.note(&ChannelMsg::ExitStatus { exit_status: 3 }).is_none());
        t.signalled = true;
        let out = t.finish();
        assert!(out.truncated);
        assert_eq!(out.exit, None);
    }
}
