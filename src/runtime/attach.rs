//! A screen's link to the supervisor of a state dir over its Unix socket: greets, keeps the
//! latest snapshot in a `watch`, hands notices and link changes to the screen, sends its
//! requests, and when the supervisor goes away says so and reconnects with backoff.

use crate::core::identity::Identity;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::notice::Notice;
use crate::protocol::request::Request;
use crate::protocol::screen::{LinkState, Update};
use crate::protocol::wire::{self, Client, ClientMsg, DaemonInfo, Outcome, ServerMsg, WireError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};

/// The screen's side of a link.
pub struct Link {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub updates: mpsc::Receiver<Update>,
    pub requests: mpsc::Sender<Request>,
}

fn now() -> Ts {
    crate::runtime::clock::Clock::new().now()
}

/// A greeted connection.
pub struct Conn {
    pub stream: UnixStream,
    pub daemon: DaemonInfo,
    pub identity: Identity,
    pub history: Vec<Notice>,
}

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("no supervisor answers at {path}: {source}")]
    Unreachable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not allowed to reach the supervisor at {}: permission denied; the socket is for the supervisor's user (and the group named by [console] socket_group, if any): ask to be added to that group, or run as that user", path.display())]
    Denied { path: PathBuf },
    #[error("the supervisor refused this screen: {0}")]
    Refused(String),
    #[error("the supervisor's answer: {0}")]
    Wire(#[from] WireError),
    #[error("the supervisor did not greet within 5 s")]
    Silent,
}

/// Connects and greets; the daemon's answer says who it is and who it takes us for.
pub async fn connect(dir: &Path, client: Client, readonly: bool) -> Result<Conn, AttachError> {
    let path = dir.join(wire::SOCKET);
    let mut stream = UnixStream::connect(&path).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            AttachError::Denied { path: path.clone() }
        } else {
            AttachError::Unreachable { path, source }
        }
    })?;
    let hello = ClientMsg::Hello {
        version: wire::VERSION,
        client,
        readonly,
    };
    wire::send(&mut stream, &hello).await?;
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        wire::recv::<_, ServerMsg>(&mut stream),
    )
    .await
    .map_err(|_| AttachError::Silent)??;
    match answer {
        ServerMsg::Welcome {
            daemon,
            identity,
            history,
            ..
        } => Ok(Conn {
            stream,
            daemon,
            identity,
            history,
        }),
        ServerMsg::Refused { reason } => Err(AttachError::Refused(reason)),
        _ => Err(AttachError::Refused(
            "it answered with something other than a greeting".into(),
        )),
    }
}

const BACKOFF: [u64; 6] = [250, 500, 1000, 2000, 4000, 5000];

/// Starts a link that lives until the screen drops its request sender (or sends Quit).
pub fn console(dir: &Path, readonly: bool, initial: Arc<Snapshot>) -> Link {
    let (snap_tx, snapshots) = watch::channel(initial);
    let (up_tx, updates) = mpsc::channel(1024);
    let (requests, req_rx) = mpsc::channel(32);
    tokio::spawn(run(dir.to_path_buf(), readonly, snap_tx, up_tx, req_rx));
    Link {
        snapshots,
        updates,
        requests,
    }
}

async fn run(
    dir: PathBuf,
    readonly: bool,
    snaps: watch::Sender<Arc<Snapshot>>,
    up: mpsc::Sender<Update>,
    mut req: mpsc::Receiver<Request>,
) {
    let _ = up
        .send(Update::Link(LinkState::Connecting { since: now() }))
        .await;
    let mut tries = 0usize;
    loop {
        let why = match connect(&dir, Client::Console, readonly).await {
            Ok(conn) => {
                tries = 0;
                let at = now();
                let _ = up
                    .send(Update::Link(LinkState::Attached {
                        daemon: conn.daemon,
                        identity: conn.identity,
                        at,
                    }))
                    .await;
                let _ = up.send(Update::History(conn.history)).await;
                match serve(conn.stream, &snaps, &up, &mut req).await {
                    Served::Quit => return,
                    Served::Lost(why) => why,
                }
            }
            Err(AttachError::Refused(reason)) => {
                let _ = up.send(Update::Link(LinkState::Refused { reason })).await;
                "refused".into()
            }
            Err(AttachError::Unreachable { .. }) => {
                "no supervisor is running for this state dir".into()
            }
            Err(e) => e.to_string(),
        };
        let wait = BACKOFF[tries.min(BACKOFF.len() - 1)];
        tries += 1;
        let since = now();
        if why != "refused" {
            let _ = up
                .send(Update::Link(LinkState::Lost {
                    since,
                    retry_at: Ts(since.0 + wait),
                    why,
                }))
                .await;
        }
        // Requests while nobody supervises are answered here, never queued for later.
        let sleep = tokio::time::sleep(Duration::from_millis(wait));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                r = req.recv() => match r {
                    None | Some(Request::Quit) => return,
                    Some(_) => {
                        let _ = up.send(Update::Outcome(Outcome::Failed {
                            reason: "not sent: no supervisor is attached (see the banner)".into(),
                        })).await;
                    }
                },
            }
        }
    }
}

enum Served {
    Quit,
    Lost(String),
}

async fn serve(
    stream: UnixStream,
    snaps: &watch::Sender<Arc<Snapshot>>,
    up: &mpsc::Sender<Update>,
    req: &mut mpsc::Receiver<Request>,
) -> Served {
    let (mut rd, mut wr) = stream.into_split();
    let (msg_tx, mut msgs) = mpsc::channel::<Result<ServerMsg, WireError>>(64);
    let reader = tokio::spawn(async move {
        loop {
            let m = wire::recv::<_, ServerMsg>(&mut rd).await;
            let end = m.is_err();
            if msg_tx.send(m).await.is_err() || end {
                break;
            }
        }
    });
    let mut next_id = 0u64;
    let out = loop {
        tokio::select! {
            m = msgs.recv() => match m {
                Some(Ok(ServerMsg::Snapshot { snapshot })) => {
                    snaps.send_replace(Arc::new(*snapshot));
                }
                Some(Ok(ServerMsg::Notice { notice })) => {
                    let _ = up.send(Update::Notice(notice)).await;
                }
                Some(Ok(ServerMsg::Missed { count })) => {
                    let _ = up.send(Update::Missed(count)).await;
                }
                Some(Ok(ServerMsg::Outcome { outcome, .. })) => {
                    let _ = up.send(Update::Outcome(outcome)).await;
                }
                Some(Ok(ServerMsg::Bye { reason })) => break Served::Lost(format!("the supervisor said goodbye: {reason}")),
                Some(Ok(_)) => {}
                Some(Err(WireError::Closed)) | None => break Served::Lost("the supervisor closed the connection".into()),
                Some(Err(e)) => break Served::Lost(e.to_string()),
            },
            r = req.recv() => match r {
                None | Some(Request::Quit) => {
                    let _ = wire::send(&mut wr, &ClientMsg::Request { id: next_id, request: Request::Quit }).await;
                    break Served::Quit;
                }
                Some(request) => {
                    next_id += 1;
                    if let Err(e) = wire::send(&mut wr, &ClientMsg::Request { id: next_id, request }).await {
                        break Served::Lost(e.to_string());
                    }
                }
            },
        }
    };
    reader.abort();
    out
}

/// A one-shot request: connects as a CLI, sends, waits for the outcome (what arrives
/// before it — the snapshot, notices — is skipped).
pub async fn request(dir: &Path, request: Request) -> Result<(Conn, Outcome), AttachError> {
    let mut conn = connect(dir, Client::Cli, false).await?;
    wire::send(&mut conn.stream, &ClientMsg::Request { id: 1, request }).await?;
    loop {
        match wire::recv::<_, ServerMsg>(&mut conn.stream).await? {
            ServerMsg::Outcome { outcome, .. } => return Ok((conn, outcome)),
            ServerMsg::Bye { reason } => {
                return Err(AttachError::Refused(format!(
                    "the supervisor is stopping: {reason}"
                )))
            }
            _ => {}
        }
    }
}
