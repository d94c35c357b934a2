//! `LocalShell`: scripts on the machine Lifeboat runs on, as plain `sh` processes.

use super::shell::{Shell, ShellError, ShellOutput};
use crate::core::fleet::HostSpec;
use async_trait::async_trait;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

pub struct LocalShell;

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
}
