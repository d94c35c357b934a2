//! Fixed drills-view data for the tests: a catalogue with past runs, a checked plan, the
//! notices of a guided job-crash drill, and a console on the drills view.

use super::action::{Action, Request, View};
use super::state::UiState;
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
use crate::tui::update_drills::answered;
pub(crate) const T0: u64 = 1_700_000_000_000;

pub(crate) fn entry(name: &str, runs: &[(Status, u64, Option<f64>)]) -> DrillEntry {
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

pub(crate) fn snap() -> Snapshot {
    Snapshot {
        now: Ts(T0),
        ..Snapshot::default()
    }
}

pub(crate) fn ui() -> UiState {
    let mut ui = UiState::default();
    ui.settings.operator = "alice".into();
    ui.wall = Ts(T0);
    ui
}

pub(crate) fn attached(ui: &mut UiState, role: Role) {
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

pub(crate) fn press(ui: &mut UiState, snap: &Snapshot, actions: &[Action]) -> Option<Request> {
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
pub(crate) fn on_view() -> (Snapshot, UiState) {
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
