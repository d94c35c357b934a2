//! The console-over-SSH tests' screen: shows who logged in, the size, TERM, a frame
//! counter that ticks every 100 ms and the last events; 'q' quits. What it saw and
//! did is kept in [`Seen`] for the test to read.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use crossterm::event::{Event, KeyCode, KeyModifiers, MouseButton, MouseEventKind};
use lifeboat::runtime::ssh_console::{ScreenTerminal, Screens, SessionInfo, SessionIo};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one session's screen saw and did, for the test to read.
#[derive(Default)]
pub struct Seen {
    pub name: String,
    /// Frames drawn and published.
    pub published: AtomicU64,
    /// What reached the SSH connection (from the frame sink).
    pub delivered_frames: AtomicU64,
    pub delivered_bytes: AtomicU64,
    /// Set by the test: fill the screen with colours that change every frame.
    pub noise: AtomicBool,
    /// The screen returned.
    pub ended: AtomicBool,
}

/// The test screen: who, size, TERM and the last events on top; a frame counter that
/// ticks every 100 ms; 'q' quits.
#[derive(Default)]
pub struct TestScreens {
    pub seen: Mutex<Vec<Arc<Seen>>>,
}

impl TestScreens {
    /// The latest session of `name`.
    pub fn of(&self, name: &str) -> Option<Arc<Seen>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.name == name)
            .cloned()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// An event as the screen lists it.
pub fn describe(ev: &Event) -> String {
    match ev {
        Event::Key(k) => {
            let mut s = String::new();
            if k.modifiers.contains(KeyModifiers::CONTROL) {
                s.push_str("C-");
            }
            if k.modifiers.contains(KeyModifiers::ALT) {
                s.push_str("M-");
            }
            let name = match k.code {
                KeyCode::Char(c) => c.to_string(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Delete => "Del".into(),
                KeyCode::Insert => "Ins".into(),
                KeyCode::Backspace => "BS".into(),
                KeyCode::BackTab => "BTab".into(),
                KeyCode::F(n) => format!("F{n}"),
                other => format!("{other:?}"),
            };
            s + &name
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => format!("click@{},{}", m.column, m.row),
            MouseEventKind::ScrollUp => format!("wheel-up@{},{}", m.column, m.row),
            other => format!("{other:?}"),
        },
        other => format!("{other:?}"),
    }
}

#[async_trait::async_trait]
impl Screens for TestScreens {
    async fn run(&self, info: SessionInfo, io: SessionIo) {
        let seen = Arc::new(Seen {
            name: info.identity.name.clone(),
            ..Seen::default()
        });
        self.seen.lock().unwrap().push(seen.clone());
        let SessionIo { mut events, frames } = io;
        let mut term = ScreenTerminal::new(info.size, frames).unwrap();
        let mut size = info.size;
        let mut keys: Vec<String> = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    None => break,
                    Some(Event::Key(k)) if k.code == KeyCode::Char('q') && k.modifiers.is_empty() => break,
                    Some(Event::Resize(w, h)) => {
                        size = (w, h);
                        term.resize(w, h);
                    }
                    Some(ev) => {
                        keys.push(describe(&ev));
                        if keys.len() > 12 {
                            keys.remove(0);
                        }
                    }
                },
                _ = tick.tick() => n += 1,
            }
            let origin = match &info.identity.origin {
                lifeboat::protocol::identity::Origin::Ssh { fingerprint, addr } => {
                    (fingerprint.clone(), addr.clone())
                }
                other => (other.to_string(), String::new()),
            };
            let noise = seen.noise.load(Ordering::Relaxed);
            let lines = vec![
                Line::styled(
                    format!("who: {} {}", info.identity.name, info.identity.role),
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                ),
                Line::raw(format!("key: {}", origin.0)),
                Line::raw(format!("from: {}", origin.1)),
                Line::raw(format!(
                    "size {}x{} term {} no_color {}",
                    size.0, size.1, info.term, info.no_color
                )),
                Line::raw(format!("frame {n}")),
                Line::raw(format!("keys: {}", keys.join(" "))),
            ];
            term.draw(|f| {
                let area = f.area();
                f.render_widget(Paragraph::new(lines), area);
                if noise {
                    let buf = f.buffer_mut();
                    for y in 6..area.height {
                        for x in 0..area.width {
                            let v = u64::from(x) * 7 + u64::from(y) * 3 + n;
                            buf[(x, y)]
                                .set_char((b'a' + (v % 26) as u8) as char)
                                .set_fg(Color::Indexed(16 + (v % 200) as u8))
                                .set_bg(Color::Indexed(16 + ((v * 5 + 1) % 200) as u8));
                        }
                    }
                }
            })
            .unwrap();
            seen.published.store(n, Ordering::Relaxed);
            let d = term.sink().delivered();
            seen.delivered_frames.store(d.frames, Ordering::Relaxed);
            seen.delivered_bytes.store(d.bytes, Ordering::Relaxed);
        }
        seen.ended.store(true, Ordering::Relaxed);
    }
}
