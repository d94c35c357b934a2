//! Colour themes: the styles every view draws with. Parsing only (from TOML text); the
//! files are read outside the console.

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
