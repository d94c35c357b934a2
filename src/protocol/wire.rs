//! The wire between the supervisor and a screen over the state dir's Unix socket: frames of
//! a 4-byte big-endian length and one JSON message. The first message each way is a
//! greeting that carries the protocol version, read loosely so that a screen of another
//! version gets a clear refusal instead of garbage.

use super::notice::Notice;
use super::request::Request;
use crate::core::identity::Identity;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bumped whenever a message changes shape.
pub const VERSION: u32 = 4;
/// A frame larger than this is refused (a fleet of 1,000 hosts snapshots to a few MB).
pub const MAX_FRAME: usize = 64 << 20;
/// The socket's name in the state dir.
pub const SOCKET: &str = "lifeboat.sock";

/// What kind of screen is connecting.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    /// A full-screen console: wants snapshots, notices and the recent history.
    Console,
    /// A one-shot CLI command: gets the snapshot as it is when it greets (once), sends
    /// requests and reads outcomes and notices.
    Cli,
    /// `lifeboat status`: only the greeting.
    Status,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {
        version: u32,
        client: Client,
        /// An observer asks for the viewer role whatever its uid would give.
        #[serde(default)]
        readonly: bool,
    },
    Request {
        id: u64,
        request: Request,
    },
}

/// Who is supervising: shown by every attached screen and by `status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub host: String,
    pub started: Ts,
    pub version: String,
    /// The config file's name, or "demo".
    pub fleet: String,
    pub state_dir: PathBuf,
    pub hosts: usize,
    pub jobs: usize,
    /// Run inside a console (`lifeboat --config`, `lifeboat --demo`) rather than as a daemon.
    pub embedded: bool,
    pub demo: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Accepted {
        detail: String,
    },
    /// A question answered with data (the drills' catalogue, a plan).
    Answered {
        answer: super::drill::Answer,
    },
    Refused {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

impl Outcome {
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Accepted { .. } | Outcome::Answered { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        version: u32,
        daemon: DaemonInfo,
        /// Who the supervisor takes this screen to be.
        identity: Identity,
        /// The recent events, oldest first (from the journal across restarts).
        history: Vec<Notice>,
    },
    /// The greeting was not accepted (another protocol version, …); the socket closes.
    Refused {
        reason: String,
    },
    Snapshot {
        snapshot: Box<Snapshot>,
    },
    Notice {
        notice: Notice,
    },
    /// This screen fell behind and `count` notices were skipped (the journal has them).
    Missed {
        count: u64,
    },
    Outcome {
        id: u64,
        outcome: Outcome,
    },
    /// The supervisor is stopping (or reloading): reconnect later.
    Bye {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a frame of {0} bytes is larger than the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("a message that is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the other side closed the connection")]
    Closed,
}

/// Encodes one message as a whole frame (so one encoding can go to many screens).
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    encode_with_room(msg, 0)
}

/// [`encode`] into one buffer, the length patched in front afterwards, with room for
/// `room` bytes of body from the start: a 1,000-host snapshot is 9 MB, and grown by
/// doubling and then copied behind its length it took three times that at its peak.
pub fn encode_with_room<T: Serialize>(msg: &T, room: usize) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(4 + room.min(MAX_FRAME));
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut out, msg)?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    // A guess far too large (the fleet shrank) is not kept for the frame's lifetime.
    if out.capacity() > out.len() + out.len() / 4 + 4096 {
        out.shrink_to_fit();
    }
    Ok(out)
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> Result<(), WireError> {
    w.write_all(frame).await?;
    w.flush().await?;
    Ok(())
}

pub async fn send<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> Result<(), WireError> {
    write_frame(w, &encode(msg)?).await
}

/// Reads one frame's body; `Closed` at a clean end between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, WireError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(WireError::Closed),
        Err(e) => return Err(e.into()),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_FRAME {
        return Err(WireError::TooLarge(n));
    }
    let mut body = vec![0u8; n];
    r.read_exact(&mut body).await?;
    Ok(body)
}

pub async fn recv<R: AsyncRead + Unpin, T: serde::de::DeserializeOwned>(
    r: &mut R,
) -> Result<T, WireError> {
    Ok(serde_json::from_slice(&read_frame(r).await?)?)
}

/// The version a greeting claims, read without knowing the rest of its shape.
pub fn greeting_version(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("version")?.as_u64()
}

/// Why a greeting of `theirs` cannot be served by this build.
pub fn version_mismatch(theirs: u64) -> String {
    format!(
        "this supervisor (lifeboat {}) speaks protocol {VERSION} and the screen protocol {theirs}: run the same lifeboat version on both sides",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_round_trips_through_a_frame() {
        let msg = ClientMsg::Request {
            id: 7,
            request: Request::Core(crate::core::io::Command::Pause { job: None }),
        };
        let frame = encode(&msg).unwrap();
        let mut r = &frame[..];
        let back: ClientMsg = recv(&mut r).await.unwrap();
        assert_eq!(back, msg);
        let mut empty: &[u8] = &[];
        assert!(matches!(
            recv::<_, ClientMsg>(&mut empty).await,
            Err(WireError::Closed)
        ));
    }

    #[test]
    fn room_changes_the_buffer_not_the_bytes() {
        let msg = ServerMsg::Refused {
            reason: "x".repeat(10_000),
        };
        let body = serde_json::to_vec(&msg).unwrap();
        for room in [0, 100, body.len(), 50 << 20] {
            let frame = encode_with_room(&msg, room).unwrap();
            assert_eq!(frame[..4], (body.len() as u32).to_be_bytes(), "room {room}");
            assert_eq!(frame[4..], body[..], "room {room}");
            assert!(
                frame.capacity() <= frame.len() + frame.len() / 4 + 4096,
                "room {room} kept {} bytes for {}",
                frame.capacity(),
                frame.len()
            );
        }
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_before_it_is_read() {
        let mut r: &[u8] = &[0xff, 0xff, 0xff, 0xff, 1, 2];
        assert!(matches!(
            read_frame(&mut r).await,
            Err(WireError::TooLarge(_))
        ));
    }

    #[test]
    fn a_greeting_of_another_version_is_recognised() {
        let body = br#"{"msg":"hello","version":99,"client":"console","future":1}"#;
        assert_eq!(greeting_version(body), Some(99));
        assert!(version_mismatch(99).contains(&format!("protocol {VERSION}")));
        assert_eq!(greeting_version(b"garbage"), None);
    }
}
