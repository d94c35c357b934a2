//! Configuration: raw TOML → validated [`Config`], with errors that name the file,
//! line:column, key and fix.
//!
//! [`locate`] picks the file, [`load_file`] reads it, [`parse_str`] (pure) parses and
//! validates it, and [`summary`] says what it means. The schema is documented in
//! `raw.rs` and by the commented examples in `assets/examples/`. Drill runbooks are
//! files too: [`runbook`] parses and checks them with the same machinery.

pub mod duration;
mod error;
mod hints;
mod keypath;
mod locate;
mod position;
mod raw;
pub mod runbook;
mod schema_error;
mod secret;
pub mod suggest;
mod summary;
mod syntax_error;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, Problem, Tried};
pub use locate::{default_path, locate, locate_from, ENV_VAR};
pub use position::LineCol;
pub use summary::summary;

use crate::core::fleet::Fleet;
use crate::core::policy::Policy;
use crate::core::retention::Retention;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Each job's `[job.provision]`, by job name (jobs without one are absent).
    pub provision: std::collections::BTreeMap<String, ProvisionSpec>,
    /// Overrides the platform data dir for the journal and logs.
    pub state_dir: Option<PathBuf>,
    /// The console's theme (a name or a path); `--theme` overrides it.
    pub theme: Option<String>,
    /// `[settings] runbooks`: the team's drill runbooks (resolved against the file's folder).
    pub runbooks: Option<PathBuf>,
    /// `[[drill]]`: runbooks run on a schedule.
    pub drills: Vec<crate::core::drill::schedule::Schedule>,
    /// `[settings] drill_notifications`: what notifications a drill causes do.
    pub drill_notify: crate::core::drill::DrillNotify,
    /// `[console]` with `listen`: serve the console over SSH.
    pub console: Option<ConsoleConfig>,
    /// `[console] socket_group`: the state dir's socket shared with a group.
    pub socket_group: Option<SocketGroup>,
    /// `[api]` with `listen`: the HTTP API.
    pub api: Option<ApiConfig>,
}

/// The HTTP API: where it listens and the tokens that may call it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiConfig {
    pub listen: std::net::SocketAddr,
    pub tokens: Vec<ApiToken>,
    /// HTTPS: the PEM certificate chain and private key (read when the API starts).
    pub tls: Option<ApiTls>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One bearer token: its name (journaled), its role, and the variable that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub name: String,
    pub role: crate::core::identity::Role,
    pub env: String,
}

/// The state dir's socket made 0660 for a group, whose members attach with `role` (the
/// supervisor's own user and root stay admin; nobody else can connect).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SocketGroup {
    /// The group's name (resolved to its gid in /etc/group when the socket opens).
    pub name: String,
    pub role: crate::core::identity::Role,
}

/// The console served over SSH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleConfig {
    /// Where the SSH server listens.
    pub listen: std::net::SocketAddr,
    /// Who may log in and with which role (resolved against the config file's folder).
    pub authorized_keys: PathBuf,
}

/// Where checkpoints are copied, how they are copied and checked, and how many are kept.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StorageConfig {
    /// NAS directory (absolute).
    pub nas: Option<PathBuf>,
    pub s3: Option<S3Config>,
    /// Keep at least this many newest checkpoints per job (seed 000 keeps 3); always
    /// equal to `retention.last`.
    pub keep_last: u32,
    /// `[storage]`'s policy: `keep_last` plus the calendar buckets, ORed.
    pub retention: Retention,
    /// `[storage.nas_retention]`: the NAS store's own policy, replacing `retention`.
    pub nas_retention: Option<Retention>,
    /// Checkpoints replicated at once (1..=16).
    pub parallel: usize,
    /// Whether NAS and S3 are written together or one after the other.
    pub order: ReplicaOrder,
    /// How often stored copies are re-hashed; `None`: never.
    pub scrub_every: Option<Duration>,
    /// Each scrub run re-hashes about 1/N of the copies, rotating (1 = all of them).
    pub scrub_fraction: u32,
    /// The environment variable holding the key that signs manifests (the key itself
    /// never lives in the config, logs or journal).
    pub manifest_key_env: Option<String>,
    /// Prune by the retention policy after each verified replication (`auto_prune`).
    pub auto_prune: bool,
}

impl StorageConfig {
    pub const DEFAULT_KEEP_LAST: u32 = 3;
    pub const DEFAULT_PARALLEL: usize = 2;
    pub const DEFAULT_SCRUB_EVERY: Duration = Duration::from_secs(6 * 3600);
    pub const DEFAULT_SCRUB_FRACTION: u32 = 12;

    /// The policy that prunes `store` (`"nas"` or `"s3"`): the job's override if it has
    /// one, else the store's own, else `[storage]`'s.
    pub fn policy_for(&self, store: &str, job: Option<&Retention>) -> Retention {
        let own = match store {
            "nas" => self.nas_retention.as_ref(),
            "s3" => self.s3.as_ref().and_then(|s| s.retention.as_ref()),
            _ => None,
        };
        job.or(own).unwrap_or(&self.retention).clone()
    }
}

impl Default for StorageConfig {
    /// No stores, keep the newest 3, two copies at once, scrub 1/12 every 6 hours.
    fn default() -> Self {
        Self {
            nas: None,
            s3: None,
            keep_last: Self::DEFAULT_KEEP_LAST,
            retention: Retention {
                last: Self::DEFAULT_KEEP_LAST,
                ..Retention::default()
            },
            nas_retention: None,
            parallel: Self::DEFAULT_PARALLEL,
            order: ReplicaOrder::default(),
            scrub_every: Some(Self::DEFAULT_SCRUB_EVERY),
            scrub_fraction: Self::DEFAULT_SCRUB_FRACTION,
            manifest_key_env: None,
            auto_prune: true,
        }
    }
}

/// How a checkpoint reaches two stores.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaOrder {
    /// NAS and S3 are written from one stream at once.
    #[default]
    Parallel,
    /// The NAS copy is written first, then the S3 copy.
    NasThenS3,
}

impl ReplicaOrder {
    pub const ALL: [ReplicaOrder; 2] = [ReplicaOrder::Parallel, ReplicaOrder::NasThenS3];

    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaOrder::Parallel => "parallel",
            ReplicaOrder::NasThenS3 => "nas-then-s3",
        }
    }
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
    /// The S3 store's own policy (its keep_* keys), replacing `[storage]`'s.
    pub retention: Option<Retention>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NotifierConfig {
    /// Telegram bot; the token is read from the environment variable named here.
    Telegram {
        bot_token_env: String,
        chat_id: String,
        /// The Bot API's base URL when not `https://api.telegram.org` (a local Bot API
        /// server, or a test's fake); no trailing '/'.
        #[serde(skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    /// HTTP POST of a JSON body; an optional bearer token from the named env var.
    Webhook {
        url: String,
        token_env: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderConfig {
    pub name: String,
    /// `vast` (Vast.ai) for now.
    pub kind: String,
    pub api_key_env: String,
    /// How often the provider's API is asked about its instances.
    pub poll_every: std::time::Duration,
    /// The API's base URL when not the provider's own (a proxy, a compatible endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

/// A job's `[job.provision]` table: what to rent when the job needs a new machine, and
/// from which `[[provider]]`. Values are as the operator wrote them (checked, not
/// converted); `runtime::provider::criteria` turns them into a search and a launch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProvisionSpec {
    /// The `[[provider]]` name to rent from.
    pub provider: String,
    /// The GPU model as the provider names it ("RTX 4090"; "RTX_4090" means the same).
    pub gpu_name: Option<String>,
    /// Exactly this many GPUs per machine.
    pub num_gpus: Option<u32>,
    /// The most to pay, in dollars per hour (the provider's total, storage included).
    pub max_price: Option<f64>,
    /// The least system RAM, in GiB.
    pub min_ram_gb: Option<u32>,
    /// The least free disk on the machine, in GB.
    pub min_disk_gb: Option<u32>,
    /// The least reliability score the provider gives the machine, 0..=1.
    pub min_reliability: Option<f64>,
    /// Two-letter country codes the machine must be in; empty: anywhere.
    pub regions: Vec<String>,
    /// The container image to run.
    pub image: String,
    /// Disk to allocate to the instance, in GB.
    pub disk_gb: u32,
    /// A persistent volume (name or id) to attach; offers are then searched only in the
    /// volume's region (the regional-volume strategy).
    pub volume: Option<String>,
    /// Where the volume is mounted in the instance.
    pub mount_path: String,
}

impl ProvisionSpec {
    /// Disk allocated when `disk_gb` is not given: room for an image and a few checkpoints.
    pub const DEFAULT_DISK_GB: u32 = 32;
    /// Where a volume is mounted when `mount_path` is not given.
    pub const DEFAULT_MOUNT_PATH: &'static str = "/data";
}

/// Reads and validates the config file at `path`.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&text, path)
}

/// Parses and validates config text. Pure: `path` is only named in messages and kept as
/// [`Config::source`]. Syntax and schema errors stop at the first; validation reports
/// every problem it finds.
pub fn parse_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let invalid = |problems: Vec<Problem>| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let doc = toml_edit::ImDocument::parse(text)
        .map_err(|e| invalid(vec![syntax_error::syntax(&hints::CONFIG, text, &e)]))?;
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
        invalid(vec![schema_error::schema(
            &hints::CONFIG,
            text,
            doc.as_item(),
            &e,
        )])
    })?;
    let mut ctx = validate::Ctx::new(text, doc.as_item());
    validate::build(raw, &mut ctx, path).map_err(invalid)
}
