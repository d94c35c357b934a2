//! Keys: a key event or a keymap file's text (`ctrl-d`, `shift-tab`, `G`) → a normalised
//! [`Key`], and a [`Key`] back to that text for the help and footer.

use crate::tui::theme::closest;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

/// A key with its modifiers, normalised so that a key event and the text naming it compare
/// equal: a character carries its case and never SHIFT (`G`, not shift-g), ctrl-letters
/// are lower case, shift-tab is `BackTab`, and only ctrl, alt and shift count.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// Named keys as a keymap file writes them (the first name of each is the one shown).
const NAMED: [(&str, KeyCode); 22] = [
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("space", KeyCode::Char(' ')),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
    ("delete", KeyCode::Delete),
    ("del", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("ins", KeyCode::Insert),
];

const KEY_HELP: &str = "a key is one character (\"f\", \"G\", \"?\"), a name (enter, esc, tab, \
shift-tab, backspace, space, up, down, left, right, home, end, pgup, pgdn, delete, insert, \
f1-f12), or either after ctrl-, alt- or shift-, e.g. \"ctrl-f\"";

impl Key {
    /// The key, normalised (see [`Key`]).
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let shift = mods.contains(KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                let c = if shift { c.to_ascii_uppercase() } else { c };
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::Tab if shift => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        Key::new(ev.code, ev.modifiers)
    }

    /// A key from its text (`f`, `G`, `ctrl-d`, `alt-x`, `shift-tab`, `pgdn`, `f5`,
    /// `space`); on failure, what is wrong and how to write it.
    pub fn parse(text: &str) -> Result<Key, (String, String)> {
        let bad = |why: &str| {
            (
                format!("\"{text}\" is not a key{why}"),
                KEY_HELP.to_string(),
            )
        };
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Key::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let mut rest = text.trim();
        let mut mods = KeyModifiers::NONE;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") && rest.len() > 5 {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = rest.get(len..).unwrap_or("");
        }
        let mut chars = rest.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if mods.contains(KeyModifiers::SHIFT) && !c.is_ascii_alphabetic() {
                return Err((
                    format!("\"{text}\": shift- goes only with letters and named keys"),
                    format!("write the character shift gives, e.g. \"!\" for shift-1; {KEY_HELP}"),
                ));
            }
            return Ok(Key::new(KeyCode::Char(c), mods));
        }
        let lower = rest.to_ascii_lowercase();
        if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            return match n {
                1..=12 => Ok(Key::new(KeyCode::F(n), mods)),
                _ => Err(bad(": function keys are f1 to f12")),
            };
        }
        match NAMED.iter().find(|(name, _)| *name == lower) {
            Some((_, code)) => Ok(Key::new(*code, mods)),
            None => {
                let names: Vec<&str> = NAMED.iter().map(|(n, _)| *n).collect();
                let (message, fix) = bad("");
                Err(match closest(&lower, &names) {
                    Some(n) => (message, format!("did you mean \"{n}\"? {fix}")),
                    None => (message, fix),
                })
            }
        }
    }

    /// A function key, which some terminals and SSH clients never send.
    pub fn is_fkey(&self) -> bool {
        matches!(self.code, KeyCode::F(_))
    }

    /// A character that types itself in a text field (no ctrl or alt).
    pub fn is_printable(&self) -> bool {
        matches!(self.code, KeyCode::Char(c) if !c.is_control())
            && !self
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }
}

/// The text [`Key::parse`] reads (`ctrl-d`, `shift-tab`, `G`, `space`).
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (m, name) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.mods.contains(m) {
                f.write_str(name)?;
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::F(n) => write!(f, "f{n}"),
            code => match NAMED.iter().find(|(_, c)| *c == code) {
                Some((name, _)) => f.write_str(name),
                None => write!(f, "{code:?}"),
            },
        }
    }
}
