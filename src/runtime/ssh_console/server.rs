//! The console's SSH server: binds the listen address, accepts connections (up to a
//! limit), gives each a login deadline, and at shutdown lets every session restore its
//! client's terminal before the connections close.

use super::error::SshConsoleError;
use super::handler::{Connection, Login, Shared};
use super::host_key::HostKey;
use super::keys_file::AuthorizedKeys;
use super::screen::Screens;
use super::session::shutting_down;
use russh::server::Config;
use russh::{Disconnect, MethodKind, MethodSet, SshId};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

/// How the console's SSH server runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub host_key: HostKey,
    pub keys: AuthorizedKeys,
    /// Login attempts (keys tried) per connection.
    pub max_auth_attempts: usize,
    /// Every refused login attempt takes this long (no timing hints, slow guessing).
    pub auth_rejection_time: Duration,
    /// A connection not logged in after this long is dropped.
    pub login_grace: Duration,
    /// Connections at once; more are closed on arrival.
    pub max_connections: usize,
    /// A keepalive after this much silence from the client; three unanswered drop it.
    pub keepalive_interval: Duration,
    /// What a screen, a writer and a goodbye each get at the end of a session.
    pub grace: Duration,
}

impl ServeOptions {
    pub fn new(listen: SocketAddr, host_key: HostKey, keys: AuthorizedKeys) -> Self {
        Self {
            listen,
            host_key,
            keys,
            max_auth_attempts: 6,
            auth_rejection_time: Duration::from_secs(1),
            login_grace: Duration::from_secs(30),
            max_connections: 32,
            keepalive_interval: Duration::from_secs(15),
            grace: Duration::from_secs(2),
        }
    }

    /// Loads (or creates) the host key at `host_key` and reads the keys file.
    pub fn load(listen: SocketAddr, host_key: &Path, keys: &Path) -> Result<Self, SshConsoleError> {
        Ok(Self::new(
            listen,
            HostKey::load_or_create(host_key)?,
            AuthorizedKeys::load(keys)?,
        ))
    }

    fn russh_config(&self) -> Config {
        let mut methods = MethodSet::empty();
        methods.push(MethodKind::PublicKey);
        Config {
            server_id: SshId::Standard("SSH-2.0-lifeboat".into()),
            methods,
            auth_rejection_time: self.auth_rejection_time,
            // OpenSSH first asks with "none" to learn the methods: answer at once.
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![self.host_key.key.clone()],
            max_auth_attempts: self.max_auth_attempts,
            // An operator may watch without typing for hours; keepalives find dead peers.
            inactivity_timeout: None,
            keepalive_interval: Some(self.keepalive_interval),
            keepalive_max: 3,
            nodelay: true,
            ..Config::default()
        }
    }
}

/// A bound console server, not yet accepting.
pub struct Listener {
    listener: TcpListener,
    addr: SocketAddr,
    opts: ServeOptions,
    keys: Arc<watch::Sender<Arc<AuthorizedKeys>>>,
}

/// Puts a new keys file in force on a running server: new logins are checked against it,
/// and a session whose key it no longer lists, or lists with another role, is ended.
#[derive(Clone)]
pub struct KeysSwitch(Arc<watch::Sender<Arc<AuthorizedKeys>>>);

impl KeysSwitch {
    pub fn replace(&self, keys: AuthorizedKeys) {
        self.0.send_replace(Arc::new(keys));
    }

    /// The keys in force.
    pub fn current(&self) -> Arc<AuthorizedKeys> {
        self.0.borrow().clone()
    }
}

/// Binds `opts.listen`.
pub async fn bind(opts: ServeOptions) -> Result<Listener, SshConsoleError> {
    let bind_err = |source| SshConsoleError::Bind {
        addr: opts.listen,
        source,
    };
    let listener = TcpListener::bind(opts.listen).await.map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let keys = Arc::new(watch::channel(Arc::new(opts.keys.clone())).0);
    Ok(Listener {
        listener,
        addr,
        opts,
        keys,
    })
}

/// Serves the console on `opts.listen` until `shutdown` turns true (or its sender goes).
pub async fn serve(
    opts: ServeOptions,
    screens: Arc<dyn Screens>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), SshConsoleError> {
    bind(opts).await?.run(screens, shutdown).await
}

impl Listener {
    /// The address it listens on (the real port when `listen` said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where a reload puts a new keys file in force.
    pub fn keys_switch(&self) -> KeysSwitch {
        KeysSwitch(self.keys.clone())
    }

    /// The host key's fingerprint, for the daemon to print.
    pub fn fingerprint(&self) -> &str {
        &self.opts.host_key.fingerprint
    }

    /// Accepts connections until shutdown; then waits (boundedly) for every session to
    /// restore its client's terminal and close.
    pub async fn run(
        self,
        screens: Arc<dyn Screens>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SshConsoleError> {
        let config = Arc::new(self.opts.russh_config());
        let shared = Arc::new(Shared {
            keys: self.keys.subscribe(),
            screens,
            shutdown: shutdown.clone(),
            grace: self.opts.grace,
        });
        let slots = Arc::new(Semaphore::new(self.opts.max_connections.max(1)));
        let mut conns = JoinSet::new();
        tracing::info!(
            "console over SSH on {} (host key {})",
            self.addr,
            self.opts.host_key.fingerprint
        );
        loop {
            tokio::select! {
                _ = shutting_down(&mut shutdown) => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
                accepted = self.listener.accept() => match accepted {
                    Ok((socket, peer)) => {
                        let Ok(slot) = slots.clone().try_acquire_owned() else {
                            tracing::warn!("console connection from {peer} refused: {} already open", self.opts.max_connections);
                            continue;
                        };
                        conns.spawn(connection(socket, peer, config.clone(), shared.clone(), self.opts.login_grace, slot));
                    }
                    // Out of descriptors, a connection reset before accept …: pass.
                    Err(e) => {
                        tracing::warn!("console listener on {}: {e}", self.addr);
                        sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        drop(self.listener);
        let all_done = async { while conns.join_next().await.is_some() {} };
        if timeout(self.opts.grace * 3 + Duration::from_secs(1), all_done)
            .await
            .is_err()
        {
            tracing::warn!("console connections still open at shutdown were cut");
        }
        conns.abort_all();
        Ok(())
    }
}

/// One connection from handshake to close.
async fn connection(
    socket: TcpStream,
    peer: SocketAddr,
    config: Arc<Config>,
    shared: Arc<Shared>,
    login_grace: Duration,
    _slot: OwnedSemaphorePermit,
) {
    let mut shutdown = shared.shutdown.clone();
    let mut keys = shared.keys.clone();
    let grace = shared.grace;
    let (authed_tx, mut authed) = oneshot::channel();
    let handler = Connection::new(peer, shared, authed_tx);
    let started = tokio::select! {
        r = timeout(login_grace, russh::server::run_stream(config, socket, handler)) => r,
        _ = shutting_down(&mut shutdown) => return,
    };
    let mut session = match started {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("console connection from {peer} failed: {e}");
            return;
        }
        Err(_) => return,
    };
    let handle = session.handle();
    let login = tokio::select! {
        r = &mut authed => r.ok(),
        _ = &mut session => return,
        _ = sleep(login_grace) => None,
        _ = shutting_down(&mut shutdown) => None,
    };
    let logged_in = login.is_some();
    if let Some(login) = login {
        tokio::select! {
            _ = &mut session => return,
            _ = shutting_down(&mut shutdown) => {}
            why = revoked(&mut keys, &login) => {
                tracing::warn!("console session of {} from {peer} ended: {why}", login.name);
                let _ = timeout(
                    Duration::from_secs(1),
                    handle.disconnect(Disconnect::ByApplication, why, String::new()),
                )
                .await;
                let _ = timeout(Duration::from_secs(1), &mut session).await;
                return;
            }
        }
        // Each session restores its terminal and closes its channel; the client then
        // closes the connection.
        if timeout(grace * 3, &mut session).await.is_ok() {
            return;
        }
    }
    let why = if logged_in {
        "lifeboat is shutting down"
    } else {
        "login took too long"
    };
    let _ = timeout(
        Duration::from_secs(1),
        handle.disconnect(Disconnect::ByApplication, why.into(), String::new()),
    )
    .await;
    let _ = timeout(Duration::from_secs(1), &mut session).await;
}

/// Resolves when the keys in force no longer let `login` in as it is: its key removed,
/// or its role or name changed (it must log in again for the new one).
async fn revoked(keys: &mut watch::Receiver<Arc<AuthorizedKeys>>, login: &Login) -> String {
    loop {
        if keys.changed().await.is_err() {
            return std::future::pending().await;
        }
        let now = keys.borrow_and_update().clone();
        match now.by_fingerprint(&login.fingerprint) {
            None => return "your key was removed from the console's keys file".into(),
            Some(e) if e.role != login.role || e.name != login.name => {
                return format!(
                    "the console's keys file now says role={},name={} for your key; log in again",
                    e.role, e.name
                )
            }
            Some(_) => {}
        }
    }
}
