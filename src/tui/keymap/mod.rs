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
//!
//! This file holds the contexts and the [`Keymap`] lookups; `key` reads and prints keys,
//! `defaults` holds the built-in bindings, and `overrides` merges a keymap file over them.

mod defaults;
mod key;
mod overrides;

pub use defaults::action_name;
pub use key::Key;

use super::action::{Action, View};
use super::dialog::Focus;
use super::state::{Overlay, UiState};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

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
    /// The drills view's own keys, looked up before [`Context::Normal`]'s there.
    Drills,
}

impl Context {
    pub const ALL: [Context; 5] = [
        Context::Normal,
        Context::Text,
        Context::Dialog,
        Context::Help,
        Context::Drills,
    ];

    /// Its section in a keymap file.
    pub fn name(self) -> &'static str {
        match self {
            Context::Normal => "normal",
            Context::Text => "text",
            Context::Dialog => "dialog",
            Context::Help => "help",
            Context::Drills => "drills",
        }
    }

    /// The context for the console's state: the help overlay, typing (palette, filter, a
    /// dialog's name field), a dialog's buttons and list, or the tables.
    pub fn of(ui: &UiState) -> Context {
        match &ui.overlay {
            // The readiness panel only scrolls and closes, like the help sheet.
            Overlay::Help | Overlay::Readiness(_) => Context::Help,
            Overlay::Palette(_) => Context::Text,
            // On Cancel too, when a name must be typed: typing it at once goes to the field.
            Overlay::Dialog(d)
                if d.focus == Focus::Typing
                    || (d.focus == Focus::Cancel && d.require.is_some()) =>
            {
                Context::Text
            }
            Overlay::Dialog(_) => Context::Dialog,
            Overlay::None if ui.filter.editing => Context::Text,
            Overlay::None => Context::Normal,
        }
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
    tables: [Vec<Binding>; 5],
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
    /// [`Context::Text`] a printable character nobody bound is [`Action::Char`]. In the
    /// drills view its own table ([`Context::Drills`]) goes before the normal one.
    pub fn action(&self, ctx: Context, view: View, ev: KeyEvent) -> Option<Action> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let key = Key::from_event(&ev);
        if ctx == Context::Normal && view == View::Drills {
            if let Some(b) = self
                .table(Context::Drills)
                .iter()
                .find(|b| b.keys.contains(&key))
            {
                return Some(b.action.clone());
            }
        }
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
        let mut lines = Vec::new();
        if ctx == Context::Text {
            lines.push(("any character".to_string(), "type it".to_string()));
        }
        let drills = if ctx == Context::Normal && view == View::Drills {
            self.table(Context::Drills)
        } else {
            &[]
        };
        for b in drills
            .iter()
            .chain(self.table(ctx))
            .filter(|b| !b.keys.is_empty())
        {
            let keys: Vec<String> = b.keys.iter().map(Key::to_string).collect();
            lines.push((keys.join(", "), b.what.to_string()));
        }
        lines
    }
}

#[cfg(test)]
mod tests;
