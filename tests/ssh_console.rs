//! The console over SSH with real parts: the server on loopback, OpenSSH `ssh` clients
//! in tmux (host key pinned, never unchecked), and a test screen that shows what it was
//! told. Logins, identities, keys, resizes, refusals, a stalled client, a clean
//! terminal after quitting, and shutdown.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/console_bed.rs"]
mod console_bed;
#[path = "support/console_screen.rs"]
mod console_screen;
#[path = "support/ssh_keys.rs"]
mod ssh_keys;
#[path = "support/tmux_driver.rs"]
mod tmux_driver;

use console_bed::{keygen_fingerprint, Bed};
use lifeboat::runtime::ssh_console::{NEEDS_TTY, NO_COMMANDS, SHUTTING_DOWN};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tmux_driver::{frame_number, signal, Stopped, Tmux};

/// Waits for `cond`, failing with `what` after `secs`.
fn wait_until(what: &str, secs: u64, cond: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn strangers_commands_and_logins_without_a_terminal_are_refused() {
    let bed = Bed::start();
    assert_eq!(
        bed.fingerprint,
        keygen_fingerprint(&bed.host_key),
        "the printed fingerprint is ssh-keygen's"
    );

    let out = bed.ssh_output("stranger", &["-T", "op@127.0.0.1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{err}");
    assert!(err.contains("Permission denied (publickey)"), "{err}");

    let out = bed.ssh_output("alice", &["-T", "op@127.0.0.1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim(), NEEDS_TTY);

    let out = bed.ssh_output("bob", &["op@127.0.0.1", "uname", "-a"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim(), NO_COMMANDS);
    assert!(out.stdout.is_empty());

    // No screen ever ran.
    assert_eq!(bed.screens.count(), 0);
}

#[test]
fn two_operators_keys_resizes_a_stalled_client_a_clean_quit_and_shutdown() {
    let mut bed = Bed::start();
    let t = Tmux::new();
    t.session(
        "alice",
        80,
        24,
        &bed.ssh_line("alice", "-o SetEnv=NO_COLOR=1"),
    );
    t.session("bob", 160, 48, &bed.ssh_line("bob", ""));

    // Each sees its own identity, key, size and terminal.
    let a = t.wait_for("alice", "frame ", 20);
    let alice_fp = keygen_fingerprint(&bed.dir.path().join("alice.pub"));
    assert!(a.contains("who: alice operator"), "{a}");
    assert!(a.contains(&format!("key: {alice_fp}")), "{a}");
    assert!(a.contains("from: 127.0.0.1:"), "{a}");
    assert!(
        a.contains("size 80x24 term xterm-256color no_color true"),
        "{a}"
    );
    let b = t.wait_for("bob", "frame ", 20);
    assert!(b.contains("who: bob viewer"), "{b}");
    assert!(
        b.contains("size 160x48 term xterm-256color no_color false"),
        "{b}"
    );
    assert_eq!(t.format("alice", "#{alternate_on}"), "1");
    // Colours reach bob; alice asked for none but keeps bold.
    let coloured = |l: &str| ["[31m", "[91m", "38;5;"].iter().any(|c| l.contains(c));
    let styled = t.screen_with_styles("alice");
    let who = styled.lines().find(|l| l.contains("who: alice")).unwrap();
    assert!(who.contains("\x1b[1m") && !coloured(who), "{who:?}");
    let styled = t.screen_with_styles("bob");
    let who = styled.lines().find(|l| l.contains("who: bob")).unwrap();
    assert!(coloured(who), "{who:?}");

    // Keys typed in tmux arrive as the right events.
    t.keys(
        "alice",
        &["Up", "C-a", "M-x", "F5", "BTab", "NPage", "Home", "DC"],
    );
    t.literal("alice", "é");
    t.hex("alice", b"\x1b[<0;5;3M");
    t.hex("alice", b"\x1b[<64;2;2M");
    t.keys("alice", &["Escape"]);
    t.wait_for(
        "alice",
        "keys: Up C-a M-x F5 BTab PgDn Home Del é click@4,2 wheel-up@1,1 Esc",
        10,
    );

    // A resize of the terminal is a resize of the session.
    t.run(&["resize-window", "-t", "alice", "-x", "100", "-y", "30"]);
    t.wait_for("alice", "size 100x30", 10);

    // bob's client stops reading: his frames back up to the SSH window, then are
    // skipped; alice's counter keeps moving and bob's server side takes on nothing more.
    let bob = bed.screens.of("bob").unwrap();
    let alice = bed.screens.of("alice").unwrap();
    let stopped = Stopped::stop(t.ssh_pid("bob"));
    let bytes_at_stop = bob.delivered_bytes.load(Ordering::Relaxed);
    bob.noise.store(true, Ordering::Relaxed);
    // Blocked: while the screen draws 5 more frames, none of them is taken on.
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let (frames, published) = (
            bob.delivered_frames.load(Ordering::Relaxed),
            bob.published.load(Ordering::Relaxed),
        );
        wait_until("bob's screen draws 5 more frames", 20, || {
            bob.published.load(Ordering::Relaxed) >= published + 5
        });
        if bob.delivered_frames.load(Ordering::Relaxed) == frames {
            break;
        }
        assert!(Instant::now() < end, "bob's writer never blocked");
    }
    let frames_then = bob.delivered_frames.load(Ordering::Relaxed);
    let bytes_then = bob.delivered_bytes.load(Ordering::Relaxed);
    let published_then = bob.published.load(Ordering::Relaxed);
    let alice_then = frame_number(&t.screen("alice")).unwrap();
    t.wait("alice", "her counter move on by 10", 20, |s| {
        frame_number(s).is_some_and(|n| n >= alice_then + 10)
    });
    wait_until("bob's screen draws 10 more frames", 20, || {
        bob.published.load(Ordering::Relaxed) >= published_then + 10
    });
    assert_eq!(
        bob.delivered_frames.load(Ordering::Relaxed),
        frames_then,
        "frames for a stopped client were taken on instead of skipped"
    );
    assert_eq!(bob.delivered_bytes.load(Ordering::Relaxed), bytes_then);
    // What was taken on is about one SSH window (OpenSSH's is 2 MiB) and a few frames.
    let buffered = bytes_then - bytes_at_stop;
    assert!(
        buffered < 8 << 20,
        "{buffered} bytes buffered for a stopped client"
    );
    assert!(alice.published.load(Ordering::Relaxed) > alice_then);

    // bob's client wakes up: it catches up and shows the latest frame.
    drop(stopped);
    bob.noise.store(false, Ordering::Relaxed);
    let now = bob.published.load(Ordering::Relaxed);
    t.wait("bob", "the latest frame", 60, |s| {
        frame_number(s).is_some_and(|n| n >= now)
            && s.lines().nth(10).is_some_and(|l| l.trim().is_empty())
    });
    assert!(bob.delivered_frames.load(Ordering::Relaxed) > frames_then);

    // alice quits: her terminal is left as it was, ssh exits 0.
    t.keys("alice", &["q"]);
    let s = t.wait_for("alice", "ssh exited 0", 10);
    assert!(
        !s.contains("who: alice"),
        "the console's screen was left behind:\n{s}"
    );
    assert_eq!(t.format("alice", "#{alternate_on}"), "0");
    wait_until("alice's screen ends", 5, || {
        alice.ended.load(Ordering::Relaxed)
    });

    // A dropped connection ends its screen.
    t.session("carol", 80, 24, &bed.ssh_line("alice", ""));
    t.wait_for("carol", "frame ", 20);
    let carol = bed.screens.of("alice").unwrap();
    signal(t.ssh_pid("carol"), "KILL");
    wait_until("the dropped session's screen ends", 10, || {
        carol.ended.load(Ordering::Relaxed)
    });

    // Shutdown ends bob's session cleanly and serve returns.
    bed.shutdown();
    let s = t.wait_for("bob", "ssh exited 1", 10);
    // The goodbye follows the restored screen (tmux may scroll it into the history).
    let all = t.history("bob");
    assert!(all.contains(&format!("{SHUTTING_DOWN}\n")), "{all}");
    assert!(!s.contains("who: bob"), "{s}");
    assert_eq!(t.format("bob", "#{alternate_on}"), "0");
    assert!(bob.ended.load(Ordering::Relaxed));
}
