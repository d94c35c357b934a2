//! Colour themes: the styles every view draws with, parsed from TOML text, picked by name
//! or path, and degraded to what the terminal can show. No file IO here: the caller reads
//! the theme files and hands their text to [`resolve_themes`].
//!
//! The file format is described at the top of `themes/default.toml`. This file holds the
//! [`Theme`] itself; `parse` reads a theme file, `colour` reads colours and degrades a theme
//! to the terminal, and `choose` picks the themes to cycle through.

mod choose;
mod colour;
mod parse;

pub use choose::{resolve_themes, ThemeChoice, ThemeSet, BUILTIN};
pub use colour::{parse_colour, ColorSupport};
pub use parse::{parse_theme, theme_name, ThemeError, ThemeProblem, KEYS};

pub(crate) use crate::config::suggest::closest;

use crate::core::recovery::RecoveryState;
use ratatui::style::{Color, Modifier, Style};

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
}

#[cfg(test)]
mod tests;
