//! One script on a host reached through a peer's pooled connection (a `direct-tcpip`
//! channel), on a connection of its own that is closed after: how a peer sees a host
//! Lifeboat lost. Errors say whose fault they were, because only the host's count as
//! evidence against it.

use super::{connect, exec, SshShell};
use crate::core::fleet::HostSpec;
use crate::runtime::shell::{ShellError, ShellOutput, ThroughError};
use russh::{ChannelOpenFailure, Disconnect};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

impl SshShell {
    /// Runs `script` on `host` through `peer`, all within `limit`.
    pub(super) async fn through(
        &self,
        peer: &HostSpec,
        host: &HostSpec,
        script: &str,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ThroughError> {
        let deadline = Instant::now() + limit;
        let via = timeout_at(deadline, self.conn_for(peer, deadline, limit, Vec::new()))
            .await
            .map_err(|_| ThroughError::Peer("no connection in time".into()))?
            .map_err(|e| ThroughError::Peer(e.to_string()))?;
        let open = timeout_at(
            deadline,
            via.handle.channel_open_direct_tcpip(
                host.address.as_str(),
                u32::from(host.port),
                "127.0.0.1",
                0,
            ),
        );
        // The peer's sshd answers the channel only once its TCP connect to the host is
        // through: a pending open is the host's silence only if the peer itself answers.
        let peer_answers = async {
            exec::run(&via.handle, "true\n", 64, deadline, limit)
                .await
                .is_ok()
        };
        let (opened, peer_answers) = tokio::join!(open, peer_answers);
        let channel = match opened {
            Err(_) if !peer_answers => {
                return Err(ThroughError::Peer("it did not answer in time".into()))
            }
            Err(_) => return Err(ThroughError::Silent),
            Ok(Ok(c)) => c,
            Ok(Err(russh::Error::ChannelOpenFailure(ChannelOpenFailure::ConnectFailed))) => {
                return Err(ThroughError::Connect(
                    "connection refused or no route".into(),
                ))
            }
            Ok(Err(e)) => return Err(ThroughError::Refused(e.to_string())),
        };
        let inner = &self.inner;
        let session = async {
            let conn = connect::handshake(
                host,
                channel.into_stream(),
                Some(via.clone()),
                &inner.settings,
                &inner.keys,
            )
            .await?;
            let out = exec::run(&conn.handle, script, max_output, deadline, limit).await;
            let _ = conn
                .handle
                .disconnect(Disconnect::ByApplication, "", "en")
                .await;
            out
        };
        match timeout_at(deadline, session).await {
            Err(_) | Ok(Err(ShellError::Timeout(_))) => Err(ThroughError::Silent),
            Ok(Err(e)) => Err(ThroughError::Session(e)),
            Ok(Ok(out)) => Ok(out),
        }
    }
}
