//! The "needs a human" strip and its acknowledge key and palette command, the next-step
//! line, PAUSED in the jobs view, DEMO in the header, and hosts waiting for their first
//! probe — rendered from fixed snapshots at 80×24 and 160×48.

use super::action::{Action, Request, View};
use super::fixture;
use super::state::{Level, Overlay, Palette, UiState};
use super::update::{update, Ctx};
use super::views::tests::{both, render};
use crate::core::engine::{Capabilities, Core};
use crate::core::harness::j;
use crate::core::io::{Command, Input};
use crate::core::policy::Policy;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;

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

fn fixture_with(view: View, command: Option<Command>) -> (Snapshot, UiState) {
    let mut hs = fixture::harness();
    if let Some(command) = command {
        hs.input(Input::Command {
            by: crate::core::identity::Identity::local(
                "alice",
                0,
                crate::core::identity::Role::Operator,
            ),
            command,
        });
    }
    let snap = fixture::snapshot(&hs);
    let mut ui = fixture::ui(&hs);
    ui.view = view;
    (snap, ui)
}

#[test]
fn the_strip_names_the_escalated_job_and_its_key() {
    let (snap, ui) = fixture_with(View::Jobs, None);
    let screen = render(&snap, &ui, 80, 24);
    let strip = screen.lines().nth(2).unwrap_or_default();
    assert!(strip.starts_with(" NEEDS A HUMAN  vision-ft: "), "{strip}");
    assert!(strip.ends_with("a acknowledge"), "{strip}");
    let next = screen.lines().nth(3).unwrap_or_default();
    assert!(
        next.starts_with(" ▸ mistral-7b: launching on gpu-b1:gpu1"),
        "{next}"
    );
    both("needs_a_human", &snap, &ui);
}

#[test]
fn an_acknowledged_job_stays_in_the_strip_without_the_key() {
    let ack = Command::Acknowledge {
        job: j("vision-ft"),
    };
    let (snap, ui) = fixture_with(View::Jobs, Some(ack));
    let screen = render(&snap, &ui, 160, 48);
    let strip = screen.lines().nth(2).unwrap_or_default();
    assert!(strip.contains("acknowledged by alice"), "{strip}");
    assert!(!strip.contains("a acknowledge"), "{strip}");
    both("needs_a_human_acknowledged", &snap, &ui);
}

#[test]
fn the_acknowledge_key_sends_the_escalated_job_and_read_only_refuses() {
    let (snap, mut ui) = fixture_with(View::Fleet, None);
    // Nothing escalated is selected: the first job in the strip is taken.
    let req = press(&mut ui, &snap, &[Action::Acknowledge]);
    let want = Request::Core(Command::Acknowledge {
        job: j("vision-ft"),
    });
    assert_eq!(req, Some(want));
    ui.settings.readonly = true;
    assert_eq!(press(&mut ui, &snap, &[Action::Acknowledge]), None);
    let msg = ui.message.clone().map(|m| (m.level, m.text));
    assert!(
        msg.as_ref()
            .is_some_and(|(l, t)| *l == Level::Warn && t.contains("acknowledge refused")),
        "{msg:?}"
    );
    // With nobody waiting (once acknowledged), the key says so and sends nothing.
    let ack = Command::Acknowledge {
        job: j("vision-ft"),
    };
    let (snap, mut ui) = fixture_with(View::Jobs, Some(ack));
    assert_eq!(press(&mut ui, &snap, &[Action::Acknowledge]), None);
    assert!(ui
        .message
        .as_ref()
        .is_some_and(|m| m.text.starts_with("nothing to acknowledge")));
}

#[test]
fn the_palette_acknowledges_by_name_or_the_first_waiting() {
    let (snap, mut ui) = fixture_with(View::Jobs, None);
    for line in ["ack vision-ft", "acknowledge", "ack"] {
        ui.overlay = Overlay::Palette(Palette::default());
        let mut keys: Vec<Action> = line.chars().map(Action::Char).collect();
        keys.push(Action::Select);
        let req = press(&mut ui, &snap, &keys);
        assert_eq!(
            req,
            Some(Request::Core(Command::Acknowledge {
                job: j("vision-ft")
            })),
            "{line}"
        );
    }
    ui.overlay = Overlay::Palette(Palette::default());
    let mut keys: Vec<Action> = "ack nobody".chars().map(Action::Char).collect();
    keys.push(Action::Select);
    assert_eq!(press(&mut ui, &snap, &keys), None);
}

#[test]
fn a_paused_job_says_paused_and_the_demo_says_demo() {
    let pause = Command::Pause {
        job: Some(j("llama-70b")),
    };
    let (snap, mut ui) = fixture_with(View::Jobs, Some(pause));
    ui.settings.demo = true;
    let screen = render(&snap, &ui, 80, 24);
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("DEMO"), "{header}");
    let row = screen
        .lines()
        .find(|l| l.contains("llama-70b "))
        .unwrap_or_default();
    assert!(row.contains("PAUSED"), "{row}");
    both("jobs_paused_demo", &snap, &ui);
}

#[test]
fn hosts_not_probed_yet_wait_for_their_first_probe() {
    let core = Core::new(
        fixture::fleet(),
        Policy::default(),
        Capabilities::default(),
        Ts(1_700_000_000_000),
    );
    let snap = core.snapshot();
    let mut ui = UiState {
        view: View::Fleet,
        ..UiState::default()
    };
    let screen = render(&snap, &ui, 160, 48);
    assert!(!screen.contains('✖'), "{screen}");
    assert!(screen.contains("○ waiting"), "{screen}");
    assert!(screen.contains("waiting for first probe"), "{screen}");
    ui.detail = Some("gpu-a1".into());
    both("fleet_waiting_for_first_probe", &snap, &ui);
}
