//! Text from hosts made safe for a terminal: every control character that could move the
//! cursor, set the title, write the clipboard or reorder the line is shown as a visible
//! escape instead of reaching the terminal. One definition for the CLI verbs, the headless
//! stream and the console, so they all show the same thing for the same bytes.
//!
//! The form is Rust's: `\x1b` for C0 controls and DEL, `\u{9b}` for C1 controls and
//! bidirectional overrides, `\n`, `\r`, `\t` for line breaks and tabs where they are escaped.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as itself (tab and newline aside).
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Marks that reorder how a line is displayed (U+202E makes `exe.txt` read `txt.exe`).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !keep(c);
    let Some(first) = s.find(unsafe_char) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if unsafe_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Multi-line text (job output, a script's stderr): newlines and tabs stay, every other
/// control character and bidi override is escaped.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

/// One field on one line (a GPU name, a reason in a table): newlines, carriage returns
/// and tabs are escaped too, so remote text can never start a line of its own.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed_untouched() {
        for s in ["", "NVIDIA H100 80GB HBM3", "héllo → wörld ✓", "tab\there"] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s), "{s:?}");
        }
        assert!(matches!(escape_line("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn terminal_controls_are_shown_not_sent() {
        // Title set (OSC 0), clipboard write (OSC 52), a colour, a bell, C1 CSI, DEL.
        let hostile =
            "a\x1b]0;pwned\x07b\x1b]52;c;cm0gLXJm\x07c\x1b[31md\u{9b}2Je\x7ff\u{202e}gnp.exe";
        let e = escape(hostile);
        assert_eq!(
            e,
            "a\\x1b]0;pwned\\x07b\\x1b]52;c;cm0gLXJm\\x07c\\x1b[31md\\u{9b}2Je\\x7ff\\u{202e}gnp.exe"
        );
        assert!(!e.chars().any(is_unsafe));
        assert_eq!(escape_line(hostile), e);
    }

    #[test]
    fn lines_keep_their_breaks_fields_do_not() {
        assert_eq!(escape("one\ntwo\tx\r\n"), "one\ntwo\tx\\r\n");
        assert_eq!(escape_line("one\ntwo\tx\r"), "one\\ntwo\\tx\\r");
        assert_eq!(escape("\0\x01\x1f"), "\\x00\\x01\\x1f");
        assert_eq!(
            escape("\u{85}\u{2066}\u{200f}"),
            "\\u{85}\\u{2066}\\u{200f}"
        );
    }

    #[test]
    fn nothing_unsafe_survives_any_input() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!escape_line(&all).chars().any(is_unsafe));
        assert!(!escape(&all)
            .chars()
            .any(|c| is_unsafe(c) && c != '\n' && c != '\t'));
    }
}
