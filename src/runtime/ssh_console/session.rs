//! One console session (an SSH channel with a pty and a shell request): the screen, an
//! input task turning channel bytes into events, and the writer. When the screen
//! returns, or its events close (the client went, the daemon is shutting down), the
//! client's terminal is restored and the channel is closed with an exit status.

use super::input::InputParser;
use super::output::RESTORE;
use super::screen::{FrameSink, Screens, SessionInfo, SessionIo};
use super::writer;
use crossterm::event::Event;
use russh::server::Handle;
use russh::ChannelId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};

/// Events queued for a screen before input waits for it (keys are commands: they wait,
/// they are never dropped).
const EVENT_QUEUE: usize = 256;

/// What the connection hands a session's input task, in arrival order.
#[derive(Debug)]
pub(super) enum Incoming {
    Bytes(Vec<u8>),
    Resize(u16, u16),
}

/// Said after the terminal is restored when the daemon ends the session.
pub const SHUTTING_DOWN: &str = "lifeboat: the console is shutting down";

/// Everything a session needs to start.
pub(super) struct Start {
    pub handle: Handle,
    pub channel: ChannelId,
    pub info: SessionInfo,
    pub screens: Arc<dyn Screens>,
    pub input: mpsc::Receiver<Incoming>,
    pub shutdown: watch::Receiver<bool>,
    /// How long a screen, the writer and the goodbye each get before they are cut off.
    pub grace: Duration,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum End {
    /// The screen returned: the operator quit.
    Quit,
    /// The client closed the channel or the connection.
    Gone,
    /// The daemon is shutting down.
    Shutdown,
}

/// Waits until `shutdown` says so (or its sender is gone, which means the same).
pub(super) async fn shutting_down(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|v| *v).await;
}

/// Runs the session to its end.
pub(super) async fn run(s: Start) {
    let who = s.info.identity.name.clone();
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
    let (sink, frames) = FrameSink::channel();
    let counters = sink.counters();
    let screens = s.screens.clone();
    let info = s.info.clone();
    let mut screen = tokio::spawn(async move {
        let io = SessionIo {
            events: ev_rx,
            frames: sink,
        };
        screens.run(info, io).await;
    });
    let mut writer = tokio::spawn(writer::run(
        s.handle.clone(),
        s.channel,
        frames,
        s.info.no_color,
        counters,
    ));
    let mut input = tokio::spawn(forward_input(s.input, ev_tx, s.shutdown.clone()));

    let end = tokio::select! {
        r = &mut screen => {
            if let Err(e) = r {
                tracing::warn!("the console screen of {who} failed: {e}");
            }
            End::Quit
        }
        _ = &mut input => {
            // Its events are closed: the screen gets a moment to notice and return.
            if timeout(s.grace, &mut screen).await.is_err() {
                tracing::warn!("the console screen of {who} did not end when its input closed; stopped");
                screen.abort();
            }
            if *s.shutdown.borrow() { End::Shutdown } else { End::Gone }
        }
    };
    input.abort();
    // The screen's sink is gone: the writer sends the last frame and ends, unless the
    // client stalls.
    if timeout(s.grace, &mut writer).await.is_err() {
        writer.abort();
    }
    goodbye(&s.handle, s.channel, end, s.grace).await;
    tracing::info!("console session of {who} ended ({end:?})");
}

/// Restores the client's terminal, then exit status, EOF and close, within `grace`.
async fn goodbye(handle: &Handle, channel: ChannelId, end: End, grace: Duration) {
    let mut bytes = RESTORE.to_vec();
    if end == End::Shutdown {
        bytes.extend_from_slice(SHUTTING_DOWN.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    let code = if end == End::Quit { 0 } else { 1 };
    let _ = timeout(grace, async {
        handle.data(channel, bytes).await.ok()?;
        handle.exit_status_request(channel, code).await.ok()?;
        handle.eof(channel).await.ok()?;
        handle.close(channel).await.ok()
    })
    .await;
}

/// Parses channel bytes into events for the screen, resolving a lone ESC after the
/// parser's delay; ends (closing the events) when the channel's input ends or at
/// shutdown.
async fn forward_input(
    incoming: mpsc::Receiver<Incoming>,
    events: mpsc::Sender<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = pump(incoming, events) => {}
        _ = shutting_down(&mut shutdown) => {}
    }
}

async fn pump(mut incoming: mpsc::Receiver<Incoming>, events: mpsc::Sender<Event>) {
    let mut parser = InputParser::new();
    let mut last = Instant::now();
    loop {
        let deadline = parser.deadline().map(|d| last + d);
        let evs = tokio::select! {
            m = incoming.recv() => match m {
                None => return,
                Some(Incoming::Bytes(b)) => {
                    last = Instant::now();
                    parser.feed(&b)
                }
                Some(Incoming::Resize(cols, rows)) => vec![Event::Resize(cols, rows)],
            },
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                parser.flush_if_idle(last.elapsed())
            }
        };
        for ev in evs {
            if events.send(ev).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::runtime::ssh_console::input::ESC_DELAY;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(code: KeyCode, mods: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, mods))
    }

    #[tokio::test(start_paused = true)]
    async fn input_turns_bytes_and_resizes_into_events_and_a_lone_esc_after_the_delay() {
        let (tx, rx) = mpsc::channel(8);
        let (ev_tx, mut events) = mpsc::channel(8);
        let (_shutdown_tx, shutdown) = watch::channel(false);
        let task = tokio::spawn(forward_input(rx, ev_tx, shutdown));
        tx.send(Incoming::Bytes(b"a\x1b[".to_vec())).await.unwrap();
        tx.send(Incoming::Bytes(b"A".to_vec())).await.unwrap();
        tx.send(Incoming::Resize(100, 30)).await.unwrap();
        assert_eq!(
            events.recv().await,
            Some(key(KeyCode::Char('a'), KeyModifiers::NONE))
        );
        assert_eq!(
            events.recv().await,
            Some(key(KeyCode::Up, KeyModifiers::NONE))
        );
        assert_eq!(events.recv().await, Some(Event::Resize(100, 30)));
        let start = Instant::now();
        tx.send(Incoming::Bytes(vec![0x1b])).await.unwrap();
        assert_eq!(
            events.recv().await,
            Some(key(KeyCode::Esc, KeyModifiers::NONE))
        );
        assert!(start.elapsed() >= ESC_DELAY);
        // The channel's input ends: so do the events.
        drop(tx);
        assert_eq!(events.recv().await, None);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_closes_the_events() {
        let (_tx, rx) = mpsc::channel(8);
        let (ev_tx, mut events) = mpsc::channel(8);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let task = tokio::spawn(forward_input(rx, ev_tx, shutdown));
        shutdown_tx.send(true).unwrap();
        assert_eq!(events.recv().await, None);
        task.await.unwrap();
    }
}
