//! What a store or a host holds that Lifeboat did not write, against real sshd hosts and a
//! real S3 server: a checkpoint planted in the NAS and S3 is found, never restored until
//! an operator adopts it or its manifest's mac verifies under the team's key; links, FIFOs
//! and oversized manifests in the NAS are refused; a link or FIFO in a job's checkpoint
//! folder refuses that checkpoint; restored files keep the job's own modes.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/checkpoint_bed.rs"]
mod checkpoint_bed;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/sshd.rs"]
mod sshd;

use checkpoint_bed::{bed, bed_keyed, bytes, one_checkpoint, rt, sha, Bed, JOB};
use lifeboat::runtime::replica::Replicator;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

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
