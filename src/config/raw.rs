//! The config file's schema, exactly as serde reads it (before any checking).
//!
//! ```toml
//! [settings]                      # optional
//! profile = "lan"                 # "lan" (default) | "cloud": DetectionProfile defaults
//! state_dir = "/var/lib/lifeboat" # optional, absolute: journal and logs
//! runbooks = "runbooks"           # optional: the team's drill runbooks (*.toml), beside
//!                                 #   the shipped ones; relative to this file's folder
//! drill_notifications = "mark"    # optional: what a drill's notifications do: mark
//!                                 #   (default, "[DRILL name] …"), deliver, or hold
//! theme = "production"            # optional: console theme name or path (--theme wins)
//!
//! [detection]                     # optional overrides of the profile
//! probe_interval = "1s"           # durations: "900ms", "10s", "2m", "1h30m", "1d"
//! probe_timeout = "900ms"         # shorter than probe_interval
//! suspect_after = 1               # missed probes before SUSPECT
//! fail_after = 3                  # missed probes before FAILED (with a second channel)
//! fail_ceiling = 3                # missed probes before FAILED on probes alone
//! lost_after = 2                  # missed probes before FAILED at once when the port and a
//!                                 #   peer (or the provider) find it down too; 2 or more
//! recover_after = 3               # good probes before healthy again
//! heartbeat_hang_timeout = "2m"   # no step progress for this long = hung
//! [detection.flap]                # penalty, half_life, suppress, reuse
//! [detection.partition]           # share (0..1]: freeze when that share or more goes suspect
//!                                 # within window (0.4 trips at 2 of 5); min_hosts
//!
//! [recovery]                      # optional
//! reconnect_backoff = ["1s", "2s", "4s", "8s", "16s"]
//! restart_budget = 3              # failovers per job per budget_window (≥ 1)
//! budget_window = "1h"
//! return_after = "1m"              # back from a CPU standby once a GPU host is up this long ("off")
//! [recovery.timeouts]             # fence, stage, launch, verify, notify, provision
//!
//! [[host]]                        # one per machine (at least one)
//! name = "pc1"                    # letters, digits, . _ -
//! address = "192.168.1.10"        # or "host:port" (port 22 otherwise), "[v6]:port"
//! user = "trainer"                # optional: the SSH user
//! role = "primary"                # "primary" (default) | "standby" | "cpu-standby"
//! gpus = 2                        # GPUs it should report; 0 (default) only for cpu-standby
//! ssh_key = "/home/op/.ssh/id"    # optional, absolute; the SSH agent otherwise
//! provider = "vast"               # optional, with instance: a [[provider]] name
//! instance = "456789"             #   and the provider's instance id
//! access = "ssh"                  # "ssh" (default) | "local": the machine Lifeboat runs on
//! known_hosts = "/home/op/.ssh/known_hosts"  # optional, absolute (this is the default)
//! host_key_policy = "strict"      # "strict" (default): unknown host keys are refused |
//!                                 #   "accept-new": the first key seen is added; a
//!                                 #   changed key is always refused
//! key_passphrase_env = "PC1_KEY_PASS"  # optional: NAME of the env var holding ssh_key's passphrase
//! proxy_jump = "bastion"          # optional: another [[host]] to reach this one through
//!
//! [[job]]
//! name = "train"
//! host = "pc1"                    # a [[host]] name; not a cpu-standby
//! gpu = 0                         # optional GPU index (< the host's gpus)
//! workdir = "/home/trainer/run"   # absolute paths on the job's host
//! launch = "python train.py --resume {checkpoint}"
//! cpu_launch = "…"                # optional: what a cpu-standby runs instead
//! stop = "…"                      # optional: SIGTERM then SIGKILL otherwise
//! heartbeat = "/abs/file"         # optional: "<step> <unix-secs>" file, or
//!                                 #   { file = "/abs" } or { mtime = "/abs" }
//! ready = "heartbeat"             # optional: when a launch counts as started: "heartbeat"
//!                                 #   (it moved after the launch), or an absolute path the
//!                                 #   job creates when ready; default: alive after 0.2 s
//! checkpoint_dir = "/home/trainer/run/ckpt"
//! standby = ["pc1:1", "cpu-vm"]   # "HOST" or "HOST:GPU", tried in order
//! strategies = ["restart-in-place", "warm-standby", "escalate"]  # optional
//! env = { NCCL_DEBUG = "WARN" }   # optional: the job's environment (no secrets)
//! checkpoint_marker = "COMPLETE"  # optional: a checkpoint folder is complete when this
//!                                 #   file is inside it (`x.pt`: when `x.pt.COMPLETE` is
//!                                 #   beside it); otherwise when its size and mtime are
//!                                 #   the same in two listings in a row. One file name:
//!                                 #   no '/', no leading '.', not "manifest.json"
//! prestage = true                 # optional, default false: keep the newest verified
//!                                 #   checkpoint staged on the first standby's host
//!                                 #   (needs a standby)
//! retention = { keep_last = 5, keep_daily = 7 }  # optional: this job's own policy, used
//!                                 #   for every store instead of theirs (keys as below)
//! workspace = { path = "/workspace", every = "5m", exclude = ["data", "*.tmp"] }
//!                                 # optional (needs a cpu-standby in standby): keep the
//!                                 #   job's code and small state synced from where it runs
//!                                 #   to its CPU standby. path defaults to workdir, every
//!                                 #   to "1m" (≥ "10s"); exclude: names (any depth) or
//!                                 #   paths from the workspace root, * and ? wildcards;
//!                                 #   checkpoint_dir is always left out
//! [job.provision]                 # optional: what to rent when the job needs a new
//!                                 #   machine (strategies "provision", "regional-volume")
//! provider = "vast"               # a [[provider]] name
//! image = "pytorch/pytorch:latest"  # the container image to run
//! gpu_name = "RTX 4090"           # optional search: GPU model ("RTX_4090" too),
//! num_gpus = 1                    #   exactly this many GPUs (1..=64),
//! max_price = 1.5                 #   at most this many dollars per hour, all in,
//! min_ram_gb = 32                 #   at least this much RAM (GiB), free disk (GB)
//! min_disk_gb = 100               #   and reliability score (0..=1),
//! min_reliability = 0.98          #   in one of these two-letter country codes
//! regions = ["SE", "NO"]
//! disk_gb = 64                    # optional, default 32, ≥ 8: the instance's disk
//! volume = "ckpt"                 # optional: a persistent volume (name or id) to attach;
//! mount_path = "/data"            #   offers are then searched only in its region
//!
//! [storage]                       # required when there are jobs: nas and/or s3
//! nas = "/mnt/nas/checkpoints"    # absolute
//! keep_last = 3                   # default 3, ≥ 1: the newest N verified checkpoints
//! keep_hourly = 24                # optional, default 0 (each): the newest checkpoint of
//! keep_daily = 7                  #   each of the last N hours / days / weeks (from
//! keep_weekly = 4                 #   Monday) / months / years that have one (UTC),
//! keep_monthly = 12               #   restic-style; a checkpoint any rule keeps is kept,
//! keep_yearly = 2                 #   and the newest verified one is never removed
//! parallel = 2                    # checkpoints replicated at once, 1..=16 (default 2)
//! order = "parallel"              # "parallel" (default): NAS and S3 written from one
//!                                 #   stream at once | "nas-then-s3": the NAS, then S3
//! scrub_every = "6h"              # re-hash stored copies this often (default "6h");
//!                                 #   "off" never does
//! scrub_fraction = 12             # each scrub re-hashes ~1/N of the copies, rotating;
//!                                 #   1 = all of them; 1..=1000 (default 12)
//! manifest_key_env = "LIFEBOAT_MANIFEST_KEY"  # optional: the env var holding the team's
//!                                 #   key; manifests are signed with it, and checkpoints
//!                                 #   found in a store restore without adoption only
//!                                 #   when their manifest's mac verifies
//! auto_prune = true               # default true: after each verified replication, delete
//!                                 #   what the retention policy removes (journaled, with
//!                                 #   the manual prune's guarantees); false: only by hand
//! [storage.s3]
//! bucket = "b"; region = "me-south-1"; endpoint = "https://…" (optional)
//! prefix = "lifeboat" (default); path_style = false; profile = "name" (optional)
//! keep_last = 10; keep_daily = 30 # optional: S3's own policy (any keep_* keys)
//! [storage.nas_retention]         # optional: the NAS's own policy (any keep_* keys)
//! keep_last = 5
//!
//! # Retention overrides (job `retention`, S3's keep_*, [storage.nas_retention]) replace
//! # the policy whole: a key left out counts as 0 ("not by this rule"), keep_last is ≥ 1
//! # when given, and a policy that keeps nothing is refused. Which one prunes a store:
//! # the job's, else the store's own, else [storage]'s.
//!
//! [[notify]]
//! kind = "telegram"; bot_token_env = "TELEGRAM_BOT_TOKEN"; chat_id = "-100…"
//!                     api_url = "https://api.telegram.org" (optional; a local Bot API server)
//! kind = "webhook";  url = "https://…"; token_env = "HOOK_TOKEN" (optional)
//!
//! [[provider]]
//! name = "vast"; kind = "vast"; api_key_env = "VAST_API_KEY"; poll_every = "15s" (optional)
//!
//! [console]                       # optional: the console over SSH, and who shares the socket
//! listen = "127.0.0.1:2222"       # IP address and port; without it the console is off
//! authorized_keys = "console_keys"  # required with listen: who may log in, one key a
//!                                 #   line: `role=operator,name=alice ssh-ed25519 AAAA…`;
//!                                 #   a relative path is from the config file's folder
//! socket_group = "lifeboat"       # optional: the state dir's socket is 0660 for this group
//! socket_group_role = "operator"  # optional (default viewer): what its members may do
//! ```
//!
//! Secrets never live in the file: keys like `bot_token` or `password` are refused, and
//! `*_env` keys hold the *name* of an environment variable. Every struct denies unknown
//! keys. Leaves that checks may point at are `Spanned`; tables are not, because toml
//! cannot give a span to a table made by dotted keys (`heartbeat.file = …`).
//!
//! [api]                           # optional: the HTTP API (seed 001's operations, /metrics)
//! listen = "127.0.0.1:8080"       # IP address and port; without it the API is off
//! tls_cert = "api-cert.pem"       # optional, with tls_key: serve HTTPS (PEM chain and
//! tls_key = "api-key.pem"         #   key; a relative path is from the config's folder)
//! [[api.token]]                   # one or more: who may call it, and as what
//! name = "ci"                     # journaled with every change the token asks for
//! role = "operator"               # viewer (read), operator (fail over), admin
//! env = "LIFEBOAT_API_TOKEN_CI"   # the variable holding the token (read at start)
//!
//! [[drill]]                       # optional: run a drill runbook on a schedule
//! runbook = "restore-test"        # a shipped runbook or one in [settings] runbooks
//! every = "7d"                    # at most this often (≥ "1h"); a skip (a precondition
//!                                 #   failed: journaled and notified) retries an hour later
//! window = "Mon-Fri 10:00-16:00"  # optional, default "any": days and hours it may start,
//!                                 #   in this machine's local time (TZ); "daily 09:00-17:00"

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

pub type Str = Spanned<String>;
pub type Num = Spanned<u32>;
pub type Float = Spanned<f64>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub settings: Option<RawSettings>,
    pub detection: Option<RawDetection>,
    pub recovery: Option<RawRecovery>,
    #[serde(default)]
    pub host: Vec<RawHost>,
    #[serde(default)]
    pub job: Vec<RawJob>,
    pub storage: Option<RawStorage>,
    #[serde(default)]
    pub notify: Vec<RawNotify>,
    #[serde(default)]
    pub provider: Vec<RawProvider>,
    pub console: Option<RawConsole>,
    #[serde(default)]
    pub drill: Vec<RawDrill>,
    pub api: Option<RawApi>,
}

/// `[api]`: the HTTP API in the daemon (see `ApiConfig`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<Str>,
    pub tls_cert: Option<Str>,
    pub tls_key: Option<Str>,
    #[serde(default)]
    pub token: Vec<RawApiToken>,
}

/// `[[api.token]]`: one bearer token, by the name of the variable that holds it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiToken {
    pub name: Option<Str>,
    pub role: Option<Str>,
    pub env: Option<Str>,
}

/// `[[drill]]`: a runbook run on a schedule (see `core::drill::schedule`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDrill {
    pub runbook: Option<Str>,
    pub every: Option<Str>,
    pub window: Option<Str>,
}

/// `[console]`: the console served over SSH (see `ConsoleConfig`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsole {
    pub listen: Option<Str>,
    pub authorized_keys: Option<Str>,
    pub socket_group: Option<Str>,
    pub socket_group_role: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub profile: Option<Str>,
    pub state_dir: Option<Str>,
    pub theme: Option<Str>,
    pub runbooks: Option<Str>,
    pub drill_notifications: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetection {
    pub probe_interval: Option<Str>,
    pub probe_timeout: Option<Str>,
    pub suspect_after: Option<Num>,
    pub fail_after: Option<Num>,
    pub fail_ceiling: Option<Num>,
    pub lost_after: Option<Num>,
    pub recover_after: Option<Num>,
    pub heartbeat_hang_timeout: Option<Str>,
    pub flap: Option<RawFlap>,
    pub partition: Option<RawPartition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlap {
    pub penalty: Option<Float>,
    pub half_life: Option<Str>,
    pub suppress: Option<Float>,
    pub reuse: Option<Float>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartition {
    pub share: Option<Float>,
    pub window: Option<Str>,
    pub min_hosts: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecovery {
    pub reconnect_backoff: Option<Spanned<Vec<Str>>>,
    pub restart_budget: Option<Num>,
    pub budget_window: Option<Str>,
    pub return_after: Option<Str>,
    pub timeouts: Option<RawTimeouts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub fence: Option<Str>,
    pub stage: Option<Str>,
    pub launch: Option<Str>,
    pub verify: Option<Str>,
    pub notify: Option<Str>,
    pub provision: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub name: Str,
    pub address: Str,
    pub user: Option<Str>,
    pub role: Option<Str>,
    pub gpus: Option<Num>,
    pub ssh_key: Option<Str>,
    pub provider: Option<Str>,
    pub instance: Option<Str>,
    pub access: Option<Str>,
    pub known_hosts: Option<Str>,
    pub host_key_policy: Option<Str>,
    pub key_passphrase_env: Option<Str>,
    pub proxy_jump: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    pub name: Str,
    pub host: Str,
    pub gpu: Option<Num>,
    pub workdir: Str,
    pub launch: Str,
    pub cpu_launch: Option<Str>,
    pub stop: Option<Str>,
    pub heartbeat: Option<RawHeartbeat>,
    pub ready: Option<Str>,
    pub checkpoint_dir: Str,
    pub standby: Option<Spanned<Vec<Str>>>,
    pub strategies: Option<Spanned<Vec<Str>>>,
    pub env: Option<std::collections::BTreeMap<String, Str>>,
    pub checkpoint_marker: Option<Str>,
    pub prestage: Option<Spanned<bool>>,
    pub retention: Option<RawRetention>,
    pub provision: Option<RawProvision>,
    pub workspace: Option<RawWorkspace>,
}

/// A job's `workspace = { path, every, exclude }` (see `core::workspace::WorkspaceSync`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkspace {
    pub path: Option<Str>,
    pub every: Option<Str>,
    pub exclude: Option<Spanned<Vec<Str>>>,
}

/// A job's `[job.provision]` table (see `ProvisionSpec`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvision {
    pub provider: Str,
    pub image: Str,
    pub gpu_name: Option<Str>,
    pub num_gpus: Option<Num>,
    pub max_price: Option<Float>,
    pub min_ram_gb: Option<Num>,
    pub min_disk_gb: Option<Num>,
    pub min_reliability: Option<Float>,
    pub regions: Option<Spanned<Vec<Str>>>,
    pub disk_gb: Option<Num>,
    pub volume: Option<Str>,
    pub mount_path: Option<Str>,
}

/// `heartbeat = "/abs"` (a step file), `{ file = "/abs" }` or `{ mtime = "/abs" }`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawHeartbeat {
    /// The bare-string form; its position is looked up by key path.
    Path(String),
    File(Str),
    Mtime(Str),
}

impl<'de> Deserialize<'de> for RawHeartbeat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(HeartbeatVisitor)
    }
}

struct HeartbeatVisitor;

impl<'de> Visitor<'de> for HeartbeatVisitor {
    type Value = RawHeartbeat;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a path string or a table like { file = \"/abs/path\" }")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHeartbeat, E> {
        Ok(RawHeartbeat::Path(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeartbeat, A::Error> {
        const KINDS: &[&str] = &["file", "mtime"];
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            let hb = match key.as_str() {
                "file" => RawHeartbeat::File(map.next_value()?),
                "mtime" => RawHeartbeat::Mtime(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, KINDS)),
            };
            if found.replace(hb).is_some() {
                return Err(de::Error::custom(
                    "a heartbeat is either `file` or `mtime`, not both",
                ));
            }
        }
        found.ok_or_else(|| de::Error::missing_field("file"))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    pub nas: Option<Str>,
    pub keep_last: Option<Num>,
    pub keep_hourly: Option<Num>,
    pub keep_daily: Option<Num>,
    pub keep_weekly: Option<Num>,
    pub keep_monthly: Option<Num>,
    pub keep_yearly: Option<Num>,
    pub parallel: Option<Num>,
    pub order: Option<Str>,
    pub scrub_every: Option<Str>,
    pub scrub_fraction: Option<Num>,
    pub manifest_key_env: Option<Str>,
    pub auto_prune: Option<Spanned<bool>>,
    pub s3: Option<RawS3>,
    pub nas_retention: Option<RawRetention>,
}

/// A retention policy table: `[storage.nas_retention]` or a job's `retention = { … }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub keep_last: Option<Num>,
    pub keep_hourly: Option<Num>,
    pub keep_daily: Option<Num>,
    pub keep_weekly: Option<Num>,
    pub keep_monthly: Option<Num>,
    pub keep_yearly: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    pub bucket: Str,
    pub region: Str,
    pub endpoint: Option<Str>,
    pub prefix: Option<Str>,
    pub path_style: Option<bool>,
    pub profile: Option<Str>,
    pub keep_last: Option<Num>,
    pub keep_hourly: Option<Num>,
    pub keep_daily: Option<Num>,
    pub keep_weekly: Option<Num>,
    pub keep_monthly: Option<Num>,
    pub keep_yearly: Option<Num>,
}

/// One notifier; which keys apply depends on `kind`, so they are checked after parsing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub kind: Str,
    pub bot_token_env: Option<Str>,
    pub chat_id: Option<Str>,
    pub url: Option<Str>,
    pub token_env: Option<Str>,
    pub api_url: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub name: Str,
    pub kind: Str,
    pub api_key_env: Str,
    pub poll_every: Option<Str>,
    pub api_url: Option<Str>,
}
