//! Workspace sync for the CPU standby (seed 003) on real loopback sshd hosts: a first sync
//! is byte-identical (odd names, an empty file, a link, an empty folder, 20 MiB); the next
//! ones move only what changed and remove what is gone; excluded paths and the checkpoint
//! folder stay put; it syncs back to a fresh GPU host; and a source host killed mid-sync
//! gives an error naming it, with no half-written file under a final name. Every workspace
//! path is `$HOST_DIR/ws`, expanded on each host.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

use lifeboat::core::fleet::{HeartbeatSource, HostSpec, JobSpec};
use lifeboat::core::ids::{HostId, JobId, Target};
use lifeboat::core::workspace::WorkspaceSync;
use lifeboat::runtime::local::LocalShell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::workspace::{sync, Shells, WorkspaceError};
use sha2::{Digest, Sha256};
use sshd::{Options, Sshd};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn shells(hosts: &[HostSpec]) -> Shells {
    let settings = SshSettings {
        reconnect_backoff: vec![Duration::from_millis(100), Duration::from_millis(200)],
        keepalive_interval: Duration::from_secs(1),
        ..SshSettings::default()
    };
    Shells {
        ssh: Arc::new(SshShell::new(hosts.to_vec(), settings)),
        local: Arc::new(LocalShell),
    }
}

fn job(exclude: &[&str]) -> JobSpec {
    JobSpec {
        id: JobId::new("llm-sft"),
        host: HostId::new("gpu"),
        gpu: Some(0),
        workdir: "$HOST_DIR/ws".into(),
        launch: "python sft.py".into(),
        cpu_launch: Some("python serve.py".into()),
        stop: None,
        heartbeat: HeartbeatSource::None,
        ready: Default::default(),
        checkpoint_dir: "$HOST_DIR/ws/checkpoints".into(),
        standbys: vec![Target::new(HostId::new("cpu"), None)],
        strategies: Vec::new(),
        env: Default::default(),
        checkpoint_marker: None,
        prestage: false,
        retention: None,
        workspace: Some(WorkspaceSync {
            path: "$HOST_DIR/ws".into(),
            every: Duration::from_secs(60),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

/// The workspace on a host, as the test sees it.
fn ws(h: &Sshd) -> PathBuf {
    h.path("host").join("ws")
}

/// Deterministic, incompressible bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
}

/// A workspace with everything a sync must carry, and things it must leave out.
fn seed_workspace(root: &Path) {
    write(root, "train.py", b"print('hi')\n");
    write(root, "configs/a b/it's \"quoted\".yaml", b"lr: 0.1\n");
    write(root, "configs/tab\tname", b"x");
    write(root, "-starts-with-dash", b"dash");
    write(root, "empty", b"");
    write(root, "a/b/c/deep.txt", b"deep");
    write(root, "big.bin", &noise(20 * MIB, 1));
    fs::create_dir_all(root.join("logs/empty-dir")).unwrap();
    symlink("train.py", root.join("latest")).unwrap();
    write(root, "run.tmp", b"scratch");
    write(root, "data/raw/huge.csv", &noise(MIB, 2));
    write(root, "checkpoints/step-1.pt", &noise(MIB, 3));
    // The test runs as root; the hosts' user must read and (back at a GPU host) write.
    for d in walk(root).into_iter().filter(|p| p.is_dir()) {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(root, fs::Permissions::from_mode(0o777)).unwrap();
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let is_dir = fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
            out.push(p.clone());
            if is_dir {
                stack.push(p);
            }
        }
    }
    out
}

/// Relative path → (kind, size, mtime seconds, SHA-256 or link target), leaving out
/// what `skip` says.
fn tree(root: &Path, skip: &dyn Fn(&str) -> bool) -> BTreeMap<String, (char, u64, i64, String)> {
    walk(root)
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if skip(&rel) {
                return None;
            }
            let m = fs::symlink_metadata(&p).unwrap();
            let v = if m.file_type().is_symlink() {
                (
                    'l',
                    0,
                    0,
                    fs::read_link(&p).unwrap().to_string_lossy().to_string(),
                )
            } else if m.is_dir() {
                ('d', 0, 0, String::new())
            } else {
                let sha: String = Sha256::digest(fs::read(&p).unwrap())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                ('f', m.len(), m.mtime(), sha)
            };
            Some((rel, v))
        })
        .collect()
}

fn excluded(rel: &str) -> bool {
    rel.ends_with(".tmp")
        || rel == "data/raw"
        || rel.starts_with("data/raw/")
        || rel == "checkpoints"
        || rel.starts_with("checkpoints/")
        || rel.starts_with(".lifeboat-sync-tmp")
        // A link is refused, never synced (see below).
        || rel == "latest"
}

#[track_caller]
fn assert_same(src: &Path, dst: &Path) {
    let (a, b) = (tree(src, &excluded), tree(dst, &excluded));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert_eq!(Some(v), b.get(k), "{k} differs");
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn syncs_a_workspace_there_and_back_moving_only_what_changed() {
    let (gpu, cpu, gpu2) = (Sshd::start("gpu"), Sshd::start("cpu"), Sshd::start("gpu2"));
    let (g, c, g2) = (gpu.spec(), cpu.spec(), gpu2.spec());
    let sh = shells(&[g.clone(), c.clone(), g2.clone()]);
    let job = job(&["*.tmp", "data/raw"]);
    seed_workspace(&ws(&gpu));
    // The replicator pre-staged a checkpoint on the standby: a sync never touches it.
    write(&ws(&cpu), "checkpoints/staged.pt", b"staged");
    fs::set_permissions(ws(&cpu), fs::Permissions::from_mode(0o777)).unwrap();
    let rt = rt();

    let r = rt.block_on(sync(&sh, &g, &c, &job)).unwrap();
    assert_same(&ws(&gpu), &ws(&cpu));
    // train.py, the yaml, tab name, dash, empty, deep.txt and big.bin; the link is
    // refused and named, and nothing is made at the destination for it.
    assert_eq!(r.files, 7, "{r:?}");
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert!(r.refused[0].ends_with("/latest -> train.py"), "{r:?}");
    assert!(fs::symlink_metadata(ws(&cpu).join("latest")).is_err());
    assert_eq!(r.bytes, (20 * MIB + 12 + 8 + 1 + 4 + 4) as u64);
    assert_eq!(r.deleted, 0);
    assert!(!ws(&cpu).join("run.tmp").exists());
    assert!(!ws(&cpu).join("data/raw").exists());
    assert!(!ws(&cpu).join("checkpoints/step-1.pt").exists());
    assert_eq!(
        fs::read(ws(&cpu).join("checkpoints/staged.pt")).unwrap(),
        b"staged"
    );
    assert!(!ws(&cpu).join(".lifeboat-sync-tmp").exists());

    // Nothing changed: nothing moves.
    let r = rt.block_on(sync(&sh, &g, &c, &job)).unwrap();
    assert_eq!((r.files, r.bytes, r.deleted), (0, 0, 0), "{r:?}");

    // One file rewritten at the same size, one new, one gone, one new excluded.
    std::thread::sleep(Duration::from_millis(1100));
    write(&ws(&gpu), "train.py", b"print('yo')\n");
    write(&ws(&gpu), "a/b/new.txt", b"new");
    fs::remove_file(ws(&gpu).join("configs/tab\tname")).unwrap();
    write(&ws(&gpu), "more.tmp", b"x");
    let r = rt.block_on(sync(&sh, &g, &c, &job)).unwrap();
    assert_eq!((r.files, r.bytes, r.deleted), (2, 15, 1), "{r:?}");
    assert_same(&ws(&gpu), &ws(&cpu));
    assert_eq!(
        fs::read(ws(&cpu).join("train.py")).unwrap(),
        b"print('yo')\n"
    );

    // A folder gone at the source goes at the destination, but the staged checkpoint stays.
    fs::remove_dir_all(ws(&gpu).join("logs")).unwrap();
    let r = rt.block_on(sync(&sh, &g, &c, &job)).unwrap();
    assert_eq!((r.files, r.deleted), (0, 2), "{r:?}");
    assert!(!ws(&cpu).join("logs").exists());
    assert_same(&ws(&gpu), &ws(&cpu));

    // The job ran on the CPU standby a while; back to a fresh GPU host.
    write(&ws(&cpu), "served.log", b"requests: 12\n");
    let r = rt.block_on(sync(&sh, &c, &g2, &job)).unwrap();
    assert!(r.files >= 7, "{r:?}");
    assert_same(&ws(&cpu), &ws(&gpu2));
    assert_eq!(
        fs::read(ws(&gpu2).join("served.log")).unwrap(),
        b"requests: 12\n"
    );
    assert_eq!(
        fs::read(ws(&gpu2).join("big.bin")).unwrap(),
        noise(20 * MIB, 1)
    );
    // The checkpoint folder is the replicator's business in either direction.
    assert!(!ws(&gpu2).join("checkpoints").exists());

    // Same host both ways, or a source without a workspace: plain errors.
    let e = rt.block_on(sync(&sh, &g, &g, &job)).unwrap_err();
    assert!(matches!(e, WorkspaceError::SameHost { .. }), "{e}");
    fs::remove_dir_all(ws(&gpu)).unwrap();
    let e = rt.block_on(sync(&sh, &g, &c, &job)).unwrap_err();
    assert!(
        e.to_string()
            .contains("gpu: cannot list the workspace $HOST_DIR/ws: the folder does not exist"),
        "{e}"
    );
}

/// A `tar` on the source that sends 1 MiB and then hangs, while `$HOST_DIR/slow` exists.
fn slow_tar(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = "#!/bin/sh\nif [ -e \"$HOST_DIR/slow\" ]; then /usr/bin/tar \"$@\" | { head -c 1048576; sleep 60; cat; }; else exec /usr/bin/tar \"$@\"; fi\n";
    fs::write(bin.join("tar"), script).unwrap();
    fs::set_permissions(bin.join("tar"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn a_source_killed_mid_sync_leaves_no_half_file_under_a_final_name() {
    let stand = tempfile::tempdir().unwrap();
    let opts = Options {
        standins: Some(slow_tar(stand.path())),
        ..Options::default()
    };
    let (mut gpu, cpu) = (Sshd::with("gpu", opts), Sshd::start("cpu"));
    let (g, c) = (gpu.spec(), cpu.spec());
    let sh = shells(&[g.clone(), c.clone()]);
    let job = job(&[]);
    let src = ws(&gpu);
    write(&src, "big.bin", &noise(8 * MIB, 7));
    write(&src, "code.py", b"v1");
    fs::set_permissions(&src, fs::Permissions::from_mode(0o777)).unwrap();
    let rt = rt();
    rt.block_on(sync(&sh, &g, &c, &job)).unwrap();
    let before = tree(&ws(&cpu), &|_| false);

    // New contents, and a new file, then the source dies while they stream.
    std::thread::sleep(Duration::from_millis(1100));
    write(&src, "big.bin", &noise(8 * MIB, 8));
    write(&src, "fresh.bin", &noise(4 * MIB, 9));
    fs::write(gpu.path("host").join("slow"), b"").unwrap();
    let running = rt.spawn({
        let (sh, g, c, job) = (sh.clone(), g.clone(), c.clone(), job.clone());
        async move { sync(&sh, &g, &c, &job).await }
    });
    let tmp = ws(&cpu).join(".lifeboat-sync-tmp");
    let until = Instant::now() + Duration::from_secs(30);
    while tree(&tmp, &|_| false).values().all(|v| v.1 == 0) {
        assert!(
            Instant::now() < until,
            "nothing arrived in the scratch folder"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    gpu.kill();
    let e = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), running).await })
        .expect("the sync gives up once its source is gone")
        .unwrap()
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("gpu: "), "{text}");
    assert!(text.contains("$HOST_DIR/ws"), "{text}");
    // Every final name holds exactly what it held before; the scratch folder is gone.
    assert_eq!(tree(&ws(&cpu), &|_| false), before);
    assert!(!ws(&cpu).join("fresh.bin").exists());
    assert!(!tmp.exists());
}
