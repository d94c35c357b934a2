//! `[[drill]]`: runbooks run on a schedule — which, how often, in which window.

use super::*;
use std::time::Duration;

#[test]
fn a_drill_table_gives_the_runbook_its_period_and_its_window() {
    let c = ok(&with(
        "[[drill]]\nrunbook = \"restore-test\"\nevery = \"7d\"\nwindow = \"Mon-Fri 10:00-16:00\"\n\n[[drill]]\nrunbook = \"job-crash\"\nevery = \"30d\"\n",
    ));
    assert_eq!(c.drills.len(), 2);
    assert_eq!(c.drills[0].runbook, "restore-test");
    assert_eq!(c.drills[0].every, Duration::from_secs(7 * 86_400));
    assert_eq!((c.drills[0].window.from, c.drills[0].window.to), (600, 960));
    assert!(c.drills[1].window.contains(6, 0), "no window: any time");
    assert!(ok(BASE).drills.is_empty());
}

/// The 1-based line of `text` that holds `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn an_unknown_runbook_a_too_short_period_and_a_bad_window_name_their_key_and_fix() {
    let t = with("[[drill]]\nrunbook = \"restore-tset\"\nevery = \"7d\"\n");
    let p = one(&t);
    check(
        &p,
        line_of(&t, "restore-tset"),
        "drill[0].runbook",
        &["there is no runbook \"restore-tset\""],
        &["restore-test"],
    );
    let t = with("[[drill]]\nrunbook = \"restore-test\"\nevery = \"10m\"\n");
    let p = one(&t);
    check(
        &p,
        line_of(&t, "10m"),
        "drill[0].every",
        &["more often than hourly"],
        &["\"7d\""],
    );
    let t = with(
        "[[drill]]\nrunbook = \"restore-test\"\nevery = \"7d\"\nwindow = \"Fri-Mon 10:00-16:00\"\n",
    );
    let p = one(&t);
    check(
        &p,
        line_of(&t, "Fri-Mon"),
        "drill[0].window",
        &["runs backwards"],
        &["Mon-Fri 10:00-16:00"],
    );
    let t = with("[[drill]]\nrunbook = \"restore-test\"\n");
    let p = one(&t);
    check(
        &p,
        line_of(&t, "[[drill]]"),
        "drill[0].every",
        &["how often"],
        &["every = \"7d\""],
    );
}
