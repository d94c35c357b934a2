//! The console: draws snapshots and asks for commands. No SSH, S3, file or process IO
//! here, ever — `run` owns the terminal, everything else is pure.
//!
//! Flow: a key or mouse event → [`keymap`] → [`action::Action`] → [`update::update`]
//! changes only [`state::UiState`] and may return a [`action::Request`] for the runtime.
//! Views are pure functions of `(&Snapshot, &UiState, &Theme)`.

pub mod action;
pub mod dialog;
mod dialog_drill;
mod dialog_fit;
pub mod dialog_prune;
mod dialog_text;
pub mod drills;
mod fold;
pub mod keymap;
pub mod overlay;
pub mod palette;
pub mod readiness;
pub mod run;
pub mod select;
pub mod state;
pub mod strings;
pub mod theme;
pub mod update;
pub mod update_drills;
mod update_palette;
pub mod views;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
pub(crate) mod fixture_inventory;

#[cfg(test)]
mod attention_tests;
#[cfg(test)]
mod dialog_fit_tests;
#[cfg(test)]
mod drill_run_tests;
#[cfg(test)]
pub(crate) mod drills_fixture;
#[cfg(test)]
mod drills_tests;
#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod prune_tests;
#[cfg(test)]
mod readiness_tests;
#[cfg(test)]
mod update_tests;
