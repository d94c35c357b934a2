//! `LocalShell`: scripts on the machine Lifeboat runs on, as plain `sh` processes, and
//! byte streams to and from `sh -c` commands (each in its own process group, killed
//! whole when a transfer is given up).

use super::shell::{Shell, ShellError, ShellOutput};
use crate::core::fleet::HostSpec;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

pub struct LocalShell;

/// stdout (of a write) and stderr kept per stream; the rest is drained and dropped.
const KEEP: usize = 64 << 10;
/// Read buffer for streamed stdout; a chunk is whatever one read returned.
const READ_BUF: usize = 1 << 20;
/// The most written to a command's stdin under one stall timer.
const PIECE: usize = 256 << 10;

type Chunk = Result<Bytes, String>;
type Capped = JoinHandle<(Vec<u8>, bool)>;

/// A streaming `sh -c`. Dropping it unfinished kills the process group before stdin
/// closes: a clean EOF would let `cat > tmp && mv tmp final` finish with half a file.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<Capped>,
    stderr: Option<Capped>,
}

impl Running {
    /// Starts `command`; stdout stays with the child for the caller to take unless
    /// `capture_stdout`, which keeps it (capped) like stderr.
    fn start(command: &str, stdin: bool, capture_stdout: bool) -> Result<Self, ShellError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ShellError::Other(format!("cannot start sh: {e}")))?;
        let stdout = match capture_stdout {
            true => child
                .stdout
                .take()
                .map(|o| tokio::spawn(read_capped(o, KEEP))),
            false => None,
        };
        let stderr = child
            .stderr
            .take()
            .map(|e| tokio::spawn(read_capped(e, KEEP)));
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Kills the whole group (sh and whatever it started), then sh itself in case the
    /// group kill could not run. Only while sh is unreaped: its PID, and so the group's
    /// number, cannot have been given to anyone else.
    async fn kill(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = group_kill(pid).status().await;
            let _ = self.child.start_kill();
            // Reaped, so that `Drop` knows it is done.
            let _ = timeout(Duration::from_secs(2), self.child.wait()).await;
        }
    }

    /// Waits for the exit (then the captured output) for at most `stall` each.
    async fn finish(&mut self, stall: Duration) -> Result<ShellOutput, ShellError> {
        self.stdin = None;
        let status = match timeout(stall, self.child.wait()).await {
            Ok(s) => s.map_err(|e| ShellError::Other(e.to_string()))?,
            Err(_) => {
                self.kill().await;
                return Err(ShellError::Timeout(stall));
            }
        };
        let mut out = ShellOutput {
            exit: status.code().map(|c| c as u32),
            ..ShellOutput::default()
        };
        // A background child may hold a pipe open: take what came within `stall`.
        for (task, buf) in [
            (self.stdout.take(), &mut out.stdout),
            (self.stderr.take(), &mut out.stderr),
        ] {
            if let Some(task) = task {
                if let Ok(Ok((bytes, cut))) = timeout(stall, task).await {
                    *buf = bytes;
                    out.truncated |= cut;
                }
            }
        }
        Ok(out)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Not reaped means not finished (see `kill`).
        if let Some(pid) = self.child.id() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = group_kill(pid).spawn();
            }
            let _ = self.child.start_kill();
        }
    }
}

/// `kill -KILL -- -pgid` (no safe killpg in our dependencies).
fn group_kill(pgid: u32) -> Command {
    let mut cmd = Command::new("kill");
    cmd.args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Tells the consumer the stream broke, in the background (its queue may be full).
fn tell(output: mpsc::Sender<Chunk>, e: &ShellError, stall: Duration) {
    let msg = e.to_string();
    tokio::spawn(async move {
        let _ = timeout(stall, output.send(Err(msg))).await;
    });
}

/// The read loop of `read_stream`: `Ok(true)` at EOF, `Ok(false)` when the consumer
/// went away.
async fn pump(
    stdout: &mut (impl AsyncRead + Unpin),
    output: &mpsc::Sender<Chunk>,
    stall: Duration,
) -> Result<bool, ShellError> {
    let mut buf = BytesMut::new();
    loop {
        if buf.capacity() < READ_BUF / 8 {
            buf.reserve(READ_BUF);
        }
        // Only the command's silence counts as a stall, not a slow consumer.
        let read = tokio::select! {
            r = timeout(stall, stdout.read_buf(&mut buf)) => r,
            _ = output.closed() => return Ok(false),
        };
        match read {
            Err(_) => return Err(ShellError::Timeout(stall)),
            Ok(Err(e)) => return Err(ShellError::Other(format!("reading stdout: {e}"))),
            Ok(Ok(0)) => return Ok(true),
            Ok(Ok(_)) => {
                if output.send(Ok(buf.split().freeze())).await.is_err() {
                    return Ok(false);
                }
            }
        }
    }
}

/// Reads up to `cap` bytes and drains (discards) the rest, so a flood never fills memory.
async fn read_capped(mut r: impl AsyncRead + Unpin, cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut truncated = false;
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (out, truncated)
}

#[async_trait]
impl Shell for LocalShell {
    async fn run(
        &self,
        _host: &HostSpec,
        script: &str,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ShellError> {
        let mut child = Command::new("sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ShellError::Other(format!("cannot start sh: {e}")))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ShellError::Other("sh started without pipes".into()));
        };
        let script = script.to_string();
        let work = async move {
            let feed = async move {
                let _ = stdin.write_all(script.as_bytes()).await;
                drop(stdin);
            };
            let (_, (out, t1), (err, t2)) = tokio::join!(
                feed,
                read_capped(stdout, max_output),
                read_capped(stderr, max_output)
            );
            let status = child
                .wait()
                .await
                .map_err(|e| ShellError::Other(e.to_string()))?;
            Ok(ShellOutput {
                stdout: out,
                stderr: err,
                exit: status.code().map(|c| c as u32),
                truncated: t1 || t2,
            })
        };
        // On timeout the child is dropped, and `kill_on_drop` ends it.
        tokio::time::timeout(limit, work)
            .await
            .map_err(|_| ShellError::Timeout(limit))?
    }

    async fn read_stream(
        &self,
        _host: &HostSpec,
        command: &str,
        output: mpsc::Sender<Chunk>,
        stall: Duration,
    ) -> Result<ShellOutput, ShellError> {
        let result = stream_out(command, &output, stall).await;
        if let Err(e) = &result {
            tell(output, e, stall);
        }
        result
    }

    async fn write_stream(
        &self,
        _host: &HostSpec,
        command: &str,
        mut input: mpsc::Receiver<Chunk>,
        stall: Duration,
    ) -> Result<ShellOutput, ShellError> {
        let mut run = Running::start(command, true, true)?;
        while let Some(item) = input.recv().await {
            let chunk = match item {
                Ok(chunk) => chunk,
                Err(msg) => {
                    // Killed before stdin closes: the command never sees a clean end.
                    run.kill().await;
                    return Err(ShellError::Other(msg));
                }
            };
            let Some(stdin) = run.stdin.as_mut() else {
                break;
            };
            // In pieces, so a big chunk to a slow reader is not taken for a stall.
            for piece in chunk.chunks(PIECE) {
                match timeout(stall, stdin.write_all(piece)).await {
                    Err(_) => {
                        run.kill().await;
                        return Err(ShellError::Timeout(stall));
                    }
                    // The command stopped reading (it exited): its status says why.
                    Ok(Err(_)) => {
                        run.stdin = None;
                        break;
                    }
                    Ok(Ok(())) => {}
                }
            }
        }
        if let Some(stdin) = run.stdin.as_mut() {
            let _ = timeout(stall, stdin.shutdown()).await;
        }
        run.finish(stall).await
    }
}

/// `read_stream` but for telling the consumer about an error.
async fn stream_out(
    command: &str,
    output: &mpsc::Sender<Chunk>,
    stall: Duration,
) -> Result<ShellOutput, ShellError> {
    let mut run = Running::start(command, false, false)?;
    let Some(mut stdout) = run.child.stdout.take() else {
        return Err(ShellError::Other("sh started without a stdout pipe".into()));
    };
    match pump(&mut stdout, output, stall).await {
        Ok(true) => run.finish(stall).await,
        Ok(false) => {
            run.kill().await;
            run.finish(stall).await
        }
        Err(e) => {
            run.kill().await;
            Err(e)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::core::fleet::{Access, HostKeyPolicy, Role, SshOptions};
    use crate::core::ids::HostId;

    fn host() -> HostSpec {
        HostSpec {
            id: HostId::new("here"),
            address: "localhost".into(),
            port: 22,
            user: None,
            role: Role::Primary,
            gpus: 0,
            ssh_key: None,
            ssh: SshOptions {
                known_hosts: None,
                host_key_policy: HostKeyPolicy::Strict,
                key_passphrase_env: None,
                proxy_jump: None,
            },
            provider: None,
            access: Access::Local,
        }
    }

    #[tokio::test]
    async fn stdout_streams_in_chunks_of_at_most_the_read_buffer() {
        let (tx, mut rx) = mpsc::channel(4);
        let h = host();
        let reading =
            LocalShell.read_stream(&h, "head -c 3000000 /dev/zero", tx, Duration::from_secs(10));
        let counting = async {
            let (mut n, mut largest) = (0, 0);
            while let Some(c) = rx.recv().await {
                let c = c.unwrap();
                n += c.len();
                largest = largest.max(c.len());
            }
            (n, largest)
        };
        let (out, (n, largest)) = tokio::join!(reading, counting);
        assert_eq!(out.unwrap().exit, Some(0));
        assert_eq!(n, 3_000_000);
        assert!(largest <= READ_BUF);
    }

    #[tokio::test]
    async fn input_ends_with_eof_and_the_output_is_kept() {
        let (tx, rx) = mpsc::channel(4);
        for part in ["abc", "de", ""] {
            tx.send(Ok(Bytes::from(part))).await.unwrap();
        }
        drop(tx);
        let out = LocalShell
            .write_stream(&host(), "wc -c; echo note >&2", rx, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5");
        assert_eq!((out.stderr.as_slice(), out.exit), (&b"note\n"[..], Some(0)));
    }

    #[tokio::test]
    async fn no_input_is_an_immediate_eof() {
        let (tx, rx) = mpsc::channel(1);
        drop(tx);
        let out = LocalShell
            .write_stream(&host(), "exit 7", rx, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(out.exit, Some(7));
    }
}
