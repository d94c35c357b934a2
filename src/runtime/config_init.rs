//! `lifeboat config init [--example NAME] [--force] [FILE]`: writes a commented config to
//! FILE, or where a plain `lifeboat` looks for one (`--config`, `$LIFEBOAT_CONFIG`, then
//! the platform config dir), creating its folder, and never over an existing file
//! without `--force`.
//!
//! Without `--example` it writes `assets/starter/config.toml`, not `local-gpu`: the file
//! at the platform path describes the user's own fleet, so it starts as one SSH host and
//! one job to fill in, with the optional tables (standby, S3, notify) commented out.
//! `local-gpu` drives a toy job out of /tmp and would have to be rewritten anyway. The
//! starter is valid as written; `config check` then flags only its placeholder NAS folder.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What `lifeboat config init` writes when no `--example` is named.
const STARTER: &str = include_str!("../../assets/starter/config.toml");

/// The commented examples in `assets/examples/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Example {
    /// One PC with two GPUs, NAS and S3, Telegram (seed 000).
    Gate0,
    /// Rented Vast.ai GPUs, a CPU standby, S3, a webhook.
    CloudFleet,
    /// The machine Lifeboat runs on, with a toy job.
    LocalGpu,
}

impl Example {
    pub fn name(self) -> &'static str {
        match self {
            Example::Gate0 => "gate0",
            Example::CloudFleet => "cloud-fleet",
            Example::LocalGpu => "local-gpu",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Example::Gate0 => include_str!("../../assets/examples/gate0.toml"),
            Example::CloudFleet => include_str!("../../assets/examples/cloud-fleet.toml"),
            Example::LocalGpu => include_str!("../../assets/examples/local-gpu.toml"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; pass --force to overwrite it, or name another FILE", .0.display())]
    Exists(PathBuf),
    #[error("{} is a folder; name a file, e.g. {}", .0.display(), .0.join("config.toml").display())]
    IsDir(PathBuf),
    #[error("cannot create the folder {}: {source}; create it, or name another FILE", dir.display())]
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

impl InitError {
    /// 2 for what the user must change in the command, 1 when writing failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            InitError::Exists(_) | InitError::IsDir(_) => 2,
            InitError::CreateDir { .. } | InitError::Write { .. } => 1,
        }
    }
}

/// Where to write: FILE, else where a plain `lifeboat` would look (`--config`, then
/// `$LIFEBOAT_CONFIG`, then the platform default even though it does not exist yet).
pub fn target(file: Option<PathBuf>) -> Result<PathBuf, crate::config::ConfigError> {
    crate::config::locate_from(
        file,
        std::env::var_os(crate::config::ENV_VAR),
        crate::config::default_path(),
        |_| true,
    )
}

/// The text to write to `path`: the starter, or the example with its "check it with"
/// hints pointing at `path` instead of the repository's copy.
pub fn contents(example: Option<Example>, path: &Path) -> String {
    let Some(ex) = example else {
        return STARTER.to_string();
    };
    let text = ex.text();
    match shell_word(path) {
        Some(word) => text.replace(&format!("assets/examples/{}.toml", ex.name()), &word),
        None => text.to_string(),
    }
}

/// `path` as one shell word for a comment line, or `None` when it holds characters that
/// have no place in one (a newline would end the comment and become TOML).
fn shell_word(path: &Path) -> Option<String> {
    let s = path.to_str()?;
    if s.chars().any(char::is_control) {
        return None;
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=~".contains(c);
    Some(if s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    })
}

/// Writes `text` to `path`, creating its folder. Without `force` an existing file is
/// refused (checked by the create itself, so a file appearing meanwhile is not lost);
/// with it the file is replaced whole by a rename, never left half-written.
pub fn write(path: &Path, text: &str, force: bool) -> Result<(), InitError> {
    if path.is_dir() {
        return Err(InitError::IsDir(path.to_path_buf()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| InitError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
    }
    let failed = |source| InitError::Write {
        path: path.to_path_buf(),
        source,
    };
    if !force {
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(InitError::Exists(path.to_path_buf()))
            }
            Err(e) => return Err(failed(e)),
        };
        return f
            .write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| {
                let _ = std::fs::remove_file(path);
                failed(e)
            });
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".init-{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(failed)
}

/// `config init` whole; `file` is FILE or `--config`. Prints where it wrote and what to
/// run next; the exit status: 0 written, 1 writing failed, 2 refused (exists, no home).
pub fn run(example: Option<Example>, force: bool, file: Option<PathBuf>, json: bool) -> u8 {
    // A file named here is one a plain `lifeboat` will not find ($LIFEBOAT_CONFIG's is).
    let named = file.is_some();
    let fail = |e: String, code: u8| {
        if json {
            let _ = super::cli_out::print(&format!(
                "{}\n",
                serde_json::json!({"ok": false, "error": e})
            ));
        } else {
            super::cli_out::err_line(&format!("error: {e}"));
        }
        code
    };
    let path = match target(file) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string(), 2),
    };
    if let Err(e) = write(&path, &contents(example, &path), force) {
        return fail(e.to_string(), e.exit_code());
    }
    let what = example.map_or("the starter config".to_string(), |e| {
        format!("the {} example", e.name())
    });
    let text = if json {
        format!(
            "{}\n",
            serde_json::json!({
                "ok": true,
                "path": path.display().to_string(),
                "example": example.map(Example::name),
            })
        )
    } else {
        let flag = match (named, shell_word(&path)) {
            (false, _) => String::new(),
            (true, Some(w)) => format!(" --config {w}"),
            (true, None) => " --config FILE".to_string(),
        };
        format!(
            "wrote {what} to {}\nnext: fill in your hosts and jobs, then run: lifeboat{flag} config check\n",
            path.display()
        )
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
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_and_every_example_are_valid_configs() {
        assert!(crate::config::parse_str(STARTER, Path::new("config.toml")).is_ok());
        for ex in [Example::Gate0, Example::CloudFleet, Example::LocalGpu] {
            let text = contents(Some(ex), Path::new("/etc/lifeboat/my fleet.toml"));
            assert!(
                crate::config::parse_str(&text, Path::new("x.toml")).is_ok(),
                "{}",
                ex.name()
            );
        }
    }

    #[test]
    fn hints_point_at_the_written_file() {
        let text = contents(
            Some(Example::Gate0),
            Path::new("/home/u/.config/lifeboat/config.toml"),
        );
        assert!(text.contains("lifeboat config check /home/u/.config/lifeboat/config.toml"));
        assert!(!text.contains("assets/examples"));
        let odd = contents(Some(Example::Gate0), Path::new("/tmp/it's.toml"));
        assert!(odd.contains(r"config check '/tmp/it'\''s.toml'"), "{odd}");
        let newline = contents(Some(Example::Gate0), Path::new("/tmp/a\nb = 1.toml"));
        assert_eq!(newline, Example::Gate0.text());
    }

    #[test]
    fn an_existing_file_is_kept_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/config.toml");
        write(&path, "one", false).unwrap();
        let Err(e) = write(&path, "two", false) else {
            panic!("overwrote without --force");
        };
        assert!(matches!(e, InitError::Exists(_)) && e.exit_code() == 2);
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        write(&path, "two", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temp file left behind");
        assert!(matches!(
            write(dir.path(), "x", true),
            Err(InitError::IsDir(_))
        ));
    }
}
