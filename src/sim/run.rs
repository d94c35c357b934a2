//! Runs the simulated fleet under the real runtime and streams what happens: the headless
//! demo (`lifeboat --demo --headless`).

use super::chaos::{schedule, Fault};
use super::demo::demo_config;
use super::driver::Driver;
use super::transport::{now_ms, Shared, SimTiming, SimTransport};
use super::world::SimWorld;
use crate::core::engine::Capabilities;
use crate::core::fleet::Fleet;
use crate::runtime::notice::Notice;
use crate::runtime::supervisor::{self, RuntimeParts};
use crate::runtime::transport::LogNotifier;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

pub async fn run_headless(
    opts: DemoOptions,
    out: &mut (dyn Write + Send),
) -> Result<(), DemoError> {
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
    let _log = crate::runtime::logging::init(&opts.state_dir);
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
    };
    let mut handle = supervisor::spawn(parts)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let driver = Driver {
        shared: shared.clone(),
        schedule: plan(&opts, &fleet),
        feed: handle.feed.clone(),
        tick: Duration::from_secs(1),
    };
    let (_inject_tx, inject_rx) = tokio::sync::mpsc::channel(16);
    let driver_task = tokio::spawn(driver.run(stop_rx, inject_rx));

    let hello = format!(
        "{} the simulated demo fleet ({} hosts, {} jobs); seed {}, chaos {}; state in {}",
        if resumed { "Resuming" } else { "Starting" },
        fleet.hosts.len(),
        fleet.jobs.len(),
        opts.seed,
        if opts.chaos { "on" } else { "off" },
        opts.state_dir.display()
    );
    if opts.json {
        let v = serde_json::json!({"ts": crate::runtime::clock::rfc3339(handle.clock.now()), "kind": "demo_started", "detail": hello, "resumed": resumed, "seed": opts.seed});
        writeln!(out, "{v}").map_err(DemoError::Output)?;
    } else {
        writeln!(out, "{hello}").map_err(DemoError::Output)?;
    }
    out.flush().map_err(DemoError::Output)?;

    let deadline = async {
        match opts.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = tokio::signal::ctrl_c() => break,
            n = handle.notices.recv() => match n {
                Some(n) => print_notice(&n, opts.json, out)?,
                None => break,
            },
        }
    }
    let _ = stop_tx.send(true);
    let _ = driver_task.await;
    while let Ok(n) = handle.notices.try_recv() {
        print_notice(&n, opts.json, out)?;
    }
    let snap = handle.snapshots.borrow().clone();
    handle.stop().await?;
    if !opts.json {
        writeln!(out, "— after the run —").map_err(DemoError::Output)?;
        for j in &snap.jobs {
            writeln!(
                out,
                "{:<16} {:<22} on {:<14} {}",
                j.id,
                j.state.as_str(),
                j.placement.to_string(),
                j.epoch
            )
            .map_err(DemoError::Output)?;
        }
    }
    Ok(())
}

fn print_notice(n: &Notice, json: bool, out: &mut (dyn Write + Send)) -> Result<(), DemoError> {
    // Routine health flicker of hosts is in the journal; the stream shows it too (detection with reasons).
    let line = if json {
        n.to_json().to_string()
    } else {
        n.to_text()
    };
    writeln!(out, "{line}").map_err(DemoError::Output)?;
    out.flush().map_err(DemoError::Output)
}
