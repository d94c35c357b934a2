//! The simulated fleet as a world the service starts: the simulator supplies only its
//! transport (the fake hosts) and its world (the fault driver); everything else is the
//! same service, supervisor and screens a real fleet gets.

use super::chaos::{schedule, Fault};
use super::demo::demo_config_sized;
use super::driver::Driver;
use super::transport::{now_ms, Shared, SimTiming, SimTransport};
use super::world::SimWorld;
use crate::core::engine::Capabilities;
use crate::core::fleet::Fleet;
use crate::protocol::fault::FaultKind;
use crate::runtime::service::world::{Started, Starter, World};
use crate::runtime::supervisor::{self, RuntimeParts};
use crate::runtime::transport::LogNotifier;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub seed: u64,
    /// Hosts in the fleet (`demo::DEMO_HOSTS` is the shipped one).
    pub fleet_size: usize,
    /// Inject faults on the seeded schedule.
    pub chaos: bool,
    /// Faults given with `--inject`.
    pub inject: Vec<Fault>,
    pub timing: SimTiming,
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

/// The simulator beside the supervisor: its fault driver and the way to strike at once.
struct DemoSide {
    fleet: Fleet,
    inject: mpsc::Sender<Fault>,
    stop: watch::Sender<bool>,
    driver: Mutex<Option<JoinHandle<()>>>,
}

#[async_trait::async_trait]
impl World for DemoSide {
    async fn inject(&self, kind: FaultKind, target: &str) -> Result<String, String> {
        let aim = if self
            .fleet
            .job(&crate::core::ids::JobId::new(target.to_string()))
            .is_some()
        {
            super::chaos::Aim::Job(target.to_string())
        } else if self
            .fleet
            .host(&crate::core::ids::HostId::new(target.to_string()))
            .is_some()
        {
            super::chaos::Aim::Host(target.to_string())
        } else {
            return Err(format!(
                "no job or host named \"{target}\" in the demo fleet"
            ));
        };
        let fault = Fault {
            at: Duration::ZERO,
            kind,
            aim,
        };
        self.inject
            .send(fault)
            .await
            .map_err(|_| "the simulator has stopped".to_string())?;
        Ok(format!("{} strikes {target} now", kind.as_str()))
    }

    async fn restore(
        &self,
        job: &str,
        _id: Option<&str>,
        host: &str,
        _path: Option<&str>,
    ) -> Result<String, String> {
        Err(format!(
            "the demo fleet is simulated: it keeps no checkpoint stores, so nothing can be restored onto {host} for {job}; restore needs a real fleet with [storage] in its config"
        ))
    }

    async fn stop(&self) {
        let _ = self.stop.send(true);
        let driver = self.driver.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(d) = driver {
            let _ = d.await;
        }
    }
}

/// Starts the simulated demo fleet (loaded from the state dir when it ran there before).
pub struct DemoStarter {
    pub opts: DemoOptions,
}

#[async_trait::async_trait]
impl Starter for DemoStarter {
    async fn start(&self, state_dir: &Path) -> Result<Started, String> {
        start(&self.opts, state_dir).map_err(|e| e.to_string())
    }

    /// The demo's fleet is built in: a reload starts the same one again.
    fn reload(&self) -> Result<Arc<dyn Starter>, String> {
        Ok(Arc::new(DemoStarter {
            opts: self.opts.clone(),
        }))
    }
}

fn start(opts: &DemoOptions, state_dir: &Path) -> Result<Started, DemoError> {
    let config = demo_config_sized(opts.fleet_size).map_err(|e| DemoError::World(e.to_string()))?;
    let fleet = config.fleet;
    let root = state_dir.join("sim");
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
        journal: state_dir.join("journal.db"),
        concurrency: 64,
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
    let hello = format!(
        "{} the simulated demo fleet ({} hosts, {} jobs); seed {}, chaos {}; state in {}",
        if resumed { "Resuming" } else { "Starting" },
        fleet.hosts.len(),
        fleet.jobs.len(),
        opts.seed,
        if opts.chaos { "on" } else { "off" },
        state_dir.display()
    );
    Ok(Started {
        handle,
        world: Arc::new(DemoSide {
            fleet: fleet.clone(),
            inject,
            stop,
            driver: Mutex::new(Some(driver)),
        }),
        fleet,
        label: "demo".into(),
        demo: true,
        hello,
    })
}
