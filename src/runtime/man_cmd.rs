//! `lifeboat man [--out DIR]`: roff man pages generated from the binary's clap definitions.
//!
//! Without `--out`, `lifeboat(1)` goes to stdout: every option, each subcommand with its
//! one-line help, and a COMMANDS section naming every nested command (`lifeboat config
//! check`, `lifeboat notify test` …), so the one page is complete. With `--out DIR`, the
//! git-style set a packager installs into `man1/` is written: `lifeboat.1`,
//! `lifeboat-config.1`, `lifeboat-config-check.1` …, one page per command.

use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ManError {
    #[error("cannot create the folder {}: {source}; create it, or pass another --out DIR", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `cmd` ready to document: built (so subcommands know their full names), without the
/// `help` subcommand clap adds.
fn prepared(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page for `cmd`, titled in capitals as man pages are (`LIFEBOAT-CONFIG`); `source`
/// is the top command's name and version, which subcommands do not carry.
fn man(cmd: clap::Command, source: &str) -> Man {
    let title = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_uppercase();
    Man::new(cmd).title(title).source(source)
}

fn source(cmd: &clap::Command) -> String {
    match cmd.get_version() {
        Some(v) => format!("{} {v}", cmd.get_name()),
        None => cmd.get_name().to_string(),
    }
}

/// The top page, with every command down the tree listed before VERSION.
pub fn page(cmd: clap::Command) -> Vec<u8> {
    let cmd = prepared(cmd);
    let mut page = Vec::new();
    let mut tree = Vec::new();
    let mut roff = Roff::default();
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        list(&mut roff, sub, cmd.get_name());
    }
    // Writing into a Vec cannot fail.
    let source = source(&cmd);
    let _ = man(cmd, &source).render(&mut page);
    let _ = roff.to_writer(&mut tree);
    let page = String::from_utf8_lossy(&page);
    let tree = String::from_utf8_lossy(&tree);
    // Both renders open with the same two-line preamble (it defines \*(Aq); once will do.
    let preamble: String = page.lines().take(2).map(|l| format!("{l}\n")).collect();
    let tree = tree.strip_prefix(preamble.as_str()).unwrap_or(&tree);
    match page.find("\n.SH VERSION\n") {
        Some(i) => format!("{}\n{tree}{}", &page[..i], &page[i + 1..]),
        None => format!("{page}{tree}"),
    }
    .into_bytes()
}

fn list(roff: &mut Roff, cmd: &clap::Command, parent: &str) {
    let path = format!("{parent} {}", cmd.get_name());
    roff.control("TP", []);
    roff.text([bold(path.as_str())]);
    if let Some(about) = cmd.get_about() {
        roff.text([roman(about.to_string())]);
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        list(roff, sub, &path);
    }
}

/// Writes one page per command into `dir` (created if missing); the paths written, the
/// top page first.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> Result<Vec<PathBuf>, ManError> {
    std::fs::create_dir_all(dir).map_err(|source| ManError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let cmd = prepared(cmd);
    let source = source(&cmd);
    let mut written = Vec::new();
    write_tree(cmd, &source, dir, &mut written)?;
    Ok(written)
}

fn write_tree(
    cmd: clap::Command,
    source: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), ManError> {
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let page = man(cmd, source);
    let path = dir.join(page.get_filename());
    page.generate_to(dir).map_err(|source| ManError::Write {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    for sub in subs {
        write_tree(sub, source, dir, written)?;
    }
    Ok(())
}

/// `man` whole: the page on stdout, or the pages into `out` (their paths on stdout). The
/// exit status: 0, or 1 when something could not be written.
pub fn run(cmd: clap::Command, out: Option<&Path>) -> u8 {
    let text = match out {
        None => String::from_utf8_lossy(&page(cmd)).into_owned(),
        Some(dir) => match write_pages(cmd, dir) {
            Ok(paths) => paths.iter().map(|p| format!("{}\n", p.display())).collect(),
            Err(e) => {
                super::cli_out::err_line(&format!("error: {e}"));
                return 1;
            }
        },
    };
    match super::cli_out::print(&text) {
        Ok(()) => 0,
        Err(e) => {
            super::cli_out::err_line(&format!("error: cannot write the output: {e}"));
            1
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cmd() -> clap::Command {
        clap::Command::new("demo")
            .about("A demo")
            .version("1.0")
            .subcommand(
                clap::Command::new("alpha")
                    .about("First")
                    .subcommand(clap::Command::new("deep").about("Nested")),
            )
            .subcommand(clap::Command::new("beta").about("Second"))
    }

    #[test]
    fn the_page_lists_nested_commands_and_no_help() {
        let p = String::from_utf8(page(cmd())).unwrap();
        assert!(p.contains(".TH DEMO 1"), "{p}");
        assert!(
            p.contains("demo\\-alpha(1)") && p.contains("demo\\-beta(1)"),
            "{p}"
        );
        assert!(p.contains("demo alpha deep"), "{p}");
        assert_eq!(p.matches(".ds Aq").count(), 2, "one preamble:\n{p}");
        assert!(p.find(".SH COMMANDS") < p.find(".SH VERSION"), "{p}");
        assert!(!p.contains("demo\\-help"), "{p}");
    }

    #[test]
    fn pages_are_written_one_per_command() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("man1");
        let written = write_pages(cmd(), &out).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["demo.1", "demo-alpha.1", "demo-alpha-deep.1", "demo-beta.1"]
        );
        let deep = std::fs::read_to_string(out.join("demo-alpha-deep.1")).unwrap();
        assert!(
            deep.contains(".TH DEMO-ALPHA-DEEP 1  \"demo 1.0\""),
            "{deep}"
        );
    }
}
