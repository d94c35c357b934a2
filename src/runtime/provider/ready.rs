//! Waiting for a rented instance to come up: polled until the provider says it runs and
//! names an SSH address, then that address must send an SSH banner (a port that accepts
//! connections is not enough: Vast's SSH proxy accepts before the container is up).

use super::criteria::{InstanceId, InstanceInfo};
use super::provision::ProvisionOptions;
use super::{ProviderError, Provisioner};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Polls `id` until it runs, names an SSH address, and that address sends an SSH banner.
/// An instance that exits or goes offline fails at once (Vast: it never comes back from
/// those); API trouble along the way is retried until `timeout`.
pub async fn wait_ssh<P: Provisioner + ?Sized>(
    provider: &P,
    id: &InstanceId,
    timeout: Duration,
    opts: &ProvisionOptions,
) -> Result<InstanceInfo, ProviderError> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match provider.instance(id).await {
            Ok(info) => {
                if matches!(info.status.as_str(), "exited" | "offline") {
                    return Err(ProviderError::InstanceFailed {
                        provider: provider.name().to_string(),
                        instance: id.to_string(),
                        status: info.status.clone(),
                        detail: info.message.unwrap_or_else(|| "no reason given".into()),
                    });
                }
                match info.ssh_endpoint() {
                    Some((host, port)) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match ssh_banner(host, port, opts.connect_timeout.min(left)).await {
                            Ok(()) => return Ok(info),
                            Err(why) => format!("running, but {host}:{port} {why}"),
                        }
                    }
                    None if info.status.is_empty() => "being set up (no status yet)".into(),
                    None if info.status == "running" => "running, with no SSH address yet".into(),
                    None => info.status.clone(),
                }
            }
            Err(e @ (ProviderError::Auth { .. } | ProviderError::NoSuchInstance { .. })) => {
                return Err(e)
            }
            // API trouble is no verdict on the instance: look again.
            Err(e) => e.to_string(),
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(ProviderError::NotReady {
                provider: provider.name().to_string(),
                instance: id.to_string(),
                timeout,
                last,
            });
        }
        tokio::time::sleep(opts.poll_every.min(deadline - now)).await;
    }
}

/// Connects to `host:port` and reads the server's first line, which must be an SSH
/// banner: a port that accepts but is not (yet) sshd, like a proxy in front of a
/// container still starting, is not ready.
async fn ssh_banner(host: &str, port: u16, within: Duration) -> Result<(), String> {
    let within = within.max(Duration::from_millis(100));
    let check = async {
        let mut stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("refused a TCP connection ({e})"))?;
        let mut buf = [0u8; 64];
        let mut got = 0;
        while got < 4 {
            match stream.read(&mut buf[got..]).await {
                Ok(0) => return Err("closed the connection without an SSH banner".to_string()),
                Ok(n) => got += n,
                Err(e) => return Err(format!("broke the connection ({e})")),
            }
        }
        if buf.starts_with(b"SSH-") {
            Ok(())
        } else {
            Err("answered, but not with an SSH banner".to_string())
        }
    };
    match tokio::time::timeout(within, check).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "sent no SSH banner within {}",
            humantime::format_duration(within)
        )),
    }
}
