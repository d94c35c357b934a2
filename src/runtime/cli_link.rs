//! A CLI verb's line to the supervisor of a state dir: finds it (or says that nothing
//! supervises the dir and how to start something that does), greets as a CLI screen, takes
//! the one snapshot it is sent, sends requests and hands back what it hears, one at a time.

use super::attach::{self, AttachError};
use super::service::lock::StateLock;
use crate::core::identity::Identity;
use crate::core::snapshot::Snapshot;
use crate::protocol::notice::Notice;
use crate::protocol::request::Request;
use crate::protocol::wire::{self, Client, ClientMsg, DaemonInfo, Outcome, ServerMsg, WireError};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::UnixStream;

/// How long a state dir's holder may take to open its socket (it starts its fleet first).
const STARTING: Duration = Duration::from_secs(10);
/// How long the snapshot may take to follow the greeting.
const SNAPSHOT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("nothing supervises the state dir {}, and this command never acts by itself.\n  Start a supervisor: lifeboat daemon --config {} --state-dir {} (the demo: lifeboat daemon --demo --state-dir {}), then run this again", dir.display(), config.as_deref().map_or_else(|| "FILE".into(), |c| c.display().to_string()), dir.display(), dir.display())]
    NotSupervised {
        dir: PathBuf,
        config: Option<PathBuf>,
    },
    #[error("the state dir {} is held by {who}, which does not answer on {} ({why}); try again once it has started, or see its log in {}", dir.display(), dir.join(wire::SOCKET).display(), dir.join("logs").display())]
    Unanswered {
        dir: PathBuf,
        who: String,
        why: String,
    },
    #[error("{0}")]
    Attach(#[from] AttachError),
    #[error("the supervisor's answer: {0}")]
    Wire(#[from] WireError),
    #[error("the supervisor sent no picture of the fleet within {} s; try again", SNAPSHOT.as_secs())]
    NoSnapshot,
}

impl LinkError {
    /// 2 when nothing supervises (a usage matter: start one), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            LinkError::NotSupervised { .. } => 2,
            _ => 1,
        }
    }
}

/// One thing heard from the supervisor.
#[derive(Debug)]
pub enum Heard {
    Outcome {
        id: u64,
        outcome: Outcome,
    },
    Notice(Notice),
    /// This screen fell behind and this many notices were skipped (the journal has them).
    Missed(u64),
    /// The supervisor stopped or the connection ended, and why.
    Gone(String),
}

/// A greeted connection of a CLI verb.
pub struct CliLink {
    stream: UnixStream,
    pub daemon: DaemonInfo,
    /// Who the supervisor takes this command line to be.
    pub identity: Identity,
    next_id: u64,
}

/// Connects to the supervisor of `dir`. A dir nobody holds is `NotSupervised`; one that
/// is held but not (yet) answering is waited for a little, then `Unanswered`.
pub async fn open(dir: &Path, readonly: bool, config: Option<&Path>) -> Result<CliLink, LinkError> {
    let started = tokio::time::Instant::now();
    loop {
        match attach::connect(dir, Client::Cli, readonly).await {
            Ok(conn) => {
                return Ok(CliLink {
                    stream: conn.stream,
                    daemon: conn.daemon,
                    identity: conn.identity,
                    next_id: 0,
                })
            }
            Err(AttachError::Unreachable { source, .. }) => {
                let Some(holder) = StateLock::probe(dir) else {
                    return Err(LinkError::NotSupervised {
                        dir: dir.to_path_buf(),
                        config: config.map(Path::to_path_buf),
                    });
                };
                if started.elapsed() >= STARTING {
                    let who = holder.map_or_else(
                        || "another process".to_string(),
                        |h| format!("{} pid {} on {}", h.what, h.pid, h.host),
                    );
                    return Err(LinkError::Unanswered {
                        dir: dir.to_path_buf(),
                        who,
                        why: source.to_string(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl CliLink {
    /// The picture the supervisor sent on greeting (what a confirmation is made against).
    pub async fn snapshot(&mut self) -> Result<Snapshot, LinkError> {
        let read = async {
            loop {
                match wire::recv::<_, ServerMsg>(&mut self.stream).await? {
                    ServerMsg::Snapshot { snapshot } => return Ok(*snapshot),
                    ServerMsg::Bye { reason } => {
                        return Err(LinkError::Attach(AttachError::Refused(format!(
                            "the supervisor is stopping: {reason}"
                        ))))
                    }
                    _ => {}
                }
            }
        };
        // A timeout ends the conversation, so a frame cut short by it is never read on.
        tokio::time::timeout(SNAPSHOT, read)
            .await
            .map_err(|_| LinkError::NoSnapshot)?
    }

    /// Sends a request; its outcome comes back as `Heard::Outcome` with this id.
    pub async fn send(&mut self, request: Request) -> Result<u64, LinkError> {
        self.next_id += 1;
        let id = self.next_id;
        wire::send(&mut self.stream, &ClientMsg::Request { id, request }).await?;
        Ok(id)
    }

    /// The next thing heard (snapshots after the first are not sent to a CLI; any are
    /// skipped). Not cancel-safe: a caller that times this out ends the conversation.
    pub async fn next(&mut self) -> Heard {
        loop {
            match wire::recv::<_, ServerMsg>(&mut self.stream).await {
                Ok(ServerMsg::Outcome { id, outcome }) => return Heard::Outcome { id, outcome },
                Ok(ServerMsg::Notice { notice }) => return Heard::Notice(notice),
                Ok(ServerMsg::Missed { count }) => return Heard::Missed(count),
                Ok(ServerMsg::Bye { reason }) => {
                    return Heard::Gone(format!("the supervisor is stopping: {reason}"))
                }
                Ok(ServerMsg::Refused { reason }) => return Heard::Gone(reason),
                Ok(ServerMsg::Snapshot { .. } | ServerMsg::Welcome { .. }) => {}
                Err(WireError::Closed) => {
                    return Heard::Gone("the supervisor closed the connection".into())
                }
                Err(e) => return Heard::Gone(e.to_string()),
            }
        }
    }

    /// Leaves politely (the supervisor goes on).
    pub async fn quit(mut self) {
        let _ = wire::send(
            &mut self.stream,
            &ClientMsg::Request {
                id: 0,
                request: Request::Quit,
            },
        )
        .await;
    }

    /// One line: which supervisor answered and who it takes this command line for.
    pub fn who(&self) -> String {
        let d = &self.daemon;
        let kind = if d.embedded { "console" } else { "daemon" };
        crate::core::safe_text::escape_line(&format!(
            "supervisor: {kind} pid {} on {} ({}); it takes you for {}",
            d.pid, d.host, d.fleet, self.identity
        ))
        .into_owned()
    }

    /// The same, for a JSON outcome line.
    pub fn who_json(&self) -> Value {
        let d = &self.daemon;
        json!({
            "supervisor": {
                "kind": if d.embedded { "console" } else { "daemon" },
                "pid": d.pid,
                "host": d.host,
                "fleet": d.fleet,
            },
            "by": self.identity,
        })
    }
}

/// An outcome as one line: text (`accepted: …`) or a JSON object with who answered whom.
pub fn outcome_line(link: &CliLink, outcome: &Outcome, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(outcome).unwrap_or(Value::Null);
        if let (Some(m), Value::Object(who)) = (v.as_object_mut(), link.who_json()) {
            m.extend(who);
        }
        return v.to_string();
    }
    let text = match outcome {
        Outcome::Accepted { detail } => format!("accepted: {detail}"),
        Outcome::Answered { answer } => format!("answered: {}", answer.summary()),
        Outcome::Refused { reason } => format!("refused: {reason}"),
        Outcome::Failed { reason } => format!("failed: {reason}"),
    };
    crate::core::safe_text::escape_line(&text).into_owned()
}
