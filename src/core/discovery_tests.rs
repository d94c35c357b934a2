//! Tests of the checkpoint listing parser and completeness by marker or stillness.

use super::*;

fn rec(kind: &str, size: u64, mtime: &str, path: &str) -> Vec<u8> {
    format!("{kind}\t{size}\t{mtime}\t644\t{path}\0").into_bytes()
}

fn listing(recs: &[Vec<u8>], marker: Option<&str>) -> Parsed {
    parse_listing(&recs.concat(), marker)
}

#[test]
fn groups_folders_and_single_files() {
    let p = listing(
        &[
            rec("d", 4096, "100.5", "step-000100"),
            rec("f", 10, "101.0", "step-000100/model.bin"),
            rec("f", 5, "102.0", "step-000100/opt/state.bin"),
            rec("f", 7, "90.0", "ckpt_s50.pt"),
            rec("f", 3, "90.0", ".hidden"),
            rec("f", 3, "90.0", "step-200.tmp"),
            rec("l", 3, "90.0", "link"),
        ],
        None,
    );
    assert_eq!(p.checkpoints.len(), 2);
    let pt = &p.checkpoints[0];
    assert_eq!(
        (pt.id.as_str(), pt.single_file, pt.step()),
        ("ckpt_s50.pt", true, 50)
    );
    let d = &p.checkpoints[1];
    assert_eq!(d.step(), 100);
    assert_eq!(d.bytes(), 15);
    assert_eq!(d.mtime, 102_000);
    assert_eq!(d.files[1].0, "opt/state.bin");
    assert_eq!(d.modes.get("model.bin"), Some(&0o644));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert_eq!(p.refused.len(), 1, "{:?}", p.refused);
    assert!(p.refused[0].1.contains("symbolic link"), "{:?}", p.refused);
}

#[test]
fn markers_mark_folders_and_files() {
    let p = listing(
        &[
            rec("f", 10, "1", "a-1/w.bin"),
            rec("f", 0, "1", "a-1/DONE"),
            rec("f", 10, "1", "a-2/w.bin"),
            rec("f", 10, "1", "b-3.pt"),
            rec("f", 0, "1", "b-3.pt.DONE"),
        ],
        Some("DONE"),
    );
    let marked: Vec<_> = p
        .checkpoints
        .iter()
        .map(|c| (c.id.as_str(), c.marked))
        .collect();
    assert_eq!(marked, [("a-1", true), ("a-2", false), ("b-3.pt", true)]);
    // The marker itself is not a file of the checkpoint.
    assert_eq!(p.checkpoints[0].files.len(), 1);
}

#[test]
fn hostile_and_garbled_records_are_skipped() {
    let mut raw = rec("f", 1, "1", "../../etc/passwd");
    raw.extend(b"garbage\0");
    raw.extend(rec("f", 1, "nan", "x"));
    raw.extend(b"f\t1\t1\t9z\tbadmode\0");
    raw.extend(rec("f", 1, "1", "ok/manifest.json"));
    raw.extend(rec("f", 1, "1", "ok/a"));
    let p = parse_listing(&raw, None);
    assert_eq!(p.checkpoints.len(), 1);
    assert_eq!(p.checkpoints[0].files, vec![("a".to_string(), 1)]);
    assert_eq!(p.skipped.len(), 5, "{:?}", p.skipped);
}

#[test]
fn a_folder_without_files_is_not_a_checkpoint() {
    let p = listing(&[rec("d", 4096, "1", "empty")], None);
    assert!(p.checkpoints.is_empty());
}

#[test]
fn stable_twice_or_marked_is_complete() {
    let mut d = Discovery::default();
    let growing = |n| Listing {
        id: "s-1".into(),
        single_file: true,
        files: vec![("s-1".into(), n)],
        modes: BTreeMap::new(),
        mtime: n,
        marked: false,
    };
    assert!(d.complete("j", &[growing(10)], false).is_empty());
    assert!(d.complete("j", &[growing(20)], false).is_empty());
    assert_eq!(d.complete("j", &[growing(20)], false).len(), 1);
    // Another job's history is its own.
    assert!(d.complete("k", &[growing(20)], false).is_empty());
    let mut m = growing(5);
    assert!(d.complete("m", &[m.clone()], true).is_empty());
    m.marked = true;
    assert_eq!(d.complete("m", &[m], true).len(), 1);
}

#[test]
fn steps_from_names() {
    assert_eq!(step_of("step-000120"), 120);
    assert_eq!(step_of("ckpt_e3_s4500.pt"), 4500);
    assert_eq!(step_of("latest"), 0);
    assert_eq!(step_of("99999999999999999999999"), 0);
}

#[test]
fn a_link_or_fifo_anywhere_in_a_checkpoint_refuses_it_whole() {
    let p = listing(
        &[
            rec("d", 4096, "1", "step-1"),
            rec("f", 10, "1", "step-1/model.bin"),
            rec("l", 11, "1", "step-1/shadow"),
            rec("d", 4096, "1", "step-2"),
            rec("p", 0, "1", "step-2/pipe"),
            rec("f", 3, "1", "step-2/w.bin"),
            rec("l", 11, "1", "step-3"),
            rec("f", 3, "1", "step-4.pt"),
        ],
        None,
    );
    let ids: Vec<&str> = p.checkpoints.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["step-4.pt"]);
    let refused: Vec<(&str, &str)> = p
        .refused
        .iter()
        .map(|(id, why)| (id.as_str(), why.as_str()))
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused[0].1.starts_with("step-1/shadow is a symbolic link"),
        "{refused:?}"
    );
    assert!(
        refused[1].1.contains("step-2/pipe is not a regular file"),
        "{refused:?}"
    );
    assert_eq!(refused[2].0, "step-3");
}
