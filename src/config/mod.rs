//! Configuration: raw TOML → validated [`Config`], with errors that name the file,
//! line:column, key and fix.

use crate::core::fleet::Fleet;
use crate::core::policy::Policy;
use serde::Serialize;
use std::path::PathBuf;

/// A validated configuration. Built only by the loader, so every value in it was checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// The file it came from, when it came from one.
    pub source: Option<PathBuf>,
    pub fleet: Fleet,
    pub policy: Policy,
    pub storage: StorageConfig,
    pub notifiers: Vec<NotifierConfig>,
    pub providers: Vec<ProviderConfig>,
    /// Overrides the platform data dir for the journal and logs.
    pub state_dir: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StorageConfig {
    /// NAS directory (absolute).
    pub nas: Option<PathBuf>,
    pub s3: Option<S3Config>,
    /// Keep at least this many newest checkpoints per job (seed 000 keeps 3).
    pub keep_last: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub prefix: String,
    pub path_style: bool,
    /// Named AWS profile; credentials otherwise come from the SDK's default chain.
    pub profile: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NotifierConfig {
    /// Telegram bot; the token is read from the environment variable named here.
    Telegram { bot_token_env: String, chat_id: String },
    /// HTTP POST of a JSON body; an optional bearer token from the named env var.
    Webhook { url: String, token_env: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderConfig {
    pub name: String,
    /// `vast` (Vast.ai) for now.
    pub kind: String,
    pub api_key_env: String,
}

// Placeholder API, replaced by the loader.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub fn locate(cli: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    cli.ok_or_else(|| ConfigError("no config".into()))
}

pub fn load_file(path: &std::path::Path) -> Result<Config, ConfigError> {
    Err(ConfigError(format!("{}: loader not written", path.display())))
}

pub fn summary(_cfg: &Config) -> String {
    String::new()
}
