//! The SSH transport: [`SshShell`] runs scripts (and streams bytes to and from
//! commands) on fleet hosts over russh, with one pooled, kept-alive connection per host,
//! reconnect backoff, a deadline on every call, bounded concurrency across the fleet,
//! known_hosts checks and jump hosts.
//!
//! Streams share the host's connection, and russh has no per-channel flow control on
//! the receiving side: a `read_stream` whose consumer stops taking chunks stops the
//! whole connection once russh's channel buffer is full, so other calls to that host
//! wait (or time out) until the consumer moves again or drops its receiver.
//!
//! ```ignore
//! let shell = SshShell::new(config.fleet.hosts.clone(), SshSettings::default());
//! let out = shell.run(&host, "uname -a", Duration::from_secs(5), 64 << 10).await?;
//! ```

mod auth;
mod connect;
mod exec;
mod host_key;
pub mod known_hosts;
mod pool;
mod stream;
mod through;

use crate::core::fleet::{Access, HostSpec};
use crate::core::ids::HostId;
use crate::runtime::shell::{Shell, ShellError, ShellOutput, ThroughError};
use async_trait::async_trait;
use bytes::Bytes;
use connect::Conn;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{timeout_at, Instant};

/// How the SSH transport behaves, fleet-wide.
#[derive(Clone, Debug)]
pub struct SshSettings {
    /// Calls in flight at once across the whole fleet (connects included).
    pub max_concurrent: usize,
    /// Calls in flight at once on one host's connection; keep it under the hosts'
    /// sshd `MaxSessions` (10 unless configured).
    pub max_sessions_per_host: usize,
    /// A keepalive is sent after this much silence on a connection…
    pub keepalive_interval: Duration,
    /// …and the connection is dropped after this many go unanswered.
    pub keepalive_max: usize,
    /// Waits before reconnect attempts after the 1st, 2nd … failure (the last repeats).
    pub reconnect_backoff: Vec<Duration>,
    /// ssh-agent socket; `SSH_AUTH_SOCK` when `None`.
    pub agent_socket: Option<PathBuf>,
    /// known_hosts for hosts that name none; `~/.ssh/known_hosts` when `None`.
    pub known_hosts: Option<PathBuf>,
}

impl Default for SshSettings {
    fn default() -> Self {
        Self {
            max_concurrent: 64,
            max_sessions_per_host: 8,
            keepalive_interval: Duration::from_secs(5),
            keepalive_max: 3,
            reconnect_backoff: [1, 2, 4, 8, 16, 30]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            agent_socket: None,
            known_hosts: None,
        }
    }
}

/// Runs scripts on hosts over SSH. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct SshShell {
    inner: Arc<Inner>,
}

struct Inner {
    settings: SshSettings,
    /// Every host a `proxy_jump` may name, by id.
    hosts: RwLock<HashMap<HostId, HostSpec>>,
    pool: pool::Pool,
    permits: Semaphore,
    keys: auth::Keys,
}

type ConnFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<Conn>, ShellError>> + Send + 'a>>;

impl SshShell {
    /// A shell for the fleet's `hosts` (needed to resolve `proxy_jump`).
    pub fn new(hosts: impl IntoIterator<Item = HostSpec>, settings: SshSettings) -> Self {
        let permits = Semaphore::new(settings.max_concurrent.max(1));
        let shell = Self {
            inner: Arc::new(Inner {
                settings,
                hosts: RwLock::new(HashMap::new()),
                pool: pool::Pool::default(),
                permits,
                keys: auth::Keys::default(),
            }),
        };
        shell.set_hosts(hosts);
        shell
    }

    /// Replaces the known hosts (after a config reload); connections whose settings
    /// changed are replaced on their next call.
    pub fn set_hosts(&self, hosts: impl IntoIterator<Item = HostSpec>) {
        if let Ok(mut map) = self.inner.hosts.write() {
            *map = hosts.into_iter().map(|h| (h.id.clone(), h)).collect();
        }
    }

    /// Gives the passphrase of the key file `key` (e.g. typed by the operator); it is
    /// kept in memory only and never logged.
    pub fn set_passphrase(&self, key: &Path, passphrase: String) {
        self.inner.keys.set_passphrase(key, passphrase);
    }

    /// Drops the pooled connection to `host`; the next call connects afresh, without
    /// waiting for a backoff.
    pub async fn disconnect(&self, host: &HostId) {
        self.inner.pool.forget(host).await;
    }

    /// Whether a live connection to `host` is pooled right now.
    pub fn is_connected(&self, host: &HostId) -> bool {
        self.inner.pool.is_connected(host)
    }

    fn spec(&self, id: &HostId) -> Option<HostSpec> {
        self.inner.hosts.read().ok()?.get(id).cloned()
    }

    /// The pooled connection to `host`, connecting (through its jump hosts) if needed.
    /// `chain` holds the hosts already on the way, to refuse proxy_jump cycles.
    fn conn_for<'a>(
        &'a self,
        host: &'a HostSpec,
        deadline: Instant,
        limit: Duration,
        chain: Vec<HostId>,
    ) -> ConnFuture<'a> {
        Box::pin(async move {
            let inner = &self.inner;
            let connect = || async {
                let Some(jump_id) = &host.ssh.proxy_jump else {
                    return connect::direct(host, &inner.settings, &inner.keys).await;
                };
                if jump_id == &host.id || chain.contains(jump_id) {
                    return Err(ShellError::Other(format!(
                        "proxy_jump of host \"{}\" loops back to \"{jump_id}\"; fix: make the jump hosts form a chain that ends in a host without proxy_jump",
                        host.id
                    )));
                }
                let jump = self.spec(jump_id).ok_or_else(|| {
                    ShellError::Other(format!(
                        "host \"{}\" jumps through \"{jump_id}\", which is not a known host; fix: add a [[host]] named \"{jump_id}\" or correct proxy_jump",
                        host.id
                    ))
                })?;
                let mut chain = chain.clone();
                chain.push(host.id.clone());
                let via = self
                    .conn_for(&jump, deadline, limit, chain)
                    .await
                    .map_err(|e| through(jump_id, e))?;
                connect::via_jump(host, via, jump_id.as_str(), &inner.settings, &inner.keys).await
            };
            inner
                .pool
                .get(
                    host,
                    deadline,
                    limit,
                    &inner.settings.reconnect_backoff,
                    connect,
                )
                .await
        })
    }

    /// Runs `call` on `host`'s pooled connection once it holds a fleet-wide permit and
    /// one of the host's session slots; waiting for those gives up at `deadline`.
    async fn with_session<T, F, Fut>(
        &self,
        host: &HostSpec,
        deadline: Instant,
        limit: Duration,
        call: F,
    ) -> Result<T, ShellError>
    where
        F: FnOnce(Arc<Conn>) -> Fut,
        Fut: Future<Output = Result<T, ShellError>>,
    {
        if host.access != Access::Ssh {
            return Err(ShellError::Other(format!(
                "host \"{}\" is not reached over SSH (access = {:?})",
                host.id, host.access
            )));
        }
        let _permit = timeout_at(deadline, self.inner.permits.acquire())
            .await
            .map_err(|_| ShellError::Timeout(limit))?
            .map_err(|_| ShellError::Other("the SSH transport is shut down".into()))?;
        let conn = self.conn_for(host, deadline, limit, Vec::new()).await?;
        let _session = timeout_at(deadline, conn.sessions.acquire())
            .await
            .map_err(|_| ShellError::Timeout(limit))?
            .map_err(|_| ShellError::Other("the connection is shut down".into()))?;
        call(conn.clone()).await
    }

    async fn run_inner(
        &self,
        host: &HostSpec,
        script: &str,
        deadline: Instant,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ShellError> {
        self.with_session(host, deadline, limit, |conn| async move {
            exec::run(&conn.handle, script, max_output, deadline, limit).await
        })
        .await
    }
}

/// An error met on the way through jump host `jump`, said so.
fn through(jump: &HostId, e: ShellError) -> ShellError {
    let pre = |m: String| format!("via jump host \"{jump}\": {m}");
    match e {
        ShellError::Timeout(d) => ShellError::Timeout(d),
        ShellError::Unreachable(m) => ShellError::Unreachable(pre(m)),
        ShellError::HostKey(m) => ShellError::HostKey(pre(m)),
        ShellError::Auth(m) => ShellError::Auth(pre(m)),
        ShellError::Other(m) => ShellError::Other(pre(m)),
    }
}

#[async_trait]
impl Shell for SshShell {
    async fn run(
        &self,
        host: &HostSpec,
        script: &str,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ShellError> {
        let deadline = Instant::now() + limit;
        // The inner deadlines do the bookkeeping; this one guarantees the bound.
        timeout_at(
            deadline,
            self.run_inner(host, script, deadline, limit, max_output),
        )
        .await
        .unwrap_or(Err(ShellError::Timeout(limit)))
    }

    /// Getting a session (connect included) must take under `stall`; after that, only
    /// silence from the host counts against it (see `stream`).
    async fn read_stream(
        &self,
        host: &HostSpec,
        command: &str,
        output: mpsc::Sender<Result<Bytes, String>>,
        stall: Duration,
    ) -> Result<ShellOutput, ShellError> {
        let deadline = Instant::now() + stall;
        let out = &output;
        let result = self
            .with_session(host, deadline, stall, |conn| async move {
                stream::read(&conn.handle, command, out, stall).await
            })
            .await;
        if let Err(e) = &result {
            // An early end must not pass for the end of the data.
            stream::tell(output, e, stall);
        }
        result
    }

    async fn write_stream(
        &self,
        host: &HostSpec,
        command: &str,
        input: mpsc::Receiver<Result<Bytes, String>>,
        stall: Duration,
    ) -> Result<ShellOutput, ShellError> {
        let deadline = Instant::now() + stall;
        self.with_session(host, deadline, stall, |conn| async move {
            stream::write(&conn.handle, command, input, stall).await
        })
        .await
    }

    async fn run_through(
        &self,
        peer: &HostSpec,
        host: &HostSpec,
        script: &str,
        limit: Duration,
        max_output: usize,
    ) -> Result<ShellOutput, ThroughError> {
        if peer.access != Access::Ssh || host.access != Access::Ssh {
            return Err(ThroughError::Peer(format!(
                "{} and {} are not both reached over SSH",
                peer.id, host.id
            )));
        }
        self.through(peer, host, script, limit, max_output).await
    }
}
