//! Faults: a host killed mid-call (then restarted), a host frozen with SIGSTOP, and
//! hostile output (floods, binary junk).

use super::*;
use std::fs;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_host_is_unreachable_then_reconnects_after_restart() {
    let mut h = Sshd::start("phoenix");
    let spec = h.spec();
    let sh = shell(&spec);
    ok(&sh, &spec, "true").await;
    let call = {
        let (sh, spec) = (sh.clone(), spec.clone());
        tokio::spawn(async move { run(&sh, &spec, "sleep 10; echo late").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    h.kill();
    match call.await.unwrap() {
        Err(ShellError::Unreachable(_)) => {}
        other => panic!("expected Unreachable mid-call, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    // While it is down: refused fast, never hanging.
    for _ in 0..3 {
        let t = Instant::now();
        assert!(matches!(
            run(&sh, &spec, "true").await,
            Err(ShellError::Unreachable(_))
        ));
        assert!(t.elapsed() < Duration::from_secs(2));
    }
    h.restart();
    tokio::time::sleep(Duration::from_millis(250)).await; // past the backoff
    assert_eq!(text(&ok(&sh, &spec, "echo back").await.stdout), "back\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_host_hits_the_deadline_without_hanging() {
    let h = Sshd::start("frozen");
    let spec = h.spec();
    let sh = shell(&spec);
    ok(&sh, &spec, "true").await;
    h.pause();
    let limit = Duration::from_millis(800);
    // On the open connection…
    let t = Instant::now();
    let r = sh.run(&spec, "echo hi", limit, CAP).await;
    assert_eq!(r, Err(ShellError::Timeout(limit)));
    assert!(
        t.elapsed() < limit + Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // …and on a fresh connect (TCP accepts, the SSH banner never comes).
    let fresh = shell(&spec);
    let t = Instant::now();
    assert_eq!(
        fresh.run(&spec, "echo hi", limit, CAP).await,
        Err(ShellError::Timeout(limit))
    );
    assert!(
        t.elapsed() < limit + Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    h.resume();
    assert_eq!(
        text(&ok(&sh, &spec, "echo thawed").await.stdout),
        "thawed\n"
    );
}

/// Peak resident memory of this test process, in bytes.
fn peak_rss() -> usize {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_output_is_bounded() {
    let h = Sshd::start("noisy");
    let spec = h.spec();
    let sh = shell(&spec);
    ok(&sh, &spec, "true").await;
    let before = peak_rss();
    let cap = 64 << 10;
    let t = Instant::now();
    let out = sh
        .run(
            &spec,
            "head -c 50000000 /dev/zero; head -c 50000000 /dev/zero >&2; echo end",
            Duration::from_secs(30),
            cap,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), cap);
    assert!(out.stderr.len() <= cap);
    assert!(out.truncated);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 40 << 20, "memory grew by {grown} bytes");
    // A little too much output: cut at the cap, the exit status still arrives.
    let out = sh
        .run(&spec, "seq 1 100000; exit 7", Duration::from_secs(20), 1000)
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.truncated);
    assert_eq!(out.exit, Some(7));
    // Binary junk is just bytes.
    let out = ok(
        &sh,
        &spec,
        "head -c 200000 /dev/urandom; head -c 3000 /dev/urandom >&2",
    )
    .await;
    assert_eq!(out.stdout.len(), 200_000);
    assert_eq!(out.stderr.len(), 3000);
    assert_eq!(out.exit, Some(0));
    // The connection is still good afterwards.
    assert_eq!(text(&ok(&sh, &spec, "echo fine").await.stdout), "fine\n");
}
