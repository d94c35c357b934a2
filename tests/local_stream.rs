//! Streaming with `LocalShell` (`read_stream`, `write_stream` as local `sh -c`
//! processes): whole files byte-exact by SHA-256, backpressure, exit codes, stalls,
//! early ends and aborts, and that abandoned commands (with their children) go away.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use bytes::Bytes;
use lifeboat::core::fleet::{Access, HostKeyPolicy, HostSpec, Role, SshOptions};
use lifeboat::core::ids::HostId;
use lifeboat::runtime::local::LocalShell;
use lifeboat::runtime::shell::{Shell, ShellError};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;

const MIB: usize = 1 << 20;
const STALL: Duration = Duration::from_secs(10);

type Chunk = Result<Bytes, String>;

/// The spec `LocalShell` is handed (it runs everything here, whatever the spec says).
fn host() -> &'static HostSpec {
    static HOST: OnceLock<HostSpec> = OnceLock::new();
    HOST.get_or_init(|| HostSpec {
        id: HostId::new("local"),
        address: "localhost".into(),
        port: 22,
        user: None,
        role: Role::Primary,
        gpus: 0,
        ssh_key: None,
        ssh: SshOptions {
            known_hosts: None,
            host_key_policy: HostKeyPolicy::Strict,
            key_passphrase_env: None,
            proxy_jump: None,
        },
        provider: None,
        access: Access::Local,
    })
}

/// Deterministic, incompressible bytes: block `i` of 1 MiB.
fn block(i: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (i as u64 + 1);
    let mut out = Vec::with_capacity(MIB);
    while out.len() < MIB {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `mib` MiB of `block`s to `path`; returns their SHA-256.
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

/// Receives everything: (bytes, SHA-256, largest chunk, the `Err` item if one came).
async fn drain(mut rx: mpsc::Receiver<Chunk>) -> (usize, String, usize, Option<String>) {
    let (mut n, mut largest, mut h) = (0, 0, Sha256::new());
    while let Some(c) = rx.recv().await {
        match c {
            Ok(b) => {
                n += b.len();
                largest = largest.max(b.len());
                h.update(&b);
            }
            Err(e) => return (n, hex(h), largest, Some(e)),
        }
    }
    (n, hex(h), largest, None)
}

/// Whether process `pid` still exists (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

/// Waits (up to 10 s) for the PID written to `file` to exit.
async fn gone(file: &Path) {
    let pid: u32 = fs::read_to_string(file).unwrap().trim().parse().unwrap();
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {pid} outlived its stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_64_mib_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    let want = fill(&file, 64);
    let (tx, rx) = mpsc::channel(8);
    let cmd = format!("cat '{}'", file.display());
    let (out, (n, sha, largest, err)) =
        tokio::join!(LocalShell.read_stream(host(), &cmd, tx, STALL), drain(rx));
    let out = out.unwrap();
    assert_eq!((out.exit, err), (Some(0), None), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!((n, sha), (64 * MIB, want));
    assert!(largest <= MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_64_mib_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("up");
    let (tx, rx) = mpsc::channel(8);
    let feed = async move {
        let mut h = Sha256::new();
        for i in 0..64 {
            let b = Bytes::from(block(i));
            h.update(&b);
            tx.send(Ok(b)).await.unwrap();
        }
        hex(h)
    };
    let cmd = format!("cat > '{}' && echo done", file.display());
    let (out, want) = tokio::join!(LocalShell.write_stream(host(), &cmd, rx, STALL), feed);
    let out = out.unwrap();
    assert_eq!((out.exit, out.stdout.as_slice()), (Some(0), &b"done\n"[..]));
    let mut h = Sha256::new();
    h.update(fs::read(&file).unwrap());
    assert_eq!(hex(h), want);
}

/// How far process `pid` has read `file`, from /proc.
fn read_pos(pid: u32, file: &Path) -> Option<u64> {
    for fd in fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if fs::read_link(fd.path()).ok().as_deref() == Some(file) {
            let name = fd.file_name();
            let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", name.to_str()?)).ok()?;
            return info
                .lines()
                .find_map(|l| l.strip_prefix("pos:"))
                .and_then(|p| p.trim().parse().ok());
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_holds_the_command_back() {
    let dir = tempfile::tempdir().unwrap();
    let (file, pid) = (dir.path().join("slow"), dir.path().join("pid"));
    let want = fill(&file, 64);
    let (tx, mut rx) = mpsc::channel::<Chunk>(2);
    let cmd = format!(
        "echo $$ > '{}'; exec cat '{}'",
        pid.display(),
        file.display()
    );
    let reading = LocalShell.read_stream(host(), &cmd, tx, STALL);
    let consumer = async {
        let mut h = Sha256::new();
        let first = rx.recv().await.unwrap().unwrap();
        h.update(&first);
        let mut n = first.len();
        // Nobody takes anything for a while: only a pipe and two queue slots may fill.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let cat: u32 = fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
        let held = read_pos(cat, &file).expect("cat is still reading");
        let mut k = 0;
        while let Some(c) = rx.recv().await {
            let b = c.unwrap();
            n += b.len();
            h.update(&b);
            k += 1;
            if k < 100 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        (held, n, hex(h))
    };
    let (out, (held, n, sha)) = tokio::join!(reading, consumer);
    assert_eq!(out.unwrap().exit, Some(0));
    assert!(
        held < 8 * MIB as u64,
        "cat read {held} bytes ahead of a stopped receiver"
    );
    assert_eq!((n, sha), (64 * MIB, want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_reports_its_status_and_stderr() {
    let (tx, rx) = mpsc::channel(4);
    let (out, (n, _, _, err)) = tokio::join!(
        LocalShell.read_stream(host(), "echo part; echo 'it broke' >&2; exit 3", tx, STALL),
        drain(rx)
    );
    let out = out.unwrap();
    assert_eq!((out.exit, n, err), (Some(3), 5, None));
    assert_eq!(out.stderr, b"it broke\n");
    // A write whose command fails early: its status and stderr, not an error.
    let (tx, rx) = mpsc::channel(4);
    let feed = async move {
        for i in 0..8 {
            if tx.send(Ok(Bytes::from(block(i)))).await.is_err() {
                break;
            }
        }
    };
    let (out, ()) = tokio::join!(
        LocalShell.write_stream(host(), "cat > /nonexistent/dir/x", rx, STALL),
        feed
    );
    let out = out.unwrap();
    assert_ne!(out.exit, Some(0));
    assert!(!out.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_a_stall_and_the_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("pid");
    let stall = Duration::from_millis(500);
    // The sleep is a child of sh: killing sh alone would leave it behind.
    let cmd = format!("sleep 60 & echo $! > '{}'; wait", pid.display());
    let (tx, rx) = mpsc::channel(4);
    let (out, (_, _, _, err)) =
        tokio::join!(LocalShell.read_stream(host(), &cmd, tx, stall), drain(rx));
    assert_eq!(out, Err(ShellError::Timeout(stall)));
    assert!(err.is_some(), "the consumer is told");
    gone(&pid).await;
    // A command that never reads its stdin stalls the writer once the pipe is full.
    let (tx, rx) = mpsc::channel(4);
    let feed = async move {
        for i in 0..16 {
            if tx.send(Ok(Bytes::from(block(i)))).await.is_err() {
                break;
            }
        }
    };
    let cmd = format!("sleep 60 & echo $! > '{}'; wait", pid.display());
    let (out, ()) = tokio::join!(LocalShell.write_stream(host(), &cmd, rx, stall), feed);
    assert_eq!(out, Err(ShellError::Timeout(stall)));
    gone(&pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_receiver_ends_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("pid");
    let cmd = format!("echo $$ > '{}'; exec cat /dev/zero", pid.display());
    let (tx, mut rx) = mpsc::channel::<Chunk>(2);
    let consumer = async move {
        for _ in 0..8 {
            rx.recv().await.unwrap().unwrap();
        }
    };
    let (out, ()) = tokio::join!(LocalShell.read_stream(host(), &cmd, tx, STALL), consumer);
    let out = out.unwrap();
    assert_eq!(out.exit, None, "killed, so no exit status");
    gone(&pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_err_chunk_kills_the_writer_before_eof() {
    let dir = tempfile::tempdir().unwrap();
    let (part, done) = (dir.path().join("part"), dir.path().join("final"));
    let (tx, rx) = mpsc::channel(4);
    let feed = async move {
        for i in 0..4 {
            tx.send(Ok(Bytes::from(block(i)))).await.unwrap();
        }
        tx.send(Err("the source went away".into())).await.unwrap();
    };
    // A pipeline, so the last stage is not sh itself: the whole group must die.
    let cmd = format!(
        "cat | cat > '{p}' && mv '{p}' '{d}'",
        p = part.display(),
        d = done.display()
    );
    let (out, ()) = tokio::join!(LocalShell.write_stream(host(), &cmd, rx, STALL), feed);
    assert_eq!(out, Err(ShellError::Other("the source went away".into())));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!done.exists(), "the rename after cat must not run");
    assert!(fs::metadata(&part).map_or(0, |m| m.len()) <= 4 * MIB as u64);
}
