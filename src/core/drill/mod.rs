//! Disaster-recovery drills: the runbook model ([`runbook`]), decided on in the core so a
//! drill's every effect goes through the same journaled path as the supervisor's own.

pub mod engine;
pub mod plan;
pub mod probe;
pub mod runbook;
pub mod schedule;

use serde::Serialize;

/// What happens to a notification a drill causes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DrillNotify {
    /// Sent as is.
    Deliver,
    /// Sent, starting with `[DRILL name]` so nobody takes it for a real incident.
    #[default]
    Mark,
    /// Not sent; the log keeps it.
    Hold,
}

impl DrillNotify {
    pub const ALL: [DrillNotify; 3] = [DrillNotify::Deliver, DrillNotify::Mark, DrillNotify::Hold];

    pub fn as_str(self) -> &'static str {
        match self {
            DrillNotify::Deliver => "deliver",
            DrillNotify::Mark => "mark",
            DrillNotify::Hold => "hold",
        }
    }

    pub fn parse(s: &str) -> Option<DrillNotify> {
        DrillNotify::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[cfg(test)]
mod engine_resume_tests;
#[cfg(test)]
mod engine_step_tests;
#[cfg(test)]
mod engine_tests;
