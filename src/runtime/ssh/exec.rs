//! One script on one session channel: `sh -s` reads the script from stdin; stdout and
//! stderr are kept up to the caller's cap each, the rest discarded (and a flood cut off
//! by closing the channel), then the exit status ends the call.

use super::host_key::Client;
use crate::runtime::shell::{ShellError, ShellOutput};
use russh::client::{Handle, Msg};
use russh::{ChannelMsg, ChannelWriteHalf};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// How much output past the cap is read and thrown away (hoping for the exit status)
/// before the channel is closed on a flood.
const DRAIN_LIMIT: usize = 4 << 20;

/// The command the session runs; the script arrives on its stdin.
const COMMAND: &str = "exec sh -s";

/// Runs `script` on a new channel of `handle`, giving up at `deadline`.
pub async fn run(
    handle: &Handle<Client>,
    script: &str,
    max_output: usize,
    deadline: Instant,
    limit: Duration,
) -> Result<ShellOutput, ShellError> {
    let channel = timeout_at(deadline, handle.channel_open_session())
        .await
        .map_err(|_| ShellError::Timeout(limit))?
        .map_err(|e| ShellError::Unreachable(format!("cannot open a session: {e}")))?;
    let (mut rd, wr) = channel.split();
    let started = timeout_at(deadline, wr.exec(true, COMMAND)).await;
    match started {
        Err(_) => {
            close_later(wr);
            return Err(ShellError::Timeout(limit));
        }
        Ok(Err(e)) => return Err(ShellError::Unreachable(format!("cannot start sh: {e}"))),
        Ok(Ok(())) => {}
    }
    let mut out = Collected::new(max_output);
    let ended = {
        let reading = read(&mut rd, &mut out);
        tokio::pin!(reading);
        let writing = async {
            // A script that exits early stops reading stdin; that is not an error.
            if wr.data(script.as_bytes()).await.is_ok() {
                let _ = wr.eof().await;
            }
        };
        tokio::pin!(writing);
        let mut written = false;
        loop {
            tokio::select! {
                r = timeout_at(deadline, &mut reading) => break r,
                _ = &mut writing, if !written => written = true,
            }
        }
    };
    match ended {
        Err(_) => {
            close_later(wr);
            Err(ShellError::Timeout(limit))
        }
        Ok(End::Refused) => Err(ShellError::Other(
            "the host refused to run sh on a session channel".into(),
        )),
        Ok(End::Lost) => Err(ShellError::Unreachable(
            "the connection was lost during the call".into(),
        )),
        Ok(End::Flood) => {
            close_later(wr);
            Ok(out.finish())
        }
        Ok(End::Done) => Ok(out.finish()),
    }
}

/// Closes a channel without waiting on a host that may never answer.
fn close_later(wr: ChannelWriteHalf<Msg>) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(2), wr.close()).await;
    });
}

enum End {
    Done,
    Flood,
    Lost,
    Refused,
}

/// Output so far, within the cap.
struct Collected {
    cap: usize,
    out: ShellOutput,
    signalled: bool,
    discarded: usize,
}

impl Collected {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            out: ShellOutput::default(),
            signalled: false,
            discarded: 0,
        }
    }

    fn keep(&mut self, stderr: bool, data: &[u8]) {
        let cap = self.cap;
        let buf = if stderr {
            &mut self.out.stderr
        } else {
            &mut self.out.stdout
        };
        let room = cap.saturating_sub(buf.len());
        let take = room.min(data.len());
        buf.extend_from_slice(&data[..take]);
        if take < data.len() {
            self.out.truncated = true;
            self.discarded += data.len() - take;
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

async fn read(rd: &mut russh::ChannelReadHalf, out: &mut Collected) -> End {
    let mut status = false;
    loop {
        let Some(msg) = rd.wait().await else {
            // The channel ended without a close: fine once the status is in.
            return if status { End::Done } else { End::Lost };
        };
        match msg {
            ChannelMsg::Data { data } => out.keep(false, &data),
            ChannelMsg::ExtendedData { data, ext: 1 } => out.keep(true, &data),
            ChannelMsg::ExitStatus { exit_status } => {
                out.out.exit = Some(exit_status);
                status = true;
            }
            ChannelMsg::ExitSignal { .. } => {
                out.signalled = true;
                status = true;
            }
            ChannelMsg::Failure => return End::Refused,
            ChannelMsg::Close => return End::Done,
            _ => {}
        }
        if out.discarded > DRAIN_LIMIT {
            return End::Flood;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn output_is_capped_per_stream() {
        let mut c = Collected::new(5);
        c.keep(false, b"abc");
        c.keep(false, b"defgh");
        c.keep(true, b"12");
        let out = c.finish();
        assert_eq!(out.stdout, b"abcde");
        assert_eq!(out.stderr, b"12");
        assert!(out.truncated);
    }

    #[test]
    fn a_signal_means_no_exit_status() {
        let mut c = Collected::new(5);
        c.out.exit = Some(0);
        c.signalled = true;
        assert_eq!(c.finish().exit, None);
    }
}
