//! Colours: a colour's text → [`Color`], what the terminal can show ([`ColorSupport`]),
//! and a [`Theme`] degraded to it (nearest ANSI-16 or xterm-256 colour).

use super::{closest, Theme};
use ratatui::style::{Color, Modifier};

/// Colour names (after lower-casing and dropping `-`, `_` and spaces).
const COLOURS: [(&str, Color); 19] = [
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("grey", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("darkgrey", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

pub(super) const COLOUR_HELP: &str =
    "a colour is a name (black, red, green, yellow, blue, magenta, \
cyan, gray, darkgray, lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan, \
white, reset), \"#rrggbb\", or an xterm colour number 0-255";

/// A colour from its text; on failure, what is wrong and how to fix it.
pub fn parse_colour(text: &str) -> Result<Color, (String, String)> {
    let raw = text.trim();
    if let Some(hex) = raw.strip_prefix('#') {
        let byte =
            |r: std::ops::Range<usize>| hex.get(r).and_then(|h| u8::from_str_radix(h, 16).ok());
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            if let (Some(r), Some(g), Some(b)) = (byte(0..2), byte(2..4), byte(4..6)) {
                return Ok(Color::Rgb(r, g, b));
            }
        }
        return Err((
            format!("\"{text}\" is not a colour"),
            "write \"#\" and six hex digits, e.g. \"#1e90ff\"".into(),
        ));
    }
    if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
        return index_colour(raw.parse().unwrap_or(i64::MAX), text);
    }
    let norm: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .to_lowercase();
    if let Some((_, c)) = COLOURS.iter().find(|(n, _)| *n == norm) {
        return Ok(*c);
    }
    let names: Vec<&str> = COLOURS.iter().map(|(n, _)| *n).collect();
    let fix = match closest(&norm, &names) {
        Some(n) => format!("did you mean \"{n}\"? {COLOUR_HELP}"),
        None => COLOUR_HELP.to_string(),
    };
    Err((format!("\"{text}\" is not a colour"), fix))
}

pub(super) fn index_colour(i: i64, shown: &str) -> Result<Color, (String, String)> {
    match u8::try_from(i) {
        Ok(n) => Ok(Color::Indexed(n)),
        Err(_) => Err((
            format!("colour number {shown} is out of range"),
            "colour numbers are 0-255 (the xterm palette)".into(),
        )),
    }
}

/// How many colours the terminal shows.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ColorSupport {
    /// `NO_COLOR`: no colour at all; bold, reversed and the like stay.
    None,
    /// The 16 ANSI colours.
    Ansi16,
    /// The xterm 256-colour palette.
    Ansi256,
    /// 24-bit colour.
    #[default]
    TrueColor,
}

impl ColorSupport {
    /// From the environment, given as the values of `NO_COLOR`, `COLORTERM` and `TERM`
    /// (`None` where unset): `NO_COLOR` set and not empty → `None`; `COLORTERM` of
    /// `truecolor` or `24bit` → `TrueColor`; a `TERM` containing `256color` → `Ansi256`;
    /// anything else → `Ansi16`.
    pub fn detect(no_color: Option<&str>, colorterm: Option<&str>, term: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorSupport::None;
        }
        let ct = colorterm.unwrap_or("").trim().to_ascii_lowercase();
        if ct == "truecolor" || ct == "24bit" {
            return ColorSupport::TrueColor;
        }
        if term.is_some_and(|t| t.to_ascii_lowercase().contains("256color")) {
            return ColorSupport::Ansi256;
        }
        ColorSupport::Ansi16
    }
}

impl Theme {
    /// The theme as a terminal with `support` can show it. `None` drops every colour but
    /// keeps the modifiers, and makes `selected` reversed so the selection still shows;
    /// `Ansi16` maps RGB and indexed colours to the nearest of the 16 ANSI colours;
    /// `Ansi256` maps RGB colours to the nearest xterm-256 index; `TrueColor` keeps all.
    pub fn degrade(mut self, support: ColorSupport) -> Theme {
        if support == ColorSupport::TrueColor {
            return self;
        }
        let map: fn(Color) -> Color = match support {
            ColorSupport::Ansi16 => to_ansi16,
            _ => to_ansi256,
        };
        for style in self.styles_mut() {
            if support == ColorSupport::None {
                style.fg = None;
                style.bg = None;
                style.underline_color = None;
            } else {
                style.fg = style.fg.map(map);
                style.bg = style.bg.map(map);
                style.underline_color = style.underline_color.map(map);
            }
        }
        if support == ColorSupport::None {
            self.selected = self.selected.add_modifier(Modifier::REVERSED);
        }
        self
    }
}

/// The 16 ANSI colours and the RGB xterm gives them.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// The RGB xterm shows for palette index `i` (16-231 a 6×6×6 cube, 232-255 greys).
pub(super) fn xterm_rgb(i: u8) -> (u8, u8, u8) {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let level = |n: u8| LEVELS.get(usize::from(n)).copied().unwrap_or(255);
    match i {
        0..=15 => ANSI16
            .get(usize::from(i))
            .map_or((0, 0, 0), |(_, rgb)| *rgb),
        16..=231 => {
            let n = i - 16;
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        232..=255 => {
            let g = 8 + 10 * (i - 232);
            (g, g, g)
        }
    }
}

/// How different two colours look ("redmean": cheap, and closer to the eye than RGB).
fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> i64 {
    let (r1, g1, b1) = (i64::from(a.0), i64::from(a.1), i64::from(a.2));
    let (r2, g2, b2) = (i64::from(b.0), i64::from(b.1), i64::from(b.2));
    let rmean = (r1 + r2) / 2;
    let (dr, dg, db) = (r1 - r2, g1 - g2, b1 - b2);
    (((512 + rmean) * dr * dr) >> 8) + 4 * dg * dg + (((767 - rmean) * db * db) >> 8)
}

pub(super) fn to_ansi16(c: Color) -> Color {
    let rgb = match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) if i < 16 => {
            return ANSI16.get(usize::from(i)).map_or(c, |(named, _)| *named)
        }
        Color::Indexed(i) => xterm_rgb(i),
        other => return other,
    };
    ANSI16
        .iter()
        .min_by_key(|(_, p)| distance(rgb, *p))
        .map_or(c, |(named, _)| *named)
}

pub(super) fn to_ansi256(c: Color) -> Color {
    let Color::Rgb(r, g, b) = c else {
        return c;
    };
    // 0-15 are left out: terminals recolour them, so they are not a fixed RGB.
    (16..=255u8)
        .min_by_key(|i| distance((r, g, b), xterm_rgb(*i)))
        .map_or(c, Color::Indexed)
}
