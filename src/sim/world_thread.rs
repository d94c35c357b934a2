//! The simulated hosts' own work (writing and copying checkpoint bytes) runs on one
//! thread of its own, named `lifeboat-sim`, instead of the runtime's blocking pool: on a
//! real fleet that work happens on the hosts, so a scale run reads the daemon's CPU with
//! this thread's taken out (`/proc/PID/task/*/comm`) to see what Lifeboat itself costs.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// The thread's name, as `/proc/PID/task/TID/comm` shows it.
pub const NAME: &str = "lifeboat-sim";

type Job = Box<dyn FnOnce() + Send>;

fn queue() -> Option<&'static Mutex<mpsc::Sender<Job>>> {
    static QUEUE: OnceLock<Option<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name(NAME.into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
}

/// Runs `f` on the simulator's thread and waits for it without blocking the runtime (on
/// the blocking pool when that thread could not be started).
pub async fn run<T, F>(f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let Some(queue) = queue() else {
        return tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| e.to_string());
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    let sent = queue
        .lock()
        .map_err(|_| "the simulator's thread is gone".to_string())?
        .send(job);
    sent.map_err(|_| "the simulator's thread is gone".to_string())?;
    rx.await
        .map_err(|_| "the simulator's thread dropped the work".to_string())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_on_the_named_thread() {
        let name = super::run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some(super::NAME));
    }
}
