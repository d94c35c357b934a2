//! The input parser: a table of sequences and their events, cut sequences, the ESC
//! delay, and properties over arbitrary bytes (no panic, bounded buffer, splitting
//! anywhere changes nothing).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use proptest::prelude::*;

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const ALT: KeyModifiers = KeyModifiers::ALT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

fn k(code: KeyCode, mods: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, mods))
}

fn c(ch: char) -> Event {
    k(KeyCode::Char(ch), NONE)
}

fn mouse(kind: MouseEventKind, column: u16, row: u16, modifiers: KeyModifiers) -> Event {
    Event::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers,
    })
}

/// Everything `bytes` give, the ESC delay included.
fn all(bytes: &[u8]) -> Vec<Event> {
    let mut p = InputParser::new();
    let mut out = p.feed(bytes);
    out.extend(p.flush());
    out
}

#[test]
fn each_sequence_gives_its_event() {
    let table: Vec<(&[u8], Vec<Event>)> = vec![
        (b"a", vec![c('a')]),
        (b"A", vec![k(KeyCode::Char('A'), SHIFT)]),
        (b" ~", vec![c(' '), c('~')]),
        ("é€😀".as_bytes(), vec![c('é'), c('€'), c('😀')]),
        ("Ж".as_bytes(), vec![k(KeyCode::Char('Ж'), SHIFT)]),
        (b"\r", vec![k(KeyCode::Enter, NONE)]),
        (b"\n", vec![k(KeyCode::Enter, NONE)]),
        (b"\t", vec![k(KeyCode::Tab, NONE)]),
        (b"\x7f", vec![k(KeyCode::Backspace, NONE)]),
        (b"\x08", vec![k(KeyCode::Backspace, NONE)]),
        (b"\x01", vec![k(KeyCode::Char('a'), CTRL)]),
        (b"\x03", vec![k(KeyCode::Char('c'), CTRL)]),
        (b"\x1a", vec![k(KeyCode::Char('z'), CTRL)]),
        (b"\x00", vec![k(KeyCode::Char(' '), CTRL)]),
        (
            b"\x1c\x1f",
            vec![k(KeyCode::Char('\\'), CTRL), k(KeyCode::Char('_'), CTRL)],
        ),
        (b"\x1b", vec![k(KeyCode::Esc, NONE)]),
        (
            b"\x1b\x1b",
            vec![k(KeyCode::Esc, NONE), k(KeyCode::Esc, NONE)],
        ),
        (b"\x1bx", vec![k(KeyCode::Char('x'), ALT)]),
        (b"\x1bX", vec![k(KeyCode::Char('X'), ALT | SHIFT)]),
        (b"\x1b\x01", vec![k(KeyCode::Char('a'), ALT | CTRL)]),
        (b"\x1b\x7f", vec![k(KeyCode::Backspace, ALT)]),
        (b"\x1b\r", vec![k(KeyCode::Enter, ALT)]),
        ("\x1bé".as_bytes(), vec![k(KeyCode::Char('é'), ALT)]),
        (b"\x1b[", vec![k(KeyCode::Char('['), ALT)]),
        (b"\x1bO", vec![k(KeyCode::Char('O'), ALT | SHIFT)]),
        (
            b"\x1b[A\x1b[B\x1b[C\x1b[D",
            vec![
                k(KeyCode::Up, NONE),
                k(KeyCode::Down, NONE),
                k(KeyCode::Right, NONE),
                k(KeyCode::Left, NONE),
            ],
        ),
        (
            b"\x1bOA\x1bOD\x1bOH\x1bOF",
            vec![
                k(KeyCode::Up, NONE),
                k(KeyCode::Left, NONE),
                k(KeyCode::Home, NONE),
                k(KeyCode::End, NONE),
            ],
        ),
        (
            b"\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[7~\x1b[8~",
            vec![
                k(KeyCode::Home, NONE),
                k(KeyCode::End, NONE),
                k(KeyCode::Home, NONE),
                k(KeyCode::End, NONE),
                k(KeyCode::Home, NONE),
                k(KeyCode::End, NONE),
            ],
        ),
        (
            b"\x1b[2~\x1b[3~\x1b[5~\x1b[6~",
            vec![
                k(KeyCode::Insert, NONE),
                k(KeyCode::Delete, NONE),
                k(KeyCode::PageUp, NONE),
                k(KeyCode::PageDown, NONE),
            ],
        ),
        (
            b"\x1bOP\x1bOQ\x1bOR\x1bOS",
            vec![
                k(KeyCode::F(1), NONE),
                k(KeyCode::F(2), NONE),
                k(KeyCode::F(3), NONE),
                k(KeyCode::F(4), NONE),
            ],
        ),
        (
            b"\x1b[11~\x1b[15~\x1b[17~\x1b[21~\x1b[23~\x1b[24~",
            vec![
                k(KeyCode::F(1), NONE),
                k(KeyCode::F(5), NONE),
                k(KeyCode::F(6), NONE),
                k(KeyCode::F(10), NONE),
                k(KeyCode::F(11), NONE),
                k(KeyCode::F(12), NONE),
            ],
        ),
        (b"\x1b[1;5A", vec![k(KeyCode::Up, CTRL)]),
        (b"\x1b[1;2D", vec![k(KeyCode::Left, SHIFT)]),
        (b"\x1b[1;3H", vec![k(KeyCode::Home, ALT)]),
        (b"\x1b[1;8C", vec![k(KeyCode::Right, SHIFT | ALT | CTRL)]),
        (b"\x1b[3;5~", vec![k(KeyCode::Delete, CTRL)]),
        (b"\x1b[1;2P", vec![k(KeyCode::F(1), SHIFT)]),
        (b"\x1b[15;6~", vec![k(KeyCode::F(5), SHIFT | CTRL)]),
        (b"\x1b[Z", vec![k(KeyCode::BackTab, SHIFT)]),
        (b"\x1b[I\x1b[O", vec![Event::FocusGained, Event::FocusLost]),
        (
            b"\x1b[<0;5;3M",
            vec![mouse(MouseEventKind::Down(MouseButton::Left), 4, 2, NONE)],
        ),
        (
            b"\x1b[<0;5;3m",
            vec![mouse(MouseEventKind::Up(MouseButton::Left), 4, 2, NONE)],
        ),
        (
            b"\x1b[<2;1;1M",
            vec![mouse(MouseEventKind::Down(MouseButton::Right), 0, 0, NONE)],
        ),
        (
            b"\x1b[<1;10;20M",
            vec![mouse(
                MouseEventKind::Down(MouseButton::Middle),
                9,
                19,
                NONE,
            )],
        ),
        (
            b"\x1b[<32;7;8M",
            vec![mouse(MouseEventKind::Drag(MouseButton::Left), 6, 7, NONE)],
        ),
        (
            b"\x1b[<35;7;8M",
            vec![mouse(MouseEventKind::Moved, 6, 7, NONE)],
        ),
        (
            b"\x1b[<64;3;4M",
            vec![mouse(MouseEventKind::ScrollUp, 2, 3, NONE)],
        ),
        (
            b"\x1b[<65;3;4M",
            vec![mouse(MouseEventKind::ScrollDown, 2, 3, NONE)],
        ),
        (
            b"\x1b[<16;3;4M",
            vec![mouse(MouseEventKind::Down(MouseButton::Left), 2, 3, CTRL)],
        ),
        (
            b"\x1b[<84;3;4M",
            vec![mouse(MouseEventKind::ScrollUp, 2, 3, SHIFT | CTRL)],
        ),
        (
            b"\x1b[M !!",
            vec![mouse(MouseEventKind::Down(MouseButton::Left), 0, 0, NONE)],
        ),
        (
            b"\x1b[M#*+",
            vec![mouse(MouseEventKind::Up(MouseButton::Left), 9, 10, NONE)],
        ),
        // Paste markers, replies and unknown sequences are read whole and dropped.
        (b"\x1b[200~hi\x1b[201~", vec![c('h'), c('i')]),
        (b"\x1b[?1;2c\x1b[>0;1c\x1b[99~\x1b[1$x", vec![]),
        (b"\x1b[97;5u", vec![]),
        (b"\x1bOz", vec![]),
        // Garbage: stray continuation bytes, bad leads, overlong forms.
        (b"\x80\xbf\xc0\xc1\xf5\xffx", vec![c('x')]),
        (b"\xe0\x80\x80y", vec![c('y')]),
        (b"\xc3(", vec![c('(')]),
        (b"\x1b[1;\x07z", vec![k(KeyCode::Char('g'), CTRL), c('z')]),
        (b"\x1b\x80q", vec![k(KeyCode::Esc, NONE), c('q')]),
    ];
    for (bytes, want) in table {
        assert_eq!(all(bytes), want, "for {:?}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn a_sequence_cut_by_packets_waits_for_the_rest() {
    let mut p = InputParser::new();
    assert_eq!(p.feed(b"a\x1b[1;"), vec![c('a')]);
    assert!(p.has_pending());
    assert_eq!(p.deadline(), Some(ESC_DELAY));
    assert_eq!(p.feed(b"5"), vec![]);
    assert_eq!(p.feed(b"B"), vec![k(KeyCode::Down, CTRL)]);
    assert!(!p.has_pending());
    assert_eq!(p.deadline(), None);
    // A character cut in the middle.
    let euro = "€".as_bytes();
    assert_eq!(p.feed(&euro[..1]), vec![]);
    assert_eq!(p.feed(&euro[1..2]), vec![]);
    assert_eq!(p.feed(&euro[2..]), vec![c('€')]);
    // A mouse report cut after ESC.
    assert_eq!(p.feed(b"\x1b"), vec![]);
    assert_eq!(
        p.feed(b"[<64;1;1M"),
        vec![mouse(MouseEventKind::ScrollUp, 0, 0, NONE)]
    );
}

#[test]
fn a_lone_escape_is_escape_only_after_the_delay() {
    let mut p = InputParser::new();
    assert_eq!(p.feed(b"\x1b"), vec![]);
    assert_eq!(p.flush_if_idle(ESC_DELAY / 2), vec![]);
    assert!(p.has_pending());
    assert_eq!(p.flush_if_idle(ESC_DELAY), vec![k(KeyCode::Esc, NONE)]);
    assert!(!p.has_pending());
    // An unfinished CSI is dropped at the delay; what follows parses afresh.
    assert_eq!(p.feed(b"\x1b[12"), vec![]);
    assert_eq!(p.flush_if_idle(ESC_DELAY), vec![]);
    assert_eq!(p.feed(b"~"), vec![c('~')]);
    // Half a character at the delay is dropped.
    assert_eq!(p.feed(&"é".as_bytes()[..1]), vec![]);
    assert_eq!(p.flush_if_idle(ESC_DELAY * 2), vec![]);
    assert!(!p.has_pending());
}

#[test]
fn an_endless_sequence_is_dropped_and_the_buffer_stays_small() {
    let mut p = InputParser::new();
    let mut long = b"\x1b[".to_vec();
    long.extend(std::iter::repeat_n(b'1', 500));
    long.extend(b"Ax");
    let mut out = Vec::new();
    for chunk in long.chunks(7) {
        out.extend(p.feed(chunk));
        assert!(p.pending.len() <= MAX_PENDING);
    }
    // The first MAX_PENDING bytes are dropped; the rest are digits, then 'A', 'x'.
    assert_eq!(out.last(), Some(&c('x')));
    assert!(out
        .iter()
        .all(|e| !matches!(e, Event::Key(k) if k.code == KeyCode::Up)));
}

fn split_feed(bytes: &[u8], cuts: &[usize]) -> (Vec<Event>, usize) {
    let mut p = InputParser::new();
    let mut out = Vec::new();
    let mut max_pending = 0;
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    for cut in points.into_iter().chain([bytes.len()]) {
        out.extend(p.feed(&bytes[at..cut]));
        max_pending = max_pending.max(p.pending.len());
        at = cut;
    }
    out.extend(p.flush());
    (out, max_pending)
}

/// Bytes rich in what the parser cares about: escapes, brackets, digits, UTF-8 leads.
fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        any::<u8>(),
        Just(0x1b),
        Just(b'['),
        Just(b'O'),
        Just(b'<'),
        Just(b';'),
        Just(b'M'),
        Just(b'~'),
        (b'0'..=b'9'),
        (0x80u8..=0xbf),
        (0xc2u8..=0xf4),
    ];
    proptest::collection::vec(byte, 0..200)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_the_buffer_stays_bounded(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let (_, max_pending) = split_feed(&bytes, &cuts);
        prop_assert!(max_pending <= MAX_PENDING);
    }

    #[test]
    fn splitting_anywhere_gives_the_same_events(
        bytes in interesting_bytes(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let (whole, _) = split_feed(&bytes, &[]);
        let (split, max_pending) = split_feed(&bytes, &cuts);
        prop_assert_eq!(whole, split);
        prop_assert!(max_pending <= MAX_PENDING);
    }

    #[test]
    fn text_comes_back_as_its_characters(s in "[^\\x00-\\x1f\\x7f]{0,40}") {
        let chars: Vec<char> = all(s.as_bytes())
            .into_iter()
            .filter_map(|e| match e {
                Event::Key(k) => match k.code {
                    KeyCode::Char(c) => Some(c),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        prop_assert_eq!(chars, s.chars().collect::<Vec<_>>());
    }
}
