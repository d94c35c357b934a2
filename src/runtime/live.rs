//! A real fleet from a config: the shell transport (SSH, or plain processes for
//! `access = "local"` hosts) under the supervisor, with the checkpoint replicator, the
//! provider poller and the workspace syncer beside it. The service starts it.

use super::journal::JournalError;
use super::service::world::{Started, Starter, World};
use super::shell::Shell;
use super::shell_transport::ShellTransport;
use super::supervisor::{self, RuntimeParts, SupervisorHandle};
use crate::config::Config;
use crate::protocol::fault::FaultKind;
use std::path::PathBuf;
use std::sync::Arc;
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
}

pub struct LiveOptions {
    pub config: Config,
    pub state_dir: PathBuf,
    pub ssh: Arc<dyn Shell>,
    /// Set while a drill runs: its notifications are marked, delivered or held.
    pub drill: super::notify::drill_mark::DrillFlag,
}

/// The runtime and what runs beside it; `stop` ends them in order.
struct Running {
    handle: SupervisorHandle,
    /// The checkpoint replicator and its loop, when the config names a store.
    replicas: Option<(Arc<super::replica::Replicator>, tokio::task::JoinHandle<()>)>,
    poller: tokio::task::JoinHandle<()>,
    /// The watches that notice a job's exit as it happens.
    watch: tokio::task::JoinHandle<()>,
    /// The workspace syncer, when some job has a `workspace` (seed 003).
    workspace: Option<tokio::task::JoinHandle<()>>,
    stop_poller: tokio::sync::watch::Sender<bool>,
    /// The config's notifiers (a drill's marks included).
    notifier: Arc<dyn super::transport::Notifier>,
    /// The providers' renting side, by name: a drill's spot preemption goes through it.
    provisioners: super::fence_provider::Provisioners,
}

#[path = "live_drill.rs"]
mod drill;

/// What runs beside the supervisor on a real fleet.
struct LiveWorld {
    replicas: Option<Arc<super::replica::Replicator>>,
    /// The hosts, over SSH: a drill's faults are made there.
    shell: Arc<dyn super::shell::Shell>,
    fleet: crate::core::fleet::Fleet,
    drill: super::notify::drill_mark::DrillFlag,
    /// The state dir: a drill's dead-man for the NAS lives here.
    state_dir: PathBuf,
    /// The config's notifiers: a scheduled drill's result is told through them.
    notifier: Arc<dyn super::transport::Notifier>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stop_poller: tokio::sync::watch::Sender<bool>,
    provisioners: super::fence_provider::Provisioners,
    /// Each job's `[job.provision]`: the volume its regional-volume strategy uses.
    provision: std::collections::BTreeMap<String, crate::config::ProvisionSpec>,
}

#[async_trait::async_trait]
impl World for LiveWorld {
    async fn prune(
        &self,
        job: &str,
        copies: &[(String, String)],
        by: &str,
    ) -> Result<String, String> {
        let Some(rep) = &self.replicas else {
            return Err("no checkpoint store is configured ([storage])".into());
        };
        prune(rep, job, copies, by).await
    }

    /// The same restore `lifeboat checkpoints restore` runs when nothing supervises.
    async fn restore(
        &self,
        job: &str,
        id: Option<&str>,
        host: &str,
        path: Option<&str>,
    ) -> Result<String, String> {
        let Some(rep) = &self.replicas else {
            return Err("no checkpoint store is configured ([storage])".into());
        };
        match rep.restore(job, id, host, path).await {
            Ok(r) => Ok(r.to_text()),
            Err(e) => {
                tracing::warn!(job, "restore: {e}");
                Err(e.to_string())
            }
        }
    }

    async fn volume(
        &self,
        op: crate::protocol::volume::VolumeOp,
    ) -> crate::protocol::volume::VolumeAnswer {
        super::volumes::run(&self.provisioners, &self.provision, op).await
    }

    async fn drill_remove_scratch(&self, host: &str, path: &str) -> Result<String, String> {
        let script = super::drill_faults::remove_scratch(path)?;
        self.on_host(host, &script).await
    }

    async fn drill_corrupt(&self, job: &str) -> Result<String, String> {
        let Some(rep) = &self.replicas else {
            return Err("no checkpoint store is configured ([storage])".into());
        };
        rep.drill_corrupt(job).await
    }

    async fn drill_tell(&self, message: &str) -> Result<(), String> {
        self.notifier
            .notify(crate::core::io::Severity::Info, message)
            .await
    }

    fn drill_has_nas(&self) -> bool {
        self.nas_root().is_ok()
    }

    async fn drill_nas_lost(&self, duration: std::time::Duration) -> Result<String, String> {
        self.nas_lost(duration).await
    }

    async fn drill_nas_back(&self) -> Result<String, String> {
        self.nas_back().await
    }

    async fn drill_mend(&self, job: &str) -> Result<String, String> {
        let Some(rep) = &self.replicas else {
            return Err("no checkpoint store is configured ([storage])".into());
        };
        rep.drill_mend(job).await
    }

    fn drill_flag(&self) -> Option<super::notify::drill_mark::DrillFlag> {
        Some(self.drill.clone())
    }

    async fn drill_fault(
        &self,
        kind: FaultKind,
        host: &str,
        job: Option<&str>,
        duration: std::time::Duration,
    ) -> Result<String, String> {
        use super::drill_faults as df;
        let script = match (kind, job) {
            (FaultKind::JobCrash, Some(job)) => df::crash(job),
            (FaultKind::JobHang, Some(job)) => df::hang(job, duration),
            (FaultKind::GpuLost, _) => df::gpu_lost(duration),
            (FaultKind::HostHung, _) => df::net_cut(df::Cut::Hang, duration),
            (FaultKind::HostUnreachable, _) => df::net_cut(df::Cut::Refuse, duration),
            (FaultKind::SpotPreemption, _) => return self.preempt(host, true).await,
            _ => {
                return Err(format!(
                    "{} cannot be made on a real host yet",
                    kind.as_str()
                ))
            }
        };
        self.on_host(host, &script).await
    }

    async fn drill_heal(
        &self,
        kind: FaultKind,
        host: &str,
        job: Option<&str>,
        until: Option<u64>,
    ) -> Result<String, String> {
        match (kind, job) {
            (FaultKind::HostHung | FaultKind::HostUnreachable, _) => {
                self.heal_cut(host, until).await
            }
            (FaultKind::JobHang, Some(job)) => {
                self.on_host(host, &super::drill_faults::unhang(job)).await
            }
            (FaultKind::GpuLost, _) => {
                self.on_host(host, &super::drill_faults::gpu_restore())
                    .await
            }
            (FaultKind::SpotPreemption, _) => self.preempt(host, false).await,
            // A crash is not undone: Lifeboat's own recovery restarts the job.
            _ => Ok(format!("nothing to undo for {}", kind.as_str())),
        }
    }

    async fn stop(&self) {
        let _ = self.stop_poller.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Starts a fleet from a config file; a reload reads and validates the file again.
pub struct LiveStarter {
    pub path: PathBuf,
    pub config: Config,
}

#[async_trait::async_trait]
impl Starter for LiveStarter {
    async fn start(&self, state_dir: &std::path::Path) -> Result<Started, String> {
        let opts = LiveOptions {
            ssh: super::ssh_shell(&self.config.fleet, &self.config.policy),
            config: self.config.clone(),
            state_dir: state_dir.to_path_buf(),
            drill: super::notify::drill_mark::DrillFlag::default(),
        };
        let drill = opts.drill.clone();
        let shell = opts.ssh.clone();
        let running = start(&opts).await.map_err(|e| e.to_string())?;
        let hello = format!(
            "Watching {} hosts and {} jobs from {}; state in {}",
            self.config.fleet.hosts.len(),
            self.config.fleet.jobs.len(),
            self.path.display(),
            state_dir.display()
        );
        let mut tasks = vec![running.poller, running.watch];
        tasks.extend(running.workspace);
        let replicas = running.replicas.map(|(r, join)| {
            tasks.push(join);
            r
        });
        Ok(Started {
            handle: running.handle,
            world: Arc::new(LiveWorld {
                replicas,
                shell,
                fleet: self.config.fleet.clone(),
                drill,
                state_dir: state_dir.to_path_buf(),
                tasks: std::sync::Mutex::new(tasks),
                stop_poller: running.stop_poller,
                notifier: running.notifier,
                provisioners: running.provisioners,
                provision: self.config.provision.clone(),
            }),
            fleet: self.config.fleet.clone(),
            label: self.path.file_name().map_or_else(
                || self.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            demo: false,
            hello,
        })
    }

    fn drill_schedules(&self) -> Vec<crate::core::drill::schedule::Schedule> {
        self.config.drills.clone()
    }

    fn runbook_dir(&self) -> Option<std::path::PathBuf> {
        self.config.runbooks.clone()
    }

    fn access(&self) -> crate::runtime::service::access::Access {
        crate::runtime::service::access::Access {
            ssh: self.config.console.clone(),
            group: self.config.socket_group.clone(),
            api: self.config.api.clone(),
        }
    }

    fn reload(&self) -> Result<Arc<dyn Starter>, String> {
        let config = crate::config::load_file(&self.path).map_err(|e| e.to_string())?;
        Ok(Arc::new(LiveStarter {
            path: self.path.clone(),
            config,
        }))
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
    // Notifier tokens too (after the log, so each destination's "ready" line lands there).
    let notifier: Arc<dyn super::transport::Notifier> =
        Arc::new(super::notify::drill_mark::DrillAware {
            inner: super::notify::from_config(&opts.config.notifiers)?,
            flag: opts.drill.clone(),
            mode: opts.config.drill_notify,
        });
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
    let mut transport = ShellTransport::new(opts.ssh.clone(), local.clone())
        .with_provisioners(provisioners.clone());
    if let Some(r) = &rep {
        transport = transport.with_replicas(r.clone());
    }
    let parts = RuntimeParts {
        fleet: opts.config.fleet.clone(),
        policy: opts.config.policy.clone(),
        caps,
        transport: Arc::new(transport),
        notifier: notifier.clone(),
        journal: opts.state_dir.join("journal.db"),
        concurrency: 64,
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
    // A job's exit is noticed when it happens, over the probes' own connections.
    let watch = super::exit_watch::spawn(
        opts.ssh.clone(),
        local.clone(),
        opts.config.fleet.clone(),
        handle.snapshots.clone(),
        handle.feed.clone(),
        stop_poller.subscribe(),
    );
    // Workspace bytes get their own SSH connections too; a read-only console syncs nothing.
    let has_workspace = opts.config.fleet.jobs.iter().any(|j| j.workspace.is_some());
    let workspace = has_workspace.then(|| {
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
        watch,
        workspace,
        stop_poller,
        notifier,
        provisioners,
    })
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
) -> Result<String, String> {
    match rep.prune_listed(job, shown, operator).await {
        Ok(out) if !out.ok() => {
            tracing::warn!(job, "prune: {}", out.summary());
            Err(out.summary())
        }
        Ok(out) => Ok(out.summary()),
        Err(e) => {
            tracing::warn!(job, "prune: {e}");
            Err(e.to_string())
        }
    }
}
