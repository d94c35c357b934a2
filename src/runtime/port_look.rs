//! Lifeboat's own look at a host's SSH port after a missed probe: a TCP connect and the
//! first bytes. Refused, silent (no TCP answer, or TCP but no banner: a frozen sshd's
//! kernel still accepts) and an SSH banner are three different facts about the host.

use crate::core::io::ChannelStatus;
use crate::core::time::human;
use std::io::ErrorKind;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// The most of the banner line read: RFC 4253 allows 255 bytes.
const BANNER_CAP: usize = 255;

/// Connects to `address:port` and reads the SSH banner, all within `limit`.
pub async fn port_view(address: &str, port: u16, limit: Duration) -> ChannelStatus {
    let deadline = Instant::now() + limit;
    let at = format!("{address}:{port}");
    let silent = |what: &str| ChannelStatus::Down(format!("silent: {what} in {}", human(limit)));
    let mut tcp = match timeout_at(deadline, TcpStream::connect((address, port))).await {
        Err(_) => return silent(&format!("no TCP answer from {at}")),
        Ok(Err(e)) => {
            return match e.kind() {
                ErrorKind::ConnectionRefused => {
                    ChannelStatus::Down(format!("{at} refused the connection"))
                }
                ErrorKind::TimedOut
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted => {
                    ChannelStatus::Down(format!("cannot connect to {at}: {e}"))
                }
                // Name resolution and the like: Lifeboat's problem, not evidence.
                _ => ChannelStatus::Unknown(format!("cannot look at {at}: {e}")),
            };
        }
        Ok(Ok(tcp)) => tcp,
    };
    let mut got = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    while got.len() < BANNER_CAP && !got.contains(&b'\n') {
        match timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return silent(&format!("{at} accepts TCP but sends no SSH banner")),
            Ok(Ok(0)) => {
                return ChannelStatus::Down(format!("{at} closed the connection before its banner"))
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return ChannelStatus::Down(format!("{at}: {e}")),
        }
        if got.starts_with(b"SSH-") {
            return ChannelStatus::Up;
        }
    }
    if got.starts_with(b"SSH-") {
        ChannelStatus::Up
    } else {
        ChannelStatus::Unknown(format!("something that is not sshd answers on {at}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn a_banner_is_up_a_closed_port_refused_and_a_mute_listener_silent() {
        rt().block_on(async {
            let limit = Duration::from_millis(300);
            let talk = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let talk_port = talk.local_addr().map(|a| a.port()).unwrap_or(0);
            tokio::spawn(async move {
                if let Ok((mut s, _)) = talk.accept().await {
                    let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
            assert_eq!(
                port_view("127.0.0.1", talk_port, limit).await,
                ChannelStatus::Up
            );
            // Accepted by the kernel, never answered: what a frozen sshd looks like.
            let mute = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mute_port = mute.local_addr().map(|a| a.port()).unwrap_or(0);
            let seen = port_view("127.0.0.1", mute_port, limit).await;
            assert!(
                matches!(&seen, ChannelStatus::Down(w) if w.contains("no SSH banner")),
                "{seen:?}"
            );
            drop(mute);
            let seen = port_view("127.0.0.1", mute_port, limit).await;
            assert!(
                matches!(&seen, ChannelStatus::Down(w) if w.contains("refused")),
                "{seen:?}"
            );
        });
    }
}
