//! Overrides: a keymap file's TOML text merged over the default bindings
//! ([`Keymap::from_toml`]), with a warning for everything wrong or surprising in it.

use super::defaults::{action_name, rows, NAMES};
use super::{Context, Key, Keymap};
use crate::config::LineCol;
use crate::tui::action::Action;
use crate::tui::theme::closest;
use toml_edit::{Item, TableLike, Value};

impl Keymap {
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
