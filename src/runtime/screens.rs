//! How a `lifeboat` process gets its supervisor: attach to the one that holds the state
//! dir, or (with a fleet to start and not `--readonly`) become it — take the lock, run the
//! service in this process, and attach to it over the same socket any other screen uses.
//! Then run the console, a headless event stream, or the daemon itself.

use super::attach;
use super::service::access::Access;
use super::service::lock::{LockError, StateLock};
use super::service::world::Starter;
use super::service::{Control, Service};
use crate::core::snapshot::Snapshot;
use crate::protocol::notice::{Notice, ServiceEvent};
use crate::protocol::wire::{self, Client, ServerMsg};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

pub struct Plan {
    pub state_dir: PathBuf,
    /// The fleet this process may supervise when nothing else does.
    pub starter: Option<Arc<dyn Starter>>,
    /// An observer: never supervises, its requests are refused.
    pub readonly: bool,
}

/// The service running in this process.
pub struct Embedded {
    control: mpsc::Sender<Control>,
    join: tokio::task::JoinHandle<Result<String, String>>,
    pub hello: String,
    pub started: crate::core::time::Ts,
}

impl Embedded {
    pub async fn note(&self, what: ServiceEvent, detail: String) {
        let _ = self.control.send(Control::Note(what, detail)).await;
    }

    pub async fn stop(self, reason: &str) -> Result<(), String> {
        let _ = self.control.send(Control::Stop(reason.into())).await;
        match self.join.await {
            Ok(r) => r.map(|_| ()),
            Err(e) => Err(format!("the supervisor task ended badly: {e}")),
        }
    }
}

/// Starts the service here unless a supervisor already answers for the state dir.
pub async fn supervise_or_attach(plan: &Plan, what: &str) -> Result<Option<Embedded>, String> {
    if attach::connect(&plan.state_dir, Client::Status, true)
        .await
        .is_ok()
        || plan.readonly
    {
        return Ok(None);
    }
    let Some(starter) = plan.starter.clone() else {
        return Ok(None);
    };
    let lock = match StateLock::acquire(&plan.state_dir, what, super::clock::Clock::new().now()) {
        Ok(l) => l,
        // Someone is starting up on it right now: attach and wait for it.
        Err(LockError::Held { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    start(lock, starter, true).await.map(Some)
}

async fn start(
    lock: StateLock,
    starter: Arc<dyn Starter>,
    embedded: bool,
) -> Result<Embedded, String> {
    let started = lock.holder.started;
    let service = Service::start(lock, starter, embedded, Access::default()).await?;
    let hello = service.hello.clone();
    let (control, rx) = mpsc::channel(8);
    let join = tokio::spawn(service.run(rx));
    Ok(Embedded {
        control,
        join,
        hello,
        started,
    })
}

/// The last snapshot the journal holds: what a console shows before it is attached.
fn last_snapshot(plan: &Plan) -> Snapshot {
    let path = plan.state_dir.join("journal.db");
    if !path.exists() {
        return Snapshot::default();
    }
    super::journal::Journal::open_existing(&path)
        .ok()
        .and_then(|j| j.load::<Snapshot>("snapshot").ok().flatten())
        .unwrap_or_default()
}

/// Why a console or headless run ended (besides the operator quitting).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Ended {
    Quit,
    HangUp,
    Terminate,
}

/// The full-screen console, attached (or supervising here and attached to itself).
pub async fn console(plan: Plan, mut setup: crate::tui::run::Setup) -> Result<(), String> {
    let embedded = supervise_or_attach(&plan, "console").await?;
    setup.ui.settings.supervisor_here = embedded.is_some();
    let link = attach::console(
        &plan.state_dir,
        plan.readonly,
        Arc::new(last_snapshot(&plan)),
    );
    let io = crate::tui::run::ConsoleIo {
        snapshots: link.snapshots,
        updates: link.updates,
        requests: link.requests,
    };
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let ended = std::sync::Mutex::new(Ended::Quit);
    let stop = async {
        let why = tokio::select! {
            _ = hup.recv() => Ended::HangUp,
            _ = term.recv() => Ended::Terminate,
        };
        *ended.lock().unwrap_or_else(|p| p.into_inner()) = why;
    };
    let ui = crate::tui::run::run(io, setup, stop).await;
    let mut ended = *ended.lock().unwrap_or_else(|p| p.into_inner());
    // A terminal that stopped giving input has hung up, whichever came first.
    if matches!(ui, Ok(crate::tui::run::Exit::InputClosed)) && ended == Ended::Quit {
        ended = Ended::HangUp;
    }
    if let Some(e) = embedded {
        match ended {
            Ended::Quit => e.stop("the console that supervised quit").await?,
            Ended::Terminate => e.stop("SIGTERM").await?,
            Ended::HangUp => {
                // The terminal is gone, the fleet is not: supervise on, headless.
                tracing::warn!(
                    "the console's terminal hung up; supervising on headless, pid {}; stop with kill -TERM {}",
                    std::process::id(),
                    std::process::id()
                );
                e.note(
                    ServiceEvent::TerminalLost,
                    format!(
                        "the console's terminal hung up; supervising on headless (pid {})",
                        std::process::id()
                    ),
                )
                .await;
                let why = until_stopped().await;
                e.stop(&why).await?;
            }
        }
    }
    ui.map(|_| ()).map_err(|e| e.to_string())
}

/// Waits for SIGTERM or SIGINT and names it.
async fn until_stopped() -> String {
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => tokio::select! {
            _ = t.recv() => "SIGTERM".into(),
            _ = i.recv() => "SIGINT".into(),
        },
        _ => std::future::pending().await,
    }
}

/// `lifeboat daemon`: the service alone until SIGTERM/SIGINT; SIGHUP reloads the config.
pub async fn daemon(
    state_dir: PathBuf,
    starter: Arc<dyn Starter>,
    flags: Access,
) -> Result<(), DaemonError> {
    let lock = StateLock::acquire(&state_dir, "daemon", super::clock::Clock::new().now())
        .map_err(DaemonError::Lock)?;
    let service = Service::start(lock, starter, false, flags)
        .await
        .map_err(DaemonError::Start)?;
    eprintln_safe(&format!(
        "lifeboat daemon pid {}: {}; screens attach with: lifeboat --state-dir {}",
        std::process::id(),
        service.hello,
        state_dir.display()
    ));
    for line in [service.ssh_line(), service.api_line()]
        .into_iter()
        .flatten()
    {
        tracing::info!("{line}");
        eprintln_safe(&line);
    }
    let (control, rx) = mpsc::channel(8);
    let join = tokio::spawn(service.run(rx));
    let mut hup = signal(SignalKind::hangup()).map_err(|e| DaemonError::Start(e.to_string()))?;
    let stop = until_stopped();
    tokio::pin!(stop);
    let reason = loop {
        tokio::select! {
            why = &mut stop => break why,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                let _ = control.send(Control::Reload).await;
            }
        }
    };
    let _ = control.send(Control::Stop(reason)).await;
    match join.await {
        Ok(r) => r.map(|_| ()).map_err(DaemonError::Start),
        Err(e) => Err(DaemonError::Start(e.to_string())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Lock(LockError),
    #[error("{0}")]
    Start(String),
}

fn eprintln_safe(line: &str) {
    super::cli_out::err_line(line);
}

/// Streams events (text or JSON lines) until `duration`, Ctrl-C or SIGTERM; `summary`
/// prints the jobs' states after the run (the demo's habit).
pub async fn headless(
    plan: Plan,
    duration: Option<Duration>,
    json: bool,
    summary: bool,
    out: &mut (dyn Write + Send),
) -> Result<(), String> {
    let embedded = supervise_or_attach(&plan, "headless").await?;
    let mut conn = match attach::connect(&plan.state_dir, Client::Console, plan.readonly).await {
        Ok(c) => c,
        Err(e) => {
            if let Some(em) = embedded {
                let _ = em.stop("its screen could not attach").await;
            }
            return Err(format!(
                "{e}; start one with: lifeboat daemon --state-dir {}",
                plan.state_dir.display()
            ));
        }
    };
    let hello = match &embedded {
        Some(e) => e.hello.clone(),
        None => format!(
            "Attached to {} pid {} on {} (fleet {}); state in {}",
            if conn.daemon.embedded {
                "the console"
            } else {
                "the daemon"
            },
            conn.daemon.pid,
            conn.daemon.host,
            conn.daemon.fleet,
            conn.daemon.state_dir.display()
        ),
    };
    let first = if json {
        let kind = if conn.daemon.demo {
            "demo_started"
        } else {
            "started"
        };
        let ts = crate::core::time::rfc3339(super::clock::Clock::new().now());
        let v = serde_json::json!({"ts": ts, "kind": kind, "detail": hello, "resumed": hello.starts_with("Resuming")});
        writeln!(out, "{v}")
    } else {
        writeln!(out, "{hello}")
    };
    let mut open =
        super::cli_out::written(first.and_then(|()| out.flush())).map_err(|e| e.to_string())?;
    // What happened between the start and this attach is printed too.
    if let Some(e) = &embedded {
        for n in conn.history.iter().filter(|n| n.ts() >= e.started) {
            if open {
                open = print(n, json, out)?;
            }
        }
    }
    let deadline = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let stop = until_stopped();
    tokio::pin!(stop);
    let mut last: Option<Box<Snapshot>> = None;
    let mut why = "the headless run ended".to_string();
    while open {
        tokio::select! {
            _ = &mut deadline => break,
            w = &mut stop => { why = w; break }
            m = wire::recv::<_, ServerMsg>(&mut conn.stream) => match m {
                Ok(ServerMsg::Notice { notice }) => open = print(&notice, json, out)?,
                Ok(ServerMsg::Snapshot { snapshot }) => last = Some(snapshot),
                Ok(ServerMsg::Bye { .. }) | Err(_) => break,
                Ok(_) => {}
            },
        }
    }
    drop(conn);
    if let Some(e) = embedded {
        e.stop(&why).await?;
    }
    // The notices the stop itself made are in the journal; the summary reads the end state.
    if open && summary && !json {
        if let Some(snap) = last {
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
            super::cli_out::written(out.write_all(after.as_bytes()).and_then(|()| out.flush()))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn print(n: &Notice, json: bool, out: &mut (dyn Write + Send)) -> Result<bool, String> {
    super::cli_out::written(n.write_line(json, out)).map_err(|e| e.to_string())
}
