//! The seam between the SSH layer and what it shows: a [`Screens`] implementation runs
//! one screen per session. It reads input [`Event`]s (keys, mouse, `Resize`) from
//! [`SessionIo::events`] and publishes whole frames through [`SessionIo::frames`]; the
//! SSH layer turns frames into terminal bytes. A screen ends by returning (the operator
//! quit) or when its events channel closes (the connection dropped or the daemon is
//! shutting down); it then has a moment to return before it is stopped.
//!
//! A frame is a [`Buffer`] the size the screen chose (normally the session's size).
//! Publishing never waits: only the latest frame is kept, so a slow client skips frames
//! instead of slowing the screen. [`ScreenTerminal`] draws with ratatui and publishes.

use crate::protocol::identity::Identity;
use crossterm::event::Event;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::{Frame, Terminal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Who connected and with what terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub identity: Identity,
    /// `TERM` from the client's pty request (e.g. `xterm-256color`).
    pub term: String,
    /// The client asked for no colours (`NO_COLOR` sent with `ssh -o SetEnv=NO_COLOR=1`).
    /// The SSH layer strips colours from frames anyway; a screen may mark things by
    /// other means (bold, reverse) when it is set.
    pub no_color: bool,
    /// Columns and rows at the start; later changes arrive as `Event::Resize`.
    pub size: (u16, u16),
}

/// A session's two directions.
#[derive(Debug)]
pub struct SessionIo {
    /// Keys, mouse, paste-free text and `Resize(cols, rows)`, in order. Closed when the
    /// client goes or the daemon shuts down.
    pub events: mpsc::Receiver<Event>,
    pub frames: FrameSink,
}

/// Runs the screen of each console session.
#[async_trait::async_trait]
pub trait Screens: Send + Sync + 'static {
    /// Runs one session's screen until the operator quits or `io.events` closes.
    async fn run(&self, info: SessionInfo, io: SessionIo);
}

/// What reached the client so far (frames and bytes handed to the SSH connection).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub frames: u64,
    pub bytes: u64,
}

/// Counters the session's writer keeps.
#[derive(Debug, Default)]
pub(super) struct DeliveryCounters {
    frames: AtomicU64,
    bytes: AtomicU64,
}

impl DeliveryCounters {
    pub(super) fn add(&self, bytes: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Where a screen publishes its frames: the latest one wins.
#[derive(Debug)]
pub struct FrameSink {
    tx: watch::Sender<Option<Arc<Buffer>>>,
    delivered: Arc<DeliveryCounters>,
}

impl FrameSink {
    /// A sink and the receiver the writer reads (also what tests of screens use).
    pub fn channel() -> (FrameSink, watch::Receiver<Option<Arc<Buffer>>>) {
        let (tx, rx) = watch::channel(None);
        (
            FrameSink {
                tx,
                delivered: Arc::default(),
            },
            rx,
        )
    }

    pub(super) fn counters(&self) -> Arc<DeliveryCounters> {
        self.delivered.clone()
    }

    /// Replaces the frame to show. Never waits.
    pub fn publish(&self, frame: Buffer) {
        self.tx.send_replace(Some(Arc::new(frame)));
    }

    /// Frames and bytes that reached the SSH connection so far; fewer frames than were
    /// published means the client is slow and frames were skipped.
    pub fn delivered(&self) -> Delivered {
        Delivered {
            frames: self.delivered.frames.load(Ordering::Relaxed),
            bytes: self.delivered.bytes.load(Ordering::Relaxed),
        }
    }
}

/// A ratatui terminal drawn in memory that publishes each frame it draws.
pub struct ScreenTerminal {
    // ratatui's in-memory backend: a Buffer the size of the session, nothing more.
    terminal: Terminal<TestBackend>,
    sink: FrameSink,
}

impl ScreenTerminal {
    pub fn new(size: (u16, u16), sink: FrameSink) -> std::io::Result<Self> {
        let terminal = Terminal::new(TestBackend::new(size.0, size.1))?;
        Ok(Self { terminal, sink })
    }

    /// The area drawn (mouse hit-testing).
    pub fn area(&self) -> ratatui::layout::Rect {
        let b = self.terminal.backend().buffer();
        b.area
    }

    /// Follows the client's new size; the next draw fills it.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.terminal.backend_mut().resize(cols, rows);
    }

    /// Draws a frame and publishes it.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame<'_>)) -> std::io::Result<()> {
        self.terminal.draw(render)?;
        self.sink.publish(self.terminal.backend().buffer().clone());
        Ok(())
    }

    pub fn sink(&self) -> &FrameSink {
        &self.sink
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use ratatui::widgets::Paragraph;

    #[test]
    fn a_terminal_publishes_what_it_draws_at_the_size_it_is_given() {
        let (sink, rx) = FrameSink::channel();
        let mut t = ScreenTerminal::new((20, 3), sink).unwrap();
        t.draw(|f| f.render_widget(Paragraph::new("hello"), f.area()))
            .unwrap();
        let frame = rx.borrow().clone().unwrap();
        assert_eq!(frame.area.width, 20);
        assert_eq!(frame.area.height, 3);
        assert_eq!(frame[(0, 0)].symbol(), "h");
        t.resize(30, 4);
        t.draw(|f| f.render_widget(Paragraph::new("again"), f.area()))
            .unwrap();
        let frame = rx.borrow().clone().unwrap();
        assert_eq!((frame.area.width, frame.area.height), (30, 4));
        assert_eq!(t.sink().delivered(), Delivered::default());
    }
}
