//! What can go wrong loading a config, worded for the person who has to fix it:
//! `FILE:LINE:COL: KEY: message` and a `fix:` line.

use super::position::LineCol;
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, when known.
    pub at: Option<LineCol>,
    /// The dotted key path (`job "train".standby[1]`); empty for file-level problems.
    pub key: String,
    /// What is wrong, quoting the bad value (redacted if it looks like a secret).
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    fn render(&self, file: &Path, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", file.display())?;
        if let Some(at) = self.at {
            write!(f, ":{at}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Where `locate` looked, and what it found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tried {
    pub place: String,
    pub outcome: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No `--config`, no `LIFEBOAT_CONFIG`, and no file in the platform config dir.
    #[error("{}", not_found(tried, default.as_deref()))]
    NotFound {
        tried: Vec<Tried>,
        /// The platform default path, when there is one.
        default: Option<PathBuf>,
    },
    /// The file could not be read.
    #[error("{}: cannot read the config file: {}\n  fix: {}", path.display(), read_reason(source), read_fix(source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file or folder other than the config (a runbook, a runbook folder) could not be
    /// read, or is refused (a link that leads out of its folder).
    #[error("{}: {message}\n  fix: {fix}", path.display())]
    File {
        path: PathBuf,
        message: String,
        fix: String,
    },
    /// The file was read but is not a valid config; every problem found is listed.
    #[error("{}", Invalid(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems of an invalid file (empty for the other kinds).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

struct Invalid<'a>(&'a Path, &'a [Problem]);

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Invalid(file, problems) = *self;
        if problems.len() > 1 {
            writeln!(f, "{}: {} problems", file.display(), problems.len())?;
        }
        for (i, p) in problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            p.render(file, f)?;
        }
        Ok(())
    }
}

fn not_found(tried: &[Tried], default: Option<&Path>) -> String {
    let mut s = String::from("no config file found; looked at:");
    for t in tried {
        s.push_str(&format!("\n  {}: {}", t.place, t.outcome));
    }
    s.push_str("\n  fix: pass --config FILE, or set LIFEBOAT_CONFIG=FILE");
    if let Some(d) = default {
        s.push_str(&format!(", or create {}", d.display()));
    }
    s.push_str(" (start from assets/examples/gate0.toml)");
    s
}

fn read_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

fn read_fix(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "check the path (given by --config or LIFEBOAT_CONFIG), or copy assets/examples/gate0.toml there",
        std::io::ErrorKind::PermissionDenied => "make the file readable by the user running lifeboat",
        std::io::ErrorKind::InvalidData => "save the file as UTF-8",
        _ => "check that the path names a readable file",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn problem(line: usize, key: &str) -> Problem {
        Problem {
            at: Some(LineCol { line, col: 1 }),
            key: key.into(),
            message: "bad".into(),
            fix: "do better".into(),
        }
    }

    #[test]
    fn one_problem_is_one_block() {
        let e = ConfigError::Invalid {
            path: "/etc/lb.toml".into(),
            problems: vec![problem(7, "host \"pc1\".address")],
        };
        assert_eq!(
            e.to_string(),
            "/etc/lb.toml:7:1: host \"pc1\".address: bad\n  fix: do better"
        );
    }

    #[test]
    fn several_problems_get_a_header() {
        let e = ConfigError::Invalid {
            path: "c.toml".into(),
            problems: vec![problem(1, "a"), problem(2, "")],
        };
        assert_eq!(
            e.to_string(),
            "c.toml: 2 problems\nc.toml:1:1: a: bad\n  fix: do better\nc.toml:2:1: bad\n  fix: do better"
        );
    }

    #[test]
    fn read_errors_name_the_path() {
        let e = ConfigError::Read {
            path: "/nope.toml".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(e
            .to_string()
            .starts_with("/nope.toml: cannot read the config file: no such file"));
    }
}
