//! Streaming over SSH (`read_stream`, `write_stream`) against a real sshd: whole files
//! byte-exact by SHA-256, backpressure, exit codes, stalls, early ends, aborts and a
//! host that dies mid-transfer; plus a throughput print for a 256 MiB read.

use super::sshd::{self, Sshd};
use super::{settings, shell};
use bytes::Bytes;
use lifeboat::core::fleet::HostSpec;
use lifeboat::runtime::shell::{Shell, ShellError, ShellOutput};
use lifeboat::runtime::ssh::SshShell;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const MIB: usize = 1 << 20;
const STALL: Duration = Duration::from_secs(10);

type Chunk = Result<Bytes, String>;

/// Deterministic, incompressible bytes: block `i` of 1 MiB.
fn block(i: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64 + 1);
    let mut out = Vec::with_capacity(MIB);
    while out.len() < MIB {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Writes `mib` MiB of `block`s to `path`; returns their SHA-256 (hex).
fn fill(path: &Path, mib: usize) -> String {
    let mut f = fs::File::create(path).unwrap();
    let mut h = Sha256::new();
    for i in 0..mib {
        let b = block(i);
        h.update(&b);
        f.write_all(&b).unwrap();
    }
    hex(h)
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn file_sha(path: &Path) -> String {
    let mut h = Sha256::new();
    h.update(fs::read(path).unwrap());
    hex(h)
}

/// Receives everything: (bytes, SHA-256, chunks, the `Err` item if one came).
async fn drain(
    mut rx: mpsc::Receiver<Chunk>,
    pause: Duration,
) -> (usize, String, usize, Option<String>) {
    let (mut n, mut chunks, mut h) = (0, 0, Sha256::new());
    while let Some(c) = rx.recv().await {
        match c {
            Ok(b) => {
                n += b.len();
                chunks += 1;
                h.update(&b);
            }
            Err(e) => return (n, hex(h), chunks, Some(e)),
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    (n, hex(h), chunks, None)
}

async fn read(
    sh: &SshShell,
    spec: &HostSpec,
    cmd: &str,
    depth: usize,
    pause: Duration,
) -> (
    Result<ShellOutput, ShellError>,
    (usize, String, usize, Option<String>),
) {
    let (tx, rx) = mpsc::channel(depth);
    tokio::join!(sh.read_stream(spec, cmd, tx, STALL), drain(rx, pause))
}

/// PIDs of the host's session processes named `comm` (e.g. "cat").
pub fn procs(h: &Sshd, comm: &str) -> Vec<u32> {
    h.session_pids()
        .into_iter()
        .filter(|p| fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// Waits (up to 10 s) until no session process is named `comm`.
pub async fn gone(h: &Sshd, comm: &str) {
    for _ in 0..200 {
        if procs(h, comm).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a remote {comm} outlived its stream: {:?}", procs(h, comm));
}

/// How far a remote `cat` has read its input file, from /proc (we run as root).
fn read_pos(h: &Sshd, file: &Path) -> Option<u64> {
    for pid in procs(h, "cat") {
        for fd in fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
            if fs::read_link(fd.path()).ok().as_deref() == Some(file) {
                let info =
                    fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?))
                        .ok()?;
                return info
                    .lines()
                    .find_map(|l| l.strip_prefix("pos:"))
                    .and_then(|p| p.trim().parse().ok());
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_64_mib_byte_exact() {
    let h = Sshd::start("rd64");
    let spec = h.spec();
    let want = fill(&h.path("host/big"), 64);
    let (out, (n, sha, chunks, err)) = read(
        &shell(&spec),
        &spec,
        "cat \"$HOST_DIR/big\"",
        16,
        Duration::ZERO,
    )
    .await;
    let out = out.unwrap();
    assert_eq!((out.exit, err), (Some(0), None), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(n, 64 * MIB);
    assert_eq!(sha, want);
    assert!(chunks > 1, "streamed, not buffered whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_64_mib_byte_exact() {
    let h = Sshd::start("wr64");
    let spec = h.spec();
    let sh = shell(&spec);
    let (tx, rx) = mpsc::channel(8);
    let feed = async move {
        let mut sha = Sha256::new();
        for i in 0..64 {
            let b = Bytes::from(block(i));
            sha.update(&b);
            tx.send(Ok(b)).await.unwrap();
        }
        hex(sha)
    };
    let (out, want) = tokio::join!(
        sh.write_stream(&spec, "cat > \"$HOST_DIR/up\" && echo done", rx, STALL),
        feed
    );
    let out = out.unwrap();
    assert_eq!(out.exit, Some(0), "{out:?}");
    assert_eq!(out.stdout, b"done\n");
    let path = h.path("host/up");
    assert_eq!(fs::metadata(&path).unwrap().len(), 64 * MIB as u64);
    assert_eq!(file_sha(&path), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_holds_the_sender_back() {
    let h = Sshd::start("slow");
    let spec = h.spec();
    let file = h.path("host/slow");
    let want = fill(&file, 64);
    let sh = shell(&spec);
    let (tx, mut rx) = mpsc::channel::<Chunk>(2);
    let cmd = format!("cat {}", file.display());
    let reading = sh.read_stream(&spec, &cmd, tx, STALL);
    let consumer = async {
        let mut h2 = Sha256::new();
        let mut n = 0;
        let first = rx.recv().await.unwrap().unwrap();
        h2.update(&first);
        n += first.len();
        // Nobody takes anything for a while: the remote cat must be held back by
        // flow control, not read ahead into our memory.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let held = read_pos(&h, &file).expect("the remote cat is still reading");
        let mut slow = 0;
        while let Some(c) = rx.recv().await {
            let b = c.unwrap();
            n += b.len();
            h2.update(&b);
            slow += 1;
            if slow < 200 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        (held, n, hex(h2))
    };
    let (out, (held, n, sha)) = tokio::join!(reading, consumer);
    assert_eq!(out.unwrap().exit, Some(0));
    assert!(
        held < 32 * MIB as u64,
        "cat read {held} bytes ahead of a stopped receiver"
    );
    assert_eq!((n, sha), (64 * MIB, want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_reports_its_status_and_stderr() {
    let h = Sshd::start("fail");
    let spec = h.spec();
    let sh = shell(&spec);
    let (out, (n, _, _, err)) = read(
        &sh,
        &spec,
        "echo part; echo 'it broke' >&2; exit 3",
        4,
        Duration::ZERO,
    )
    .await;
    let out = out.unwrap();
    assert_eq!((out.exit, n, err), (Some(3), 5, None));
    assert_eq!(out.stderr, b"it broke\n");
    let (out, _) = read(&sh, &spec, "cat \"$HOST_DIR/missing\"", 4, Duration::ZERO).await;
    let out = out.unwrap();
    assert_eq!(out.exit, Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No such file"),
        "{out:?}"
    );
    // Quotes survive the trip through the login shell and `sh -c`.
    let (_, (n, sha, _, _)) = read(&sh, &spec, "printf '%s' \"it's\"", 4, Duration::ZERO).await;
    let mut it = Sha256::new();
    it.update(b"it's");
    assert_eq!((n, sha), (4, hex(it)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_a_stall_and_the_command_is_killed() {
    let h = Sshd::start("stall");
    let spec = h.spec();
    let sh = shell(&spec);
    let stall = Duration::from_millis(700);
    let (tx, rx) = mpsc::channel(4);
    let (out, (_, _, _, err)) = tokio::join!(
        sh.read_stream(&spec, "sleep 60", tx, stall),
        drain(rx, Duration::ZERO)
    );
    assert_eq!(out, Err(ShellError::Timeout(stall)));
    assert!(
        err.is_some_and(|e| e.contains("no answer")),
        "the consumer is told"
    );
    gone(&h, "sleep").await;
    // Writing to a command that never reads stalls once the window is full.
    let (tx, rx) = mpsc::channel(4);
    let feed = async move {
        for i in 0..64 {
            if tx.send(Ok(Bytes::from(block(i)))).await.is_err() {
                break;
            }
        }
    };
    let (out, ()) = tokio::join!(sh.write_stream(&spec, "sleep 60", rx, stall), feed);
    assert_eq!(out, Err(ShellError::Timeout(stall)));
    gone(&h, "sleep").await;
    // The connection is fine afterwards.
    assert_eq!(super::ok(&sh, &spec, "echo still").await.stdout, b"still\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_receiver_ends_the_remote_command() {
    let h = Sshd::start("drop");
    let spec = h.spec();
    let sh = shell(&spec);
    let (tx, mut rx) = mpsc::channel::<Chunk>(2);
    let consumer = async move {
        for _ in 0..8 {
            rx.recv().await.unwrap().unwrap();
        }
    };
    let (out, ()) = tokio::join!(sh.read_stream(&spec, "cat /dev/zero", tx, STALL), consumer);
    assert!(out.is_ok(), "{out:?}");
    gone(&h, "cat").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_err_chunk_aborts_the_write_without_eof() {
    let h = Sshd::start("abort");
    let spec = h.spec();
    let sh = shell(&spec);
    let (tx, rx) = mpsc::channel(4);
    let feed = async move {
        for i in 0..4 {
            tx.send(Ok(Bytes::from(block(i)))).await.unwrap();
        }
        tx.send(Err("the source went away".into())).await.unwrap();
    };
    let cmd = "cat > \"$HOST_DIR/part\" && mv \"$HOST_DIR/part\" \"$HOST_DIR/final\"";
    let (out, ()) = tokio::join!(sh.write_stream(&spec, cmd, rx, STALL), feed);
    assert_eq!(out, Err(ShellError::Other("the source went away".into())));
    gone(&h, "cat").await;
    // cat was killed, not given an EOF: the rename after it never ran.
    assert!(!h.path("host/final").exists());
    assert!(fs::metadata(h.path("host/part")).map_or(0, |m| m.len()) <= 4 * MIB as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_dying_mid_read_is_unreachable() {
    let mut h = Sshd::start("dies");
    let spec = h.spec();
    let file = h.path("host/big");
    fill(&file, 64);
    let sh = shell(&spec);
    let (tx, mut rx) = mpsc::channel::<Chunk>(2);
    let cmd = format!("cat {}", file.display());
    let reading = sh.read_stream(&spec, &cmd, tx, Duration::from_secs(5));
    let consumer = async {
        let mut got = 0;
        let mut last = None;
        while let Some(c) = rx.recv().await {
            match c {
                Ok(b) => got += b.len(),
                Err(e) => last = Some(e),
            }
            if got > 0 && h.pid().is_some() {
                h.kill();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        (got, last)
    };
    let (out, (got, last)) = tokio::join!(reading, consumer);
    assert!(
        matches!(
            out,
            Err(ShellError::Unreachable(_) | ShellError::Timeout(_))
        ),
        "{out:?}"
    );
    assert!(
        got < 64 * MIB && last.is_some(),
        "{got} bytes, then {last:?}"
    );
}

/// A quotable number, not an assertion: `cargo test --release --test ssh_shell
/// throughput -- --nocapture` (LIFEBOAT_TEST_CIPHERS=… makes sshd offer only those).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_a_256_mib_read() {
    let mut opts = sshd::Options::default();
    if let Ok(c) = std::env::var("LIFEBOAT_TEST_CIPHERS") {
        opts.extra_config = format!("Ciphers {c}\n");
    }
    let h = Sshd::with("speed", opts);
    let spec = h.spec();
    let sh = SshShell::new([spec.clone()], settings());
    super::ok(&sh, &spec, "true").await; // connected before the clock starts
    let size = 256 * MIB;
    let cmd = format!("head -c {size} /dev/zero");
    let started = Instant::now();
    let (out, (n, _, _, _)) = read(&sh, &spec, &cmd, 16, Duration::ZERO).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!((out.unwrap().exit, n), (Some(0), size));
    println!(
        "read_stream over SSH: 256 MiB in {secs:.2} s = {:.0} MB/s ({} build)",
        size as f64 / secs / 1e6,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}
