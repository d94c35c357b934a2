//! Logs go to daily-rolling files in the state dir, never to the terminal (the TUI owns it).

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;

/// Starts file logging; keep the guard alive for as long as logs should be flushed.
pub fn init(state_dir: &Path) -> Option<WorkerGuard> {
    let dir = state_dir.join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(dir, "lifeboat.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIFEBOAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ok = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .is_ok();
    ok.then_some(guard)
}

/// The daemon's logging: the same rolling files, and stderr too with `--log-stderr`.
pub fn init_daemon(state_dir: &Path, stderr: bool) -> Option<WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    if !stderr {
        return init(state_dir);
    }
    let dir = state_dir.join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(dir, "lifeboat.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIFEBOAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ok = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .is_ok();
    ok.then_some(guard)
}
