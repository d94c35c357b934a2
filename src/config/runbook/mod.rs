//! Runbooks are files: runbook TOML → checked [`Runbook`], with the config file's error
//! quality (every problem names the file, line, key path and a fix).
//!
//! [`parse_runbook`] (pure) parses and checks one text, [`load_runbook`] reads a file,
//! [`load_dir`] a team's folder, [`shipped`] the runbooks built into the binary (one per
//! scenario, from `assets/runbooks/`), and [`catalogue`] both. The format is documented
//! in `raw.rs` and by the shipped runbooks.

mod hints;
mod probes;
mod raw;
mod rules;
mod steps;
mod targets;
mod validate;

#[cfg(test)]
mod tests;

use super::error::{ConfigError, Problem};
use super::keypath::KeyPath;
use super::validate::Ctx;
use super::{schema_error, syntax_error};
use crate::core::drill::runbook::Runbook;
use crate::core::manifest::hex;
use hints::RUNBOOK;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where the shipped runbooks live in the source tree (and what their `source` says).
pub const SHIPPED_DIR: &str = "assets/runbooks";

/// The shipped runbooks' files and texts, built into the binary so it has them anywhere.
const SHIPPED: [(&str, &str); 12] = [
    (
        "checkpoint-corruption.toml",
        include_str!("../../../assets/runbooks/checkpoint-corruption.toml"),
    ),
    (
        "fleet-loss.toml",
        include_str!("../../../assets/runbooks/fleet-loss.toml"),
    ),
    (
        "gpu-failure.toml",
        include_str!("../../../assets/runbooks/gpu-failure.toml"),
    ),
    (
        "host-down.toml",
        include_str!("../../../assets/runbooks/host-down.toml"),
    ),
    (
        "host-unreachable.toml",
        include_str!("../../../assets/runbooks/host-unreachable.toml"),
    ),
    (
        "job-crash.toml",
        include_str!("../../../assets/runbooks/job-crash.toml"),
    ),
    (
        "job-hang.toml",
        include_str!("../../../assets/runbooks/job-hang.toml"),
    ),
    (
        "nas-lost.toml",
        include_str!("../../../assets/runbooks/nas-lost.toml"),
    ),
    (
        "network-partition.toml",
        include_str!("../../../assets/runbooks/network-partition.toml"),
    ),
    (
        "restore-test.toml",
        include_str!("../../../assets/runbooks/restore-test.toml"),
    ),
    (
        "spot-preemption.toml",
        include_str!("../../../assets/runbooks/spot-preemption.toml"),
    ),
    (
        "supervisor-loss.toml",
        include_str!("../../../assets/runbooks/supervisor-loss.toml"),
    ),
];

/// Parses and checks runbook text. Pure: `path` names the runbook (its file stem), is
/// named in messages and kept as [`Runbook::source`]; [`Runbook::hash`] is the hex
/// SHA-256 of `text`. Syntax and schema errors stop at the first; the checks report
/// every problem they find.
pub fn parse_runbook(text: &str, path: &Path) -> Result<Runbook, ConfigError> {
    let invalid = |problems: Vec<Problem>| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let doc = toml_edit::ImDocument::parse(text)
        .map_err(|e| invalid(vec![syntax_error::syntax(&RUNBOOK, text, &e)]))?;
    let raw: raw::RawRunbook = toml::from_str(text).map_err(|e| {
        let p = schema_error::schema(&RUNBOOK, text, doc.as_item(), &e);
        invalid(vec![reworded(p, &name)])
    })?;
    let mut ctx = Ctx::new(text, doc.as_item());
    if !is_name(&name) {
        ctx.report(
            None,
            &KeyPath::root(),
            format!("the file name gives the runbook the name \"{}\", which is not a runbook name", name.escape_debug()),
            "rename the file to letters, digits, '.', '_' or '-' (starting with a letter or digit) and .toml, e.g. job-crash.toml",
        );
    }
    let origin = validate::Origin {
        name,
        source: path.to_path_buf(),
        hash: hex(&Sha256::digest(text.as_bytes())),
    };
    validate::build(raw, &mut ctx, origin).map_err(invalid)
}

/// Schema errors a runbook words its own way: `name = "…"` (the name is the file's),
/// and a secret (a drill uses the fleet config's credentials; a runbook needs none).
fn reworded(mut p: Problem, stem: &str) -> Problem {
    if p.key == "runbook.name" || p.key == "name" {
        p.message = format!("a runbook has no name key: its name is its file's stem (\"{stem}\")");
        p.fix = format!("remove name; to rename the runbook, rename the file (e.g. to new-name.toml instead of {stem}.toml)");
    } else if p.message.contains("would hold a secret") {
        p.fix = "remove it: a runbook holds no secrets; a drill reaches hosts and stores with the fleet config's credentials".into();
    }
    p
}

/// Runbook names: what `lifeboat drill run NAME` takes.
fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Reads and checks the runbook file at `path`.
pub fn load_runbook(path: &Path) -> Result<Runbook, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        message: format!("cannot read the runbook: {}", reason(&e)),
        fix: match e.kind() {
            std::io::ErrorKind::NotFound => "check the path",
            std::io::ErrorKind::PermissionDenied => {
                "make the file readable by the user running lifeboat"
            }
            std::io::ErrorKind::InvalidData => "save the file as UTF-8",
            _ => "check that the path names a readable file",
        }
        .into(),
    })?;
    parse_runbook(&text, path)
}

/// Reads every `*.toml` runbook in `dir`, by file name. A link is followed only when it
/// leads to a file inside `dir`; one that leads out (or nowhere) is refused. Each bad
/// file is one error; the good ones load regardless.
pub fn load_dir(dir: &Path) -> (Vec<Runbook>, Vec<ConfigError>) {
    let unreadable = |e: &std::io::Error| ConfigError::File {
        path: dir.to_path_buf(),
        message: format!("cannot read the runbook folder: {}", reason(e)),
        fix: "check the path, and that the user running lifeboat may list it".into(),
    };
    let (entries, root) = match std::fs::read_dir(dir).and_then(|r| Ok((r, dir.canonicalize()?))) {
        Ok(x) => x,
        Err(e) => return (Vec::new(), vec![unreadable(&e)]),
    };
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) if e.path().extension().is_some_and(|x| x == "toml") => files.push(e.path()),
            Ok(_) => {}
            Err(e) => errors.push(unreadable(&e)),
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut runbooks = Vec::new();
    for path in files {
        match inside(&path, &root) {
            Ok(true) => match load_runbook(&path) {
                Ok(r) => runbooks.push(r),
                Err(e) => errors.push(e),
            },
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    (runbooks, errors)
}

/// Whether `path` is a file to load: `Ok(false)` for a folder, an error for a link that
/// leads out of `root` or nowhere.
fn inside(path: &Path, root: &Path) -> Result<bool, ConfigError> {
    let refuse = |message: String, fix: &str| ConfigError::File {
        path: path.to_path_buf(),
        message,
        fix: fix.into(),
    };
    let meta = std::fs::symlink_metadata(path).map_err(|e| {
        refuse(
            format!("cannot read the runbook: {}", reason(&e)),
            "check that the file is readable",
        )
    })?;
    if !meta.file_type().is_symlink() {
        return Ok(meta.is_file());
    }
    let target = path.canonicalize().map_err(|_| {
        refuse(
            "is a link to nothing (its target is missing)".into(),
            "remove the link, or point it at a runbook in this folder",
        )
    })?;
    if !target.starts_with(root) {
        return Err(refuse(
            format!(
                "is a link to {}, outside the runbook folder {}; runbooks are read only from inside it",
                target.display(),
                root.display()
            ),
            "copy the runbook into the folder instead of linking to it, or remove the link",
        ));
    }
    Ok(target.is_file())
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// The runbooks shipped with Lifeboat, one per scenario, by name. Each is checked by the
/// tests, so none is ever left out here.
pub fn shipped() -> Vec<Runbook> {
    SHIPPED
        .iter()
        .filter_map(|(file, text)| parse_runbook(text, &Path::new(SHIPPED_DIR).join(file)).ok())
        .collect()
}

/// Every runbook a drill may run, by name: the shipped ones and those in the team's
/// folder (`team_dir`, when given). A team runbook with the same name as a shipped one
/// replaces it (so a team can tune `job-crash` to its fleet); one that does not parse
/// replaces nothing and is reported in the errors.
pub fn catalogue(team_dir: Option<&Path>) -> (Vec<Runbook>, Vec<ConfigError>) {
    let mut all = shipped();
    let mut errors = Vec::new();
    if let Some(dir) = team_dir {
        let (team, errs) = load_dir(dir);
        errors = errs;
        for r in team {
            match all.iter_mut().find(|s| s.name == r.name) {
                Some(slot) => *slot = r,
                None => all.push(r),
            }
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    (all, errors)
}
