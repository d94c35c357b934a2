//! Which config file to use: `--config`, then `$LIFEBOAT_CONFIG`, then `config.toml` in
//! the platform config dir (`directories`), saying where it looked when none is found.

use super::error::{ConfigError, Tried};
use directories::ProjectDirs;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable that names the config file.
pub const ENV_VAR: &str = "LIFEBOAT_CONFIG";

/// The config file to load. An explicitly named file (flag or env var) is returned even
/// if it does not exist, so that loading it reports the missing path; the platform
/// default is used only when it exists.
pub fn locate(cli: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    locate_from(
        cli,
        std::env::var_os(ENV_VAR),
        default_path(),
        Path::is_file,
    )
}

/// `<platform config dir>/config.toml`, e.g. `~/.config/lifeboat/config.toml` on Linux.
pub fn default_path() -> Option<PathBuf> {
    ProjectDirs::from("", "", "lifeboat").map(|d| d.config_dir().join("config.toml"))
}

/// [`locate`] with its inputs passed in, for tests.
pub fn locate_from(
    cli: Option<PathBuf>,
    env: Option<OsString>,
    default: Option<PathBuf>,
    exists: impl Fn(&Path) -> bool,
) -> Result<PathBuf, ConfigError> {
    if let Some(p) = cli {
        return Ok(p);
    }
    let env_outcome = match env {
        Some(v) if !v.is_empty() => return Ok(PathBuf::from(v)),
        Some(_) => "set, but empty",
        None => "not set",
    };
    if let Some(d) = &default {
        if exists(d) {
            return Ok(d.clone());
        }
    }
    let mut tried = vec![
        Tried {
            place: "--config".into(),
            outcome: "not given".into(),
        },
        Tried {
            place: ENV_VAR.into(),
            outcome: env_outcome.into(),
        },
    ];
    tried.push(match &default {
        Some(d) => Tried {
            place: d.display().to_string(),
            outcome: "no such file".into(),
        },
        None => Tried {
            place: "the platform config dir".into(),
            outcome: "unknown (no home directory)".into(),
        },
    });
    Err(ConfigError::NotFound { tried, default })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn default() -> Option<PathBuf> {
        Some(PathBuf::from("/home/u/.config/lifeboat/config.toml"))
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let got = locate_from(
            Some("a.toml".into()),
            Some("b.toml".into()),
            default(),
            |_| true,
        );
        assert_eq!(got.unwrap(), PathBuf::from("a.toml"));
        let got = locate_from(None, Some("b.toml".into()), default(), |_| true);
        assert_eq!(got.unwrap(), PathBuf::from("b.toml"));
        let got = locate_from(None, None, default(), |_| true);
        assert_eq!(got.unwrap(), default().unwrap());
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let got = locate_from(None, Some("".into()), default(), |_| true);
        assert_eq!(got.unwrap(), default().unwrap());
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let err = locate_from(None, None, default(), |_| false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--config: not given"), "{msg}");
        assert!(msg.contains("LIFEBOAT_CONFIG: not set"), "{msg}");
        assert!(
            msg.contains("/home/u/.config/lifeboat/config.toml: no such file"),
            "{msg}"
        );
        assert!(
            msg.contains("fix: pass --config FILE, or set LIFEBOAT_CONFIG=FILE"),
            "{msg}"
        );
        let err = locate_from(None, None, None, |_| false).unwrap_err();
        assert!(err.to_string().contains("no home directory"));
    }
}
