//! The drills' dialogs: starting one shows its checked plan and asks for the runbook's
//! name typed; aborting one says what stops and which rollbacks run.

use super::dialog::{Dialog, Intent};
use super::strings as s;
use crate::core::snapshot::Snapshot;
use crate::protocol::drill::DrillPlan;

impl Dialog {
    /// Start `plan`'s runbook guided (it holds before each step).
    pub fn drill_start(snap: &Snapshot, plan: &DrillPlan) -> Self {
        let mut lines = vec![
            format!(
                "Run drill {} v{} — {} ({}), step by step: it holds before each step.",
                plan.runbook, plan.version, plan.title, plan.scenario
            ),
            s::drill_targets(&plan.jobs, &plan.hosts, plan.max_hosts, plan.max_jobs),
        ];
        for c in &plan.preconditions {
            let mark = if c.ok { "✓" } else { "✗" };
            lines.push(format!("{mark} {}: {}", c.what, c.why));
        }
        for (i, st) in plan.steps.iter().enumerate() {
            lines.push(format!(
                "{}. [{}] {} — {}",
                i + 1,
                st.kind,
                st.title,
                st.does
            ));
        }
        lines.push(format!(
            "{}: {}",
            s::DRILL_ROLLBACKS,
            plan.rollbacks.join(", ")
        ));
        let mut d = Self::base(
            Intent::DrillStart {
                name: plan.runbook.clone(),
            },
            s::drill_start_title(&plan.runbook),
            lines,
            snap.epoch,
        );
        d.require = Some(plan.runbook.clone());
        d
    }

    /// Abort the drill under way: the step stops and the rollbacks run.
    pub fn drill_abort(snap: &Snapshot, runbook: &str, run: &str, rollbacks: &[String]) -> Self {
        let mut lines = vec![
            format!("Drill {runbook} (run {run}) stops now: the step under way ends as failed."),
            "Its rollbacks run whatever happened, and the report says aborted.".to_string(),
        ];
        if !rollbacks.is_empty() {
            lines.push(format!("{}: {}", s::DRILL_ROLLBACKS, rollbacks.join(", ")));
        }
        Self::base(
            Intent::DrillAbort,
            s::drill_abort_title(runbook),
            lines,
            snap.epoch,
        )
    }
}
