//! The console served over SSH: each session runs the same console loop a local terminal
//! runs, fed by the session's parsed input and drawn into its frames, and linked to the
//! service in-process — the same snapshots, history and notices a socket screen gets,
//! and its requests carry the identity of the key it logged in with.

use super::fanout::Fanout;
use super::socket::Routed;
use crate::core::snapshot::Snapshot;
use crate::protocol::request::Request;
use crate::protocol::screen::{LinkState, Update};
use crate::protocol::wire::{DaemonInfo, Outcome};
use crate::runtime::ssh_console::{ScreenTerminal, Screens, SessionInfo, SessionIo};
use crate::tui::run::{ConsoleIo, Surface};
use ratatui::layout::Rect;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub struct ConsoleScreens {
    pub fanout: Fanout,
    pub requests: mpsc::Sender<Routed>,
    pub info: Arc<DaemonInfo>,
    pub shutdown: watch::Receiver<Option<String>>,
}

impl Surface for ScreenTerminal {
    fn draw(&mut self, render: &mut dyn FnMut(&mut ratatui::Frame<'_>)) -> std::io::Result<()> {
        ScreenTerminal::draw(self, |f| render(f))
    }

    fn area(&self) -> Rect {
        ScreenTerminal::area(self)
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        ScreenTerminal::resize(self, cols, rows);
    }
}

#[async_trait::async_trait]
impl Screens for ConsoleScreens {
    async fn run(&self, info: SessionInfo, io: SessionIo) {
        let identity = info.identity.clone();
        tracing::info!("console over SSH: {identity} attached");
        let first = self
            .fanout
            .latest
            .borrow()
            .snapshot
            .clone()
            .unwrap_or_default();
        let (snap_tx, snapshots) = watch::channel(first);
        let (up_tx, updates) = mpsc::channel(1024);
        let (req_tx, req_rx) = mpsc::channel(32);
        let (history, notices) = self.fanout.subscribe();
        let _ = up_tx
            .send(Update::Link(LinkState::Attached {
                daemon: (*self.info).clone(),
                identity: identity.clone(),
                at: crate::runtime::clock::Clock::new().now(),
            }))
            .await;
        let _ = up_tx.send(Update::History(history)).await;
        let link = tokio::spawn(link(
            self.fanout.latest.clone(),
            notices,
            req_rx,
            self.requests.clone(),
            identity.clone(),
            snap_tx,
            up_tx,
            self.shutdown.clone(),
        ));
        let (setup, _warnings) = crate::runtime::console_files::setup(None, false, self.info.demo);
        let console = ConsoleIo {
            snapshots,
            updates,
            requests: req_tx,
        };
        let exit = match ScreenTerminal::new(info.size, io.frames) {
            Ok(mut term) => {
                crate::tui::run::run_on(
                    console,
                    setup,
                    io.events,
                    &mut term,
                    std::future::pending(),
                )
                .await
            }
            Err(e) => Err(e),
        };
        link.abort();
        tracing::info!("console over SSH: {} left ({exit:?})", identity.name);
    }
}

/// Feeds one session from the fan-out and routes its requests with its identity.
#[allow(clippy::too_many_arguments)]
async fn link(
    mut latest: watch::Receiver<super::fanout::Latest>,
    mut notices: broadcast::Receiver<crate::protocol::notice::Notice>,
    mut requests: mpsc::Receiver<Request>,
    route: mpsc::Sender<Routed>,
    by: crate::core::identity::Identity,
    snaps: watch::Sender<Arc<Snapshot>>,
    up: mpsc::Sender<Update>,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            changed = latest.changed() => match changed {
                Ok(()) => {
                    let snap = latest.borrow_and_update().snapshot.clone();
                    if let Some(s) = snap {
                        snaps.send_replace(s);
                    }
                }
                Err(_) => break,
            },
            n = notices.recv() => {
                let u = match n {
                    Ok(n) => Update::Notice(n),
                    Err(broadcast::error::RecvError::Lagged(count)) => Update::Missed(count),
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                // A session that stops reading must not hold the fan-out: drop, count.
                if up.try_send(u).is_err() {
                    continue;
                }
            }
            r = requests.recv() => match r {
                None | Some(Request::Quit) => break,
                Some(request) => {
                    let (reply, answer) = oneshot::channel();
                    let routed = Routed { by: by.clone(), request, reply };
                    if route.send(routed).await.is_err() {
                        break;
                    }
                    let up = up.clone();
                    tokio::spawn(async move {
                        let outcome = answer.await.unwrap_or(Outcome::Failed {
                            reason: "the supervisor stopped before answering".into(),
                        });
                        let _ = up.send(Update::Outcome(outcome)).await;
                    });
                }
            },
        }
    }
}
