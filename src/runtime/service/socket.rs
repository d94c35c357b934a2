//! The state dir's Unix socket: each connection greets with its protocol version, is
//! given an identity from its peer's uid and gid (SO_PEERCRED; see `access`), then gets the live snapshot stream
//! (a CLI verb: only the first snapshot) and notices while its requests go to the service.
//! A screen that stalls only stalls its own task: it skips to the latest snapshot and is
//! told how many notices it missed.

use super::access::Grant;
use super::fanout::Fanout;
use crate::core::identity::{Identity, Origin, Role};
use crate::protocol::request::Request;
use crate::protocol::wire::{
    self, greeting_version, version_mismatch, Client, ClientMsg, DaemonInfo, Outcome, ServerMsg,
    WireError,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// A request on its way to the service, with who asked and where the answer goes.
pub struct Routed {
    pub by: Identity,
    pub request: Request,
    pub reply: oneshot::Sender<Outcome>,
}

/// What every connection needs from the service.
#[derive(Clone)]
pub struct Shared {
    pub fanout: Fanout,
    pub info: Arc<DaemonInfo>,
    pub requests: mpsc::Sender<Routed>,
    pub shutdown: watch::Receiver<Option<String>>,
    /// The group the socket is shared with, as it is now (a reload may change it).
    pub grant: watch::Receiver<Option<Grant>>,
}

/// Binds `<dir>/lifeboat.sock` (0600 until `access::apply` shares it; a stale one from a
/// dead holder is replaced: the caller holds the state dir's lock) and serves it until
/// shutdown.
pub fn listen(
    dir: &Path,
    shared: Shared,
) -> std::io::Result<(PathBuf, tokio::task::JoinHandle<()>)> {
    let path = dir.join(wire::SOCKET);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let mut shutdown = shared.shutdown.clone();
    let join = tokio::spawn(async move {
        let mut sessions = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let shared = shared.clone();
                        sessions.spawn(async move {
                            if let Err(e) = session(stream, shared).await {
                                tracing::debug!("screen connection ended: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!("cannot accept a screen's connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
        // Each session says goodbye on the same shutdown; give them a moment to.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
    });
    Ok((path, join))
}

async fn session(stream: UnixStream, shared: Shared) -> Result<(), WireError> {
    let cred = stream.peer_cred()?;
    let (uid, gid) = (cred.uid(), cred.gid());
    let (mut rd, mut wr) = stream.into_split();
    let hello = tokio::time::timeout(Duration::from_secs(5), wire::read_frame(&mut rd))
        .await
        .map_err(|_| WireError::Closed)??;
    let (client, readonly) = match serde_json::from_slice::<ClientMsg>(&hello) {
        Ok(ClientMsg::Hello {
            version,
            client,
            readonly,
        }) if version == wire::VERSION => (client, readonly),
        _ => {
            let reason = match greeting_version(&hello) {
                Some(v) if v != u64::from(wire::VERSION) => version_mismatch(v),
                _ => {
                    "the first message must be a greeting (hello) with the protocol version".into()
                }
            };
            wire::send(&mut wr, &ServerMsg::Refused { reason }).await?;
            return Ok(());
        }
    };
    let role = if readonly {
        Role::Viewer
    } else {
        let grant = shared.grant.borrow().clone();
        super::access::local_role(uid, gid, grant.as_ref())
    };
    let identity = Identity {
        name: super::users::name_of(uid),
        role,
        origin: match client {
            Client::Cli | Client::Status => Origin::Cli { uid },
            Client::Console => Origin::Local { uid },
        },
    };
    let (history, mut notices) = shared.fanout.subscribe();
    let welcome = ServerMsg::Welcome {
        version: wire::VERSION,
        daemon: (*shared.info).clone(),
        identity: identity.clone(),
        history: if client == Client::Console {
            history
        } else {
            Vec::new()
        },
    };
    wire::send(&mut wr, &welcome).await?;
    if client == Client::Status {
        return Ok(());
    }
    // Requests are read on their own task so a slow write never stops a Quit.
    let (in_tx, mut incoming) = mpsc::channel::<ClientMsg>(16);
    let reader = tokio::spawn(async move {
        while let Ok(body) = wire::read_frame(&mut rd).await {
            match serde_json::from_slice::<ClientMsg>(&body) {
                Ok(m) => {
                    if in_tx.send(m).await.is_err() {
                        break;
                    }
                }
                Err(e) => tracing::warn!("a screen sent a message that is not valid: {e}"),
            }
        }
    });
    let (out_tx, mut outcomes) = mpsc::channel::<(u64, Outcome)>(16);
    let mut latest = shared.fanout.latest.clone();
    let mut shutdown = shared.shutdown.clone();
    let wants_snapshots = client == Client::Console;
    // A CLI verb shows (and confirms against) the picture as it is now: one, no stream.
    if wants_snapshots || client == Client::Cli {
        let frame = latest.borrow_and_update().clone().frame();
        if let Some(f) = frame {
            wire::write_frame(&mut wr, &f).await?;
        }
    }
    let result = loop {
        let sent = tokio::select! {
            _ = shutdown.changed() => {
                let reason = shutdown.borrow().clone().unwrap_or_else(|| "stopping".into());
                let _ = wire::send(&mut wr, &ServerMsg::Bye { reason }).await;
                break Ok(());
            }
            changed = latest.changed(), if wants_snapshots => match changed {
                Ok(()) => {
                    let frame = latest.borrow_and_update().clone().frame();
                    match frame {
                        Some(f) => wire::write_frame(&mut wr, &f).await,
                        None => Ok(()),
                    }
                }
                Err(_) => break Ok(()),
            },
            n = notices.recv() => match n {
                Ok(notice) => wire::send(&mut wr, &ServerMsg::Notice { notice }).await,
                Err(broadcast::error::RecvError::Lagged(count)) => {
                    wire::send(&mut wr, &ServerMsg::Missed { count }).await
                }
                Err(broadcast::error::RecvError::Closed) => break Ok(()),
            },
            m = incoming.recv() => match m {
                Some(ClientMsg::Request { request: Request::Quit, .. }) | None => break Ok(()),
                Some(ClientMsg::Request { id, request }) => {
                    route(&shared, &identity, id, request, out_tx.clone());
                    Ok(())
                }
                Some(ClientMsg::Hello { .. }) => Ok(()),
            },
            Some((id, outcome)) = outcomes.recv() => {
                wire::send(&mut wr, &ServerMsg::Outcome { id, outcome }).await
            }
        };
        if let Err(e) = sent {
            break Err(e);
        }
    };
    reader.abort();
    result
}

/// Hands a request to the service; its outcome comes back to this screen.
fn route(
    shared: &Shared,
    by: &Identity,
    id: u64,
    request: Request,
    out: mpsc::Sender<(u64, Outcome)>,
) {
    let requests = shared.requests.clone();
    let by = by.clone();
    tokio::spawn(async move {
        let (reply, answer) = oneshot::channel();
        let sent = requests.send(Routed { by, request, reply }).await;
        let outcome = match sent {
            Ok(()) => answer.await.unwrap_or(Outcome::Failed {
                reason: "the supervisor stopped before answering".into(),
            }),
            Err(_) => Outcome::Failed {
                reason: "the supervisor is stopping".into(),
            },
        };
        let _ = out.send((id, outcome)).await;
    });
}
