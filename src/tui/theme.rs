//! Colour themes: the styles every view draws with, parsed from TOML text, picked by name
//! or path, and degraded to what the terminal can show. No file IO here: the caller reads
//! the theme files and hands their text to [`resolve_themes`].
//!
//! The file format is described at the top of `themes/default.toml`.

use crate::config::LineCol;
use crate::core::recovery::RecoveryState;
use ratatui::style::{Color, Modifier, Style};
use toml_edit::{Item, TableLike, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub dim: Style,
    pub accent: Style,
    pub border: Style,
    pub title: Style,
    pub selected: Style,
    pub healthy: Style,
    pub degraded: Style,
    pub suspect: Style,
    pub failed: Style,
    pub fenced: Style,
    pub stale: Style,
    pub running: Style,
    pub interruption: Style,
    pub reconnecting: Style,
    pub failing_over: Style,
    pub escalating: Style,
    pub resolved: Style,
    pub recovery_failed: Style,
    pub danger: Style,
    pub dialog: Style,
}

impl Default for Theme {
    fn default() -> Self {
        let fg = |c: Color| Style::default().fg(c);
        Self {
            name: "default".into(),
            base: fg(Color::Gray),
            dim: fg(Color::DarkGray),
            accent: fg(Color::Cyan),
            border: fg(Color::DarkGray),
            title: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            healthy: fg(Color::Green),
            degraded: fg(Color::Yellow),
            suspect: fg(Color::LightYellow),
            failed: fg(Color::Red).add_modifier(Modifier::BOLD),
            fenced: fg(Color::Magenta),
            stale: fg(Color::DarkGray),
            running: fg(Color::Green),
            interruption: fg(Color::Yellow),
            reconnecting: fg(Color::LightYellow),
            failing_over: fg(Color::LightRed).add_modifier(Modifier::BOLD),
            escalating: fg(Color::Red).add_modifier(Modifier::BOLD),
            resolved: fg(Color::LightGreen),
            recovery_failed: fg(Color::Red),
            danger: fg(Color::Red).add_modifier(Modifier::BOLD),
            dialog: Style::default().fg(Color::White).bg(Color::Black),
        }
    }
}

impl Theme {
    /// The style of a host badge: healthy, degraded, suspect, failed, fenced, unknown.
    pub fn badge(&self, badge: &str) -> Style {
        match badge {
            "healthy" => self.healthy,
            "degraded" => self.degraded,
            "suspect" => self.suspect,
            "failed" => self.failed,
            "fenced" => self.fenced,
            _ => self.dim,
        }
    }

    pub fn recovery(&self, s: RecoveryState) -> Style {
        match s {
            RecoveryState::Running => self.running,
            RecoveryState::InterruptionDetected => self.interruption,
            RecoveryState::Reconnecting => self.reconnecting,
            RecoveryState::FailingOver => self.failing_over,
            RecoveryState::Escalating => self.escalating,
            RecoveryState::Resolved => self.resolved,
            RecoveryState::Failed => self.recovery_failed,
        }
    }
}

/// The themes compiled into the binary, as `(file name, TOML text)`, in cycling order. A
/// file of the same name on disk replaces one.
pub const BUILTIN: [(&str, &str); 4] = [
    ("default.toml", include_str!("../../themes/default.toml")),
    ("light.toml", include_str!("../../themes/light.toml")),
    (
        "high-contrast.toml",
        include_str!("../../themes/high-contrast.toml"),
    ),
    (
        "production.toml",
        include_str!("../../themes/production.toml"),
    ),
];

/// Every key a theme file may set, by section. `fg`/`bg` take a colour; the rest a style.
pub const KEYS: [(&str, &[&str]); 4] = [
    (
        "base",
        &["fg", "bg", "dim", "accent", "border", "title", "selected"],
    ),
    (
        "state",
        &[
            "healthy", "degraded", "suspect", "failed", "fenced", "stale",
        ],
    ),
    (
        "recovery",
        &[
            "running",
            "interruption_detected",
            "reconnecting",
            "failing_over",
            "escalating",
            "resolved",
            "failed",
        ],
    ),
    ("dialog", &["fg", "bg", "danger"]),
];

/// The keys of a style table besides `fg` and `bg`, and the modifier each sets.
const MODIFIERS: [(&str, Modifier); 6] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
];

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

const COLOUR_HELP: &str = "a colour is a name (black, red, green, yellow, blue, magenta, \
cyan, gray, darkgray, lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan, \
white, reset), \"#rrggbb\", or an xterm colour number 0-255";

/// One thing wrong with a theme file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThemeProblem {
    /// Where in the file, when known.
    pub at: Option<LineCol>,
    /// The key, as `[state].healthy` or `[base].title.fg`; empty for file-level problems.
    pub key: String,
    /// What is wrong, quoting the bad value.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// A theme file that cannot be used, with everything wrong in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.lines().join("\n"))]
pub struct ThemeError {
    /// The file name or path, as the caller named it.
    pub file: String,
    pub problems: Vec<ThemeProblem>,
}

impl ThemeError {
    /// One text per problem: `FILE:LINE:COL: KEY: message` and an indented `fix:` line.
    pub fn lines(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| {
                let mut s = self.file.clone();
                if let Some(at) = p.at {
                    s.push_str(&format!(":{at}"));
                }
                s.push_str(": ");
                if !p.key.is_empty() {
                    s.push_str(&format!("{}: ", p.key));
                }
                s.push_str(&p.message);
                if !p.fix.is_empty() {
                    s.push_str(&format!("\n  fix: {}", p.fix));
                }
                s
            })
            .collect()
    }
}

/// A theme's name: its file name without directories and `.toml`.
pub fn theme_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    base.strip_suffix(".toml").unwrap_or(base).to_string()
}

/// Parses one theme file. Keys left out keep [`Theme::default`]'s value; the theme is
/// named after `file` (see [`theme_name`]). Every problem in the file is reported.
pub fn parse_theme(file: &str, text: &str) -> Result<Theme, ThemeError> {
    let mut theme = Theme {
        name: theme_name(file),
        ..Theme::default()
    };
    let fail = |problems| ThemeError {
        file: file.to_string(),
        problems,
    };
    let doc = match toml_edit::ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => return Err(fail(vec![syntax_problem(text, &e)])),
    };
    let mut p = Problems {
        text,
        list: Vec::new(),
    };
    let root = doc.as_table();
    for (section, item) in root.iter() {
        let at = key_span(root, section);
        let Some(keys) = KEYS.iter().find(|(s, _)| *s == section).map(|(_, k)| *k) else {
            let sections: Vec<&str> = KEYS.iter().map(|(s, _)| *s).collect();
            let mut fix = match closest(section, &sections) {
                Some(s) => format!("did you mean [{s}]? "),
                None => String::new(),
            };
            fix.push_str("a theme file has the sections [base], [state], [recovery] and [dialog]");
            if section == "name" {
                fix.push_str("; a theme is named after its file, so drop this line");
            }
            if item.is_table_like() {
                let shown = format!("[{section}]");
                p.push(at, &shown, format!("unknown section {shown}"), fix);
            } else {
                p.push(at, section, format!("unknown key \"{section}\""), fix);
            }
            continue;
        };
        let Some(table) = item.as_table_like() else {
            p.push(
                at,
                section,
                format!("\"{section}\" must be a section, not {}", describe(item)),
                format!("write [{section}] on a line of its own, with keys below it"),
            );
            continue;
        };
        for (key, value) in table.iter() {
            let path = format!("[{section}].{key}");
            let at = key_span(table, key);
            match slot(&mut theme, section, key) {
                None => {
                    let fix = match closest(key, keys) {
                        Some(k) => format!("did you mean \"{k}\"? "),
                        None => String::new(),
                    } + &format!("the keys of [{section}] are {}", keys.join(", "));
                    p.push(at, &path, format!("unknown key \"{key}\""), fix);
                }
                Some(Slot::Whole(style)) => {
                    if let Some(s) = p.style(value, &path) {
                        *style = s;
                    }
                }
                Some(Slot::Fg(style)) => {
                    if let Some(c) = p.colour(value, &path) {
                        style.fg = Some(c);
                    }
                }
                Some(Slot::Bg(style)) => {
                    if let Some(c) = p.colour(value, &path) {
                        style.bg = Some(c);
                    }
                }
            }
        }
    }
    if p.list.is_empty() {
        Ok(theme)
    } else {
        Err(fail(p.list))
    }
}

/// Where a key sits: one style, or the foreground or background of one.
enum Slot<'a> {
    Whole(&'a mut Style),
    Fg(&'a mut Style),
    Bg(&'a mut Style),
}

fn slot<'a>(t: &'a mut Theme, section: &str, key: &str) -> Option<Slot<'a>> {
    use Slot::{Bg, Fg, Whole};
    Some(match (section, key) {
        ("base", "fg") => Fg(&mut t.base),
        ("base", "bg") => Bg(&mut t.base),
        ("base", "dim") => Whole(&mut t.dim),
        ("base", "accent") => Whole(&mut t.accent),
        ("base", "border") => Whole(&mut t.border),
        ("base", "title") => Whole(&mut t.title),
        ("base", "selected") => Whole(&mut t.selected),
        ("state", "healthy") => Whole(&mut t.healthy),
        ("state", "degraded") => Whole(&mut t.degraded),
        ("state", "suspect") => Whole(&mut t.suspect),
        ("state", "failed") => Whole(&mut t.failed),
        ("state", "fenced") => Whole(&mut t.fenced),
        ("state", "stale") => Whole(&mut t.stale),
        ("recovery", "running") => Whole(&mut t.running),
        ("recovery", "interruption_detected") => Whole(&mut t.interruption),
        ("recovery", "reconnecting") => Whole(&mut t.reconnecting),
        ("recovery", "failing_over") => Whole(&mut t.failing_over),
        ("recovery", "escalating") => Whole(&mut t.escalating),
        ("recovery", "resolved") => Whole(&mut t.resolved),
        ("recovery", "failed") => Whole(&mut t.recovery_failed),
        ("dialog", "fg") => Fg(&mut t.dialog),
        ("dialog", "bg") => Bg(&mut t.dialog),
        ("dialog", "danger") => Whole(&mut t.danger),
        _ => return None,
    })
}

/// The problems found so far in one file.
struct Problems<'t> {
    text: &'t str,
    list: Vec<ThemeProblem>,
}

impl Problems<'_> {
    fn push(&mut self, span: Option<usize>, key: &str, message: String, fix: String) {
        self.list.push(ThemeProblem {
            at: span.map(|o| LineCol::of(self.text, o)),
            key: key.to_string(),
            message,
            fix,
        });
    }

    /// A style: a colour (the foreground) or a table of `fg`, `bg` and modifiers.
    fn style(&mut self, item: &Item, path: &str) -> Option<Style> {
        let Some(table) = item.as_table_like() else {
            return self.colour(item, path).map(|c| Style::default().fg(c));
        };
        let mut style = Style::default();
        let mut ok = true;
        for (key, value) in table.iter() {
            let sub = format!("{path}.{key}");
            match key {
                "fg" | "bg" => match self.colour(value, &sub) {
                    Some(c) if key == "fg" => style.fg = Some(c),
                    Some(c) => style.bg = Some(c),
                    None => ok = false,
                },
                _ => match MODIFIERS.iter().find(|(k, _)| *k == key) {
                    Some((_, m)) => match value.as_value().and_then(Value::as_bool) {
                        Some(true) => style = style.add_modifier(*m),
                        Some(false) => {}
                        None => {
                            ok = false;
                            self.push(
                                value.span().map(|s| s.start),
                                &sub,
                                format!("expected true or false, found {}", describe(value)),
                                format!("write {key} = true"),
                            );
                        }
                    },
                    None => {
                        ok = false;
                        let mut keys = vec!["fg", "bg"];
                        keys.extend(MODIFIERS.iter().map(|(k, _)| *k));
                        let fix = match closest(key, &keys) {
                            Some(k) => format!("did you mean \"{k}\"? "),
                            None => String::new(),
                        } + &format!("a style may set {}", keys.join(", "));
                        self.push(
                            key_span(table, key),
                            &sub,
                            format!("unknown key \"{key}\""),
                            fix,
                        );
                    }
                },
            }
        }
        ok.then_some(style)
    }

    /// A colour: a name, `#rrggbb`, or 0-255 (as a number or a string).
    fn colour(&mut self, item: &Item, path: &str) -> Option<Color> {
        let parsed = match item.as_value() {
            Some(Value::String(s)) => parse_colour(s.value()),
            Some(Value::Integer(i)) => index_colour(*i.value(), &i.value().to_string()),
            _ => Err((
                format!("expected a colour, found {}", describe(item)),
                format!("{COLOUR_HELP}; a style table is allowed only where a style is"),
            )),
        };
        match parsed {
            Ok(c) => Some(c),
            Err((message, fix)) => {
                self.push(item.span().map(|s| s.start), path, message, fix);
                None
            }
        }
    }
}

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

fn index_colour(i: i64, shown: &str) -> Result<Color, (String, String)> {
    match u8::try_from(i) {
        Ok(n) => Ok(Color::Indexed(n)),
        Err(_) => Err((
            format!("colour number {shown} is out of range"),
            "colour numbers are 0-255 (the xterm palette)".into(),
        )),
    }
}

fn syntax_problem(text: &str, e: &toml_edit::TomlError) -> ThemeProblem {
    ThemeProblem {
        at: e.span().map(|s| LineCol::of(text, s.start)),
        key: String::new(),
        message: format!(
            "TOML syntax error: {}",
            e.message().trim().replace('\n', ": ")
        ),
        fix: "each line is `key = value` under a [section]; text values need double quotes, \
              e.g. healthy = \"green\" or title = { fg = \"cyan\", bold = true }"
            .into(),
    }
}

fn key_span(table: &dyn TableLike, key: &str) -> Option<usize> {
    table
        .get_key_value(key)
        .and_then(|(k, v)| k.span().or_else(|| v.span()))
        .map(|s| s.start)
}

/// A value as a message quotes it.
fn describe(item: &Item) -> String {
    match item.as_value() {
        Some(Value::String(s)) => format!("\"{}\"", s.value()),
        Some(Value::Integer(i)) => i.value().to_string(),
        Some(Value::Float(f)) => f.value().to_string(),
        Some(Value::Boolean(b)) => b.value().to_string(),
        Some(Value::Array(_)) => "a list".into(),
        Some(Value::InlineTable(_)) => "a table".into(),
        Some(Value::Datetime(d)) => d.value().to_string(),
        None if item.is_table_like() => "a table".into(),
        None => "nothing".into(),
    }
}

pub(crate) use crate::config::suggest::closest;

// ---- Terminals

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
    /// Every style of the theme, for changing them all alike.
    fn styles_mut(&mut self) -> [&mut Style; 21] {
        let Theme {
            name: _,
            base,
            dim,
            accent,
            border,
            title,
            selected,
            healthy,
            degraded,
            suspect,
            failed,
            fenced,
            stale,
            running,
            interruption,
            reconnecting,
            failing_over,
            escalating,
            resolved,
            recovery_failed,
            danger,
            dialog,
        } = self;
        [
            base,
            dim,
            accent,
            border,
            title,
            selected,
            healthy,
            degraded,
            suspect,
            failed,
            fenced,
            stale,
            running,
            interruption,
            reconnecting,
            failing_over,
            escalating,
            resolved,
            recovery_failed,
            danger,
            dialog,
        ]
    }

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
fn xterm_rgb(i: u8) -> (u8, u8, u8) {
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

fn to_ansi16(c: Color) -> Color {
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

fn to_ansi256(c: Color) -> Color {
    let Color::Rgb(r, g, b) = c else {
        return c;
    };
    // 0-15 are left out: terminals recolour them, so they are not a fixed RGB.
    (16..=255u8)
        .min_by_key(|i| distance((r, g, b), xterm_rgb(*i)))
        .map_or(c, Color::Indexed)
}

// ---- Choosing

/// What `--theme` (or the config's `theme` key) names: a theme by name, or a file by path.
/// A value with a `/` or `\`, or ending in `.toml`, is a path.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ThemeChoice<'a> {
    Name(&'a str),
    Path(&'a str),
}

impl<'a> ThemeChoice<'a> {
    pub fn parse(arg: &'a str) -> Self {
        if arg.contains(['/', '\\']) || arg.ends_with(".toml") {
            ThemeChoice::Path(arg)
        } else {
            ThemeChoice::Name(arg)
        }
    }
}

/// The themes the console cycles through (`t`, `:theme`), the one to start with, and what
/// went wrong loading them. Never empty: the default theme is always the first.
#[derive(Clone, Debug, PartialEq)]
pub struct ThemeSet {
    default: Theme,
    others: Vec<Theme>,
    /// The index of the theme to start with (for `UiState::theme_index`).
    pub current: usize,
    /// Problems to show the operator, one text each (`FILE:LINE:COL: KEY: message`, `fix:`).
    pub warnings: Vec<String>,
}

impl ThemeSet {
    pub fn len(&self) -> usize {
        1 + self.others.len()
    }

    /// Always false: there is always the default theme.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The theme at `index`, counted round (so any index is valid).
    pub fn get(&self, index: usize) -> &Theme {
        match index % self.len() {
            0 => &self.default,
            i => self.others.get(i - 1).unwrap_or(&self.default),
        }
    }

    /// The theme to start with.
    pub fn current(&self) -> &Theme {
        self.get(self.current)
    }

    /// The index after `index`, wrapping round (for `Action::NextTheme`).
    pub fn next(&self, index: usize) -> usize {
        (index % self.len() + 1) % self.len()
    }

    /// The names, in cycling order (for `:theme` completion).
    pub fn names(&self) -> Vec<&str> {
        (0..self.len()).map(|i| self.get(i).name.as_str()).collect()
    }

    /// The index of the theme called `name` (case ignored).
    pub fn find(&self, name: &str) -> Option<usize> {
        (0..self.len()).find(|i| self.get(*i).name.eq_ignore_ascii_case(name))
    }

    /// All the themes in cycling order, starting with the current one (for a caller that
    /// keeps a plain list whose first theme is the one to start with).
    pub fn into_vec(self) -> Vec<Theme> {
        let mut all = vec![self.default];
        all.extend(self.others);
        let start = self.current % all.len();
        all.rotate_left(start);
        all
    }

    fn insert(&mut self, theme: Theme) -> usize {
        if theme.name.eq_ignore_ascii_case(&self.default.name) {
            self.default = theme;
            return 0;
        }
        match self.find(&theme.name) {
            Some(i) => {
                if let Some(slot) = self.others.get_mut(i - 1) {
                    *slot = theme;
                }
                i
            }
            None => {
                self.others.push(theme);
                self.others.len()
            }
        }
    }
}

/// Loads every theme and picks the one to use. Never fails: what goes wrong becomes a
/// warning and the default theme (or the built-in of that name) is used instead.
///
/// - `choice`: the `--theme` value, else the config's `theme` key, else `None`; see
///   [`ThemeChoice`]. An empty string counts as `None`.
/// - `files`: `(file name or path, contents)` of every `*.toml` in the themes directory,
///   plus, when `choice` is a path, that file under exactly the `choice` string. A file
///   named like a built-in (`default.toml`, `light.toml`, `high-contrast.toml`,
///   `production.toml`) replaces it; other files add themes.
/// - `support`: from [`ColorSupport::detect`]; every theme is [`Theme::degrade`]d to it.
pub fn resolve_themes(
    choice: Option<&str>,
    files: &[(String, String)],
    support: ColorSupport,
) -> ThemeSet {
    let mut set = ThemeSet {
        default: Theme::default(),
        others: Vec::new(),
        current: 0,
        warnings: Vec::new(),
    };
    for (file, text) in BUILTIN {
        match parse_theme(file, text) {
            Ok(t) => set.insert(t),
            Err(e) => {
                set.warnings.extend(e.lines());
                set.insert(Theme {
                    name: theme_name(file),
                    ..Theme::default()
                })
            }
        };
    }
    let choice = choice
        .filter(|c| !c.trim().is_empty())
        .map(ThemeChoice::parse);
    let mut bad: Vec<String> = Vec::new();
    let mut extra: Vec<Theme> = Vec::new();
    for (file, text) in files {
        if choice == Some(ThemeChoice::Path(file.as_str())) {
            continue;
        }
        match parse_theme(file, text) {
            Ok(t) => extra.push(t),
            Err(e) => {
                let name = theme_name(file);
                set.warnings.extend(e.lines());
                let chosen = matches!(choice, Some(ThemeChoice::Name(n)) if n.trim().eq_ignore_ascii_case(&name));
                let instead = if set.find(&name).is_some() {
                    format!("the built-in \"{name}\" theme is used instead")
                } else if chosen {
                    format!("using the \"{}\" theme instead", set.default.name)
                } else {
                    "it is left out of the theme list".to_string()
                };
                set.warnings
                    .push(format!("{file}: theme \"{name}\" not loaded; {instead}"));
                bad.push(name);
            }
        }
    }
    // Built-ins first in their own order, then the others by name.
    extra.sort_by(|a, b| a.name.cmp(&b.name));
    for t in extra {
        set.insert(t);
    }
    let fallback = |name: &str| format!("using the \"{name}\" theme instead");
    set.current = match choice {
        None => 0,
        Some(ThemeChoice::Path(path)) => match files.iter().find(|(f, _)| f == path) {
            Some((_, text)) => match parse_theme(path, text) {
                Ok(t) => set.insert(t),
                Err(e) => {
                    set.warnings.extend(e.lines());
                    set.warnings.push(format!(
                        "{path}: theme not loaded; {}",
                        fallback(&set.default.name)
                    ));
                    0
                }
            },
            None => {
                set.warnings.push(format!(
                    "{path}: theme file could not be read; {}",
                    fallback(&set.default.name)
                ));
                0
            }
        },
        Some(ThemeChoice::Name(name)) => match set.find(name.trim()) {
            Some(i) => i,
            // Already reported with the file's problems.
            None if bad.iter().any(|b| b.eq_ignore_ascii_case(name.trim())) => 0,
            None => {
                let names = set.names();
                let hint = match closest(name, &names) {
                    Some(n) => format!("did you mean \"{n}\"? "),
                    None => String::new(),
                };
                let msg = format!(
                    "unknown theme \"{name}\"; {}\n  fix: {hint}the themes are {}; \
                     or give a path to a .toml file",
                    fallback(&set.default.name),
                    names.join(", ")
                );
                set.warnings.push(msg);
                0
            }
        },
    };
    set.default = set.default.clone().degrade(support);
    set.others = std::mem::take(&mut set.others)
        .into_iter()
        .map(|t| t.degrade(support))
        .collect();
    set
}

#[cfg(test)]
#[path = "theme_tests.rs"]
mod tests;
