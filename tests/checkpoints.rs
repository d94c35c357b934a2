//! Checkpoint keeping end to end, against real sshd hosts and a real S3 server (s3s-fs)
//! on loopback: replicate from a host into the NAS and S3, list, verify, restore onto
//! another host, prune; and the faults: a flipped byte in the NAS copy (restore comes
//! from S3), a truncated S3 object, a checkpoint without manifest, S3 away during
//! replication, a full NAS.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/s3.rs"]
mod s3;
#[path = "support/sshd.rs"]
mod sshd;

use lifeboat::core::inventory::CopyState;
use lifeboat::runtime::catalogue::Catalogue;
use lifeboat::runtime::replica::Replicator;
use lifeboat::runtime::shell::Shell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::store::{NasStore, S3Store, Store};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const JOB: &str = "train";

struct Bed {
    h1: sshd::Sshd,
    h2: sshd::Sshd,
    s3: s3::S3Server,
    nas: PathBuf,
    _dir: tempfile::TempDir,
    rep: Arc<Replicator>,
}

impl Bed {
    fn ckpt_dir(&self) -> PathBuf {
        self.h1.path("host").join("ckpt")
    }

    /// Writes a complete checkpoint folder `id` with `files` (name, bytes) and its marker.
    fn write_checkpoint(&self, id: &str, files: &[(&str, Vec<u8>)], marked: bool) {
        let d = self.ckpt_dir().join(id);
        for (name, bytes) in files {
            let p = d.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        if marked {
            std::fs::write(d.join("DONE"), b"").unwrap();
        }
    }

    fn nas_file(&self, id: &str, path: &str) -> PathBuf {
        self.nas.join(JOB).join(id).join(path)
    }

    fn s3_file(&self, id: &str, path: &str) -> PathBuf {
        self.s3.object_file(&format!("lb/{JOB}/{id}/{path}"))
    }

    fn state(&self, id: &str, store: &str) -> Option<CopyState> {
        self.rep
            .catalogue
            .entries(Some(JOB))
            .unwrap()
            .into_iter()
            .find(|e| e.id == id)
            .and_then(|e| e.copy(store).map(|c| c.state))
    }
}

fn bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn sha(b: &[u8]) -> String {
    lifeboat::core::manifest::hex(&Sha256::digest(b))
}

/// Two hosts (h1 runs the job, h2 is its standby), a NAS folder (or `nas`) and S3.
fn bed(nas: Option<PathBuf>, keep_last: u32) -> Bed {
    bed_with(nas, keep_last, "")
}

/// [`bed`] with more `[storage]` lines.
fn bed_with(nas: Option<PathBuf>, keep_last: u32, storage: &str) -> Bed {
    bed_keyed(nas, keep_last, storage, None)
}

/// [`bed_with`], the replicator holding the team's manifest key `key`.
fn bed_keyed(nas: Option<PathBuf>, keep_last: u32, storage: &str, key: Option<&[u8]>) -> Bed {
    let h1 = sshd::Sshd::start("h1");
    let h2 = sshd::Sshd::start("h2");
    let s3 = s3::S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let nas = nas.unwrap_or_else(|| dir.path().join("nas"));
    std::fs::create_dir_all(&nas).unwrap();
    let ckpt = h1.path("host").join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::set_permissions(&ckpt, std::fs::Permissions::from_mode(0o777)).unwrap();
    let host = |h: &sshd::Sshd, role: &str| {
        let s = h.spec();
        format!(
            "[[host]]\nname = \"{}\"\naddress = \"{}:{}\"\nuser = \"{}\"\nrole = \"{role}\"\ngpus = 1\nssh_key = \"{}\"\nknown_hosts = \"{}\"\n\n",
            h.name,
            s.address,
            s.port,
            s.user.clone().unwrap(),
            s.ssh_key.clone().unwrap().display(),
            s.ssh.known_hosts.clone().unwrap().display()
        )
    };
    let text = format!(
        "{}{}[[job]]\nname = \"{JOB}\"\nhost = \"h1\"\nworkdir = \"{w}\"\nlaunch = \"true\"\ncheckpoint_dir = \"{c}\"\ncheckpoint_marker = \"DONE\"\nstandby = [\"h2\"]\n\n[storage]\nnas = \"{n}\"\nkeep_last = {keep_last}\n{storage}\n\n[storage.s3]\nbucket = \"{b}\"\nregion = \"us-east-1\"\nendpoint = \"{e}\"\npath_style = true\nprefix = \"lb\"\n",
        host(&h1, "primary"),
        host(&h2, "standby"),
        w = h1.path("host").display(),
        c = ckpt.display(),
        n = nas.display(),
        b = s3::BUCKET,
        e = s3.endpoint(),
    );
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, &text).unwrap();
    let config = lifeboat::config::load_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let ssh: Arc<dyn Shell> = Arc::new(SshShell::new(
        config.fleet.hosts.clone(),
        SshSettings::default(),
    ));
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(NasStore::new(nas.clone())),
        Arc::new(
            S3Store::with_client(s3.client(), s3::BUCKET, "lb").with_multipart(8 << 20, 5 << 20),
        ),
    ];
    let catalogue = Arc::new(Catalogue::open(&dir.path().join("journal.db")).unwrap());
    let rep = Arc::new(
        Replicator::new(
            stores,
            catalogue,
            ssh,
            Arc::new(lifeboat::runtime::local::LocalShell),
            config.fleet.clone(),
            config.storage.clone(),
        )
        .with_manifest_key(key.map(<[u8]>::to_vec)),
    );
    Bed {
        h1,
        h2,
        s3,
        nas,
        _dir: dir,
        rep,
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
fn replicate_list_verify_restore_prune() {
    let b = bed(None, 2);
    let rt = rt();
    let big = bytes(7, 12 << 20); // multipart in S3
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

fn one_checkpoint(b: &Bed, rt: &tokio::runtime::Runtime, n: usize) -> Vec<u8> {
    let data = bytes(3, n);
    b.write_checkpoint("step-000010", &[("w.bin", data.clone())], true);
    let got = rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    assert_eq!(got.len(), 1);
    data
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

/// A checkpoint someone else put in the stores: its files and a valid manifest (signed
/// with `key` when given), raw into the NAS folder and through the S3 API.
fn plant(
    b: &Bed,
    rt: &tokio::runtime::Runtime,
    id: &str,
    step: u64,
    key: Option<&[u8]>,
) -> Vec<u8> {
    use lifeboat::core::manifest::{Manifest, ManifestFile, FORMAT};
    let data = bytes(9, 4000);
    let mut m = Manifest {
        format: FORMAT,
        job: JOB.into(),
        id: id.into(),
        step,
        created: 1_700_000_000_000,
        source_host: "stranger".into(),
        epoch: 99,
        single_file: false,
        files: vec![ManifestFile {
            path: "w.bin".into(),
            size: data.len() as u64,
            sha256: sha(&data),
            mode: None,
        }],
        mac: None,
    };
    if let Some(k) = key {
        m.sign(k);
    }
    let d = b.nas.join(JOB).join(id);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("w.bin"), &data).unwrap();
    std::fs::write(d.join("manifest.json"), m.to_bytes()).unwrap();
    let s3 = b.rep.store("s3").unwrap().clone();
    rt.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tx.send(Ok(bytes::Bytes::from(data.clone()))).await.unwrap();
        drop(tx);
        s3.put(JOB, id, "w.bin", data.len() as u64, rx, &|_| {})
            .await
            .unwrap();
        s3.put_manifest(&m).await.unwrap();
    });
    data
}

fn chown_to_test_user(p: &Path) {
    let ok = std::process::Command::new("chown")
        .args(["-h", sshd::USER])
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown {}", p.display());
}

#[test]
fn a_planted_checkpoint_is_found_never_restored_until_adopted() {
    use lifeboat::core::inventory::Provenance;
    let b = bed(None, 5);
    let rt = rt();
    let ours = one_checkpoint(&b, &rt, 2000);
    // Higher step than ours, valid manifest, in both stores: today's restore source.
    let planted = plant(&b, &rt, "step-000900", 900, None);
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(report.adopted, 0, "{report:?}");
    assert_eq!(
        report.found,
        ["train/step-000900 [nas]", "train/step-000900 [s3]"],
        "{report:?}"
    );
    let e = b.rep.catalogue.entries(Some(JOB)).unwrap();
    let p = e.iter().find(|e| e.id == "step-000900").unwrap();
    assert_eq!(p.provenance, Provenance::Found);
    assert!(!p.restorable() && p.needs_adoption());
    // The core is told it is not verified, so no failover chooses it.
    let told = lifeboat::runtime::replica::service::checkpoint_ref(&b.rep, p);
    assert!(!told.verified);
    // Nor does a restore.
    assert_eq!(
        b.rep.newest_restorable(JOB).unwrap().unwrap().id,
        "step-000010"
    );
    let dest = b.h2.path("host").join("auto");
    let r = rt
        .block_on(b.rep.restore(JOB, None, "h2", Some(dest.to_str().unwrap())))
        .unwrap();
    assert_eq!(r.id, "step-000010");
    assert_eq!(std::fs::read(dest.join("w.bin")).unwrap(), ours);
    let err = rt
        .block_on(
            b.rep
                .restore(JOB, Some("step-000900"), "h2", Some(dest.to_str().unwrap())),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoints adopt train step-000900"), "{err}");
    // An operator adopts it: every file hashed in both stores; then it is the newest.
    let a = rt
        .block_on(b.rep.adopt_checkpoint(JOB, "step-000900"))
        .unwrap();
    assert_eq!(
        (a.stores.clone(), a.already),
        (vec!["nas".to_string(), "s3".to_string()], false)
    );
    assert_eq!(a.files[0].sha256, sha(&planted));
    let newest = b.rep.newest_restorable(JOB).unwrap().unwrap();
    assert_eq!(
        (newest.id.as_str(), newest.provenance),
        ("step-000900", Provenance::Adopted)
    );
    // A scrub does not undo it.
    rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(
        b.rep.newest_restorable(JOB).unwrap().unwrap().id,
        "step-000900"
    );
}

#[test]
fn a_manifest_signed_with_the_team_key_is_trusted_and_a_forged_one_refused() {
    let key: &[u8] = b"team key for the test";
    let b = bed_keyed(None, 5, "", Some(key));
    let rt = rt();
    let _ = one_checkpoint(&b, &rt, 2000);
    // What Lifeboat writes, it signs.
    let ours = lifeboat::core::manifest::Manifest::parse(
        &std::fs::read(b.nas_file("step-000010", "manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        ours.authenticate(Some(key)),
        lifeboat::core::manifest::MacCheck::Valid
    );
    plant(&b, &rt, "step-000900", 900, Some(key));
    plant(&b, &rt, "step-000950", 950, Some(b"not the team key"));
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert_eq!(report.adopted, 2, "nas and s3 copies: {report:?}");
    assert!(report.found.is_empty(), "{report:?}");
    let forged: Vec<&String> = report
        .refused
        .iter()
        .filter(|r| r.starts_with("train/step-000950"))
        .collect();
    assert_eq!(forged.len(), 2, "{report:?}");
    assert!(forged[0].contains("mac does not verify"), "{forged:?}");
    assert_eq!(
        b.rep.newest_restorable(JOB).unwrap().unwrap().id,
        "step-000900"
    );
    let ids: Vec<String> = b
        .rep
        .catalogue
        .entries(Some(JOB))
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(!ids.contains(&"step-000950".to_string()), "{ids:?}");
    // The stage a failover runs restores the authenticated one.
    use lifeboat::runtime::replica::service::checkpoint_ref;
    use lifeboat::runtime::shell_transport::ShellTransport;
    use lifeboat::runtime::transport::Transport;
    let e = b.rep.newest_restorable(JOB).unwrap().unwrap();
    let mut ck = checkpoint_ref(&b.rep, &e);
    let dest = b.h2.path("host").join("staged");
    ck.location = dest.to_string_lossy().into_owned();
    let fleet = b.rep.fleet().clone();
    let ssh = Arc::new(SshShell::new(fleet.hosts.clone(), SshSettings::default()));
    let t = ShellTransport::new(ssh, Arc::new(lifeboat::runtime::local::LocalShell))
        .with_replicas(b.rep.clone());
    let h2 = fleet.hosts.iter().find(|h| h.id.as_str() == "h2").unwrap();
    rt.block_on(t.stage(h2, &fleet.jobs[0], Some(&ck), &|_: u64, _: u64| {}))
        .unwrap();
    assert_eq!(std::fs::read(dest.join("w.bin")).unwrap(), bytes(9, 4000));
}

#[test]
fn links_fifos_and_oversized_manifests_in_the_nas_are_refused() {
    let b = bed(None, 5);
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 3000);
    let outside = b._dir.path().join("outside.bin");
    std::fs::write(&outside, b"the console's own file").unwrap();
    // Our copy's file swapped for a link out of the root: bad, repaired from S3, and
    // the file it pointed to is untouched.
    let ours = b.nas_file("step-000010", "w.bin");
    std::fs::remove_file(&ours).unwrap();
    std::os::unix::fs::symlink(&outside, &ours).unwrap();
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    assert!(
        report
            .bad
            .iter()
            .any(|r| r.contains("[nas]") && r.contains("symbolic link")),
        "{report:?}"
    );
    assert_eq!(report.repaired, 1, "{report:?}");
    assert!(!std::fs::symlink_metadata(&ours)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&ours).unwrap(), data);
    assert_eq!(std::fs::read(&outside).unwrap(), b"the console's own file");
    // Planted: a checkpoint whose file is a link, a linked checkpoint folder, one with a
    // FIFO (which must not block), an oversized manifest, and too many files.
    let plant_raw = |id: &str, manifest: &[u8]| {
        let d = b.nas.join(JOB).join(id);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("manifest.json"), manifest).unwrap();
        d
    };
    let one_file = |id: &str, content: &[u8]| {
        format!(
            r#"{{"format":1,"job":"train","id":"{id}","step":900,"created":1,"source_host":"x","epoch":1,"files":[{{"path":"w.bin","size":{},"sha256":"{}"}}]}}"#,
            content.len(),
            sha(content)
        )
    };
    let secret = std::fs::read(&outside).unwrap();
    let d = plant_raw("step-000901", one_file("step-000901", &secret).as_bytes());
    std::os::unix::fs::symlink(&outside, d.join("w.bin")).unwrap();
    let real = b._dir.path().join("elsewhere");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("w.bin"), &secret).unwrap();
    std::fs::write(real.join("manifest.json"), one_file("step-000902", &secret)).unwrap();
    std::os::unix::fs::symlink(&real, b.nas.join(JOB).join("step-000902")).unwrap();
    let d = plant_raw("step-000903", one_file("step-000903", b"").as_bytes());
    assert!(std::process::Command::new("mkfifo")
        .arg(d.join("w.bin"))
        .status()
        .unwrap()
        .success());
    let d = plant_raw("step-000904", b"");
    let big = std::fs::File::create(d.join("manifest.json")).unwrap();
    big.set_len(lifeboat::core::manifest::MAX_MANIFEST_BYTES + 1)
        .unwrap();
    let many: Vec<String> = (0..=lifeboat::core::manifest::MAX_FILES)
        .map(|i| format!(r#"{{"path":"f{i}","size":0,"sha256":"{}"}}"#, sha(b"")))
        .collect();
    plant_raw(
        "step-000905",
        format!(
            r#"{{"format":1,"job":"train","id":"step-000905","step":905,"created":1,"source_host":"x","epoch":1,"files":[{}]}}"#,
            many.join(",")
        )
        .as_bytes(),
    );
    let report = rt.block_on(b.rep.scrub(1, None)).unwrap();
    let why = |id: &str| {
        report
            .refused
            .iter()
            .find(|r| r.starts_with(&format!("train/{id} [nas]")))
            .cloned()
            .unwrap_or_else(|| panic!("{id} not refused: {report:?}"))
    };
    assert!(why("step-000901").contains("symbolic link"), "{report:?}");
    assert!(why("step-000902").contains("symbolic link"), "{report:?}");
    assert!(
        why("step-000903").contains("not a regular file"),
        "{report:?}"
    );
    assert!(why("step-000904").contains("more than"), "{report:?}");
    assert!(why("step-000905").contains("more files"), "{report:?}");
    assert!(report.found.is_empty(), "{report:?}");
    let ids: Vec<String> = b
        .rep
        .catalogue
        .entries(Some(JOB))
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["step-000010"]);
}

#[test]
fn links_and_fifos_on_the_host_refuse_the_checkpoint_and_modes_come_back() {
    use std::os::unix::fs::symlink;
    let b = bed(None, 5);
    let rt = rt();
    let outside = b._dir.path().join("outside.bin");
    std::fs::write(&outside, b"not the job's").unwrap();
    let ck = b.ckpt_dir();
    b.write_checkpoint(
        "step-000020",
        &[("w.bin", bytes(1, 500)), ("sub/o.bin", bytes(2, 50))],
        true,
    );
    std::fs::set_permissions(
        ck.join("step-000020/w.bin"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        ck.join("step-000020/sub/o.bin"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    b.write_checkpoint("step-000030", &[("w.bin", bytes(3, 10))], true);
    symlink(&outside, ck.join("step-000030/shadow")).unwrap();
    b.write_checkpoint("step-000040", &[("w.bin", bytes(4, 10))], true);
    assert!(std::process::Command::new("mkfifo")
        .arg(ck.join("step-000040/pipe"))
        .status()
        .unwrap()
        .success());
    let elsewhere = b._dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("w.bin"), b"x").unwrap();
    std::fs::write(elsewhere.join("DONE"), b"").unwrap();
    symlink(&elsewhere, ck.join("step-000050")).unwrap();
    let walk = |p: &Path| {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            chown_to_test_user(&e.path());
        }
    };
    for id in [
        "step-000020",
        "step-000020/sub",
        "step-000030",
        "step-000040",
    ] {
        chown_to_test_user(&ck.join(id));
        walk(&ck.join(id));
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let rep = Replicator::new(
        b.rep.stores().to_vec(),
        b.rep.catalogue.clone(),
        Arc::new(SshShell::new(
            b.rep.fleet().hosts.clone(),
            SshSettings::default(),
        )),
        Arc::new(lifeboat::runtime::local::LocalShell),
        b.rep.fleet().clone(),
        b.rep.storage().clone(),
    )
    .with_notices(tx);
    let got = rt.block_on(rep.discover(JOB, "h1", 1)).unwrap();
    let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["step-000020"]);
    let m = &got[0];
    let mode = |p: &str| m.files.iter().find(|f| f.path == p).unwrap().mode;
    assert_eq!(
        (mode("w.bin"), mode("sub/o.bin")),
        (Some(0o600), Some(0o640))
    );
    drop(rep);
    let mut refused = Vec::new();
    while let Ok(n) = rx.try_recv() {
        let v = n.to_json();
        if v["what"] == "refused" {
            refused.push(format!("{} {}", v["id"], v["detail"]));
        }
    }
    refused.sort();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused[0].contains("step-000030/shadow is a symbolic link"),
        "{refused:?}"
    );
    assert!(
        refused[1].contains("step-000040/pipe is not a regular file"),
        "{refused:?}"
    );
    assert!(
        refused[2].contains("step-000050 is a symbolic link"),
        "{refused:?}"
    );
    // Restored with the job's own modes, never the 0644 a umask would give.
    let dest = b.h2.path("host").join("modes");
    rt.block_on(
        b.rep
            .restore(JOB, Some("step-000020"), "h2", Some(dest.to_str().unwrap())),
    )
    .unwrap();
    let perm = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(perm(&dest.join("w.bin")), 0o600);
    assert_eq!(perm(&dest.join("sub/o.bin")), 0o640);
    assert_eq!(perm(&dest.join("sub")) & 0o077, 0, "folders are private");
}
