//! Tests of the workspace listing parser and sync planner, with a property: applying a
//! plan the way the runtime does leaves the destination equal to the source.

use super::*;
use proptest::prelude::*;

fn file(size: u64, mtime: i64) -> Entry {
    Entry {
        kind: Kind::File,
        size,
        mtime,
        mode: 0o644,
        target: String::new(),
    }
}

fn dir() -> Entry {
    Entry {
        kind: Kind::Dir,
        size: 0,
        mtime: 0,
        mode: 0o755,
        target: String::new(),
    }
}

fn link(target: &str) -> Entry {
    Entry {
        kind: Kind::Link,
        size: 0,
        mtime: 0,
        mode: 0o777,
        target: target.into(),
    }
}

fn tree(entries: &[(&str, Entry)]) -> Tree {
    Tree {
        entries: entries
            .iter()
            .map(|(p, e)| (p.to_string(), e.clone()))
            .collect(),
        skipped: Vec::new(),
    }
}

fn rec(kind: &str, size: u64, mtime: &str, mode: &str, target: &str, path: &str) -> Vec<u8> {
    format!("{kind}\0{size}\0{mtime}\0{mode}\0{target}\0{path}\0").into_bytes()
}

fn listing(recs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("{LIST_HEADER}\n").into_bytes();
    out.extend(recs.concat());
    out
}

#[test]
fn parses_files_folders_and_links_with_any_name() {
    let out = listing(&[
        rec("d", 4096, "1700000000.5", "755", "", "src"),
        rec(
            "f",
            12,
            "1700000001.9999",
            "644",
            "",
            "src/it's a \"file\"\twith tab",
        ),
        rec("f", 0, "1700000002.0", "600", "", "empty"),
        rec("l", 7, "1700000003.0", "777", "../x y", "src/link"),
    ]);
    let t = parse_listing(&out).unwrap().unwrap();
    assert!(t.skipped.is_empty(), "{:?}", t.skipped);
    assert_eq!(t.entries.len(), 4);
    let f = &t.entries["src/it's a \"file\"\twith tab"];
    assert_eq!(
        (f.kind, f.size, f.mtime, f.mode),
        (Kind::File, 12, 1_700_000_001, 0o644)
    );
    assert_eq!(t.entries["src"].size, 0, "a folder's size is not compared");
    assert_eq!(
        t.entries["src/link"],
        Entry {
            mtime: 1_700_000_003,
            ..link("../x y")
        }
    );
    assert_eq!(t.entries["empty"].mode, 0o600);
}

#[test]
fn a_missing_folder_and_garbage_are_told_apart() {
    assert_eq!(parse_listing(b"@@nodir\n"), Ok(None));
    assert!(parse_listing(b"bash: find: not found\n").is_err());
    let empty = parse_listing(format!("{LIST_HEADER}\n").as_bytes())
        .unwrap()
        .unwrap();
    assert!(empty.entries.is_empty() && empty.skipped.is_empty());
}

#[test]
fn hostile_cut_and_garbled_records_are_skipped() {
    let mut out = listing(&[
        rec("f", 1, "1", "644", "", "../../etc/passwd"),
        rec("f", 1, "1", "644", "", "/etc/passwd"),
        rec("f", 1, "1", "644", "", "a/./b"),
        rec("f", 1, "nan", "644", "", "nan"),
        rec("f", 1, "1", "9z", "", "badmode"),
        rec("p", 0, "1", "644", "", "fifo"),
        rec("f", 1, "1", "644", "", "line\nbreak"),
        rec("f", 5, "1", "644", "", "ok"),
    ]);
    out.extend(b"f\x003\x00");
    let t = parse_listing(&out).unwrap().unwrap();
    assert_eq!(t.entries.keys().collect::<Vec<_>>(), ["line\nbreak", "ok"]);
    assert_eq!(t.skipped.len(), 7, "{:?}", t.skipped);
}

#[test]
fn new_and_changed_files_are_sent_and_the_same_are_not() {
    let src = tree(&[
        ("a", dir()),
        ("a/new", file(3, 10)),
        ("a/bigger", file(9, 10)),
        ("a/touched", file(4, 11)),
        ("same", file(4, 10)),
        ("ln", link("a/new")),
    ]);
    let dst = tree(&[
        ("a", dir()),
        ("a/bigger", file(8, 10)),
        ("a/touched", file(4, 10)),
        ("same", file(4, 10)),
        ("ln", link("a/new")),
    ]);
    let p = plan(&src, &dst, &Excludes::default(), true);
    assert_eq!(p.copy, ["a/bigger", "a/new", "a/touched"]);
    assert_eq!((p.files, p.bytes), (3, 16));
    assert!(p.mkdirs.is_empty());
    // A link is never synced: it is named, and the destination's copy of it goes.
    assert_eq!(p.refused, ["ln -> a/new"]);
    assert_eq!(p.delete, [("ln".to_string(), Removal::File)]);
    let mut no_link = src.clone();
    no_link.entries.remove("ln");
    assert!(plan(&no_link, &no_link, &Excludes::default(), true).is_empty());
}

#[test]
fn gone_files_are_removed_children_first_and_folders_only_when_empty() {
    let src = tree(&[("keep", file(1, 1))]);
    let dst = tree(&[
        ("keep", file(1, 1)),
        ("old", dir()),
        ("old/sub", dir()),
        ("old/sub/x", file(1, 1)),
        ("old b", file(1, 1)),
    ]);
    let p = plan(&src, &dst, &Excludes::default(), true);
    assert_eq!(
        p.delete,
        [
            ("old/sub/x".to_string(), Removal::File),
            ("old/sub".to_string(), Removal::EmptyDir),
            ("old b".to_string(), Removal::File),
            ("old".to_string(), Removal::EmptyDir),
        ]
    );
    // A source listing that hit an unreadable folder removes nothing.
    assert!(plan(&src, &dst, &Excludes::default(), false).is_empty());
}

#[test]
fn excluded_paths_are_neither_sent_nor_removed() {
    let ex = Excludes::for_job(&["*.tmp", "data/raw"], "/w", "/w/ckpt");
    let src = tree(&[
        ("x.tmp", file(1, 1)),
        ("data", dir()),
        ("data/raw", dir()),
        ("data/raw/big", file(100, 1)),
        ("ckpt", dir()),
        ("ckpt/step-1.pt", file(100, 1)),
        ("code.py", file(1, 1)),
    ]);
    let dst = tree(&[
        ("ckpt", dir()),
        ("ckpt/staged.pt", file(50, 1)),
        ("y.tmp", file(1, 1)),
    ]);
    let p = plan(&src, &dst, &ex, true);
    assert_eq!(p.copy, ["code.py"]);
    assert_eq!(p.mkdirs, [("data".to_string(), 0o755)]);
    assert!(p.delete.is_empty(), "{:?}", p.delete);
}

#[test]
fn a_changed_kind_is_removed_before_it_is_replaced() {
    let src = tree(&[("a", file(1, 1)), ("b", dir()), ("c", link("a"))]);
    let dst = tree(&[
        ("a", dir()),
        ("a/inner", file(1, 1)),
        ("a/kept.tmp", file(1, 1)),
        ("b", file(1, 1)),
        ("c", file(1, 1)),
    ]);
    let p = plan(&src, &dst, &Excludes::new(&["*.tmp"]), true);
    assert_eq!(
        p.delete,
        [
            ("c".to_string(), Removal::File),
            ("b".to_string(), Removal::File),
            ("a".to_string(), Removal::Tree),
        ]
    );
    assert_eq!(p.mkdirs, [("b".to_string(), 0o755)]);
    assert_eq!(p.copy, ["a"]);
    assert_eq!(p.refused, ["c -> a"]);
}

/// Applies `p` to `dst` as the runtime's scripts do.
fn apply(p: &Plan, src: &Tree, dst: &Tree) -> Tree {
    let mut out = dst.clone();
    let under = |t: &Tree, path: &str| {
        let pre = format!("{path}/");
        t.entries.keys().any(|k| k.starts_with(&pre))
    };
    for (path, how) in &p.delete {
        match how {
            Removal::File => {
                assert_ne!(out.entries.get(path).map(|e| e.kind), Some(Kind::Dir));
                out.entries.remove(path);
            }
            Removal::EmptyDir => {
                if !under(&out, path) {
                    out.entries.remove(path);
                }
            }
            Removal::Tree => {
                let pre = format!("{path}/");
                out.entries.retain(|k, _| k != path && !k.starts_with(&pre));
            }
        }
    }
    for (path, mode) in &p.mkdirs {
        assert!(!out.entries.contains_key(path), "mkdir over {path}");
        out.entries.insert(
            path.clone(),
            Entry {
                mode: *mode,
                ..dir()
            },
        );
    }
    for path in &p.copy {
        if let Some((parent, _)) = path.rsplit_once('/') {
            assert_eq!(
                out.entries.get(parent).map(|e| e.kind),
                Some(Kind::Dir),
                "{path}"
            );
        }
        assert_ne!(
            out.entries.get(path).map(|e| e.kind),
            Some(Kind::Dir),
            "{path}"
        );
        out.entries.insert(path.clone(), src.entries[path].clone());
    }
    out
}

/// A consistent tree from generated paths: every parent is a folder.
fn build(leaves: Vec<(Vec<usize>, u8, u64, i64)>, names: &[&str]) -> Tree {
    let mut t = Tree::default();
    for (segs, kind, size, mtime) in leaves {
        let parts: Vec<&str> = segs.iter().map(|i| names[*i]).collect();
        for n in 1..parts.len() {
            t.entries.insert(parts[..n].join("/"), dir());
        }
        let path = parts.join("/");
        if t.entries.get(&path).is_some_and(|e| e.kind == Kind::Dir) {
            continue;
        }
        let e = match kind {
            0 => dir(),
            1 => link(&format!("t{size}")),
            _ => file(size, mtime),
        };
        t.entries.insert(path, e);
    }
    // A later leaf may have made a file's path a folder's parent: folders win.
    let dirs: Vec<String> = t
        .entries
        .keys()
        .filter_map(|k| k.rsplit_once('/').map(|(p, _)| p.to_string()))
        .collect();
    for d in dirs {
        t.entries.insert(d, dir());
    }
    t
}

fn leaves() -> impl Strategy<Value = Vec<(Vec<usize>, u8, u64, i64)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(0usize..5, 1..4),
            0u8..4,
            0u64..3,
            0i64..3,
        ),
        0..14,
    )
}

proptest! {
    #[test]
    fn applying_the_plan_makes_the_trees_equal(src in leaves(), dst in leaves(), complete in any::<bool>()) {
        let names = ["a", "b", "c d", "x.tmp", "ck"];
        let (src, dst) = (build(src, &names), build(dst, &names));
        let ex = Excludes::for_job(&["*.tmp"], "/w", "/w/ck/a");
        let p = plan(&src, &dst, &ex, complete);
        let got = apply(&p, &src, &dst);
        // Everything the source has (and may send) is now at the destination.
        for (path, s) in src.entries.iter().filter(|(k, s)| !ex.excludes(k) && s.kind != Kind::Link) {
            let d = got.entries.get(path);
            prop_assert!(d.is_some_and(|d| s.same_as(d)), "{path}: {s:?} vs {d:?}\n{p:?}");
        }
        // Nothing else is, but folders that still hold excluded files, or, after an
        // incomplete source listing, what the destination had.
        for (path, d) in got.entries.iter().filter(|(k, _)| !ex.excludes(k)) {
            if src.entries.get(path).is_some_and(|s| s.kind != Kind::Link) {
                continue;
            }
            let pre = format!("{path}/");
            let holds_excluded = d.kind == Kind::Dir
                && got.entries.keys().any(|k| k.starts_with(&pre) && ex.excludes(k));
            prop_assert!(holds_excluded || !complete, "{path} left over\n{p:?}");
        }
        // Excluded files survive unless their folder had to make way for a file.
        for (path, e) in dst.entries.iter().filter(|(k, _)| ex.excludes(k)) {
            let replaced = p.delete.iter().any(|(d, how)| {
                *how == Removal::Tree && path.starts_with(&format!("{d}/"))
            });
            prop_assert!(replaced || got.entries.get(path) == Some(e), "{path} lost");
        }
        // A second sync has nothing left to do (but folders it may not empty).
        let again = plan(&src, &got, &ex, complete);
        prop_assert!(again.copy.is_empty() && again.mkdirs.is_empty(), "{again:?}");
        prop_assert!(again.delete.iter().all(|(_, how)| *how == Removal::EmptyDir), "{again:?}");
        prop_assert_eq!(again.files, 0);
    }
}
