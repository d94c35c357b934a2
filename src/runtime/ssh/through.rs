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
        let open = via.handle.channel_open_direct_tcpip(
            host.address.as_str(),
            u32::from(host.port),
            "127.0.0.1",
            0,
        );
        let channel = match timeout_at(deadline, open).await {
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
