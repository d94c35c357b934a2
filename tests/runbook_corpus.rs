//! The malformed-runbook corpus: every file in `tests/fixtures/runbooks_bad/` has one
//! defect, and its first line says where (`# expect: LINE KEY`). Each must be refused
//! with an error that names the file, that line and that key, and says how to fix it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lifeboat::config::runbook::load_runbook;
use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbooks_bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus folder")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// `# expect: 7 step[1].fault` → (7, "step[1].fault").
fn expectation(path: &Path) -> (usize, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("# expect: ").unwrap_or_else(|| {
        panic!(
            "{}: the first line is not `# expect: LINE KEY`",
            path.display()
        )
    });
    let (line, key) = rest.split_once(' ').unwrap();
    (line.parse().unwrap(), key.trim().to_string())
}

#[test]
fn the_corpus_is_large_enough() {
    assert!(corpus().len() >= 15, "{} files", corpus().len());
}

#[test]
fn every_malformed_runbook_is_refused_at_its_line_and_key_with_a_fix() {
    for path in corpus() {
        let (line, key) = expectation(&path);
        let err = match load_runbook(&path) {
            Ok(_) => panic!("{}: accepted", path.display()),
            Err(e) => e,
        };
        let shown = err.to_string();
        let problems = err.problems();
        assert_eq!(
            problems.len(),
            1,
            "{}: one defect, one problem:\n{shown}",
            path.display()
        );
        let p = &problems[0];
        let at = p.at.unwrap_or_else(|| panic!("no position:\n{shown}"));
        assert_eq!((at.line, p.key.as_str()), (line, key.as_str()), "\n{shown}");
        assert!(!p.fix.trim().is_empty(), "no fix:\n{shown}");
        // As the operator reads it: `FILE:LINE:COL: KEY: message`, then `  fix: …`.
        let head = format!("{}:{}:{}: {}: ", path.display(), line, at.col, key);
        assert!(
            shown.starts_with(&head),
            "expected {head:?} at the start of:\n{shown}"
        );
        assert!(shown.contains("\n  fix: "), "{shown}");
    }
}
