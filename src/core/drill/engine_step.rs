//! The guided run: a drill that holds before each step until the operator steps it (one
//! step, or the manual step that waits confirmed) or lets it run to the end.

use super::{Drill, Effect, Input, Phase};
use crate::core::drill::runbook::StepAction;
use crate::core::time::Ts;

impl Drill {
    /// A guided run: it holds before each step until told [`Input::Step`] (one step) or
    /// [`Input::RunToEnd`]. Stop conditions and measures go on while it holds.
    pub fn stepping(mut self) -> Drill {
        self.stepping = true;
        self
    }

    /// The step (index) the run holds before, waiting for the operator.
    pub fn held(&self) -> Option<usize> {
        match self.phase {
            Phase::Steps(i)
                if self.stepping
                    && !self.waiting
                    && i < self.rb().steps.len()
                    && self.steps.len() <= i =>
            {
                Some(i)
            }
            _ => None,
        }
    }

    /// The manual step (index) that waits for the operator's confirmation.
    pub fn asking(&self) -> Option<usize> {
        match self.phase {
            Phase::Steps(i) if self.waiting && self.is_manual(i) => Some(i),
            _ => None,
        }
    }

    fn is_manual(&self, i: usize) -> bool {
        matches!(
            self.rb().steps.get(i).map(|s| &s.action),
            Some(StepAction::Manual { .. })
        )
    }

    /// [`Input::Step`]: the step it holds before begins, or the waiting manual step is
    /// confirmed; while a step runs, nothing (a step is never queued).
    pub(super) fn step(&mut self, now: Ts) -> Vec<Effect> {
        if self.asking().is_some() {
            return self.on(Input::Confirm, now);
        }
        match self.held() {
            Some(_) => {
                self.released = true;
                self.advance(None, now)
            }
            None => Vec::new(),
        }
    }

    /// [`Input::RunToEnd`]: no more holds; a manual step still waits for its human.
    pub(super) fn run_to_end(&mut self, now: Ts) -> Vec<Effect> {
        self.stepping = false;
        if self.waiting {
            return Vec::new();
        }
        self.advance(None, now)
    }
}
