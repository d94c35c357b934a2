//! Raw bytes from the SSH channel → crossterm [`Event`]s, as a terminal in xterm mode
//! sends them: text (UTF-8, a character split across packets included), control keys,
//! Alt as an ESC prefix, CSI and SS3 key sequences and SGR mouse reports (see
//! `input_csi`).
//!
//! A sequence cut by a packet boundary waits in a small buffer for the rest. Whether
//! bytes form an event depends only on the bytes, never on how they were split, so
//! splitting input anywhere gives the same events. A lone ESC (or an ESC prefix that
//! never finishes) is the Escape key only once the input has been idle for
//! [`ESC_DELAY`]: the session loop calls [`InputParser::flush_if_idle`] at
//! [`InputParser::deadline`]. Garbage is dropped, nothing panics, and the buffer never
//! holds more than [`MAX_PENDING`] bytes between calls.

use super::input_csi::{csi, x10_mouse};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;

/// How long a lone ESC waits for the rest of a sequence before it counts as Escape.
/// Terminals write a key's sequence at once, so over SSH it nearly always arrives whole.
pub const ESC_DELAY: Duration = Duration::from_millis(50);

/// The longest escape sequence waited for; a longer unfinished one is garbage.
pub const MAX_PENDING: usize = 64;

const ESC: u8 = 0x1b;

/// What one parse step found at the front of the bytes.
pub(super) enum Step {
    /// `n` bytes make (or, with `None`, waste) one event.
    Done(Option<Event>, usize),
    /// The bytes so far start a sequence that may still complete.
    Incomplete,
}

/// Turns channel bytes into events, keeping a cut sequence for the next call.
#[derive(Debug, Default)]
pub struct InputParser {
    pending: Vec<u8>,
}

impl InputParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// The events `bytes` complete; an unfinished sequence at the end is kept.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            match parse(&self.pending[at..]) {
                Step::Done(ev, n) => {
                    out.extend(ev);
                    at += n.max(1);
                }
                Step::Incomplete => break,
            }
        }
        self.pending.drain(..at.min(self.pending.len()));
        out
    }

    /// Whether bytes wait for more (then the caller must call `flush_if_idle` later).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// How long after the last `feed` the pending bytes are resolved, if any wait.
    pub fn deadline(&self) -> Option<Duration> {
        self.has_pending().then_some(ESC_DELAY)
    }

    /// Resolves what waits when no byte has come for `idle` (at least [`ESC_DELAY`]):
    /// a lone ESC is Escape, `ESC [` and `ESC O` are Alt-[ and Alt-O, anything else
    /// unfinished is dropped.
    pub fn flush_if_idle(&mut self, idle: Duration) -> Vec<Event> {
        if idle < ESC_DELAY {
            return Vec::new();
        }
        self.flush()
    }

    /// Resolves what waits now, as [`flush_if_idle`](Self::flush_if_idle) does.
    pub fn flush(&mut self) -> Vec<Event> {
        let bytes = std::mem::take(&mut self.pending);
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            match parse(&bytes[at..]) {
                Step::Done(ev, n) => {
                    out.extend(ev);
                    at += n.max(1);
                }
                Step::Incomplete => {
                    out.extend(resolve_unfinished(&bytes[at..]));
                    break;
                }
            }
        }
        out
    }
}

pub(super) fn key(code: KeyCode, mods: KeyModifiers) -> Option<Event> {
    Some(Event::Key(KeyEvent::new(code, mods)))
}

/// A typed character; upper case carries SHIFT, as crossterm reports it.
fn char_key(c: char, mods: KeyModifiers) -> Option<Event> {
    let shift = if c.is_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    key(KeyCode::Char(c), mods | shift)
}

/// An unfinished sequence that will not finish.
fn resolve_unfinished(b: &[u8]) -> Option<Event> {
    match b {
        [ESC] => key(KeyCode::Esc, KeyModifiers::NONE),
        [ESC, c @ (b'[' | b'O')] => char_key(*c as char, KeyModifiers::ALT),
        _ => None,
    }
}

/// One step over non-empty `b`.
pub(super) fn parse(b: &[u8]) -> Step {
    let Some(&first) = b.first() else {
        return Step::Incomplete;
    };
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let ev = match first {
        ESC => return escape(b),
        b'\r' | b'\n' => key(KeyCode::Enter, none),
        b'\t' => key(KeyCode::Tab, none),
        0x7f | 0x08 => key(KeyCode::Backspace, none),
        0x00 => key(KeyCode::Char(' '), ctrl),
        0x01..=0x1a => key(KeyCode::Char((b'a' + first - 1) as char), ctrl),
        0x1c..=0x1f => key(
            KeyCode::Char((b"\\]^_")[usize::from(first - 0x1c)] as char),
            ctrl,
        ),
        0x20..=0x7e => char_key(first as char, none),
        _ => return utf8(b),
    };
    Step::Done(ev, 1)
}

/// `b` starts with ESC: a CSI or SS3 sequence, Alt plus a key, or Escape.
fn escape(b: &[u8]) -> Step {
    let Some(&second) = b.get(1) else {
        return Step::Incomplete;
    };
    match second {
        b'[' => match b.get(2) {
            None => Step::Incomplete,
            Some(b'M') if b.len() < 6 => Step::Incomplete,
            Some(b'M') => Step::Done(x10_mouse(b[3], b[4], b[5]), 6),
            Some(_) => csi(b),
        },
        b'O' => match b.get(2) {
            None => Step::Incomplete,
            Some(&c @ 0x40..=0x7e) => Step::Done(ss3(c), 3),
            Some(_) => Step::Done(char_key('O', KeyModifiers::ALT), 2),
        },
        // Escape pressed twice: the first is Escape, the second starts afresh.
        ESC => Step::Done(key(KeyCode::Esc, KeyModifiers::NONE), 1),
        _ => match parse(&b[1..]) {
            Step::Incomplete => Step::Incomplete,
            Step::Done(Some(Event::Key(mut k)), n) => {
                k.modifiers |= KeyModifiers::ALT;
                Step::Done(Some(Event::Key(k)), n + 1)
            }
            // ESC before a byte that makes no key: Escape, and the byte is dealt with next.
            Step::Done(_, _) => Step::Done(key(KeyCode::Esc, KeyModifiers::NONE), 1),
        },
    }
}

/// `ESC O x`: arrows, Home/End and F1–F4 in application mode.
fn ss3(c: u8) -> Option<Event> {
    let code = match c {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'M' => KeyCode::Enter,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        _ => return None,
    };
    key(code, KeyModifiers::NONE)
}

/// A UTF-8 character; a stray or invalid byte is dropped alone.
fn utf8(b: &[u8]) -> Step {
    let width = match b[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Step::Done(None, 1),
    };
    if b.len() < width {
        return if b[1..].iter().all(|c| (0x80..=0xbf).contains(c)) {
            Step::Incomplete
        } else {
            Step::Done(None, 1)
        };
    }
    match std::str::from_utf8(&b[..width])
        .ok()
        .and_then(|s| s.chars().next())
    {
        Some(c) => Step::Done(char_key(c, KeyModifiers::NONE), width),
        None => Step::Done(None, 1),
    }
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
