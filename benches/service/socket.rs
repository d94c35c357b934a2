//! Screens over the state dir's Unix socket, as the bench's own tasks: one attach timed
//! from connect to the first full snapshot, and readers that stay attached and count
//! every frame and byte the daemon sends them (the frames are decoded, as a screen would).

use lifeboat::protocol::fault::FaultKind;
use lifeboat::protocol::request::Request;
use lifeboat::protocol::wire::{self, Client, ServerMsg};
use lifeboat::runtime::attach;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::watch;

pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// One attach: seconds from `connect` (socket connect, greeting, welcome with the recent
/// history) to the first `Snapshot`, and the bytes received by then (the welcome, counted
/// by encoding it again after the clock stopped, and the snapshot's frame).
pub fn attach_once(rt: &Runtime, dir: &Path) -> (f64, usize) {
    rt.block_on(async {
        let t0 = Instant::now();
        let mut conn = attach::connect(dir, Client::Console, true)
            .await
            .expect("attach over the socket");
        let (secs, frame) = loop {
            let body =
                tokio::time::timeout(Duration::from_secs(10), wire::read_frame(&mut conn.stream))
                    .await
                    .expect("a frame within 10 s")
                    .expect("a frame");
            let msg: ServerMsg = serde_json::from_slice(&body).expect("a server message");
            if matches!(msg, ServerMsg::Snapshot { .. }) {
                break (t0.elapsed().as_secs_f64(), body.len() + 4);
            }
        };
        let welcome = wire::encode(&ServerMsg::Welcome {
            version: wire::VERSION,
            daemon: conn.daemon,
            identity: conn.identity,
            history: conn.history,
        })
        .expect("the welcome encodes")
        .len();
        (secs, welcome + frame)
    })
}

/// Keeps one screen attached until the snapshot stops growing (its frame within 1 % of
/// its size 30 s before) or `max` has passed: the demo's snapshot grows with each job's
/// checkpoint list until that is capped. Returns the seconds waited, the frame size and
/// whether it was steady.
pub fn wait_steady(rt: &Runtime, dir: &Path, max: Duration) -> (f64, usize, bool) {
    rt.block_on(async {
        let t0 = Instant::now();
        let mut conn = attach::connect(dir, Client::Console, true)
            .await
            .expect("attach over the socket");
        let mut reference: Option<(Instant, usize)> = None;
        loop {
            let body = wire::read_frame(&mut conn.stream).await.expect("a frame");
            let msg: ServerMsg = serde_json::from_slice(&body).expect("a server message");
            if !matches!(msg, ServerMsg::Snapshot { .. }) {
                continue;
            }
            let size = body.len() + 4;
            if t0.elapsed() >= max {
                return (t0.elapsed().as_secs_f64(), size, false);
            }
            match reference {
                None => reference = Some((Instant::now(), size)),
                Some((at, before)) if at.elapsed() >= Duration::from_secs(30) => {
                    if size as f64 <= before as f64 * 1.01 {
                        return (t0.elapsed().as_secs_f64(), size, true);
                    }
                    reference = Some((Instant::now(), size));
                }
                Some(_) => {}
            }
        }
    })
}

/// Asks the demo to inject `kind` into `target` now, as the demo console's `x` does.
pub fn inject(rt: &Runtime, dir: &Path, kind: FaultKind, target: &str) {
    let (_, outcome) = rt
        .block_on(attach::request(
            dir,
            Request::Inject {
                kind,
                target: target.into(),
            },
        ))
        .expect("the inject request answered");
    assert!(outcome.ok(), "the fault was not injected: {outcome:?}");
}

/// What the readers received so far, all of them together.
#[derive(Default)]
pub struct Counts {
    pub bytes: AtomicU64,
    pub frames: AtomicU64,
    pub snapshots: AtomicU64,
}

impl Counts {
    pub fn now(&self) -> (u64, u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.frames.load(Ordering::Relaxed),
            self.snapshots.load(Ordering::Relaxed),
        )
    }
}

/// `n` attached console screens that keep reading.
pub struct Readers {
    pub counts: Arc<Counts>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Readers {
    /// Attaches `n` screens and returns once each has its first snapshot.
    pub fn start(rt: &Runtime, dir: &Path, n: usize) -> Readers {
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let tasks = (0..n)
            .map(|_| {
                let dir = dir.to_path_buf();
                let counts = counts.clone();
                let mut stopped = stopped.clone();
                let ready = ready_tx.clone();
                rt.spawn(async move {
                    let mut conn = attach::connect(&dir, Client::Console, true)
                        .await
                        .expect("attach over the socket");
                    let mut first = true;
                    loop {
                        let body = tokio::select! {
                            b = wire::read_frame(&mut conn.stream) => b.expect("a frame"),
                            _ = stopped.changed() => return,
                        };
                        counts
                            .bytes
                            .fetch_add(body.len() as u64 + 4, Ordering::Relaxed);
                        counts.frames.fetch_add(1, Ordering::Relaxed);
                        let msg: ServerMsg =
                            serde_json::from_slice(&body).expect("a server message");
                        if matches!(msg, ServerMsg::Snapshot { .. }) {
                            counts.snapshots.fetch_add(1, Ordering::Relaxed);
                            if first {
                                first = false;
                                let _ = ready.send(());
                            }
                        }
                    }
                })
            })
            .collect();
        for _ in 0..n {
            ready_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("every reader got its first snapshot");
        }
        Readers {
            counts,
            stop,
            tasks,
        }
    }

    /// Detaches them all (closing their sockets) and waits until they are gone.
    pub fn stop(self, rt: &Runtime) {
        let _ = self.stop.send(true);
        rt.block_on(async {
            for t in self.tasks {
                let _ = t.await;
            }
        });
    }
}
