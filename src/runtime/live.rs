//! Runs Lifeboat on a real fleet from a config: the shell transport (SSH, or plain
//! processes for `access = "local"` hosts) under the supervisor, streamed headless or
//! shown in the console.

use super::cli_out::written;
use super::journal::JournalError;
use super::notice::Notice;
use super::shell::Shell;
use super::shell_transport::ShellTransport;
use super::supervisor::{self, Feed, RuntimeParts, SupervisorHandle};
use crate::config::Config;
use crate::core::io::Input;
use crate::tui::action::Request;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Provider(#[from] super::provider::ProviderError),
    #[error(transparent)]
    Notify(#[from] super::notify::NotifyError),
    #[error("state dir {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Replica(#[from] super::replica::ReplicaError),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

pub struct LiveOptions {
    pub config: Config,
    pub state_dir: PathBuf,
    pub readonly: bool,
    pub ssh: Arc<dyn Shell>,
}

/// The runtime and what runs beside it; `stop` ends them in order.
struct Running {
    handle: SupervisorHandle,
    /// The checkpoint replicator and its loop, when the config names a store.
    replicas: Option<(Arc<super::replica::Replicator>, tokio::task::JoinHandle<()>)>,
    poller: tokio::task::JoinHandle<()>,
    /// The workspace syncer, when some job has a `workspace` (seed 003).
    workspace: Option<tokio::task::JoinHandle<()>>,
    stop_poller: tokio::sync::watch::Sender<bool>,
    _log: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl Running {
    async fn stop(self) -> Result<(), LiveError> {
        let _ = self.stop_poller.send(true);
        let _ = self.poller.await;
        if let Some(join) = self.workspace {
            let _ = join.await;
        }
        if let Some((_, join)) = self.replicas {
            let _ = join.await;
        }
        self.handle.stop().await?;
        Ok(())
    }
}

async fn start(opts: &LiveOptions) -> Result<Running, LiveError> {
    std::fs::create_dir_all(&opts.state_dir).map_err(|source| LiveError::StateDir {
        path: opts.state_dir.clone(),
        source,
    })?;
    // Provider keys are read now: a missing one stops the start with its variable's name.
    let providers = super::provider::from_config(&opts.config.providers)?;
    // The same providers' renting side: a fence stops the instance of a host that is gone.
    let provisioners: super::fence_provider::Provisioners = opts
        .config
        .providers
        .iter()
        .map(|c| Ok((c.name.clone(), super::provider::provisioner_from_config(c)?)))
        .collect::<Result<_, super::provider::ProviderError>>()?;
    let log = super::logging::init(&opts.state_dir);
    // Notifier tokens too (after the log, so each destination's "ready" line lands there).
    let notifier = super::notify::from_config(&opts.config.notifiers)?;
    let local: Arc<dyn Shell> = Arc::new(super::local::LocalShell);
    let (rep_notices, rep_rx) = mpsc::channel(256);
    let storage = &opts.config.storage;
    // Machines failovers rent: the executor and the replicator find them here.
    let book = super::renting::HostBook::default();
    let rep = if storage.nas.is_some() || storage.s3.is_some() {
        // Checkpoint bytes get their own SSH connections: a stream stalled on a slow
        // store must never hold up the probes that share a connection with it.
        let bulk = super::ssh_shell(&opts.config.fleet, &opts.config.policy);
        let r = super::replica::open(&opts.config, &opts.state_dir, bulk, local.clone())
            .await?
            .with_notices(rep_notices)
            .with_book(book.clone());
        let r = if opts.readonly {
            r.without_auto_prune()
        } else {
            r
        };
        Some(Arc::new(r))
    } else {
        None
    };
    // Jobs with a [job.provision] table may rent a machine as a failover step.
    let specs = &opts.config.provision;
    let renting = (!specs.is_empty()).then(|| {
        Arc::new(super::renting::Renting {
            provisioners: provisioners.clone(),
            specs: specs.clone(),
            book: book.clone(),
            ssh_timeout: opts.config.policy.recovery.step_timeouts.provision,
            options: super::provider::provision::ProvisionOptions::default(),
        })
    });
    let caps = super::renting::capabilities(&opts.config);
    let mut transport =
        ShellTransport::new(opts.ssh.clone(), local.clone()).with_provisioners(provisioners);
    if let Some(r) = &rep {
        transport = transport.with_replicas(r.clone());
    }
    let parts = RuntimeParts {
        fleet: opts.config.fleet.clone(),
        policy: opts.config.policy.clone(),
        caps,
        transport: Arc::new(transport),
        notifier,
        journal: opts.state_dir.join("journal.db"),
        concurrency: 64,
        readonly: opts.readonly,
        renting,
    };
    let handle = supervisor::spawn(parts)?;
    let (stop_poller, stop_rx) = tokio::sync::watch::channel(false);
    // One poller for all providers, at the most frequent interval any of them asks for.
    let every = opts
        .config
        .providers
        .iter()
        .map(|p| p.poll_every)
        .min()
        .unwrap_or(super::provider::poller::DEFAULT_EVERY);
    let poller = super::provider::poller::spawn(
        providers,
        opts.config.fleet.clone(),
        handle.feed.clone(),
        every,
        stop_rx,
    );
    let replicas = rep.map(|r| {
        let join = super::replica::service::spawn(
            r.clone(),
            handle.snapshots.clone(),
            handle.feed.clone(),
            rep_rx,
            super::replica::service::DISCOVER_EVERY,
            stop_poller.subscribe(),
        );
        (r, join)
    });
    // Workspace bytes get their own SSH connections too; a read-only console syncs nothing.
    let has_workspace = opts.config.fleet.jobs.iter().any(|j| j.workspace.is_some());
    let workspace = (has_workspace && !opts.readonly).then(|| {
        let shells = super::workspace::Shells {
            ssh: super::ssh_shell(&opts.config.fleet, &opts.config.policy),
            local,
        };
        super::workspace::service::spawn(
            shells,
            opts.config.fleet.clone(),
            handle.snapshots.clone(),
            handle.feed.clone(),
            stop_poller.subscribe(),
        )
    });
    Ok(Running {
        handle,
        replicas,
        poller,
        workspace,
        stop_poller,
        _log: log,
    })
}

/// Streams events until `duration` passes or Ctrl-C.
pub async fn run_headless(
    opts: LiveOptions,
    duration: Option<Duration>,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Result<(), LiveError> {
    let mut running = start(&opts).await?;
    let handle = &mut running.handle;
    let hello = format!(
        "Watching {} hosts and {} jobs from {}; state in {}",
        opts.config.fleet.hosts.len(),
        opts.config.fleet.jobs.len(),
        opts.config
            .source
            .as_ref()
            .map_or("the config".to_string(), |p| p.display().to_string()),
        opts.state_dir.display()
    );
    let first = if json {
        let ts = super::clock::rfc3339(handle.clock.now());
        writeln!(
            out,
            "{}",
            serde_json::json!({"ts": ts, "kind": "started", "detail": hello})
        )
    } else {
        writeln!(out, "{hello}")
    };
    // A reader that went away (`| head -1`) ends the stream like the deadline does.
    let mut open = written(first.and_then(|()| out.flush())).map_err(LiveError::Output)?;
    let deadline = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut failed = None;
    while open {
        tokio::select! {
            _ = &mut deadline => break,
            _ = tokio::signal::ctrl_c() => break,
            n = handle.notices.recv() => match n {
                Some(n) => match written(n.write_line(json, out)) {
                    Ok(still) => open = still,
                    Err(e) => failed = Some(e),
                },
                None => break,
            },
        }
        if failed.is_some() {
            break;
        }
    }
    let mut rest: Vec<Notice> = Vec::new();
    while let Ok(n) = handle.notices.try_recv() {
        rest.push(n);
    }
    for n in rest {
        if open && failed.is_none() {
            match written(n.write_line(json, out)) {
                Ok(still) => open = still,
                Err(e) => failed = Some(e),
            }
        }
    }
    // The runtime stops cleanly whatever happened to the output.
    running.stop().await?;
    failed.map_or(Ok(()), |e| Err(LiveError::Output(e)))
}

/// Deletes exactly the copies of `job` the operator confirmed in the console (never
/// re-planned: checkpoints that arrived while the dialog was open wait for the next
/// prune); each deleted copy and the outcome are journaled as `checkpoint` notices, and
/// the outcome reaches the console as a message.
async fn prune(
    rep: &super::replica::Replicator,
    job: &str,
    shown: &[(String, String)],
    operator: &str,
) {
    match rep.prune_listed(job, shown, operator).await {
        Ok(out) if !out.ok() => tracing::warn!(job, "prune: {}", out.summary()),
        Ok(_) => {}
        Err(e) => tracing::warn!(job, "prune: {e}"),
    }
}

/// The console on the real fleet.
pub async fn run_console(
    opts: LiveOptions,
    setup: crate::tui::run::Setup,
) -> Result<(), LiveError> {
    let mut running = start(&opts).await?;
    let operator = setup.ui.settings.operator.clone();
    let (req_tx, mut req_rx) = mpsc::channel::<Request>(32);
    let feed = running.handle.feed.clone();
    let rep = running.replicas.as_ref().map(|(r, _)| r.clone());
    let readonly = opts.readonly;
    let router = tokio::spawn(async move {
        while let Some(req) = req_rx.recv().await {
            match req {
                Request::Core(command) => {
                    let input = Input::Command {
                        operator: operator.clone(),
                        command,
                    };
                    if feed.send(Feed::Input(input)).await.is_err() {
                        break;
                    }
                }
                Request::Prune { job, copies } if !readonly => {
                    if let Some(r) = &rep {
                        prune(r, &job, &copies, &operator).await;
                    }
                }
                _ => {}
            }
        }
    });
    let handle = &mut running.handle;
    let notices = std::mem::replace(&mut handle.notices, mpsc::channel(1).1);
    let io = crate::tui::run::ConsoleIo {
        snapshots: handle.snapshots.clone(),
        notices,
        requests: req_tx,
    };
    let ui = crate::tui::run::run(io, setup)
        .await
        .map_err(LiveError::Output);
    router.abort();
    running.stop().await?;
    ui
}
