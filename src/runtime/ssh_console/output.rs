//! Frames → terminal bytes. [`Encoder`] remembers the last frame it encoded (which the
//! writer then sends, so it is the last one sent) and encodes only the cells that
//! changed; a first frame or a new size clears the screen and draws everything. With
//! NO_COLOR, colours are dropped and bold, reverse and the rest are kept.
//!
//! [`SETUP`] and [`RESTORE`] enter and leave the console's terminal state: alternate
//! screen, hidden cursor, SGR mouse reports.

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::style::Color;

/// Alternate screen, cursor hidden, mouse buttons and drags reported in SGR form.
pub const SETUP: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[0m\x1b[2J";

/// Undoes [`SETUP`] (any mouse mode a screen may have left on included) and resets
/// attributes, leaving the client's terminal as it was.
pub const RESTORE: &[u8] =
    b"\x1b[0m\x1b[?1006l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?25h\x1b[?1049l";

const CLEAR: &[u8] = b"\x1b[0m\x1b[2J";

/// Encodes frames as the difference from the last one.
#[derive(Debug, Default)]
pub struct Encoder {
    shown: Option<Buffer>,
    no_color: bool,
}

impl Encoder {
    pub fn new(no_color: bool) -> Self {
        Self {
            shown: None,
            no_color,
        }
    }

    /// The bytes that turn the last encoded frame into `next` (empty when nothing
    /// changed); `next` becomes the last encoded frame.
    pub fn frame(&mut self, next: &Buffer) -> std::io::Result<Vec<u8>> {
        let stripped;
        let next = if self.no_color {
            stripped = without_colours(next);
            &stripped
        } else {
            next
        };
        let mut out = Vec::new();
        let blank;
        let base = match &self.shown {
            Some(prev) if prev.area == next.area => prev,
            _ => {
                out.extend_from_slice(CLEAR);
                blank = Buffer::empty(next.area);
                &blank
            }
        };
        let changes = base.diff(next);
        if !changes.is_empty() {
            CrosstermBackend::new(&mut out).draw(changes.into_iter())?;
        }
        self.shown = Some(next.clone());
        Ok(out)
    }
}

fn without_colours(b: &Buffer) -> Buffer {
    let mut b = b.clone();
    for cell in &mut b.content {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
        cell.underline_color = Color::Reset;
    }
    b
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::{Modifier, Style};

    fn frame(w: u16, h: u16, text: &str, style: Style) -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, w, h));
        b.set_string(0, 0, text, style);
        b
    }

    fn s(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn the_first_frame_clears_and_later_ones_send_only_changes() {
        let mut e = Encoder::new(false);
        let first = s(&e.frame(&frame(10, 2, "abc", Style::default())).unwrap());
        assert!(first.starts_with("\x1b[0m\x1b[2J"), "{first:?}");
        assert!(first.contains("\x1b[1;1Habc"), "{first:?}");
        let same = e.frame(&frame(10, 2, "abc", Style::default())).unwrap();
        assert!(same.is_empty(), "{:?}", s(&same));
        let next = s(&e.frame(&frame(10, 2, "abd", Style::default())).unwrap());
        assert!(!next.contains("\x1b[2J"), "{next:?}");
        assert!(next.contains("\x1b[1;3Hd"), "{next:?}");
        assert!(!next.contains('a'), "{next:?}");
    }

    #[test]
    fn a_new_size_clears_and_draws_everything() {
        let mut e = Encoder::new(false);
        e.frame(&frame(10, 2, "abc", Style::default())).unwrap();
        let bigger = s(&e.frame(&frame(12, 3, "abc", Style::default())).unwrap());
        assert!(bigger.starts_with("\x1b[0m\x1b[2J"), "{bigger:?}");
        assert!(bigger.contains("abc"), "{bigger:?}");
    }

    #[test]
    fn no_color_keeps_bold_and_reverse_but_drops_colours() {
        let style = Style::default()
            .fg(Color::Red)
            .bg(Color::Blue)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED);
        let coloured = s(&Encoder::new(false).frame(&frame(5, 1, "x", style)).unwrap());
        assert!(
            coloured.contains("\x1b[38;5;9m")
                || coloured.contains("\x1b[31m")
                || coloured.contains("38;5"),
            "{coloured:?}"
        );
        let plain = s(&Encoder::new(true).frame(&frame(5, 1, "x", style)).unwrap());
        assert!(plain.contains("\x1b[1m"), "bold kept: {plain:?}");
        assert!(plain.contains("\x1b[7m"), "reverse kept: {plain:?}");
        for sgr in ["38;", "48;", "[31m", "[44m", "[91m", "[34m"] {
            assert!(!plain.contains(sgr), "colour {sgr:?} in {plain:?}");
        }
        // A change of colour alone is no change at all without colours.
        let mut e = Encoder::new(true);
        e.frame(&frame(5, 1, "x", style)).unwrap();
        assert!(e
            .frame(&frame(5, 1, "x", style.fg(Color::Green)))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn setup_and_restore_mirror_each_other() {
        let setup = s(SETUP);
        let restore = s(RESTORE);
        for (on, off) in [
            ("?1049h", "?1049l"),
            ("?25l", "?25h"),
            ("?1000h", "?1000l"),
            ("?1006h", "?1006l"),
        ] {
            assert!(setup.contains(on) && restore.contains(off), "{on} / {off}");
        }
        assert!(restore.starts_with("\x1b[0m") && restore.ends_with("\x1b[?1049l"));
    }
}
