//! The drills view's state and keys: the catalogue asked for on entering, the plan on
//! Enter, a start that needs the plan and the runbook's name typed, refusals for read-only
//! consoles and viewers, the run folded in from its notices (steps, holds, clocks, stop
//! conditions, rollbacks), stepping, running to the end and a confirmed abort.

use super::action::{Action, Request, View};
use super::dialog::Focus;
use super::state::{Level, Overlay, UiState};
use super::update::{note, update, Ctx};
use crate::core::drill::engine::Status;
use crate::core::identity::{Identity, Role};
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::drill::{
    Answer, DrillCatalogue, DrillEntry, DrillPlan, PastRun, PlanCheck, PlanStep,
};
use crate::protocol::notice::Notice;
use crate::protocol::screen::LinkState;
use crate::protocol::wire::DaemonInfo;
use crate::tui::drills::StepState;
use crate::tui::update_drills::answered;

pub(crate) const T0: u64 = 1_700_000_000_000;

fn entry(name: &str, runs: &[(Status, u64, Option<f64>)]) -> DrillEntry {
    DrillEntry {
        name: name.into(),
        title: format!("{name} drill"),
        scenario: name.replace('-', "_"),
        description: format!("What happens when {name}."),
        team: name == "our-own",
        runs: runs
            .iter()
            .enumerate()
            .map(|(i, (status, at, rto))| PastRun {
                run: format!("run-{i}"),
                status: *status,
                ended: Ts(*at),
                rto_s: *rto,
                why: "every step passed".into(),
            })
            .collect(),
    }
}

pub(crate) fn catalogue() -> DrillCatalogue {
    DrillCatalogue {
        runbooks: vec![
            entry(
                "job-crash",
                &[
                    (Status::Passed, T0 - 3_600_000, Some(21.0)),
                    (Status::Failed, T0 - 1_800_000, Some(48.0)),
                    (Status::Passed, T0 - 600_000, Some(14.5)),
                ],
            ),
            entry("our-own", &[(Status::Aborted, T0 - 60_000, None)]),
            entry("restore-test", &[]),
        ],
        errors: Vec::new(),
    }
}

pub(crate) fn plan(refused: Option<&str>) -> DrillPlan {
    DrillPlan {
        runbook: "job-crash".into(),
        title: "The training process dies".into(),
        scenario: "job_crash".into(),
        version: 1,
        jobs: vec!["train".into()],
        hosts: vec!["a".into()],
        max_hosts: 1,
        max_jobs: 1,
        preconditions: vec![
            PlanCheck {
                what: "job-running".into(),
                ok: true,
                why: "train runs on a".into(),
            },
            PlanCheck {
                what: "checkpoint-fresh (≤ 600s)".into(),
                ok: refused.is_none(),
                why: "newest verified 42s old".into(),
            },
        ],
        steps: [
            ("diagnose", "Look at the job", "show the fleet's status"),
            (
                "inject",
                "Kill the process",
                "inject job-crash (undoes itself after 300s)",
            ),
            (
                "observe",
                "Lifeboat notices",
                "wait until fault-detected (deadline 60s)",
            ),
            ("verify", "It runs again", "check job-running"),
        ]
        .iter()
        .map(|(k, t, d)| PlanStep {
            kind: (*k).into(),
            title: (*t).into(),
            does: (*d).into(),
        })
        .collect(),
        stop_conditions: vec!["other-job-interrupted".into(), "rto-exceeds 600s".into()],
        rollbacks: vec!["clear-faults".into(), "resume-automation".into()],
        refused: refused.map(str::to_string),
    }
}

pub(crate) fn drill(ts: u64, what: &'static str, detail: &str) -> Notice {
    Notice::Drill {
        ts: Ts(T0 + ts),
        run: "20260101T000000Z-job-crash".into(),
        runbook: "job-crash".into(),
        what: what.into(),
        detail: detail.into(),
    }
}

fn snap() -> Snapshot {
    Snapshot {
        now: Ts(T0),
        ..Snapshot::default()
    }
}

fn ui() -> UiState {
    let mut ui = UiState::default();
    ui.settings.operator = "alice".into();
    ui.wall = Ts(T0);
    ui
}

fn attached(ui: &mut UiState, role: Role) {
    ui.link = Some(LinkState::Attached {
        daemon: DaemonInfo {
            pid: 1,
            host: "h".into(),
            started: Ts(T0),
            version: "0".into(),
            fleet: "demo".into(),
            state_dir: "/state".into(),
            hosts: 2,
            jobs: 1,
            embedded: false,
            demo: true,
        },
        identity: Identity::local("vic", 1000, role),
        at: Ts(T0),
    });
}

fn press(ui: &mut UiState, snap: &Snapshot, actions: &[Action]) -> Option<Request> {
    let themes = vec!["default".to_string()];
    let cx = Ctx {
        snap,
        themes: &themes,
    };
    let mut last = None;
    for a in actions {
        last = update(ui, &cx, a.clone());
    }
    last
}

/// The console on the drills view with the catalogue answered.
fn on_view() -> (Snapshot, UiState) {
    let snap = snap();
    let mut ui = ui();
    let asked = press(&mut ui, &snap, &[Action::GoView(View::Drills)]);
    assert_eq!(asked, Some(Request::DrillCatalogue));
    answered(&mut ui, &snap, Answer::Drills(catalogue()));
    (snap, ui)
}

/// Pushes the notices of a guided job-crash drill up to its hold before step 3.
pub(crate) fn mid_run(ui: &mut UiState) {
    for n in [
        drill(0, "started", "alice runs it: jobs train; hosts a"),
        drill(
            10,
            "stop",
            "other-job-interrupted: holds — every other job runs",
        ),
        drill(10, "stop", "rto-exceeds 600s: holds — within the limit"),
        drill(
            10,
            "holding",
            "1. [diagnose] Look at the job: show the fleet's status",
        ),
        drill(2_000, "step_started", "1. [diagnose] Look at the job"),
        drill(
            2_010,
            "step_passed",
            "1. Look at the job: train running on a (epoch 1), step 120",
        ),
        drill(
            2_020,
            "holding",
            "2. [inject] Kill the process: inject job-crash",
        ),
        drill(5_000, "step_started", "2. [inject] Kill the process"),
        drill(
            5_100,
            "injected",
            "job-crash on train (undone after 300s at the latest)",
        ),
        drill(
            5_110,
            "step_passed",
            "2. Kill the process: killed train on a",
        ),
        drill(
            5_120,
            "holding",
            "3. [observe] Lifeboat notices: wait until fault-detected",
        ),
        drill(8_300, "detected", "detected 3.2s after the injection"),
        recovery(8_300, "train", "failing_over"),
        recovery(8_400, "other", "failing_over"),
    ] {
        note(ui, &n);
    }
}

/// A job's recovery state changed (a core event).
pub(crate) fn recovery(ts: u64, job: &str, to: &str) -> Notice {
    use crate::core::event::{Event, EventKind};
    Notice::Core(Event {
        ts: Ts(T0 + ts),
        kind: EventKind::RecoveryState {
            job: crate::core::ids::JobId::new(job),
            from: "running".into(),
            to: to.into(),
            reason: "test".into(),
        },
    })
}

#[test]
fn entering_the_view_asks_for_the_runbooks_and_enter_for_the_plan() {
    let (snap, mut ui) = on_view();
    assert_eq!(ui.drills.rows("").len(), 3);
    assert_eq!(ui.drills.rows("restore").len(), 1);
    let r = press(&mut ui, &snap, &[Action::Select]);
    assert_eq!(
        r,
        Some(Request::DrillPlan {
            name: "job-crash".into()
        })
    );
    answered(&mut ui, &snap, Answer::DrillPlan(Box::new(plan(None))));
    assert!(ui.overlay.is_none(), "Enter only shows the plan");
    assert!(ui.drills.plan_of("job-crash").is_some());
    press(&mut ui, &snap, &[Action::Down, Action::Down]);
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        Some(Request::DrillPlan {
            name: "restore-test".into()
        })
    );
    // Leaving and coming back asks again: the results may have changed.
    press(&mut ui, &snap, &[Action::GoView(View::Jobs)]);
    assert_eq!(
        press(&mut ui, &snap, &[Action::GoView(View::Drills)]),
        Some(Request::DrillCatalogue)
    );
}

#[test]
fn starting_shows_the_plan_and_needs_the_runbooks_name_typed() {
    let (snap, mut ui) = on_view();
    attached(&mut ui, Role::Operator);
    let r = press(&mut ui, &snap, &[Action::DrillStart]);
    assert_eq!(
        r,
        Some(Request::DrillPlan {
            name: "job-crash".into()
        })
    );
    answered(&mut ui, &snap, Answer::DrillPlan(Box::new(plan(None))));
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no dialog: {:?}", ui.message)
    };
    assert_eq!(d.require.as_deref(), Some("job-crash"));
    assert_eq!(
        d.focus,
        Focus::Cancel,
        "Enter at first sight never starts it"
    );
    let text = d.lines.join("\n");
    for want in [
        "targets: jobs train; hosts a",
        "✓ job-running",
        "2. [inject] Kill the process",
        "clear-faults",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // A wrong name does not start it.
    let mut keys: Vec<Action> = "job-cras".chars().map(Action::Char).collect();
    keys.extend([Action::FocusNext, Action::Select]);
    assert_eq!(press(&mut ui, &snap, &keys), None);
    assert!(matches!(ui.overlay, Overlay::Dialog(_)));
    let mut keys = vec![Action::Char('h'), Action::FocusNext, Action::Select];
    keys.insert(0, Action::Backspace);
    keys.insert(0, Action::Char('x'));
    let r = press(&mut ui, &snap, &keys);
    assert_eq!(
        r,
        Some(Request::DrillGuide {
            name: "job-crash".into()
        }),
        "{:?}",
        ui.overlay
    );
}

#[test]
fn a_plan_that_cannot_start_says_why_and_opens_nothing() {
    let (snap, mut ui) = on_view();
    press(&mut ui, &snap, &[Action::DrillStart]);
    answered(
        &mut ui,
        &snap,
        Answer::DrillPlan(Box::new(plan(Some(
            "a precondition fails: checkpoint-fresh",
        )))),
    );
    assert!(ui.overlay.is_none());
    let m = ui.message.clone().unwrap();
    assert_eq!(m.level, Level::Warn);
    assert!(
        m.text.contains("cannot start: a precondition fails"),
        "{}",
        m.text
    );
}

#[test]
fn read_only_consoles_and_viewers_watch_but_may_not_start_step_or_abort() {
    let (snap, mut ui) = on_view();
    ui.settings.readonly = true;
    for key in [
        Action::DrillStart,
        Action::DrillRunToEnd,
        Action::DrillAbort,
    ] {
        assert_eq!(
            press(&mut ui, &snap, std::slice::from_ref(&key)),
            None,
            "{key:?}"
        );
        let m = ui.message.clone().unwrap();
        assert!(
            m.text.contains("read-only console (--readonly)"),
            "{}",
            m.text
        );
        assert!(m.text.contains("you may watch"), "{}", m.text);
    }
    // The plan may be read.
    assert!(press(&mut ui, &snap, &[Action::Select]).is_some());

    ui.settings.readonly = false;
    attached(&mut ui, Role::Viewer);
    assert_eq!(press(&mut ui, &snap, &[Action::DrillStart]), None);
    let m = ui.message.clone().unwrap();
    assert!(
        m.text
            .contains("vic is a viewer: starting a drill needs the operator role"),
        "{}",
        m.text
    );
    mid_run(&mut ui);
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        None,
        "no stepping"
    );
    assert!(ui
        .message
        .clone()
        .unwrap()
        .text
        .contains("stepping a drill"));
    assert_eq!(press(&mut ui, &snap, &[Action::DrillAbort]), None);
    assert!(ui.overlay.is_none());
}

#[test]
fn the_run_is_folded_in_from_its_notices_and_the_operator_steps_it() {
    let (snap, mut ui) = on_view();
    attached(&mut ui, Role::Operator);
    mid_run(&mut ui);
    assert_eq!(
        ui.drills.want.take(),
        Some(Request::DrillPlan {
            name: "job-crash".into()
        }),
        "another screen started it: the plan is asked for its pending steps"
    );
    let l = ui.drills.running().cloned().unwrap();
    assert_eq!(l.steps.len(), 2);
    assert_eq!(l.steps[0].state, StepState::Passed);
    assert_eq!(l.steps[0].title, "[diagnose] Look at the job");
    assert_eq!(l.steps[0].output, "train running on a (epoch 1), step 120");
    assert_eq!(l.steps[1].output, "killed train on a");
    assert!(l
        .holding
        .as_deref()
        .is_some_and(|h| h.starts_with("3. [observe]")));
    assert_eq!(l.stops.len(), 2);
    assert!(l.stops.iter().all(|s| s.1));

    // Enter steps; r runs to the end; a step under way refuses another.
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        Some(Request::DrillStep)
    );
    note(
        &mut ui,
        &drill(9_000, "step_started", "3. [observe] Lifeboat notices"),
    );
    assert_eq!(press(&mut ui, &snap, &[Action::Select]), None);
    assert!(ui.message.clone().unwrap().text.contains("is under way"));
    assert_eq!(
        press(&mut ui, &snap, &[Action::DrillRunToEnd]),
        Some(Request::DrillRunToEnd)
    );
    assert_eq!(
        press(&mut ui, &snap, &[Action::DrillStart]),
        None,
        "one drill at a time"
    );

    // A manual step waits: Enter confirms it.
    note(&mut ui, &drill(9_500, "waiting", "page the on-call"));
    assert_eq!(
        press(&mut ui, &snap, &[Action::Select]),
        Some(Request::DrillStep)
    );

    // The clocks: since the injection, detection fixed, RTO ticking until it recovers.
    let l = ui.drills.running().cloned().unwrap();
    let c = crate::tui::views::drills::clocks(&l, Ts(T0 + 20_100));
    assert!(c.contains("since injection 15s …"), "{c}");
    assert!(c.contains("detection 3.2s"), "{c}");
    assert!(c.contains("RTO 15s …"), "{c}");
    note(
        &mut ui,
        &drill(21_100, "recovered", "RTO 16.0s; RPO 20 steps (31.5s)"),
    );
    let l = ui.drills.running().cloned().unwrap();
    let c = crate::tui::views::drills::clocks(&l, Ts(T0 + 40_000));
    assert!(c.contains("RTO 16s"), "{c}");
    assert!(c.contains("RPO 20 steps (31.5s)"), "{c}");

    // A stop condition fires; the abort dialog names the plan's rollbacks; the end.
    answered(&mut ui, &snap, Answer::DrillPlan(Box::new(plan(None))));
    note(
        &mut ui,
        &drill(
            22_000,
            "stop",
            "other-job-interrupted: FIRED — llama is failing_over",
        ),
    );
    let l = ui.drills.running().cloned().unwrap();
    assert!(l
        .stops
        .iter()
        .any(|s| !s.1 && s.2 == "llama is failing_over"));
    press(&mut ui, &snap, &[Action::DrillAbort]);
    let Overlay::Dialog(d) = &ui.overlay else {
        panic!("no abort dialog")
    };
    assert_eq!(d.focus, Focus::Cancel);
    assert!(d.lines.join(" ").contains("clear-faults"), "{:?}", d.lines);
    let r = press(&mut ui, &snap, &[Action::FocusNext, Action::Select]);
    assert_eq!(
        r,
        Some(Request::DrillAbort {
            reason: "aborted from the console".into()
        })
    );
    note(
        &mut ui,
        &drill(23_000, "rollback", "clear-faults: cleared 1 fault"),
    );
    note(
        &mut ui,
        &drill(
            24_000,
            "finished",
            "aborted: alice: aborted from the console; report in /s/drills/x",
        ),
    );
    assert!(ui.drills.running().is_none());
    let l = ui.drills.live.clone().unwrap();
    assert_eq!(l.status(), Some("aborted"));
    assert_eq!(
        l.rollbacks,
        vec!["clear-faults: cleared 1 fault".to_string()]
    );
    assert_eq!(
        ui.drills.want.take(),
        Some(Request::DrillCatalogue),
        "results changed"
    );
    assert!(ui.drill.is_none(), "the banner is gone");
}

#[test]
fn the_drills_keys_are_its_own_only_in_its_view() {
    use super::keymap::{Context, Keymap};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let k = Keymap::default();
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        k.action(Context::Normal, View::Drills, key('s')),
        Some(Action::DrillStart)
    );
    assert_eq!(
        k.action(Context::Normal, View::Drills, key('r')),
        Some(Action::DrillRunToEnd)
    );
    assert_eq!(
        k.action(Context::Normal, View::Drills, key('x')),
        Some(Action::DrillAbort)
    );
    assert_eq!(
        k.action(Context::Normal, View::Jobs, key('s')),
        Some(Action::Switchover)
    );
    assert_eq!(
        k.action(Context::Normal, View::Jobs, key('6')),
        Some(Action::GoView(View::Drills))
    );
    let help = k.help_lines(Context::Normal, View::Drills);
    assert!(help[0].1.starts_with("drills:"), "{help:?}");
    assert!(!k
        .help_lines(Context::Normal, View::Jobs)
        .iter()
        .any(|l| l.1.starts_with("drills:")));
}
