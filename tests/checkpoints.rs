//! Checkpoint keeping end to end, against real sshd hosts and a real S3 server (s3s-fs)
//! on loopback: replicate from a host into the NAS and S3, list, verify, restore onto
//! another host, prune; and the faults: a flipped byte in the NAS copy (restore comes
//! from S3), a truncated S3 object, a checkpoint without manifest, S3 away during
//! replication, a full NAS.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/checkpoint_bed.rs"]
mod checkpoint_bed;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/sshd.rs"]
mod sshd;

use checkpoint_bed::{bed, bed_standins, bed_with, bytes, one_checkpoint, rt, sha, Bed, JOB};
use lifeboat::core::inventory::CopyState;
use lifeboat::runtime::catalogue::Catalogue;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[test]
fn replicate_list_verify_restore_prune() {
    let b = bed(None, 2);
    let rt = rt();
    // Multipart in S3, and past `remote::FOLLOW_FROM`: restored through write_hashed.py.
    let big = bytes(7, 17 << 20);
    for (i, step) in [100u32, 200, 300].iter().enumerate() {
        b.write_checkpoint(
            &format!("step-{step:06}"),
            &[
                ("model.bin", bytes(i as u8, 1000)),
                ("opt/state.bin", big.clone()),
            ],
            true,
        );
    }
    // Still being written: no marker yet, so not replicated.
    b.write_checkpoint("step-000400", &[("model.bin", bytes(9, 10))], false);
    let got = rt.block_on(b.rep.discover(JOB, "h1", 3)).unwrap();
    let mut ids: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["step-000100", "step-000200", "step-000300"]);
    let m = got.iter().find(|m| m.id == "step-000300").unwrap();
    assert_eq!((m.step, m.epoch, m.source_host.as_str()), (300, 3, "h1"));
    assert_eq!(m.files.len(), 2);
    let f = m.files.iter().find(|f| f.path == "opt/state.bin").unwrap();
    assert_eq!(f.sha256, sha(&big));
    // Both stores hold the bytes and the manifest.
    assert_eq!(
        std::fs::read(b.nas_file("step-000300", "opt/state.bin")).unwrap(),
        big
    );
    assert!(b.nas_file("step-000300", "manifest.json").is_file());
    assert_eq!(
        std::fs::read(b.s3_file("step-000300", "opt/state.bin")).unwrap(),
        big
    );
    for id in &ids {
        assert_eq!(b.state(id, "nas"), Some(CopyState::Verified));
        assert_eq!(b.state(id, "s3"), Some(CopyState::Verified));
    }
    // A second pass finds nothing new.
    assert!(rt
        .block_on(b.rep.discover(JOB, "h1", 3))
        .unwrap()
        .is_empty());

    // Verify everything: all good.
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(report.checked, 6, "{report:?}");
    assert!(report.bad.is_empty());

    // Restore the newest onto the standby, verified there. (Both "hosts" share this
    // machine's disk, so the default path, the job's checkpoint_dir, would already hold it.)
    assert_eq!(
        PathBuf::from(b.rep.default_path(JOB, "step-000300").unwrap()),
        b.ckpt_dir().join("step-000300")
    );
    let newest = b.h2.path("host").join("newest");
    let r = rt
        .block_on(
            b.rep
                .restore(JOB, None, "h2", Some(newest.to_str().unwrap())),
        )
        .unwrap();
    assert_eq!(r.id, "step-000300");
    assert_eq!(r.from.as_deref(), Some("nas"));
    let dest = b.h2.path("host").join("restored");
    let r = rt
        .block_on(
            b.rep
                .restore(JOB, Some("step-000200"), "h2", Some(dest.to_str().unwrap())),
        )
        .unwrap();
    assert_eq!(r.bytes, 1000 + big.len() as u64);
    assert_eq!(std::fs::read(dest.join("opt/state.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read(dest.join("model.bin")).unwrap(),
        bytes(1, 1000)
    );
    // Restoring again moves nothing: it is already there and verified.
    let again = rt
        .block_on(
            b.rep
                .restore(JOB, Some("step-000200"), "h2", Some(dest.to_str().unwrap())),
        )
        .unwrap();
    assert_eq!((again.bytes, again.from), (0, None));
    // No temporary folders left behind.
    let leftovers: Vec<_> = std::fs::read_dir(b.h2.path("host"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".lifeboat"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Prune with keep_last = 2: the dry run says why, then step-100 goes from both stores.
    let plan = b.rep.plan_prune(Some(JOB)).unwrap();
    let gone: Vec<(String, String)> = plan
        .removals()
        .map(|r| (r.id.clone(), r.store.clone()))
        .collect();
    assert_eq!(
        gone,
        [
            ("step-000100".to_string(), "nas".to_string()),
            ("step-000100".to_string(), "s3".to_string())
        ]
    );
    let newest = plan.rows.iter().find(|r| r.id == "step-000300").unwrap();
    assert!(
        newest.keep && newest.reasons.iter().any(|r| r.contains("newest verified")),
        "{newest:?}"
    );
    let deleted = rt.block_on(b.rep.prune(&plan, "tester")).unwrap();
    assert_eq!(deleted.len(), 2);
    assert!(!b.nas_file("step-000100", "manifest.json").exists());
    assert!(!b.s3_file("step-000100", "manifest.json").exists());
    assert!(b.nas_file("step-000200", "manifest.json").exists());
    let left: Vec<String> = b
        .rep
        .inventory()
        .unwrap()
        .checkpoints
        .into_iter()
        .filter(|e| !e.copies.is_empty())
        .map(|e| e.id)
        .collect();
    assert_eq!(left, ["step-000200", "step-000300"]);
    // Pruned checkpoints are not replicated again from the host.
    assert!(rt
        .block_on(b.rep.discover(JOB, "h1", 3))
        .unwrap()
        .is_empty());
    // And pruning again is a no-op.
    assert_eq!(b.rep.plan_prune(Some(JOB)).unwrap().removals().count(), 0);
}

/// Retries repairs until the S3 copy of `id` is verified (the first retry may still be
/// backing off).
fn repaired(b: &Bed, rt: &tokio::runtime::Runtime, id: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while b.state(id, "s3") != Some(CopyState::Verified) {
        assert!(
            std::time::Instant::now() < deadline,
            "S3 copy never repaired"
        );
        rt.block_on(b.rep.repair()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn flip_byte(p: &Path) {
    let mut b = std::fs::read(p).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(p, b).unwrap();
}

#[test]
fn a_flipped_byte_in_the_nas_copy_is_caught_and_the_restore_comes_from_s3() {
    let b = bed(None, 3);
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 300_000);
    flip_byte(&b.nas_file("step-000010", "w.bin"));
    let dest = b.h2.path("host").join("r");
    let r = rt
        .block_on(b.rep.restore(JOB, None, "h2", Some(dest.to_str().unwrap())))
        .unwrap();
    assert_eq!(r.from.as_deref(), Some("s3"));
    assert_eq!(std::fs::read(dest.join("w.bin")).unwrap(), data);
    assert_eq!(b.state("step-000010", "nas"), Some(CopyState::Bad));
    // The next verify repairs the NAS copy from S3.
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(report.repaired, 1, "{report:?}");
    assert_eq!(
        std::fs::read(b.nas_file("step-000010", "w.bin")).unwrap(),
        data
    );
    assert_eq!(b.state("step-000010", "nas"), Some(CopyState::Verified));
}

/// A host that writes the bytes wrong (here its `openssl` lies about them) fails the
/// restore with the host named; the stores' copies, read again, stay verified.
/// Both ways a host writes a restored file lie about its hash: `openssl` after `cat`
/// (small files), and `python3` hashing behind the writer (large ones).
#[test]
fn a_copy_that_lands_wrong_on_the_host_fails_the_restore_and_leaves_the_stores_trusted() {
    let zeros = "0000000000000000000000000000000000000000000000000000000000000000 '*stdin'";
    for (tool, liar, size) in [
        ("openssl", format!("cat >/dev/null; echo {zeros}"), 300_000),
        // Called as `python3 -I -S -c CODE PATH`.
        ("python3", format!("cat > \"$5\"; echo {zeros}"), 17 << 20),
    ] {
        let b = bed_standins(None, 3, "", None, &[(tool, &liar)]);
        let rt = rt();
        one_checkpoint(&b, &rt, size);
        let dest = b.h2.path("host").join("r");
        let err = rt
            .block_on(b.rep.restore(JOB, None, "h2", Some(dest.to_str().unwrap())))
            .expect_err("a wrong landing is no restore")
            .to_string();
        assert!(err.contains("h2:"), "{tool}: {err}");
        assert!(
            err.contains(&format!("the host wrote {size} bytes hashing 0000")),
            "{tool}: {err}"
        );
        assert!(
            err.contains("the nas copy reads back right"),
            "{tool}: {err}"
        );
        assert!(
            err.contains("the s3 copy reads back right"),
            "{tool}: {err}"
        );
        assert_eq!(b.state("step-000010", "nas"), Some(CopyState::Verified));
        assert_eq!(b.state("step-000010", "s3"), Some(CopyState::Verified));
        assert!(!dest.exists(), "{tool}: nothing was placed");
        let left: Vec<_> = std::fs::read_dir(b.h2.path("host"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".lifeboat-"))
            .collect();
        assert!(left.is_empty(), "{tool}: temporary copies left: {left:?}");
    }
}

#[test]
fn a_truncated_s3_object_is_detected_and_repaired() {
    let b = bed(None, 3);
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 200_000);
    let obj = b.s3_file("step-000010", "w.bin");
    let f = std::fs::OpenOptions::new().write(true).open(&obj).unwrap();
    f.set_len(1000).unwrap();
    drop(f);
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(report.bad.len(), 1, "{report:?}");
    assert!(report.bad[0].contains("[s3]"), "{report:?}");
    assert_eq!(report.repaired, 1);
    assert_eq!(std::fs::read(&obj).unwrap(), data);
}

#[test]
fn a_checkpoint_without_manifest_is_never_restorable() {
    let b = bed(None, 3);
    let rt = rt();
    // Files in both stores as a crash before the manifest would leave them.
    let d = b.nas.join(JOB).join("step-000500");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("w.bin"), b"half").unwrap();
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(report.adopted, 0);
    assert!(b.rep.inventory().unwrap().checkpoints.is_empty());
    let err = rt
        .block_on(b.rep.restore(JOB, None, "h2", None))
        .unwrap_err();
    assert!(err.to_string().contains("no verified checkpoint"), "{err}");
    let err = rt
        .block_on(b.rep.restore(JOB, Some("step-000500"), "h2", None))
        .unwrap_err();
    assert!(err.to_string().contains("no checkpoint"), "{err}");
    // A complete one in the stores that the catalogue lost is adopted after hashing.
    let _ = one_checkpoint(&b, &rt, 1000);
    let fresh = Catalogue::open(&b._dir.path().join("other.db")).unwrap();
    assert!(fresh.entries(None).unwrap().is_empty());
}

#[test]
fn s3_away_during_replication_is_retried_after_it_returns() {
    let mut b = bed(None, 3);
    let rt = rt();
    b.s3.stop();
    let data = one_checkpoint(&b, &rt, 100_000);
    assert_eq!(b.state("step-000010", "nas"), Some(CopyState::Verified));
    assert_eq!(b.state("step-000010", "s3"), Some(CopyState::Pending));
    let inv = b.rep.inventory().unwrap();
    let s3 = inv.stores.iter().find(|s| s.name == "s3").unwrap();
    assert!(s3.error.is_some(), "{inv:?}");
    b.s3.start_again();
    repaired(&b, &rt, "step-000010");
    assert_eq!(
        std::fs::read(b.s3_file("step-000010", "w.bin")).unwrap(),
        data
    );
    assert!(b.s3_file("step-000010", "manifest.json").is_file());
}

/// A small tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_nas_is_a_clear_error_and_the_s3_copy_is_still_made() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("nas");
    std::fs::create_dir_all(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mounting a 1 MiB tmpfs needs root (CI runs as root)");
    let _guard = Tmpfs(mnt.clone());
    let b = bed(Some(mnt), 3);
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 3 << 20);
    assert_eq!(b.state("step-000010", "nas"), Some(CopyState::Failed));
    assert_eq!(b.state("step-000010", "s3"), Some(CopyState::Verified));
    let e = b.rep.catalogue.entries(Some(JOB)).unwrap();
    let detail = &e[0].copy("nas").unwrap().detail;
    assert!(detail.to_lowercase().contains("full"), "{detail}");
    assert_eq!(
        std::fs::read(b.s3_file("step-000010", "w.bin")).unwrap(),
        data
    );
    // Restorable, from S3.
    let dest = b.h2.path("host").join("r");
    let r = rt
        .block_on(b.rep.restore(JOB, None, "h2", Some(dest.to_str().unwrap())))
        .unwrap();
    assert_eq!(r.from.as_deref(), Some("s3"));
}

#[test]
fn a_failover_stage_restores_from_the_stores_with_progress() {
    use lifeboat::runtime::replica::service::checkpoint_ref;
    use lifeboat::runtime::shell_transport::ShellTransport;
    use lifeboat::runtime::transport::Transport;
    let b = bed(None, 3);
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 3 << 20);
    let e = b.rep.newest_restorable(JOB).unwrap().unwrap();
    let mut ck = checkpoint_ref(&b.rep, &e);
    assert!(ck.verified);
    assert_eq!(ck.sha256, e.digest);
    // Where the target reads it (both "hosts" share this disk, so not the job's own dir).
    let dest = b.h2.path("host").join("staged");
    ck.location = dest.to_string_lossy().into_owned();
    let fleet = b.rep.fleet().clone();
    let ssh = Arc::new(SshShell::new(fleet.hosts.clone(), SshSettings::default()));
    let t = ShellTransport::new(ssh, Arc::new(lifeboat::runtime::local::LocalShell))
        .with_replicas(b.rep.clone());
    let h2 = fleet.hosts.iter().find(|h| h.id.as_str() == "h2").unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |done: u64, total: u64| seen.lock().unwrap().push((done, total));
    let moved = rt
        .block_on(t.stage(h2, &fleet.jobs[0], Some(&ck), &progress))
        .unwrap();
    assert_eq!(moved, data.len() as u64);
    assert_eq!(std::fs::read(dest.join("w.bin")).unwrap(), data);
    let last = *seen.lock().unwrap().last().unwrap();
    assert_eq!(last, (moved, moved));
    // A second stage (a pre-staged checkpoint) moves nothing: it is verified in place.
    let again = rt
        .block_on(t.stage(h2, &fleet.jobs[0], Some(&ck), &progress))
        .unwrap();
    assert_eq!(again, 0);
    // A corrupted staged copy is replaced, not trusted.
    flip_byte(&dest.join("w.bin"));
    let fixed = rt
        .block_on(t.stage(h2, &fleet.jobs[0], Some(&ck), &progress))
        .unwrap();
    assert_eq!(fixed, data.len() as u64);
    assert_eq!(std::fs::read(dest.join("w.bin")).unwrap(), data);
}

#[test]
fn s3_killed_in_the_middle_of_an_upload_loses_nothing() {
    let mut b = bed(None, 3);
    let rt = rt();
    let data = bytes(5, 96 << 20);
    b.write_checkpoint("step-000020", &[("w.bin", data.clone())], true);
    let nas_dir = b.nas.join(JOB).join("step-000020");
    let (s3, rep) = (&mut b.s3, &b.rep);
    let got = std::thread::scope(|sc| {
        sc.spawn(|| {
            // Once the NAS copy is 16 MiB in, the S3 upload is under way: kill the server.
            let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while std::time::Instant::now() < end {
                let midway = std::fs::read_dir(&nas_dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|e| {
                        e.file_name().to_string_lossy().contains(".lifeboat-tmp-")
                            && e.metadata().is_ok_and(|m| m.len() > 16 << 20)
                    });
                if midway {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            s3.stop();
        });
        rt.block_on(rep.discover(JOB, "h1", 1)).unwrap()
    });
    assert_eq!(got.len(), 1, "the NAS copy alone makes it restorable");
    assert_eq!(b.state("step-000020", "nas"), Some(CopyState::Verified));
    assert_eq!(b.state("step-000020", "s3"), Some(CopyState::Pending));
    assert!(!b.s3_file("step-000020", "manifest.json").exists());
    b.s3.start_again();
    repaired(&b, &rt, "step-000020");
    assert_eq!(
        std::fs::read(b.s3_file("step-000020", "w.bin")).unwrap(),
        data
    );
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert!(report.bad.is_empty(), "{report:?}");
}

#[test]
fn nas_then_s3_makes_the_nas_copy_restorable_first() {
    let mut b = bed_with(None, 3, "order = \"nas-then-s3\"");
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 20 << 20);
    assert_eq!(b.state("step-000010", "nas"), Some(CopyState::Verified));
    assert_eq!(b.state("step-000010", "s3"), Some(CopyState::Verified));
    assert_eq!(
        std::fs::read(b.s3_file("step-000010", "w.bin")).unwrap(),
        data
    );
    assert!(b.s3_file("step-000010", "manifest.json").is_file());
    // With S3 away the NAS copy is complete and restorable on its own.
    b.s3.stop();
    b.write_checkpoint("step-000011", &[("w.bin", bytes(8, 1 << 20))], true);
    let got = rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(b.state("step-000011", "nas"), Some(CopyState::Verified));
    assert_eq!(b.state("step-000011", "s3"), Some(CopyState::Pending));
    assert_eq!(
        b.rep.newest_restorable(JOB).unwrap().unwrap().id,
        "step-000011"
    );
    b.s3.start_again();
    repaired(&b, &rt, "step-000011");
}
