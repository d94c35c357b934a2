//! One SSH connection to the console (a russh server `Handler`): public-key login
//! against the keys-and-roles file, then session channels that must ask for a pty
//! before a shell. Commands, subsystems, forwarding and X11 are refused.

use super::keys_file::AuthorizedKeys;
use super::screen::{Screens, SessionInfo};
use super::session::{self, Incoming, Start, SHUTTING_DOWN};
use crate::protocol::identity::{Identity, Origin};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, Pty};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Said to a client that asked for a shell without a terminal.
pub const NEEDS_TTY: &str = "lifeboat: the console needs a terminal; use ssh -t";
/// Said to a client that sent a command.
pub const NO_COMMANDS: &str =
    "lifeboat: the console runs no commands; use ssh -t without a command";

/// Session channels one connection may have open at once.
const MAX_CHANNELS: usize = 4;
/// Raw input chunks queued for a session's parser before the connection waits.
const INPUT_QUEUE: usize = 64;
/// The largest terminal a client may claim; frames are this big at most.
const MAX_COLS: u16 = 1000;
const MAX_ROWS: u16 = 500;

/// What every connection shares.
pub(super) struct Shared {
    /// The keys in force (a reload replaces them).
    pub keys: watch::Receiver<Arc<AuthorizedKeys>>,
    pub screens: Arc<dyn Screens>,
    pub shutdown: watch::Receiver<bool>,
    pub grace: Duration,
}

#[derive(Default)]
struct Chan {
    /// TERM, columns, rows from the pty request.
    pty: Option<(String, u16, u16)>,
    no_color: bool,
    /// The shell runs (at most once per channel).
    started: bool,
    /// Where the running shell's input goes; `None` again after the client's EOF.
    input: Option<mpsc::Sender<Incoming>>,
}

/// Who logged in on a connection, with the key's entry as it was then.
pub(super) struct Login {
    pub fingerprint: String,
    pub name: String,
    pub role: crate::protocol::identity::Role,
}

pub(super) struct Connection {
    peer: SocketAddr,
    shared: Arc<Shared>,
    identity: Option<Identity>,
    /// Told who logged in when login succeeds (the server's login deadline stops then).
    authed: Option<oneshot::Sender<Login>>,
    channels: HashMap<ChannelId, Chan>,
}

impl Connection {
    pub fn new(peer: SocketAddr, shared: Arc<Shared>, authed: oneshot::Sender<Login>) -> Self {
        Self {
            peer,
            shared,
            identity: None,
            authed: Some(authed),
            channels: HashMap::new(),
        }
    }

    /// Answers a channel with one line on stderr, exit status 1, and closes it.
    fn refuse(
        &mut self,
        channel: ChannelId,
        line: &str,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        let eol = match self.channels.remove(&channel) {
            Some(Chan { pty: Some(_), .. }) => "\r\n",
            _ => "\n",
        };
        session.channel_success(channel)?;
        session.extended_data(channel, 1, format!("{line}{eol}"))?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)
    }
}

/// A terminal size as the client gave it, kept within sense (0 means unknown).
fn size(cols: u32, rows: u32) -> (u16, u16) {
    let clamp = |v: u32, max: u16, default: u16| match v {
        0 => default,
        v => u16::try_from(v).unwrap_or(max).min(max),
    };
    (clamp(cols, MAX_COLS, 80), clamp(rows, MAX_ROWS, 24))
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let keys = self.shared.keys.borrow().clone();
        Ok(match keys.find(offer.public_key) {
            Some(_) => Auth::Accept,
            None => Auth::reject(),
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let keys = self.shared.keys.borrow().clone();
        let Some(entry) = keys.find(key.public_key) else {
            let fp = key.public_key.fingerprint(russh::keys::HashAlg::Sha256);
            tracing::warn!(
                "console login refused: key {fp} from {} (user {user:?}) is not in {}",
                self.peer,
                keys.path.display()
            );
            return Ok(Auth::reject());
        };
        tracing::info!(
            "console login: {} ({}) with key {} from {} as user {user:?}",
            entry.name,
            entry.role,
            entry.fingerprint,
            self.peer
        );
        self.identity = Some(Identity {
            name: entry.name.clone(),
            role: entry.role,
            origin: Origin::Ssh {
                fingerprint: entry.fingerprint.clone(),
                addr: self.peer.to_string(),
            },
        });
        Ok(Auth::Accept)
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        if let (Some(tx), Some(id)) = (self.authed.take(), &self.identity) {
            if let Origin::Ssh { fingerprint, .. } = &id.origin {
                let _ = tx.send(Login {
                    fingerprint: fingerprint.clone(),
                    name: id.name.clone(),
                    role: id.role,
                });
            }
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.identity.is_none() || self.channels.len() >= MAX_CHANNELS {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        self.channels.insert(channel.id(), Chan::default());
        reply.accept().await;
        // Requests and data come to this handler; the channel object is not read, and
        // dropping it keeps russh from queueing copies for it.
        drop(channel);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(c) if !c.started => {
                let (w, h) = size(cols, rows);
                c.pty = Some((term.to_string(), w, h));
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            // no-color.org: set and not empty means no colour.
            Some(c) if name == "NO_COLOR" && !c.started => {
                c.no_color = !value.is_empty();
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(c) = self.channels.get(&channel) else {
            return session.channel_failure(channel);
        };
        if c.started {
            return session.channel_failure(channel);
        }
        let Some((term, cols, rows)) = c.pty.clone() else {
            return self.refuse(channel, NEEDS_TTY, session);
        };
        if *self.shared.shutdown.borrow() {
            return self.refuse(channel, SHUTTING_DOWN, session);
        }
        let Some(identity) = self.identity.clone() else {
            return session.channel_failure(channel);
        };
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let no_color = c.no_color;
        if let Some(c) = self.channels.get_mut(&channel) {
            c.input = Some(tx);
            c.started = true;
        }
        session.channel_success(channel)?;
        tracing::info!(
            "console session of {} started ({term}, {cols}x{rows})",
            identity.name
        );
        tokio::spawn(session::run(Start {
            handle: session.handle(),
            channel,
            info: SessionInfo {
                identity,
                term,
                no_color,
                size: (cols, rows),
            },
            screens: self.shared.screens.clone(),
            input: rx,
            shutdown: self.shared.shutdown.clone(),
            grace: self.shared.grace,
        }));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, NO_COMMANDS, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (w, h) = size(cols, rows);
        if let Some(c) = self.channels.get_mut(&channel) {
            match (&c.input, &mut c.pty) {
                (Some(tx), _) => {
                    let _ = tx.send(Incoming::Resize(w, h)).await;
                }
                (None, Some(pty)) => (pty.1, pty.2) = (w, h),
                (None, None) => {}
            }
        }
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(tx) = self.channels.get(&channel).and_then(|c| c.input.as_ref()) {
            // Waits while the screen is behind: this connection's input backs up, no one else's.
            let _ = tx.send(Incoming::Bytes(data.to_vec())).await;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // No more input: the session's events close and its screen ends.
        if let Some(c) = self.channels.get_mut(&channel) {
            c.input = None;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sizes_are_kept_within_sense() {
        assert_eq!(size(80, 24), (80, 24));
        assert_eq!(size(0, 0), (80, 24));
        assert_eq!(size(70_000, 9_000), (MAX_COLS, MAX_ROWS));
        assert_eq!(size(1, 1), (1, 1));
    }
}
