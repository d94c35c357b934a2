//! Theme files: TOML text → [`Theme`], with every problem in the file reported as a
//! [`ThemeProblem`] (line, column, key, message and fix) inside one [`ThemeError`].

use super::colour::{index_colour, parse_colour, COLOUR_HELP};
use super::{closest, Theme};
use crate::config::LineCol;
use ratatui::style::{Color, Modifier, Style};
use toml_edit::{Item, TableLike, Value};

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
