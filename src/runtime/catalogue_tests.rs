//! Tests of the catalogue: records, copies, provenance and reopening old files.

use super::*;
use crate::core::manifest::{ManifestFile, FORMAT};

fn manifest(id: &str, step: u64) -> Manifest {
    Manifest {
        format: FORMAT,
        job: "train".into(),
        id: id.into(),
        step,
        created: step * 1000,
        source_host: "pc1".into(),
        epoch: 1,
        single_file: true,
        files: vec![ManifestFile {
            path: id.into(),
            size: 7,
            sha256: "b".repeat(64),
            mode: None,
        }],
        mac: None,
    }
}

#[test]
fn records_copies_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    {
        let c = Catalogue::open(&path).unwrap();
        c.record(&manifest("s-2", 2), Ts(5)).unwrap();
        c.record(&manifest("s-1", 1), Ts(5)).unwrap();
        c.set_copy("train", "s-1", "nas", CopyState::Verified, Some(Ts(9)), "")
            .unwrap();
        c.set_copy("train", "s-1", "s3", CopyState::Pending, None, "S3 away")
            .unwrap();
        c.set_copy("train", "s-1", "s3", CopyState::Verified, None, "")
            .unwrap();
        c.set_counter("scrub", 3).unwrap();
    }
    let c = Catalogue::open(&path).unwrap();
    let all = c.entries(None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, "s-1");
    assert!(all[0].restorable());
    assert!(!all[1].restorable());
    let s3 = all[0].copy("s3").unwrap();
    assert_eq!(s3.state, CopyState::Verified);
    assert_eq!(s3.checked, None);
    assert_eq!(all[0].copy("nas").unwrap().checked, Some(Ts(9)));
    assert_eq!(c.manifest("train", "s-2").unwrap().unwrap().step, 2);
    assert_eq!(c.counter("scrub").unwrap(), 3);
    c.forget("train", "s-1").unwrap();
    assert_eq!(c.entries(Some("train")).unwrap().len(), 1);
    assert!(c.entries(Some("other")).unwrap().is_empty());
}

#[test]
fn a_found_checkpoint_gives_way_to_one_lifeboat_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalogue::open(&dir.path().join("journal.db")).unwrap();
    let mut planted = manifest("s-9", 9);
    planted.source_host = "stranger".into();
    c.record_as(&planted, Ts(1), Provenance::Found).unwrap();
    c.set_copy("train", "s-9", "nas", CopyState::Verified, None, "")
        .unwrap();
    let e = &c.entries(None).unwrap()[0];
    assert_eq!(e.provenance, Provenance::Found);
    assert!(!e.restorable());
    c.record(&manifest("s-9", 9), Ts(2)).unwrap();
    let e = &c.entries(None).unwrap()[0];
    assert_eq!(
        (e.provenance, e.source_host.as_str()),
        (Provenance::Recorded, "pc1")
    );
    // A recorded one is never overwritten by a found one.
    c.record_as(&planted, Ts(3), Provenance::Found).unwrap();
    assert_eq!(c.entries(None).unwrap()[0].provenance, Provenance::Recorded);
    c.set_provenance("train", "s-9", Provenance::Adopted)
        .unwrap();
    assert_eq!(c.entries(None).unwrap()[0].provenance, Provenance::Adopted);
}

#[test]
fn an_old_catalogue_gets_provenance_and_its_adopted_rows_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            &SCHEMA.replace("    provenance  TEXT NOT NULL DEFAULT 'recorded',\n", ""),
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO checkpoints VALUES ('j','a',1,1,1,1,'h',1,'d','{}',1);
             INSERT INTO checkpoints VALUES ('j','b',2,2,1,1,'h',1,'d','{}',1);
             INSERT INTO copies VALUES ('j','b','nas','verified',1,'adopted from the store');",
        )
        .unwrap();
    }
    let c = Catalogue::open(&path).unwrap();
    let p: Vec<Provenance> = c
        .entries(None)
        .unwrap()
        .iter()
        .map(|e| e.provenance)
        .collect();
    assert_eq!(p, [Provenance::Recorded, Provenance::Found]);
}
