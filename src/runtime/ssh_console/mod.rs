//! The console over SSH: an SSH server (russh) that serves the console's screens to
//! operators' own `ssh` clients, each session with its own identity from the key it
//! logged in with.
//!
//! - [`host_key`]: the server's ed25519 key, made once in the state dir; its
//!   fingerprint is printed at start so clients can pin it.
//! - [`keys_file`]: who may log in and with which role (authorized_keys style).
//! - [`server`]: [`serve`] — listen, public-key login, connection limits, shutdown.
//! - `handler`, `session`: a session needs a pty; input and resizes become events for
//!   the screen, frames go back as terminal bytes through a per-session writer that
//!   skips frames a slow client cannot take (`writer`, `output`).
//! - [`input`]: bytes → crossterm events.
//! - [`screen`]: the [`Screens`] trait the console implements, and [`ScreenTerminal`].
//!
//! ```ignore
//! let opts = ServeOptions::load(console.listen, &HostKey::path_in(&state_dir), &console.authorized_keys)?;
//! println!("console host key {}", opts.host_key.fingerprint);
//! serve(opts, Arc::new(MyScreens), shutdown_rx).await?;
//! ```
//!
//! A screen gets [`SessionInfo`] (identity with role and origin, TERM, NO_COLOR, size)
//! and [`SessionIo`]; it draws with [`ScreenTerminal`] (or publishes `Buffer`s itself)
//! whenever its picture changes, and follows `Event::Resize`. Publishing never blocks:
//! a client that stops reading fills its SSH window (OpenSSH's is 2 MiB), then its
//! writer waits and later frames replace each other, so the screen, the daemon and the
//! other sessions never wait for it. Such a client is dropped once three keepalives
//! (15 s apart) go unanswered. The keys file is read when the server starts; a
//! [`KeysSwitch`] puts a re-read one in force (SIGHUP), ending sessions it no longer lets in.

mod error;
mod handler;
pub mod host_key;
pub mod input;
mod input_csi;
pub mod keys_file;
pub mod output;
pub mod screen;
pub mod server;
mod session;
mod writer;

pub use error::SshConsoleError;
pub use handler::{NEEDS_TTY, NO_COMMANDS};
pub use host_key::HostKey;
pub use keys_file::{AuthorizedKeys, KeyEntry, KeysFileError};
pub use screen::{Delivered, FrameSink, ScreenTerminal, Screens, SessionInfo, SessionIo};
pub use server::{bind, serve, KeysSwitch, Listener, ServeOptions};
pub use session::SHUTTING_DOWN;
