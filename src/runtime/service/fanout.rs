//! Fans the supervisor's snapshots and notices out to every attached screen: a snapshot
//! is encoded once, when the first screen wants it (never with none attached: at 1,000
//! hosts that is megabytes of JSON ten times a second), and each screen takes only the
//! latest; notices go to a
//! bounded broadcast (a screen that falls behind is told how many it missed) and to a ring
//! of recent history, seeded from the journal, that a screen gets when it attaches.

use crate::core::snapshot::Snapshot;
use crate::protocol::notice::Notice;
use crate::protocol::wire::encode_with_room;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{broadcast, mpsc, watch};

/// How many past events a screen gets on attach.
pub const HISTORY: usize = 500;
const BROADCAST: usize = 1024;

/// The latest snapshot and its frame, shared by every screen.
#[derive(Clone, Default)]
pub struct Latest {
    pub snapshot: Option<Arc<Snapshot>>,
    frame: Arc<OnceLock<Option<Arc<Vec<u8>>>>>,
    /// The last frame's size: the next one is encoded with that much room.
    size: Arc<AtomicUsize>,
}

/// `ServerMsg::Snapshot`, encoded from a borrowed snapshot (the same bytes, no copy).
#[derive(serde::Serialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
enum Outgoing<'a> {
    Snapshot { snapshot: &'a Snapshot },
}

impl Latest {
    /// The snapshot's frame, encoded by the first screen that asks. Call it on a clone
    /// taken out of the watch, never under its borrow: encoding a large fleet takes a
    /// while, and the supervisor's next publish must not wait for it.
    pub fn frame(&self) -> Option<Arc<Vec<u8>>> {
        let snap = self.snapshot.as_ref()?;
        self.frame
            .get_or_init(|| {
                let was = self.size.load(Ordering::Relaxed);
                let room = was + was / 16 + 4096;
                let frame = encode_with_room(&Outgoing::Snapshot { snapshot: snap }, room)
                    .map_err(|e| tracing::warn!("cannot encode the snapshot for screens: {e}"))
                    .ok()?;
                self.size.store(frame.len(), Ordering::Relaxed);
                Some(Arc::new(frame))
            })
            .clone()
    }
}

#[derive(Clone)]
pub struct Fanout {
    pub latest: watch::Receiver<Latest>,
    size: Arc<AtomicUsize>,
    latest_tx: Arc<watch::Sender<Latest>>,
    history: Arc<Mutex<VecDeque<Notice>>>,
    notices: broadcast::Sender<Notice>,
}

impl Fanout {
    pub fn new(seed: Vec<Notice>) -> Fanout {
        let (latest_tx, latest) = watch::channel(Latest::default());
        let mut history: VecDeque<Notice> = seed.into();
        while history.len() > HISTORY {
            history.pop_front();
        }
        Fanout {
            latest,
            size: Arc::default(),
            latest_tx: Arc::new(latest_tx),
            history: Arc::new(Mutex::new(history)),
            notices: broadcast::channel(BROADCAST).0,
        }
    }

    /// The history so far and a subscription to what comes after it, with nothing lost or
    /// repeated between them.
    pub fn subscribe(&self) -> (Vec<Notice>, broadcast::Receiver<Notice>) {
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        (history.iter().cloned().collect(), self.notices.subscribe())
    }

    pub fn notice(&self, n: Notice) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        if history.len() >= HISTORY {
            history.pop_front();
        }
        history.push_back(n.clone());
        // No screen attached is fine: the journal has it.
        let _ = self.notices.send(n);
    }

    pub fn snapshot(&self, snap: Arc<Snapshot>) {
        self.latest_tx.send_replace(Latest {
            snapshot: Some(snap),
            frame: Arc::default(),
            size: self.size.clone(),
        });
    }

    /// Forwards one supervisor's output until it ends (the supervisor stopped or reloads).
    pub fn pump(
        &self,
        mut snapshots: watch::Receiver<Arc<Snapshot>>,
        mut notices: mpsc::Receiver<Notice>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            me.snapshot(snapshots.borrow_and_update().clone());
            loop {
                tokio::select! {
                    changed = snapshots.changed() => match changed {
                        Ok(()) => me.snapshot(snapshots.borrow_and_update().clone()),
                        Err(_) => break,
                    },
                    n = notices.recv() => match n {
                        Some(n) => me.notice(n),
                        None => break,
                    },
                }
            }
            // What was queued when the supervisor stopped still reaches the screens.
            while let Ok(n) = notices.try_recv() {
                me.notice(n);
            }
            me.snapshot(snapshots.borrow().clone());
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::{encode, ServerMsg};

    #[test]
    fn the_lazy_frame_is_the_bytes_of_the_snapshot_message() {
        let snap = Snapshot {
            epoch: 7,
            ..Snapshot::default()
        };
        let fanout = Fanout::new(Vec::new());
        fanout.snapshot(Arc::new(snap.clone()));
        let latest = fanout.latest.borrow().clone();
        let frame = latest.frame().expect("a frame");
        let want = encode(&ServerMsg::Snapshot {
            snapshot: Box::new(snap),
        })
        .unwrap();
        assert_eq!(*frame, want);
        // Encoded once: a second screen gets the same allocation.
        assert!(Arc::ptr_eq(&frame, &latest.frame().unwrap()));
    }
}
