//! Choosing themes: the built-in themes, `--theme` by name or path, and the
//! [`ThemeSet`] the console cycles through, from [`resolve_themes`].

use super::colour::ColorSupport;
use super::parse::{parse_theme, theme_name};
use super::{closest, Theme};

/// The themes compiled into the binary, as `(file name, TOML text)`, in cycling order. A
/// file of the same name on disk replaces one.
pub const BUILTIN: [(&str, &str); 4] = [
    ("default.toml", include_str!("../../../themes/default.toml")),
    ("light.toml", include_str!("../../../themes/light.toml")),
    (
        "high-contrast.toml",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    (
        "production.toml",
        include_str!("../../../themes/production.toml"),
    ),
];

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
