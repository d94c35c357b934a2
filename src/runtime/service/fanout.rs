//! Fans the supervisor's snapshots and notices out to every attached screen: the snapshot
//! is encoded once per publish and each screen takes only the latest; notices go to a
//! bounded broadcast (a screen that falls behind is told how many it missed) and to a ring
//! of recent history, seeded from the journal, that a screen gets when it attaches.

use crate::core::snapshot::Snapshot;
use crate::protocol::notice::Notice;
use crate::protocol::wire::{encode, ServerMsg};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, watch};

/// How many past events a screen gets on attach.
pub const HISTORY: usize = 500;
const BROADCAST: usize = 1024;

/// The latest snapshot and its frame, shared by every screen.
#[derive(Clone, Default)]
pub struct Latest {
    pub snapshot: Option<Arc<Snapshot>>,
    pub frame: Option<Arc<Vec<u8>>>,
}

#[derive(Clone)]
pub struct Fanout {
    pub latest: watch::Receiver<Latest>,
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
        let frame = encode(&ServerMsg::Snapshot {
            snapshot: Box::new((*snap).clone()),
        })
        .map_err(|e| tracing::warn!("cannot encode the snapshot for screens: {e}"))
        .ok()
        .map(Arc::new);
        self.latest_tx.send_replace(Latest {
            snapshot: Some(snap),
            frame,
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
