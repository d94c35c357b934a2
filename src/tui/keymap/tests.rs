//! Tests of the keymap: key → action tables per context, overrides, conflicts, help.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::defaults::{rows, DIALOG, HELP, NAMES, NORMAL, TEXT};
use super::*;
use crate::tui::dialog::Dialog;
use crate::tui::state::{Filter, Palette};
use crossterm::event::KeyEventState;

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn ch(c: char) -> KeyEvent {
    ev(KeyCode::Char(c), NONE)
}

/// A key event as terminals send it: upper-case letters come with SHIFT.
fn typed(c: char) -> KeyEvent {
    let mods = if c.is_ascii_uppercase() { SHIFT } else { NONE };
    ev(KeyCode::Char(c), mods)
}

fn on(map: &Keymap, ctx: Context, e: KeyEvent) -> Option<Action> {
    map.action(ctx, View::Fleet, e)
}

fn check_table(map: &Keymap, ctx: Context, table: &[(KeyEvent, Action)]) {
    for (e, want) in table {
        assert_eq!(on(map, ctx, *e).as_ref(), Some(want), "{ctx:?} {e:?}");
    }
}

// ---- The default tables

#[test]
fn normal_keys() {
    use Action as A;
    let table = [
        (typed('q'), A::Quit),
        (ev(KeyCode::Char('c'), CTRL), A::Quit),
        (ev(KeyCode::Tab, NONE), A::NextView),
        (ev(KeyCode::BackTab, SHIFT), A::PrevView),
        (ev(KeyCode::BackTab, NONE), A::PrevView),
        (ev(KeyCode::Tab, SHIFT), A::PrevView),
        (typed('1'), A::GoView(View::Fleet)),
        (typed('2'), A::GoView(View::Jobs)),
        (typed('3'), A::GoView(View::Checkpoints)),
        (typed('4'), A::GoView(View::Tasks)),
        (typed('5'), A::GoView(View::Events)),
        (typed('?'), A::Help),
        (ev(KeyCode::Char('?'), SHIFT), A::Help),
        (typed(':'), A::Palette),
        (typed('/'), A::Filter),
        (typed('j'), A::Down),
        (ev(KeyCode::Down, NONE), A::Down),
        (typed('k'), A::Up),
        (ev(KeyCode::Up, NONE), A::Up),
        (typed('g'), A::Top),
        (ev(KeyCode::Home, NONE), A::Top),
        (typed('G'), A::Bottom),
        (ch('G'), A::Bottom),
        (ev(KeyCode::Char('g'), SHIFT), A::Bottom),
        (ev(KeyCode::End, NONE), A::Bottom),
        (ev(KeyCode::PageUp, NONE), A::PageUp),
        (ev(KeyCode::Char('u'), CTRL), A::PageUp),
        (ev(KeyCode::PageDown, NONE), A::PageDown),
        (ev(KeyCode::Char('d'), CTRL), A::PageDown),
        (ev(KeyCode::Enter, NONE), A::Select),
        (ev(KeyCode::Esc, NONE), A::Back),
        (typed('f'), A::Failover),
        (typed('s'), A::Switchover),
        (typed('p'), A::PauseJob),
        (typed('r'), A::ResumeJob),
        (typed('P'), A::PauseAll),
        (typed('R'), A::ResumeAll),
        (typed('c'), A::Cancel),
        (typed('a'), A::Acknowledge),
        (typed('x'), A::InjectFault),
        (typed('t'), A::NextTheme),
    ];
    let map = Keymap::default();
    check_table(&map, Context::Normal, &table);
    for e in [
        typed('z'),
        ev(KeyCode::Char('f'), CTRL),
        ev(KeyCode::Char('q'), ALT),
        ev(KeyCode::F(1), NONE),
        ev(KeyCode::Backspace, NONE),
    ] {
        assert_eq!(on(&map, Context::Normal, e), None, "{e:?}");
    }
    // Every view has the same keys.
    for view in View::ALL {
        assert_eq!(
            map.action(Context::Normal, view, typed('f')),
            Some(A::Failover)
        );
    }
}

#[test]
fn text_keys() {
    use Action as A;
    let table = [
        (ev(KeyCode::Enter, NONE), A::Select),
        (ev(KeyCode::Esc, NONE), A::Back),
        (ev(KeyCode::Char('c'), CTRL), A::Back),
        (ev(KeyCode::Tab, NONE), A::Complete),
        (ev(KeyCode::BackTab, SHIFT), A::FocusPrev),
        (ev(KeyCode::Backspace, NONE), A::Backspace),
        (typed('q'), A::Char('q')),
        (typed('Q'), A::Char('Q')),
        (typed('?'), A::Char('?')),
        (typed(':'), A::Char(':')),
        (typed('1'), A::Char('1')),
        (typed(' '), A::Char(' ')),
        (typed('-'), A::Char('-')),
        (typed('é'), A::Char('é')),
        // AltGr on some terminals
        (ev(KeyCode::Char('@'), CTRL | ALT), A::Char('@')),
    ];
    let map = Keymap::default();
    check_table(&map, Context::Text, &table);
    for e in [
        ev(KeyCode::Char('x'), CTRL),
        ev(KeyCode::Char('x'), ALT),
        ev(KeyCode::Up, NONE),
        ev(KeyCode::F(2), NONE),
    ] {
        assert_eq!(on(&map, Context::Text, e), None, "{e:?}");
    }
}

#[test]
fn dialog_keys() {
    use Action as A;
    let table = [
        (ev(KeyCode::Tab, NONE), A::FocusNext),
        (ev(KeyCode::Right, NONE), A::FocusNext),
        (typed('l'), A::FocusNext),
        (ev(KeyCode::BackTab, SHIFT), A::FocusPrev),
        (ev(KeyCode::Left, NONE), A::FocusPrev),
        (typed('h'), A::FocusPrev),
        (typed('j'), A::Down),
        (ev(KeyCode::Down, NONE), A::Down),
        (typed('k'), A::Up),
        (ev(KeyCode::Up, NONE), A::Up),
        (ev(KeyCode::Enter, NONE), A::Select),
        (ev(KeyCode::Esc, NONE), A::Back),
        (typed('q'), A::Back),
        (ev(KeyCode::Char('c'), CTRL), A::Back),
    ];
    let map = Keymap::default();
    check_table(&map, Context::Dialog, &table);
    // No one-key confirmation, and none of the table's action keys.
    for c in ['y', 'n', 'f', 's', 'c', 'x', 'P'] {
        assert_eq!(on(&map, Context::Dialog, typed(c)), None, "{c}");
    }
}

#[test]
fn help_keys() {
    use Action as A;
    let table = [
        (ev(KeyCode::Esc, NONE), A::Back),
        (typed('q'), A::Back),
        (typed('?'), A::Back),
        (ev(KeyCode::Char('c'), CTRL), A::Back),
        (typed('j'), A::Down),
        (ev(KeyCode::Down, NONE), A::Down),
        (typed('k'), A::Up),
        (ev(KeyCode::Up, NONE), A::Up),
        (ev(KeyCode::PageDown, NONE), A::PageDown),
        (ev(KeyCode::Char('d'), CTRL), A::PageDown),
        (ev(KeyCode::PageUp, NONE), A::PageUp),
        (ev(KeyCode::Char('u'), CTRL), A::PageUp),
        (typed('g'), A::Top),
        (ev(KeyCode::Home, NONE), A::Top),
        (typed('G'), A::Bottom),
        (ev(KeyCode::End, NONE), A::Bottom),
    ];
    let map = Keymap::default();
    check_table(&map, Context::Help, &table);
    assert_eq!(on(&map, Context::Help, typed('f')), None);
}

#[test]
fn key_releases_mean_nothing() {
    let map = Keymap::default();
    let mut e = typed('q');
    e.kind = KeyEventKind::Release;
    assert_eq!(on(&map, Context::Normal, e), None);
    assert_eq!(on(&map, Context::Text, e), None);
    e.kind = KeyEventKind::Repeat;
    e.state = KeyEventState::NONE;
    assert_eq!(on(&map, Context::Normal, e), Some(Action::Quit));
}

#[test]
fn defaults_parse_and_never_collide() {
    for ctx in Context::ALL {
        let mut seen: Vec<Key> = Vec::new();
        for (action, keys, _) in rows(ctx) {
            assert!(action_name(action).is_some(), "{action:?} has no name");
            for k in *keys {
                let key = Key::parse(k).unwrap_or_else(|e| panic!("{k}: {e:?}"));
                assert!(!key.is_fkey(), "{ctx:?}: default {k} is an F-key");
                assert!(!seen.contains(&key), "{ctx:?}: {k} bound twice");
                seen.push(key);
            }
        }
    }
}

/// Every action a user can trigger from the tables has a key that is not an F-key. The
/// match has no `_` arm on purpose: a new `Action` must be placed here.
#[test]
fn every_normal_action_has_a_non_f_key() {
    fn needs_normal_key(a: &Action) -> bool {
        match a {
            Action::Quit
            | Action::NextView
            | Action::PrevView
            | Action::GoView(_)
            | Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
            | Action::Select
            | Action::Back
            | Action::Help
            | Action::Palette
            | Action::Filter
            | Action::Failover
            | Action::Switchover
            | Action::PauseJob
            | Action::ResumeJob
            | Action::PauseAll
            | Action::ResumeAll
            | Action::Cancel
            | Action::Acknowledge
            | Action::InjectFault
            | Action::Prune
            | Action::Readiness
            | Action::NextTheme => true,
            // The drills view's own table has their keys (checked in drills_tests).
            Action::DrillStart | Action::DrillRunToEnd | Action::DrillAbort => false,
            // Dialogs and text fields, or the mouse (which has keys: Up, Down, GoView).
            Action::FocusNext
            | Action::FocusPrev
            | Action::Char(_)
            | Action::Backspace
            | Action::Complete
            | Action::ClickTab(_)
            | Action::ClickRow(_)
            | Action::ScrollUp
            | Action::ScrollDown => false,
        }
    }
    let map = Keymap::default();
    let mut candidates: Vec<Action> = NAMES.iter().map(|(_, a)| a.clone()).collect();
    candidates.extend(View::ALL.map(Action::GoView));
    let mut checked = 0;
    for a in candidates.iter().filter(|a| needs_normal_key(a)) {
        let keys = map.keys(Context::Normal, a);
        assert!(
            keys.iter().any(|k| !k.is_fkey()),
            "{a:?} has no non-F key in Normal: {keys:?}"
        );
        checked += 1;
    }
    assert!(checked >= 28, "{checked}");
    // And all the views are in NAMES.
    for v in View::ALL {
        assert!(action_name(&Action::GoView(v)).is_some());
    }
}

// ---- Keys as text

#[test]
fn keys_parse_and_print_alike() {
    let cases = [
        ("f", KeyCode::Char('f'), NONE, "f"),
        ("G", KeyCode::Char('G'), NONE, "G"),
        ("shift-g", KeyCode::Char('G'), NONE, "G"),
        ("?", KeyCode::Char('?'), NONE, "?"),
        ("-", KeyCode::Char('-'), NONE, "-"),
        ("ctrl-c", KeyCode::Char('c'), CTRL, "ctrl-c"),
        ("Ctrl-C", KeyCode::Char('c'), CTRL, "ctrl-c"),
        ("ctrl--", KeyCode::Char('-'), CTRL, "ctrl--"),
        ("alt-x", KeyCode::Char('x'), ALT, "alt-x"),
        ("ctrl-alt-x", KeyCode::Char('x'), CTRL | ALT, "ctrl-alt-x"),
        ("shift-tab", KeyCode::BackTab, NONE, "shift-tab"),
        ("backtab", KeyCode::BackTab, NONE, "shift-tab"),
        ("enter", KeyCode::Enter, NONE, "enter"),
        ("Return", KeyCode::Enter, NONE, "enter"),
        ("esc", KeyCode::Esc, NONE, "esc"),
        ("tab", KeyCode::Tab, NONE, "tab"),
        ("backspace", KeyCode::Backspace, NONE, "backspace"),
        ("up", KeyCode::Up, NONE, "up"),
        ("shift-up", KeyCode::Up, SHIFT, "shift-up"),
        ("down", KeyCode::Down, NONE, "down"),
        ("left", KeyCode::Left, NONE, "left"),
        ("right", KeyCode::Right, NONE, "right"),
        ("home", KeyCode::Home, NONE, "home"),
        ("end", KeyCode::End, NONE, "end"),
        ("pgup", KeyCode::PageUp, NONE, "pgup"),
        ("PageDown", KeyCode::PageDown, NONE, "pgdn"),
        ("f1", KeyCode::F(1), NONE, "f1"),
        ("F12", KeyCode::F(12), NONE, "f12"),
        ("space", KeyCode::Char(' '), NONE, "space"),
        (" ", KeyCode::Char(' '), NONE, "space"),
        ("ctrl-space", KeyCode::Char(' '), CTRL, "ctrl-space"),
        ("delete", KeyCode::Delete, NONE, "delete"),
    ];
    for (text, code, mods, shown) in cases {
        let k = Key::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(k, Key { code, mods }, "{text}");
        assert_eq!(k.to_string(), shown, "{text}");
        assert_eq!(Key::parse(shown), Ok(k), "{shown}");
    }
    for bad in [
        "", "ctrl-", "escc", "f13", "f0", "shift-1", "hyper-x", "ctrl+c",
    ] {
        assert!(Key::parse(bad).is_err(), "{bad}");
    }
    let (msg, fix) = Key::parse("escap").unwrap_err();
    assert_eq!(msg, "\"escap\" is not a key");
    assert!(fix.starts_with("did you mean \"escape\"?"), "{fix}");
}

// ---- Overrides

fn load(text: &str) -> (Keymap, Vec<String>) {
    Keymap::from_toml("keys.toml", text)
}

#[test]
fn an_override_replaces_the_defaults_of_its_action_only() {
    let (map, warnings) =
        load("[normal]\nfailover = \"F\"\nquit = [\"q\", \"ctrl-q\"]\n[dialog]\nback = \"esc\"\n");
    assert!(warnings.is_empty(), "{warnings:?}");
    let n = Context::Normal;
    assert_eq!(on(&map, n, typed('F')), Some(Action::Failover));
    assert_eq!(on(&map, n, typed('f')), None);
    assert_eq!(
        on(&map, n, ev(KeyCode::Char('q'), CTRL)),
        Some(Action::Quit)
    );
    assert_eq!(on(&map, n, ev(KeyCode::Char('c'), CTRL)), None);
    assert_eq!(on(&map, n, typed('s')), Some(Action::Switchover));
    assert_eq!(on(&map, Context::Dialog, typed('q')), None);
    assert_eq!(
        on(&map, Context::Dialog, ev(KeyCode::Esc, NONE)),
        Some(Action::Back)
    );
    // Other contexts keep their defaults.
    assert_eq!(on(&map, Context::Help, typed('q')), Some(Action::Back));
}

#[test]
fn action_names_may_use_dashes_and_an_empty_list_unbinds() {
    let (map, warnings) = load("[normal]\npause-job = \"ctrl-p\"\ninject_fault = []\n");
    assert!(warnings.is_empty(), "{warnings:?}");
    let n = Context::Normal;
    assert_eq!(
        on(&map, n, ev(KeyCode::Char('p'), CTRL)),
        Some(Action::PauseJob)
    );
    assert_eq!(on(&map, n, typed('x')), None);
    assert!(map.keys(n, &Action::InjectFault).is_empty());
}

#[test]
fn a_conflict_is_reported_and_the_override_takes_the_key() {
    let (map, warnings) = load("[normal]\nfailover = \"s\"\n");
    assert_eq!(
        on(&map, Context::Normal, typed('s')),
        Some(Action::Failover)
    );
    assert_eq!(
        warnings,
        [
            "keys.toml:2:1: [normal].failover: \"s\" is bound to both failover and switchover \
             (its default); \"s\" now does failover\n  fix: bind switchover or failover to \
             another key in [normal]",
            "keys.toml: [normal].switchover: switchover has no key left after the conflicts \
             above\n  fix: give it one, e.g. switchover = \"…\" in [normal]",
        ]
    );
}

#[test]
fn of_two_overrides_on_one_key_the_later_wins() {
    let (map, warnings) = load("[normal]\nfailover = [\"z\", \"F\"]\ncancel = \"z\"\n");
    assert_eq!(on(&map, Context::Normal, typed('z')), Some(Action::Cancel));
    assert_eq!(
        on(&map, Context::Normal, typed('F')),
        Some(Action::Failover)
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "keys.toml:3:1: [normal].cancel: \"z\" is bound to both cancel and failover (line 2)"
        ),
        "{}",
        warnings[0]
    );
}

#[test]
fn swapping_two_actions_keys_is_no_conflict() {
    let (map, warnings) = load("[normal]\nfailover = \"s\"\nswitchover = \"f\"\n");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        on(&map, Context::Normal, typed('s')),
        Some(Action::Failover)
    );
    assert_eq!(
        on(&map, Context::Normal, typed('f')),
        Some(Action::Switchover)
    );
}

#[test]
fn unknown_actions_and_sections_are_reported_with_a_guess() {
    let (map, warnings) = load(
        "[normal]\nfailvoer = \"F\"\nfocus_next = \"n\"\n[dialgo]\nback = \"n\"\n[help]\nzzz = \"z\"\n",
    );
    assert_eq!(map, Keymap::default());
    let all = warnings.join("\n");
    for want in [
        "keys.toml:2:1: [normal].failvoer: unknown action \"failvoer\"\n  fix: did you mean \"failover\"?",
        "keys.toml:3:1: [normal].focus_next: \"focus_next\" is not an action in [normal]",
        "keys.toml:4:2: dialgo: unknown section \"dialgo\"\n  fix: did you mean \"dialog\"?",
        "keys.toml:7:1: [help].zzz: unknown action \"zzz\"\n  fix: the actions of [help] are down, up",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
    assert_eq!(warnings.len(), 4, "{all}");
}

#[test]
fn bad_keys_are_reported_and_left_out() {
    let (map, warnings) = load(
        "[normal]\nfailover = [\"F\", \"ctrl+f\"]\ncancel = \"ctrl+c\"\nquit = 3\nhelp = [1]\n[text]\ncomplete = \"a\"\n",
    );
    let n = Context::Normal;
    // One good key of two: it is used.
    assert_eq!(map.keys(n, &Action::Failover), [Key::parse("F").unwrap()]);
    // No good key: the defaults stay.
    assert_eq!(on(&map, n, typed('c')), Some(Action::Cancel));
    assert_eq!(on(&map, n, typed('q')), Some(Action::Quit));
    assert_eq!(on(&map, n, typed('?')), Some(Action::Help));
    assert_eq!(
        on(&map, Context::Text, ev(KeyCode::Tab, NONE)),
        Some(Action::Complete)
    );
    assert_eq!(on(&map, Context::Text, typed('a')), Some(Action::Char('a')));
    let all = warnings.join("\n");
    for want in [
        "keys.toml:2:18: [normal].failover: \"ctrl+f\" is not a key\n  fix: a key is",
        "keys.toml:3:10: [normal].cancel: \"ctrl+c\" is not a key",
        "keys.toml:3:1: [normal].cancel: no usable key given; cancel keeps its default keys (c)",
        "keys.toml:4:8: [normal].quit: expected a key or a list of keys",
        "[normal].quit: no usable key given; quit keeps its default keys (q, ctrl-c)",
        "keys.toml:5:9: [normal].help: 1 is not a key",
        "[normal].help: no usable key given; help keeps its default keys (?)",
        "keys.toml:7:12: [text].complete: \"a\" is typed into text fields and cannot be bound there",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
}

#[test]
fn bad_toml_keeps_every_default() {
    let (map, warnings) = load("[normal]\nfailover = F\n");
    assert_eq!(map, Keymap::default());
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("keys.toml:2:12: TOML syntax error:"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("using the default keys"));
}

#[test]
fn an_action_only_on_f_keys_is_reported() {
    let (map, warnings) = load("[normal]\nfailover = \"f5\"\nhelp = [\"f1\", \"?\"]\n");
    assert_eq!(
        on(&map, Context::Normal, ev(KeyCode::F(5), NONE)),
        Some(Action::Failover)
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("failover is bound only to F-keys"),
        "{}",
        warnings[0]
    );
}

// ---- Help

#[test]
fn help_lists_every_binding_of_the_context() {
    let map = Keymap::default();
    let lines = map.help_lines(Context::Normal, View::Fleet);
    assert_eq!(lines.len(), NORMAL.len());
    assert_eq!(lines[0], ("?".to_string(), "help: every key".to_string()));
    let find = |lines: &[(String, String)], what: &str| {
        lines
            .iter()
            .find(|(_, w)| w.starts_with(what))
            .map(|(k, _)| k.clone())
    };
    assert_eq!(find(&lines, "quit").as_deref(), Some("q, ctrl-c"));
    assert_eq!(find(&lines, "previous view").as_deref(), Some("shift-tab"));
    assert_eq!(find(&lines, "page down").as_deref(), Some("pgdn, ctrl-d"));
    assert_eq!(find(&lines, "fail the selected").as_deref(), Some("f"));
    for (action, keys, _) in NORMAL {
        let shown = keys.join(", ");
        assert!(
            lines.iter().any(|(k, _)| *k == shown),
            "{action:?} ({shown}) missing from help"
        );
    }
    let text = map.help_lines(Context::Text, View::Fleet);
    assert_eq!(text[0].0, "any character");
    assert_eq!(text.len(), TEXT.len() + 1);
    assert_eq!(
        map.help_lines(Context::Dialog, View::Jobs).len(),
        DIALOG.len()
    );
    assert_eq!(map.help_lines(Context::Help, View::Jobs).len(), HELP.len());
}

#[test]
fn help_reflects_overrides() {
    let (map, _) = load("[normal]\nfailover = [\"F\", \"ctrl-f\"]\ninject_fault = []\n");
    let lines = map.help_lines(Context::Normal, View::Jobs);
    assert!(lines.contains(&(
        "F, ctrl-f".to_string(),
        "fail the selected job over…".to_string()
    )));
    assert!(!lines.iter().any(|(_, w)| w.contains("inject")));
    assert_eq!(lines.len(), NORMAL.len() - 1);
}

// ---- Context

#[test]
fn context_follows_the_console_state() {
    let mut ui = UiState::default();
    assert_eq!(Context::of(&ui), Context::Normal);
    ui.filter = Filter {
        text: "gpu".into(),
        editing: true,
    };
    assert_eq!(Context::of(&ui), Context::Text);
    ui.filter.editing = false;
    assert_eq!(Context::of(&ui), Context::Normal);
    ui.overlay = Overlay::Help;
    assert_eq!(Context::of(&ui), Context::Help);
    ui.overlay = Overlay::Palette(Palette::default());
    assert_eq!(Context::of(&ui), Context::Text);
    ui.overlay = Overlay::Dialog(Box::default());
    assert_eq!(Context::of(&ui), Context::Dialog);
    ui.overlay = Overlay::Dialog(Box::new(Dialog {
        focus: Focus::Typing,
        ..Dialog::default()
    }));
    assert_eq!(Context::of(&ui), Context::Text);
}
