//! CSI sequences (`ESC [ params final`) from an xterm-style terminal: cursor and editing
//! keys with modifiers (`ESC [ 1 ; 5 A` is Ctrl-Up), F-keys, Shift-Tab, focus reports,
//! and mouse reports in SGR form (`ESC [ < b ; x ; y M/m`) and the old X10 form.
//! Bracketed-paste markers and sequences we do not know are read whole and dropped.

use super::input::{key, Step, MAX_PENDING};
use crossterm::event::{Event, KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

/// `b` starts with `ESC [` and a third byte: a whole sequence, garbage, or more to come.
pub(super) fn csi(b: &[u8]) -> Step {
    let mut intermediates = false;
    for (i, &c) in b.iter().enumerate().skip(2) {
        if i >= MAX_PENDING {
            return Step::Done(None, i);
        }
        match c {
            0x30..=0x3f if !intermediates => {}
            0x20..=0x2f => intermediates = true,
            0x40..=0x7e => {
                let params = std::str::from_utf8(&b[2..i]).unwrap_or("");
                let ev = if intermediates {
                    None
                } else {
                    decode(params, c)
                };
                return Step::Done(ev, i + 1);
            }
            // A control byte, ESC or non-ASCII inside: the sequence so far is garbage.
            _ => return Step::Done(None, i),
        }
    }
    Step::Incomplete
}

/// A number parameter; empty means `default`, and huge ones saturate.
fn num(s: &str, default: u16) -> u16 {
    if s.is_empty() {
        return default;
    }
    s.bytes()
        .try_fold(0u16, |n, d| {
            d.is_ascii_digit()
                .then(|| n.saturating_mul(10).saturating_add(u16::from(d - b'0')))
        })
        .unwrap_or(0)
}

/// xterm's modifier parameter: 1 + (1 Shift, 2 Alt, 4 Ctrl, 8 Meta).
fn modifiers(m: u16) -> KeyModifiers {
    let bits = m.saturating_sub(1);
    let mut mods = KeyModifiers::NONE;
    for (bit, flag) in [
        (1, KeyModifiers::SHIFT),
        (2, KeyModifiers::ALT),
        (4, KeyModifiers::CONTROL),
        (8, KeyModifiers::META),
    ] {
        if bits & bit != 0 {
            mods |= flag;
        }
    }
    mods
}

fn decode(params: &str, fin: u8) -> Option<Event> {
    if let Some(sgr) = params.strip_prefix('<') {
        return match fin {
            b'M' | b'm' => sgr_mouse(sgr, fin == b'm'),
            _ => None,
        };
    }
    // Other private sequences ('?', '>', '=') are replies, not keys.
    if params.starts_with(['?', '>', '=']) {
        return None;
    }
    let mut parts = params.split(';');
    let first = num(parts.next().unwrap_or(""), 1);
    let mods = modifiers(num(parts.next().unwrap_or(""), 1));
    let code = match fin {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        b'Z' => return key(KeyCode::BackTab, KeyModifiers::SHIFT | mods),
        b'I' if params.is_empty() => return Some(Event::FocusGained),
        b'O' if params.is_empty() => return Some(Event::FocusLost),
        b'~' => tilde(first)?,
        _ => return None,
    };
    key(code, mods)
}

/// `ESC [ n ~` keys (200/201, the paste markers, are dropped).
fn tilde(n: u16) -> Option<KeyCode> {
    Some(match n {
        1 | 7 => KeyCode::Home,
        2 => KeyCode::Insert,
        3 => KeyCode::Delete,
        4 | 8 => KeyCode::End,
        5 => KeyCode::PageUp,
        6 => KeyCode::PageDown,
        11..=15 => KeyCode::F((n - 10) as u8),
        17..=21 => KeyCode::F((n - 11) as u8),
        23 | 24 => KeyCode::F((n - 12) as u8),
        _ => return None,
    })
}

/// `ESC [ < b ; x ; y M` (press, motion) or `… m` (release); x and y count from 1.
fn sgr_mouse(params: &str, release: bool) -> Option<Event> {
    let mut p = params.split(';');
    let (b, x, y) = (p.next()?, p.next()?, p.next()?);
    if p.next().is_some() || [b, x, y].iter().any(|s| s.is_empty()) {
        return None;
    }
    mouse(num(b, 0), num(x, 1), num(y, 1), release)
}

/// `ESC [ M b x y`, each byte offset by 32; a release does not say which button.
pub(super) fn x10_mouse(b: u8, x: u8, y: u8) -> Option<Event> {
    let (b, x, y) = (
        u16::from(b.wrapping_sub(32)),
        u16::from(x.wrapping_sub(32)),
        u16::from(y.wrapping_sub(32)),
    );
    let release = b & 0b1110_0011 == 3;
    mouse(if release { b & !3 } else { b }, x, y, release)
}

/// A mouse report's button byte: low bits the button, +4 Shift, +8 Alt, +16 Ctrl,
/// +32 motion, +64 wheel.
fn mouse(b: u16, x: u16, y: u16, release: bool) -> Option<Event> {
    let mut modifiers = KeyModifiers::NONE;
    for (bit, flag) in [
        (4, KeyModifiers::SHIFT),
        (8, KeyModifiers::ALT),
        (16, KeyModifiers::CONTROL),
    ] {
        if b & bit != 0 {
            modifiers |= flag;
        }
    }
    let button = |n: u16| match n & 3 {
        0 => Some(MouseButton::Left),
        1 => Some(MouseButton::Middle),
        2 => Some(MouseButton::Right),
        _ => None,
    };
    let kind = if b >= 128 {
        return None;
    } else if b & 64 != 0 {
        match b & 3 {
            0 => MouseEventKind::ScrollUp,
            1 => MouseEventKind::ScrollDown,
            2 => MouseEventKind::ScrollLeft,
            _ => MouseEventKind::ScrollRight,
        }
    } else if b & 32 != 0 {
        match button(b) {
            Some(btn) => MouseEventKind::Drag(btn),
            None => MouseEventKind::Moved,
        }
    } else if release {
        MouseEventKind::Up(button(b)?)
    } else {
        MouseEventKind::Down(button(b)?)
    };
    Some(Event::Mouse(MouseEvent {
        kind,
        column: x.saturating_sub(1),
        row: y.saturating_sub(1),
        modifiers,
    }))
}
