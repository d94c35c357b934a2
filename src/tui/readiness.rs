//! The failover readiness panel (`w` on a job, `:readiness JOB`): which job, its
//! `Readiness` as the pure core judges it from the latest snapshot (recomputed on every
//! new one), and how far it is scrolled. It only shows: nothing here asks the runtime for
//! anything, so it is open to a read-only console too.

use super::action::{Action, Request};
use super::state::{Level, Overlay, UiState};
use super::update::{say, Ctx};
use crate::core::ids::JobId;
use crate::core::readiness::Readiness;
use crate::core::readiness_snapshot::from_snapshot;
use crate::core::snapshot::{JobView, Snapshot};

#[derive(Clone, Debug, PartialEq)]
pub struct ReadinessPanel {
    pub job: JobId,
    /// `None` once the job has left the snapshot.
    pub readiness: Option<Readiness>,
    /// Lines scrolled off the top.
    pub scroll: u16,
}

impl ReadinessPanel {
    pub fn new(snap: &Snapshot, job: JobId) -> Self {
        let mut p = Self {
            job,
            readiness: None,
            scroll: 0,
        };
        p.observe(snap);
        p
    }

    /// A new snapshot: judge again from what is true now.
    pub fn observe(&mut self, snap: &Snapshot) {
        // What the live runtime gives its core: no provider provisions yet.
        self.readiness = from_snapshot(snap, &self.job, snap.caps);
    }

    /// How many lines the panel's body has (a strategy row, then one per check).
    pub fn lines(&self) -> u16 {
        self.readiness.as_ref().map_or(1, |r| {
            r.strategies
                .iter()
                .map(|s| 1 + s.checks.len())
                .sum::<usize>()
                .try_into()
                .unwrap_or(u16::MAX)
        })
    }
}

/// Opens the panel for `job`, or says to pick one.
pub(super) fn open(ui: &mut UiState, cx: &Ctx, job: Option<&JobView>) -> Option<Request> {
    match job {
        Some(j) => {
            let p = ReadinessPanel::new(cx.snap, j.id.clone());
            ui.overlay = Overlay::Readiness(Box::new(p));
        }
        None => say(ui, cx.snap, Level::Warn, "readiness: select a job first"),
    }
    None
}

/// Keys while the panel is open: scroll, or close.
pub(super) fn key(ui: &mut UiState, mut p: Box<ReadinessPanel>, action: Action) -> Option<Request> {
    let last = p.lines().saturating_sub(1);
    let by = |d: i32, at: u16| (i32::from(at) + d).clamp(0, i32::from(last)) as u16;
    match action {
        Action::Back | Action::Quit | Action::Help | Action::Select | Action::Readiness => {
            return None
        }
        Action::Up | Action::ScrollUp => p.scroll = by(-1, p.scroll),
        Action::Down | Action::ScrollDown => p.scroll = by(1, p.scroll),
        Action::PageUp => p.scroll = by(-10, p.scroll),
        Action::PageDown => p.scroll = by(10, p.scroll),
        Action::Top => p.scroll = 0,
        Action::Bottom => p.scroll = last,
        _ => {}
    }
    ui.overlay = Overlay::Readiness(p);
    None
}
