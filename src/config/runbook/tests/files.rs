//! Runbooks from files and folders: the catalogue, team replacements, and links that
//! lead out of the folder.

use super::GOOD;
use crate::config::runbook::{catalogue, load_dir, load_runbook, shipped};
use crate::config::ConfigError;
use std::fs;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_folder_loads_its_toml_files_by_name_and_reports_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b-crash.toml", GOOD);
    write(dir.path(), "a-crash.toml", GOOD);
    write(dir.path(), "broken.toml", "[runbook\n");
    write(dir.path(), "notes.txt", "not a runbook");
    fs::create_dir(dir.path().join("folder.toml")).unwrap();
    let (runbooks, errors) = load_dir(dir.path());
    let names: Vec<&str> = runbooks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["a-crash", "b-crash"]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let shown = errors[0].to_string();
    assert!(shown.contains("broken.toml:1:"), "{shown}");
}

#[cfg(unix)]
#[test]
fn links_are_followed_only_inside_the_folder() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "elsewhere.toml", GOOD);
    write(dir.path(), "real.toml", GOOD);
    symlink(dir.path().join("real.toml"), dir.path().join("alias.toml")).unwrap();
    symlink(
        outside.path().join("elsewhere.toml"),
        dir.path().join("out.toml"),
    )
    .unwrap();
    symlink(
        dir.path().join("gone.toml"),
        dir.path().join("dangling.toml"),
    )
    .unwrap();
    let (runbooks, errors) = load_dir(dir.path());
    let names: Vec<&str> = runbooks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["alias", "real"]);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(
        shown[0].contains("dangling.toml: is a link to nothing"),
        "{}",
        shown[0]
    );
    assert!(shown[1].contains("out.toml: is a link to"), "{}", shown[1]);
    assert!(
        shown[1].contains("outside the runbook folder"),
        "{}",
        shown[1]
    );
    assert!(
        shown[1].contains("fix: copy the runbook into the folder"),
        "{}",
        shown[1]
    );
}

#[test]
fn a_team_runbook_replaces_the_shipped_one_of_its_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "job-crash.toml",
        &GOOD.replace("version = 1", "version = 7"),
    );
    write(dir.path(), "our-own.toml", GOOD);
    write(dir.path(), "gpu-failure.toml", "[runbook]\ntitle = \"x\"\n");
    let (all, errors) = catalogue(Some(dir.path()));
    assert_eq!(all.len(), shipped().len() + 1);
    let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let crash = all.iter().find(|r| r.name == "job-crash").unwrap();
    assert_eq!(crash.version, 7);
    assert_eq!(crash.source, dir.path().join("job-crash.toml"));
    // A team runbook that does not parse replaces nothing.
    let gpu = all.iter().find(|r| r.name == "gpu-failure").unwrap();
    assert!(gpu.source.starts_with("assets/runbooks"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let (all, errors) = catalogue(None);
    assert_eq!((all.len(), errors.len()), (12, 0));
}

#[test]
fn missing_files_and_folders_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_runbook(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::File { .. }));
    assert!(
        e.to_string()
            .contains("nope.toml: cannot read the runbook: no such file"),
        "{e}"
    );
    let (r, errors) = load_dir(&dir.path().join("absent"));
    assert!(r.is_empty());
    assert!(
        errors[0]
            .to_string()
            .contains("cannot read the runbook folder"),
        "{}",
        errors[0]
    );
}
