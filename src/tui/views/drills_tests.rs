//! Render tests of the drills view: the runbooks with their last result and RTO trend and
//! the selected one's plan; a guided run holding mid-way (steps, clocks, stop conditions);
//! and its end, with the rollbacks.

use super::tests::{both, render};
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::drill::Answer;
use crate::tui::action::View;
use crate::tui::drills_fixture::{catalogue, drill, mid_run, plan, T0};
use crate::tui::state::UiState;
use crate::tui::update::note;

fn setup() -> (Snapshot, UiState) {
    let snap = Snapshot {
        now: Ts(T0),
        ..Snapshot::default()
    };
    let mut ui = UiState {
        view: View::Drills,
        wall: Ts(T0),
        ..UiState::default()
    };
    ui.drills.answered(Answer::Drills(catalogue()));
    (snap, ui)
}

#[test]
fn drills_with_their_last_runs_and_a_plan() {
    let (snap, mut ui) = setup();
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains("enter: the plan"), "{out}");
    ui.drills.answered(Answer::DrillPlan(Box::new(plan(Some(
        "a precondition fails: checkpoint-fresh (≤ 600s): newest verified 42s old",
    )))));
    both("drills_plan", &snap, &ui);
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains("passed 10m00s ago"), "{out}");
    assert!(out.contains("✗ checkpoint-fresh"), "{out}");
    assert!(out.contains("never run"), "{out}");
}

#[test]
fn a_guided_drill_holding_mid_way() {
    let (snap, mut ui) = setup();
    ui.drills.answered(Answer::DrillPlan(Box::new(plan(None))));
    mid_run(&mut ui);
    ui.wall = Ts(T0 + 20_100);
    both("drills_holding", &snap, &ui);
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains("HOLDING (enter runs it"), "{out}");
    assert!(out.contains("before 3. [observe]"), "{out}");
    assert!(out.contains("since injection 15s …"), "{out}");
    assert!(out.contains("pending"), "{out}");
}

#[test]
fn a_drill_that_ended_with_its_rollbacks() {
    let (snap, mut ui) = setup();
    ui.drills.answered(Answer::DrillPlan(Box::new(plan(None))));
    mid_run(&mut ui);
    for n in [
        drill(9_000, "step_started", "3. [observe] Lifeboat notices"),
        drill(9_010, "step_passed", "3. Lifeboat notices: detected"),
        drill(9_020, "step_started", "4. [verify] It runs again"),
        drill(21_100, "recovered", "RTO 16.0s; RPO 20 steps (31.5s)"),
        drill(
            21_200,
            "step_passed",
            "4. It runs again: train running on b",
        ),
        drill(21_300, "rollback", "clear-faults: nothing left to clear"),
        drill(21_400, "rollback", "resume-automation: automation on"),
        drill(
            21_500,
            "finished",
            "passed: every step passed and every expectation was met; report in /s/drills/x",
        ),
    ] {
        note(&mut ui, &n);
    }
    ui.wall = Ts(T0 + 90_000);
    both("drills_finished", &snap, &ui);
    let out = render(&snap, &ui, 160, 48);
    assert!(out.contains("FINISHED passed"), "{out}");
    assert!(out.contains("RTO 16s"), "{out}");
    assert!(out.contains("rollback resume-automation"), "{out}");
}

#[test]
fn the_newest_steps_long_output_wraps_under_it_and_earlier_ones_keep_one_line() {
    let (snap, mut ui) = setup();
    ui.drills.answered(Answer::DrillPlan(Box::new(plan(None))));
    mid_run(&mut ui);
    let long = "fence on a: sent TERM to 4021 4022, 4022 still alive after 10s, sent KILL, \
                looked again: nothing of train is left on a (ps by session and cgroup)";
    for n in [
        drill(9_000, "step_started", "3. [observe] Lifeboat notices"),
        drill(
            9_010,
            "step_passed",
            &format!("3. Lifeboat notices: {long}"),
        ),
    ] {
        note(&mut ui, &n);
    }
    let out = render(&snap, &ui, 80, 24);
    assert!(out.contains("(ps by session and"), "{out}");
    assert!(
        out.contains("       cgroup)"),
        "the whole output, wrapped: {out}"
    );
    assert!(
        out.contains("killed train on a"),
        "the earlier output stays: {out}"
    );
}
