//! A move dialog keeps its facts live: each target's fitness and the checkpoint it would
//! restore follow every snapshot, and an unfit target (busy, failed, suspect) is refused
//! before the operator types the job's name, not after. Also where the focus and typed
//! characters go.

use super::dialog::{Dialog, Focus, Intent};
use super::dialog_text::fitness;
use super::strings as s;
use crate::core::snapshot::Snapshot;

impl Dialog {
    /// Re-reads each target's fitness from `snap`.
    pub(super) fn set_fitness(&mut self, snap: &Snapshot) {
        let fit = fitness(snap, &self.choices);
        self.notes = fit.iter().map(|(n, _)| n.clone()).collect();
        self.refused = fit.iter().map(|(_, r)| *r).collect();
    }

    /// Why the chosen target cannot take the job now, if it cannot.
    pub fn refusal(&self) -> Option<String> {
        if !matches!(
            self.intent,
            Intent::Failover { .. } | Intent::Switchover { .. }
        ) {
            return None;
        }
        if !self.refused.get(self.choice).copied().unwrap_or(false) {
            return None;
        }
        let target = self.choices.get(self.choice).cloned().flatten()?;
        let note = self.notes.get(self.choice).cloned().unwrap_or_default();
        Some(s::target_refused(&target.to_string(), &note))
    }

    /// A new snapshot: the facts follow it. A target that turned unfit takes the focus
    /// back to the list and clears the name, so nothing unfit is ever confirmed.
    pub(super) fn follow(&mut self, snap: &Snapshot) {
        if !matches!(
            self.intent,
            Intent::Failover { .. } | Intent::Switchover { .. }
        ) {
            return;
        }
        self.set_fitness(snap);
        self.refresh(snap);
        match self.refusal() {
            Some(why) => {
                if matches!(self.focus, Focus::Typing | Focus::Confirm) {
                    self.focus = if self.choices.len() > 1 {
                        Focus::Pick
                    } else {
                        Focus::Cancel
                    };
                    self.typed.clear();
                }
                self.error = Some(why);
            }
            None if self.error.as_deref().is_some_and(s::is_target_refusal) => {
                self.error = None;
            }
            None => {}
        }
    }

    /// The focus order, from Cancel (where every dialog starts) forward: the target list
    /// (if choosing), the name (if one must be typed), then Confirm.
    fn order(&self) -> Vec<Focus> {
        let mut v = vec![Focus::Cancel];
        if self.choices.len() > 1 {
            v.push(Focus::Pick);
        }
        if self.require.is_some() {
            v.push(Focus::Typing);
        }
        v.push(Focus::Confirm);
        v
    }

    /// Moves the focus; an unfit target keeps it off the name and Confirm.
    pub fn move_focus(&mut self, delta: i32) {
        let order = self.order();
        let at = order.iter().position(|f| *f == self.focus).unwrap_or(0) as i32;
        let n = order.len() as i32;
        let to = order[((at + delta).rem_euclid(n)) as usize];
        if let (Focus::Typing | Focus::Confirm, Some(why)) = (to, self.refusal()) {
            self.error = Some(why);
            return;
        }
        self.focus = to;
    }

    /// A typed character: it goes to the name field, from Cancel too (a name typed at
    /// once lands where it belongs), unless the target is unfit.
    pub fn type_char(&mut self, c: char) {
        if self.require.is_none() || !matches!(self.focus, Focus::Typing | Focus::Cancel) {
            return;
        }
        if let Some(why) = self.refusal() {
            self.error = Some(why);
            return;
        }
        self.focus = Focus::Typing;
        self.typed.push(c);
        self.error = None;
    }
}
