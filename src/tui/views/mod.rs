//! Drawing: pure functions of `(&Snapshot, &UiState, &Theme)` onto a ratatui `Frame`.

use super::state::UiState;
use super::theme::Theme;
use crate::core::snapshot::Snapshot;
use ratatui::Frame;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let _ = (frame, snap, ui, theme);
}

#[cfg(test)]
mod scratch_test;
