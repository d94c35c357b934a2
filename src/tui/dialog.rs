//! Confirmation dialogs: what will happen, Cancel focused first, typed names for
//! irreversible actions, and a second look when the job changes underneath.

/// A confirmation dialog in progress.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dialog {
    pub title: String,
}
