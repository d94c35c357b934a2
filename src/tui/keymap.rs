//! Keys → actions: the default bindings of each context, overrides from TOML text merged
//! over them, and the lines the `?` help overlay shows. Mouse events are the caller's.
//!
//! Overrides (the caller reads the file and passes its text to [`Keymap::from_toml`]):
//!
//! ```toml
//! [normal]
//! failover = "F"              # one key, or a list: ["F", "ctrl-f"]; [] unbinds
//! quit = ["q", "ctrl-c"]
//! [dialog]
//! back = ["esc", "n"]
//! ```
//!
//! An action named in a section loses all its default keys in that context and gets the
//! ones given. Conflicts (one key, two actions, one context): the later binding wins, and
//! defaults count as earliest — so a key you bind is taken from the action whose default it
//! was, and of two overrides on one key the one further down the file wins. Each conflict
//! is reported, and so is an action left with no key by one.

use super::action::{Action, View};
use super::dialog::Focus;
use super::state::{Overlay, UiState};
use super::theme::closest;
use crate::config::LineCol;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::fmt;
use toml_edit::{Item, TableLike, Value};

/// Which set of bindings applies.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// The tables of the five views.
    Normal,
    /// Typing: the `:` palette, the `/` filter, a dialog's typed-name field.
    Text,
    /// A confirmation dialog's buttons.
    Dialog,
    /// The `?` overlay.
    Help,
}

impl Context {
    pub const ALL: [Context; 4] = [
        Context::Normal,
        Context::Text,
        Context::Dialog,
        Context::Help,
    ];

    /// Its section in a keymap file.
    pub fn name(self) -> &'static str {
        match self {
            Context::Normal => "normal",
            Context::Text => "text",
            Context::Dialog => "dialog",
            Context::Help => "help",
        }
    }

    /// The context for the console's state: the help overlay, typing (palette, filter, a
    /// dialog's name field), a dialog's buttons and list, or the tables.
    pub fn of(ui: &UiState) -> Context {
        match &ui.overlay {
            Overlay::Help => Context::Help,
            Overlay::Palette(_) => Context::Text,
            Overlay::Dialog(d) if d.focus == Focus::Typing => Context::Text,
            Overlay::Dialog(_) => Context::Dialog,
            Overlay::None if ui.filter.editing => Context::Text,
            Overlay::None => Context::Normal,
        }
    }
}

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

/// Every action a key can be bound to, by the name a keymap file uses.
const NAMES: [(&str, Action); 32] = [
    ("quit", Action::Quit),
    ("next_view", Action::NextView),
    ("prev_view", Action::PrevView),
    ("view_fleet", Action::GoView(View::Fleet)),
    ("view_jobs", Action::GoView(View::Jobs)),
    ("view_checkpoints", Action::GoView(View::Checkpoints)),
    ("view_tasks", Action::GoView(View::Tasks)),
    ("view_events", Action::GoView(View::Events)),
    ("up", Action::Up),
    ("down", Action::Down),
    ("page_up", Action::PageUp),
    ("page_down", Action::PageDown),
    ("top", Action::Top),
    ("bottom", Action::Bottom),
    ("select", Action::Select),
    ("back", Action::Back),
    ("help", Action::Help),
    ("palette", Action::Palette),
    ("filter", Action::Filter),
    ("focus_next", Action::FocusNext),
    ("focus_prev", Action::FocusPrev),
    ("failover", Action::Failover),
    ("switchover", Action::Switchover),
    ("pause_job", Action::PauseJob),
    ("resume_job", Action::ResumeJob),
    ("pause_all", Action::PauseAll),
    ("resume_all", Action::ResumeAll),
    ("cancel", Action::Cancel),
    ("inject_fault", Action::InjectFault),
    ("next_theme", Action::NextTheme),
    ("backspace", Action::Backspace),
    ("complete", Action::Complete),
];

/// The name a keymap file uses for `action`, if it can be bound.
pub fn action_name(action: &Action) -> Option<&'static str> {
    NAMES.iter().find(|(_, a)| a == action).map(|(n, _)| *n)
}

/// One row of a default table: the action, its default keys, and what it does there.
type Row = (Action, &'static [&'static str], &'static str);

const NORMAL: [Row; 28] = [
    (Action::Help, &["?"], "help: every key"),
    (Action::Palette, &[":"], "command palette"),
    (Action::Filter, &["/"], "filter the rows"),
    (Action::NextView, &["tab"], "next view"),
    (Action::PrevView, &["shift-tab"], "previous view"),
    (Action::GoView(View::Fleet), &["1"], "fleet view"),
    (Action::GoView(View::Jobs), &["2"], "jobs view"),
    (
        Action::GoView(View::Checkpoints),
        &["3"],
        "checkpoints view",
    ),
    (Action::GoView(View::Tasks), &["4"], "tasks view"),
    (Action::GoView(View::Events), &["5"], "events view"),
    (Action::Down, &["j", "down"], "next row"),
    (Action::Up, &["k", "up"], "previous row"),
    (Action::PageDown, &["pgdn", "ctrl-d"], "page down"),
    (Action::PageUp, &["pgup", "ctrl-u"], "page up"),
    (Action::Top, &["g", "home"], "first row"),
    (Action::Bottom, &["G", "end"], "last row"),
    (Action::Select, &["enter"], "open the selected row"),
    (Action::Back, &["esc"], "close the detail, clear the filter"),
    (Action::Failover, &["f"], "fail the selected job over…"),
    (Action::Switchover, &["s"], "planned switchover of the job…"),
    (Action::PauseJob, &["p"], "pause automation for the job…"),
    (Action::ResumeJob, &["r"], "resume automation for the job…"),
    (Action::PauseAll, &["P"], "pause automation for every job…"),
    (
        Action::ResumeAll,
        &["R"],
        "resume automation for every job…",
    ),
    (Action::Cancel, &["c"], "cancel the job's recovery or task…"),
    (Action::InjectFault, &["x"], "inject a fault (demo fleet)…"),
    (Action::NextTheme, &["t"], "next colour theme"),
    (Action::Quit, &["q", "ctrl-c"], "quit"),
];

const TEXT: [Row; 5] = [
    (Action::Select, &["enter"], "run / accept"),
    (
        Action::Complete,
        &["tab"],
        "complete the word; in a dialog, next field",
    ),
    (
        Action::FocusPrev,
        &["shift-tab"],
        "in a dialog, previous field",
    ),
    (
        Action::Backspace,
        &["backspace"],
        "delete the last character",
    ),
    (Action::Back, &["esc", "ctrl-c"], "cancel"),
];

const DIALOG: [Row; 6] = [
    (
        Action::FocusNext,
        &["tab", "right", "l"],
        "next field or button",
    ),
    (
        Action::FocusPrev,
        &["shift-tab", "left", "h"],
        "previous field or button",
    ),
    (Action::Down, &["j", "down"], "next target in the list"),
    (Action::Up, &["k", "up"], "previous target in the list"),
    (Action::Select, &["enter"], "press the focused button"),
    (Action::Back, &["esc", "q", "ctrl-c"], "cancel and close"),
];

const HELP: [Row; 7] = [
    (Action::Down, &["j", "down"], "scroll down"),
    (Action::Up, &["k", "up"], "scroll up"),
    (Action::PageDown, &["pgdn", "ctrl-d"], "page down"),
    (Action::PageUp, &["pgup", "ctrl-u"], "page up"),
    (Action::Top, &["g", "home"], "top"),
    (Action::Bottom, &["G", "end"], "bottom"),
    (Action::Back, &["esc", "q", "?", "ctrl-c"], "close the help"),
];

/// The default table of `ctx`.
fn rows(ctx: Context) -> &'static [Row] {
    match ctx {
        Context::Normal => &NORMAL,
        Context::Text => &TEXT,
        Context::Dialog => &DIALOG,
        Context::Help => &HELP,
    }
}

/// One action's keys in one context.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Binding {
    action: Action,
    keys: Vec<Key>,
    what: &'static str,
}

/// The bindings of every context. [`Keymap::default`] has the built-in keys;
/// [`Keymap::from_toml`] merges a user's overrides over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    /// In [`Context::ALL`] order; each in its default table's order (the help's order).
    tables: [Vec<Binding>; 4],
}

impl Default for Keymap {
    fn default() -> Self {
        let table = |ctx: Context| {
            rows(ctx)
                .iter()
                .map(|(action, keys, what)| Binding {
                    action: action.clone(),
                    keys: keys.iter().filter_map(|k| Key::parse(k).ok()).collect(),
                    what,
                })
                .collect()
        };
        Keymap {
            tables: Context::ALL.map(table),
        }
    }
}

impl Keymap {
    fn table(&self, ctx: Context) -> &[Binding] {
        let i = Context::ALL.iter().position(|c| *c == ctx).unwrap_or(0);
        self.tables.get(i).map_or(&[], Vec::as_slice)
    }

    fn table_mut(&mut self, ctx: Context) -> Option<&mut Vec<Binding>> {
        let i = Context::ALL.iter().position(|c| *c == ctx)?;
        self.tables.get_mut(i)
    }

    /// What a key press means in `ctx`, if anything. Key releases mean nothing; in
    /// [`Context::Text`] a printable character nobody bound is [`Action::Char`]. `view` is
    /// for per-view bindings (there are none yet).
    pub fn action(&self, ctx: Context, view: View, ev: KeyEvent) -> Option<Action> {
        let _ = view;
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let key = Key::from_event(&ev);
        if let Some(b) = self.table(ctx).iter().find(|b| b.keys.contains(&key)) {
            return Some(b.action.clone());
        }
        let alt_gr = key.mods == KeyModifiers::CONTROL | KeyModifiers::ALT;
        match key.code {
            KeyCode::Char(c) if ctx == Context::Text && !c.is_control() => {
                (key.is_printable() || alt_gr).then_some(Action::Char(c))
            }
            _ => None,
        }
    }

    /// The keys bound to `action` in `ctx` (for the footer's hints).
    pub fn keys(&self, ctx: Context, action: &Action) -> &[Key] {
        self.table(ctx)
            .iter()
            .find(|b| b.action == *action)
            .map_or(&[], |b| b.keys.as_slice())
    }

    /// Every binding of `ctx` as `(keys, what it does)`, e.g. `("q, ctrl-c", "quit")`, in a
    /// fixed order, for the `?` overlay. Reflects overrides; unbound actions are left out.
    pub fn help_lines(&self, ctx: Context, view: View) -> Vec<(String, String)> {
        let _ = view;
        let mut lines = Vec::new();
        if ctx == Context::Text {
            lines.push(("any character".to_string(), "type it".to_string()));
        }
        for b in self.table(ctx).iter().filter(|b| !b.keys.is_empty()) {
            let keys: Vec<String> = b.keys.iter().map(Key::to_string).collect();
            lines.push((keys.join(", "), b.what.to_string()));
        }
        lines
    }

    /// The default keymap with the overrides in `text` (a keymap file's contents; `file`
    /// names it in messages) merged over it, and a warning for everything wrong or
    /// surprising in it: bad TOML (then the defaults are used), unknown sections and
    /// actions (with a did-you-mean), keys that do not parse, conflicts, actions a conflict
    /// left with no key, and Normal actions bound only to F-keys. Never fails.
    pub fn from_toml(file: &str, text: &str) -> (Keymap, Vec<String>) {
        let mut map = Keymap::default();
        let mut w = Warnings {
            file,
            text,
            list: Vec::new(),
        };
        let doc = match toml_edit::ImDocument::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let at = e.span().map(|s| s.start);
                let msg = e.message().trim().replace('\n', ": ");
                w.push(
                    at,
                    "",
                    format!("TOML syntax error: {msg}; using the default keys"),
                    "each line is `action = \"key\"` or `action = [\"key\", …]` under \
                     [normal], [text], [dialog] or [help]",
                );
                return (map, w.list);
            }
        };
        let root = doc.as_table();
        for (section, item) in root.iter() {
            let at = span_of(root, section);
            let Some(ctx) = Context::ALL.into_iter().find(|c| c.name() == section) else {
                let names = Context::ALL.map(Context::name);
                let fix = hint(
                    section,
                    &names,
                    "the sections are [normal], [text], [dialog] and [help]",
                );
                w.push(at, section, format!("unknown section \"{section}\""), &fix);
                continue;
            };
            let Some(table) = item.as_table_like() else {
                w.push(
                    at,
                    section,
                    format!("\"{section}\" must be a section"),
                    &format!("write [{section}] on a line of its own, with bindings below it"),
                );
                continue;
            };
            map.merge(ctx, table, &mut w);
        }
        (map, w.list)
    }

    /// Merges one section's overrides into `ctx`'s table (see the module doc for the rules).
    fn merge(&mut self, ctx: Context, section: &dyn TableLike, w: &mut Warnings) {
        let sec = ctx.name();
        // First read everything, so that swapping two actions' keys is no conflict.
        let mut wanted: Vec<(Action, Vec<Key>, String, Option<usize>)> = Vec::new();
        for (name, value) in section.iter() {
            let at = span_of(section, name);
            let path = format!("[{sec}].{name}");
            let norm = name.to_ascii_lowercase().replace('-', "_");
            let here: Vec<&str> = rows(ctx).iter().filter_map(|r| action_name(&r.0)).collect();
            let Some(action) = NAMES
                .iter()
                .find(|(n, _)| *n == norm)
                .map(|(_, a)| a.clone())
            else {
                let fix = hint(
                    &norm,
                    &here,
                    &format!("the actions of [{sec}] are {}", here.join(", ")),
                );
                w.push(at, &path, format!("unknown action \"{name}\""), &fix);
                continue;
            };
            if !rows(ctx).iter().any(|r| r.0 == action) {
                w.push(
                    at,
                    &path,
                    format!("\"{name}\" is not an action in [{sec}]"),
                    &format!("the actions of [{sec}] are {}", here.join(", ")),
                );
                continue;
            }
            match parse_keys(ctx, value, &path, w) {
                Some(keys) => wanted.push((action, keys, name.to_string(), at)),
                None => {
                    let defaults = self.keys(ctx, &action);
                    let shown: Vec<String> = defaults.iter().map(Key::to_string).collect();
                    w.push(
                        at,
                        &path,
                        format!(
                            "no usable key given; {name} keeps its default keys ({})",
                            shown.join(", ")
                        ),
                        "",
                    );
                }
            }
        }
        let Some(table) = self.table_mut(ctx) else {
            return;
        };
        for (action, _, _, _) in &wanted {
            if let Some(b) = table.iter_mut().find(|b| b.action == *action) {
                b.keys.clear();
            }
        }
        // Who set each key so far: `None` a default, `Some(line)` an override.
        let mut set_by: Vec<(Key, Option<usize>)> = Vec::new();
        let mut lost: Vec<Action> = Vec::new();
        for (action, keys, name, at) in wanted {
            let line = at.map(|o| LineCol::of(w.text, o).line);
            for key in keys {
                let holder = table
                    .iter_mut()
                    .find(|b| b.keys.contains(&key) && b.action != action);
                if let Some(other) = holder {
                    other.keys.retain(|k| *k != key);
                    lost.push(other.action.clone());
                    let other_name = action_name(&other.action).unwrap_or("?");
                    let origin = match set_by.iter().find(|(k, _)| *k == key) {
                        Some((_, Some(l))) => format!("line {l}"),
                        _ => "its default".to_string(),
                    };
                    w.push(
                        at,
                        &format!("[{sec}].{name}"),
                        format!(
                            "\"{key}\" is bound to both {name} and {other_name} ({origin}); \
                             \"{key}\" now does {name}"
                        ),
                        &format!("bind {other_name} or {name} to another key in [{sec}]"),
                    );
                }
                if let Some(b) = table.iter_mut().find(|b| b.action == action) {
                    if !b.keys.contains(&key) {
                        b.keys.push(key);
                    }
                }
                set_by.retain(|(k, _)| *k != key);
                set_by.push((key, line));
            }
        }
        for b in table
            .iter()
            .filter(|b| b.keys.is_empty() && lost.contains(&b.action))
        {
            let name = action_name(&b.action).unwrap_or("?");
            w.push(
                None,
                &format!("[{sec}].{name}"),
                format!("{name} has no key left after the conflicts above"),
                &format!("give it one, e.g. {name} = \"…\" in [{sec}]"),
            );
        }
        if ctx == Context::Normal {
            for b in table
                .iter()
                .filter(|b| !b.keys.is_empty() && b.keys.iter().all(Key::is_fkey))
            {
                let name = action_name(&b.action).unwrap_or("?");
                w.push(
                    None,
                    &format!("[{sec}].{name}"),
                    format!("{name} is bound only to F-keys, which some terminals never send"),
                    &format!("add a letter or ctrl- key, e.g. {name} = [\"f5\", \"ctrl-f\"]"),
                );
            }
        }
    }
}

/// The keys of one override: a string or a list of strings. Bad keys are reported and
/// left out; `None` when keys were given but none is usable (the defaults then stay).
fn parse_keys(ctx: Context, value: &Item, path: &str, w: &mut Warnings) -> Option<Vec<Key>> {
    let at = value.span().map(|s| s.start);
    let texts: Vec<(&str, Option<usize>)> = match value.as_value() {
        Some(Value::String(s)) => vec![(s.value().as_str(), at)],
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for v in a.iter() {
                match v.as_str() {
                    Some(s) => out.push((s, v.span().map(|s| s.start))),
                    None => w.push(
                        v.span().map(|s| s.start),
                        path,
                        format!("{v} is not a key"),
                        "write each key in double quotes, e.g. [\"f\", \"ctrl-f\"]",
                    ),
                }
            }
            out
        }
        _ => {
            w.push(
                at,
                path,
                "expected a key or a list of keys".to_string(),
                "e.g. failover = \"F\" or failover = [\"F\", \"ctrl-f\"]",
            );
            return None;
        }
    };
    let given = value.as_array().map_or(texts.len(), |a| a.len());
    let mut keys = Vec::new();
    for (text, at) in texts {
        match Key::parse(text) {
            Ok(k) if ctx == Context::Text && k.is_printable() => w.push(
                at,
                path,
                format!("\"{text}\" is typed into text fields and cannot be bound there"),
                "use a ctrl- or alt- key, or a named key such as tab",
            ),
            Ok(k) => keys.push(k),
            Err((message, fix)) => w.push(at, path, message, &fix),
        }
    }
    (!keys.is_empty() || given == 0).then_some(keys)
}

/// Warnings about one keymap file, as `FILE:LINE:COL: KEY: message` and a `fix:` line.
struct Warnings<'a> {
    file: &'a str,
    text: &'a str,
    list: Vec<String>,
}

impl Warnings<'_> {
    fn push(&mut self, at: Option<usize>, key: &str, message: String, fix: &str) {
        let mut s = self.file.to_string();
        if let Some(o) = at {
            s.push_str(&format!(":{}", LineCol::of(self.text, o)));
        }
        s.push_str(": ");
        if !key.is_empty() {
            s.push_str(&format!("{key}: "));
        }
        s.push_str(&message);
        if !fix.is_empty() {
            s.push_str(&format!("\n  fix: {fix}"));
        }
        self.list.push(s);
    }
}

fn span_of(table: &dyn TableLike, key: &str) -> Option<usize> {
    table
        .get_key_value(key)
        .and_then(|(k, v)| k.span().or_else(|| v.span()))
        .map(|s| s.start)
}

/// `did you mean "x"? ` before `rest` when a close candidate exists.
fn hint(word: &str, candidates: &[&str], rest: &str) -> String {
    match closest(word, candidates) {
        Some(c) => format!("did you mean \"{c}\"? {rest}"),
        None => rest.to_string(),
    }
}

#[cfg(test)]
#[path = "keymap_tests.rs"]
mod tests;
