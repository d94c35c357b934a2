//! Runs the simulated fleet under the real runtime: the headless demo (an event stream)
//! and the world behind the demo console.

use super::chaos::{schedule, Fault};
use super::demo::demo_config;
use super::driver::Driver;
use super::transport::{now_ms, Shared, SimTiming, SimTransport};
use super::world::SimWorld;
use crate::core::engine::Capabilities;
use crate::core::fleet::Fleet;
use crate::runtime::cli_out::written;
use crate::runtime::notice::Notice;
use crate::runtime::supervisor::{self, RuntimeParts, SupervisorHandle};
use crate::runtime::transport::LogNotifier;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub state_dir: PathBuf,
    /// Stop after this long; `None` runs until Ctrl-C.
    pub duration: Option<Duration>,
    pub json: bool,
    pub seed: u64,
    /// Inject faults on the seeded schedule.
    pub chaos: bool,
    /// Faults given with `--inject`.
    pub inject: Vec<Fault>,
    pub timing: SimTiming,
    /// Refuse every operator command.
    pub readonly: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("state dir {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    World(String),
    #[error(transparent)]
    Journal(#[from] crate::runtime::journal::JournalError),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

/// The whole chaos plan: the seeded schedule (when on) and then the `--inject` faults.
pub fn plan(opts: &DemoOptions, fleet: &Fleet) -> Vec<Fault> {
    let mut faults = if opts.chaos {
        schedule(opts.seed, fleet, Duration::from_secs(24 * 3600))
    } else {
        Vec::new()
    };
    faults.extend(opts.inject.iter().cloned());
    faults
}

/// A running simulated world and the runtime watching it.
pub struct DemoWorld {
    pub handle: SupervisorHandle,
    pub fleet: Fleet,
    pub resumed: bool,
    /// Faults sent here strike at once.
    pub inject: mpsc::Sender<Fault>,
    stop: watch::Sender<bool>,
    driver: JoinHandle<()>,
    _log: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl DemoWorld {
    /// Loads (or creates) the world in the state dir and starts the runtime on it.
    pub fn start(opts: &DemoOptions) -> Result<Self, DemoError> {
        let config = demo_config().map_err(|e| DemoError::World(e.to_string()))?;
        let fleet = config.fleet;
        let root = opts.state_dir.join("sim");
        std::fs::create_dir_all(&root).map_err(|source| DemoError::StateDir {
            path: root.clone(),
            source,
        })?;
        let world_path = root.join("world.json");
        let (world, resumed) = match SimWorld::load(&world_path).map_err(DemoError::World)? {
            Some(w) => (w, true),
            None => (SimWorld::new(&fleet, now_ms()), false),
        };
        world.save(&world_path).map_err(DemoError::World)?;
        let shared = Shared::new(world, root, opts.seed);
        let log = crate::runtime::logging::init(&opts.state_dir);
        let transport = Arc::new(SimTransport {
            shared: shared.clone(),
            timing: opts.timing.clone(),
        });
        let parts = RuntimeParts {
            fleet: fleet.clone(),
            policy: config.policy,
            caps: Capabilities::default(),
            transport,
            notifier: Arc::new(LogNotifier),
            journal: opts.state_dir.join("journal.db"),
            concurrency: 64,
            readonly: opts.readonly,
            renting: None,
        };
        let handle = supervisor::spawn(parts)?;
        let (stop, stop_rx) = watch::channel(false);
        let (inject, inject_rx) = mpsc::channel(16);
        let driver = Driver {
            shared,
            schedule: plan(opts, &fleet),
            feed: handle.feed.clone(),
            tick: Duration::from_secs(1),
        };
        let driver = tokio::spawn(driver.run(stop_rx, inject_rx));
        Ok(Self {
            handle,
            fleet,
            resumed,
            inject,
            stop,
            driver,
            _log: log,
        })
    }

    pub fn hello(&self, opts: &DemoOptions) -> String {
        format!(
            "{} the simulated demo fleet ({} hosts, {} jobs); seed {}, chaos {}; state in {}",
            if self.resumed { "Resuming" } else { "Starting" },
            self.fleet.hosts.len(),
            self.fleet.jobs.len(),
            opts.seed,
            if opts.chaos { "on" } else { "off" },
            opts.state_dir.display()
        )
    }

    /// Stops the simulator, then the runtime; returns notices still queued.
    pub async fn stop(mut self) -> Result<Vec<Notice>, DemoError> {
        let _ = self.stop.send(true);
        let _ = self.driver.await;
        let mut rest = Vec::new();
        while let Ok(n) = self.handle.notices.try_recv() {
            rest.push(n);
        }
        self.handle.stop().await?;
        Ok(rest)
    }
}

pub async fn run_headless(
    opts: DemoOptions,
    out: &mut (dyn Write + Send),
) -> Result<(), DemoError> {
    let mut world = DemoWorld::start(&opts)?;
    let hello = world.hello(&opts);
    let first = if opts.json {
        let ts = crate::runtime::clock::rfc3339(world.handle.clock.now());
        let v = serde_json::json!({"ts": ts, "kind": "demo_started", "detail": hello, "resumed": world.resumed, "seed": opts.seed});
        writeln!(out, "{v}")
    } else {
        writeln!(out, "{hello}")
    };
    // A reader that went away (`| head -1`) ends the stream like the deadline does.
    let mut open = written(first.and_then(|()| out.flush())).map_err(DemoError::Output)?;
    let deadline = async {
        match opts.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    while open {
        tokio::select! {
            _ = &mut deadline => break,
            _ = tokio::signal::ctrl_c() => break,
            n = world.handle.notices.recv() => match n {
                Some(n) => open = print_notice(&n, opts.json, out)?,
                None => break,
            },
        }
    }
    let snap = world.handle.snapshots.borrow().clone();
    for n in world.stop().await? {
        if open {
            open = print_notice(&n, opts.json, out)?;
        }
    }
    if open && !opts.json {
        let mut after = String::from("— after the run —\n");
        for j in crate::core::outlook::needs_human(&snap) {
            let line = crate::core::outlook::needs_human_line(j, snap.now);
            after.push_str(&format!(
                "NEEDS A HUMAN {}\n",
                crate::core::safe_text::escape_line(&line)
            ));
        }
        for j in &snap.jobs {
            after.push_str(&format!(
                "{:<16} {:<22} on {:<14} {}\n",
                j.id,
                j.state.as_str(),
                j.placement.to_string(),
                j.epoch
            ));
        }
        written(out.write_all(after.as_bytes()).and_then(|()| out.flush()))
            .map_err(DemoError::Output)?;
    }
    Ok(())
}

/// `Ok(false)` once the reader is gone.
fn print_notice(n: &Notice, json: bool, out: &mut (dyn Write + Send)) -> Result<bool, DemoError> {
    written(n.write_line(json, out)).map_err(DemoError::Output)
}

/// The demo console: the full-screen TUI on the simulated world.
pub async fn run_console(
    opts: DemoOptions,
    setup: crate::tui::run::Setup,
) -> Result<(), DemoError> {
    use crate::core::io::Input;
    use crate::runtime::supervisor::Feed;
    use crate::tui::action::Request;
    let world = DemoWorld::start(&opts)?;
    let operator = setup.ui.settings.operator.clone();
    let (req_tx, mut req_rx) = mpsc::channel::<Request>(32);
    let feed = world.handle.feed.clone();
    let inject = world.inject.clone();
    let fleet = world.fleet.clone();
    // Requests from the console go to the core (commands) or the simulator (faults).
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
                Request::Inject { kind, target } => {
                    let aim = if fleet
                        .job(&crate::core::ids::JobId::new(target.clone()))
                        .is_some()
                    {
                        super::chaos::Aim::Job(target)
                    } else {
                        super::chaos::Aim::Host(target)
                    };
                    let _ = inject
                        .send(Fault {
                            at: Duration::ZERO,
                            kind,
                            aim,
                        })
                        .await;
                }
                // The demo's checkpoints live in the simulator, not in stores.
                Request::Prune { .. } => {}
                Request::Quit => break,
            }
        }
    });
    let mut world = world;
    let notices = std::mem::replace(&mut world.handle.notices, mpsc::channel(1).1);
    let io = crate::tui::run::ConsoleIo {
        snapshots: world.handle.snapshots.clone(),
        notices,
        requests: req_tx,
    };
    let ui = crate::tui::run::run(io, setup)
        .await
        .map_err(DemoError::Output);
    router.abort();
    world.stop().await?;
    ui
}
