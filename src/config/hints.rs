//! An example line for every key in the schema, used to say how to fix a config.

/// `(table, key, example)`; `table` is the key path without indices (`storage.s3`).
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("", "settings", "[settings] with profile = \"lan\""),
    ("", "detection", "[detection] with probe_interval = \"1s\""),
    ("", "recovery", "[recovery] with restart_budget = 3"),
    (
        "",
        "host",
        "[[host]] with name = \"pc1\" and address = \"192.168.1.10\"",
    ),
    (
        "",
        "job",
        "[[job]] with name = \"train\" and host = \"pc1\"",
    ),
    (
        "",
        "storage",
        "[storage] with nas = \"/mnt/nas/checkpoints\"",
    ),
    ("", "notify", "[[notify]] with kind = \"telegram\""),
    ("", "provider", "[[provider]] with name = \"vast\""),
    ("", "console", "[console] with listen = \"127.0.0.1:2222\""),
    ("", "drill", "[[drill]] with runbook = \"restore-test\""),
    ("", "api", "[api] with listen = \"127.0.0.1:8080\""),
    ("api", "listen", "listen = \"127.0.0.1:8080\""),
    ("api", "tls_cert", "tls_cert = \"api-cert.pem\""),
    ("api", "tls_key", "tls_key = \"api-key.pem\""),
    (
        "api",
        "token",
        "[[api.token]] with name = \"ci\", role = \"operator\" and env = \"LIFEBOAT_API_TOKEN_CI\"",
    ),
    ("api.token", "name", "name = \"ci\""),
    ("api.token", "role", "role = \"operator\""),
    ("api.token", "env", "env = \"LIFEBOAT_API_TOKEN_CI\""),
    ("drill", "runbook", "runbook = \"restore-test\""),
    ("drill", "every", "every = \"7d\""),
    ("drill", "window", "window = \"Mon-Fri 10:00-16:00\""),
    ("settings", "profile", "profile = \"lan\""),
    ("settings", "state_dir", "state_dir = \"/var/lib/lifeboat\""),
    ("settings", "theme", "theme = \"production\""),
    ("settings", "runbooks", "runbooks = \"runbooks\""),
    (
        "settings",
        "drill_notifications",
        "drill_notifications = \"mark\"",
    ),
    ("detection", "probe_interval", "probe_interval = \"1s\""),
    ("detection", "probe_timeout", "probe_timeout = \"900ms\""),
    ("detection", "suspect_after", "suspect_after = 1"),
    ("detection", "fail_after", "fail_after = 3"),
    ("detection", "fail_ceiling", "fail_ceiling = 3"),
    ("detection", "lost_after", "lost_after = 2"),
    ("detection", "recover_after", "recover_after = 3"),
    (
        "detection",
        "heartbeat_hang_timeout",
        "heartbeat_hang_timeout = \"2m\"",
    ),
    ("detection", "flap", "[detection.flap] with penalty = 1.0"),
    (
        "detection",
        "partition",
        "[detection.partition] with share = 0.4",
    ),
    ("detection.flap", "penalty", "penalty = 1.0"),
    ("detection.flap", "half_life", "half_life = \"60s\""),
    ("detection.flap", "suppress", "suppress = 3.0"),
    ("detection.flap", "reuse", "reuse = 1.5"),
    ("detection.partition", "share", "share = 0.4"),
    ("detection.partition", "window", "window = \"10s\""),
    ("detection.partition", "min_hosts", "min_hosts = 3"),
    (
        "recovery",
        "reconnect_backoff",
        "reconnect_backoff = [\"1s\", \"2s\", \"4s\", \"8s\", \"16s\"]",
    ),
    ("recovery", "restart_budget", "restart_budget = 3"),
    ("recovery", "budget_window", "budget_window = \"1h\""),
    ("recovery", "return_after", "return_after = \"1m\""),
    (
        "recovery",
        "timeouts",
        "[recovery.timeouts] with fence = \"20s\"",
    ),
    ("recovery.timeouts", "fence", "fence = \"20s\""),
    ("recovery.timeouts", "stage", "stage = \"10m\""),
    ("recovery.timeouts", "launch", "launch = \"30s\""),
    ("recovery.timeouts", "verify", "verify = \"30s\""),
    ("recovery.timeouts", "notify", "notify = \"10s\""),
    ("recovery.timeouts", "provision", "provision = \"15m\""),
    ("host", "name", "name = \"pc1\""),
    (
        "host",
        "address",
        "address = \"192.168.1.10\" (or \"gpu.example.com:2222\")",
    ),
    ("host", "user", "user = \"trainer\""),
    ("host", "role", "role = \"primary\""),
    ("host", "access", "access = \"local\""),
    ("host", "gpus", "gpus = 2"),
    (
        "host",
        "ssh_key",
        "ssh_key = \"/home/operator/.ssh/id_ed25519\"",
    ),
    (
        "host",
        "known_hosts",
        "known_hosts = \"/home/operator/.ssh/known_hosts\"",
    ),
    (
        "host",
        "host_key_policy",
        "host_key_policy = \"accept-new\"",
    ),
    (
        "host",
        "key_passphrase_env",
        "key_passphrase_env = \"PC1_KEY_PASSPHRASE\"",
    ),
    ("host", "proxy_jump", "proxy_jump = \"bastion\""),
    ("host", "provider", "provider = \"vast\""),
    ("host", "instance", "instance = \"9876543\""),
    ("job", "name", "name = \"train\""),
    ("job", "host", "host = \"pc1\""),
    ("job", "gpu", "gpu = 0"),
    ("job", "workdir", "workdir = \"/home/trainer/run\""),
    (
        "job",
        "launch",
        "launch = \"python train.py --resume {checkpoint}\"",
    ),
    (
        "job",
        "cpu_launch",
        "cpu_launch = \"python serve.py --cpu --checkpoint {checkpoint}\"",
    ),
    ("job", "stop", "stop = \"pkill -f train.py\""),
    ("job", "env", "env = { NCCL_DEBUG = \"WARN\" }"),
    (
        "job",
        "heartbeat",
        "heartbeat = \"/home/trainer/run/heartbeat\"",
    ),
    (
        "job",
        "checkpoint_dir",
        "checkpoint_dir = \"/home/trainer/run/checkpoints\"",
    ),
    ("job", "standby", "standby = [\"pc1:1\", \"cpu-vm\"]"),
    (
        "job",
        "strategies",
        "strategies = [\"restart-in-place\", \"warm-standby\", \"escalate\"]",
    ),
    (
        "job",
        "checkpoint_marker",
        "checkpoint_marker = \"COMPLETE\"",
    ),
    ("job", "prestage", "prestage = true"),
    ("job", "ready", "ready = \"heartbeat\""),
    (
        "job",
        "workspace",
        "workspace = { path = \"/workspace\", every = \"5m\", exclude = [\"*.tmp\"] }",
    ),
    (
        "job.workspace",
        "path",
        "workspace = { path = \"/workspace\" }",
    ),
    ("job.workspace", "every", "workspace = { every = \"5m\" }"),
    (
        "job.workspace",
        "exclude",
        "workspace = { exclude = [\"data\", \"*.tmp\"] }",
    ),
    (
        "job",
        "provision",
        "[job.provision] with provider = \"vast\" and image = \"pytorch/pytorch:latest\"",
    ),
    ("job.provision", "provider", "provider = \"vast\""),
    (
        "job.provision",
        "image",
        "image = \"pytorch/pytorch:latest\"",
    ),
    ("job.provision", "gpu_name", "gpu_name = \"RTX 4090\""),
    ("job.provision", "num_gpus", "num_gpus = 1"),
    ("job.provision", "max_price", "max_price = 1.5"),
    ("job.provision", "min_ram_gb", "min_ram_gb = 32"),
    ("job.provision", "min_disk_gb", "min_disk_gb = 100"),
    ("job.provision", "min_reliability", "min_reliability = 0.98"),
    ("job.provision", "regions", "regions = [\"SE\", \"NO\"]"),
    ("job.provision", "disk_gb", "disk_gb = 64"),
    ("job.provision", "volume", "volume = \"ckpt\""),
    ("job.provision", "mount_path", "mount_path = \"/data\""),
    (
        "job",
        "retention",
        "retention = { keep_last = 5, keep_daily = 7 }",
    ),
    (
        "job.retention",
        "keep_last",
        "retention = { keep_last = 5 }",
    ),
    (
        "job.retention",
        "keep_hourly",
        "retention = { keep_hourly = 24 }",
    ),
    (
        "job.retention",
        "keep_daily",
        "retention = { keep_daily = 7 }",
    ),
    (
        "job.retention",
        "keep_weekly",
        "retention = { keep_weekly = 4 }",
    ),
    (
        "job.retention",
        "keep_monthly",
        "retention = { keep_monthly = 12 }",
    ),
    (
        "job.retention",
        "keep_yearly",
        "retention = { keep_yearly = 2 }",
    ),
    (
        "job.heartbeat",
        "file",
        "heartbeat = { file = \"/home/trainer/run/heartbeat\" }",
    ),
    (
        "job.heartbeat",
        "mtime",
        "heartbeat = { mtime = \"/home/trainer/run/train.log\" }",
    ),
    ("storage", "nas", "nas = \"/mnt/nas/checkpoints\""),
    ("storage", "keep_last", "keep_last = 3"),
    ("storage", "keep_hourly", "keep_hourly = 24"),
    ("storage", "keep_daily", "keep_daily = 7"),
    ("storage", "keep_weekly", "keep_weekly = 4"),
    ("storage", "keep_monthly", "keep_monthly = 12"),
    ("storage", "keep_yearly", "keep_yearly = 2"),
    ("storage", "parallel", "parallel = 2"),
    (
        "storage",
        "auto_prune",
        "auto_prune = true (or false: prune only by hand)",
    ),
    (
        "storage",
        "order",
        "order = \"parallel\" (or \"nas-then-s3\")",
    ),
    (
        "storage",
        "scrub_every",
        "scrub_every = \"6h\" (or \"off\")",
    ),
    ("storage", "scrub_fraction", "scrub_fraction = 12"),
    (
        "storage",
        "manifest_key_env",
        "manifest_key_env = \"LIFEBOAT_MANIFEST_KEY\"",
    ),
    (
        "storage",
        "nas_retention",
        "[storage.nas_retention] with keep_last = 5",
    ),
    ("storage.nas_retention", "keep_last", "keep_last = 5"),
    ("storage.nas_retention", "keep_hourly", "keep_hourly = 24"),
    ("storage.nas_retention", "keep_daily", "keep_daily = 7"),
    ("storage.nas_retention", "keep_weekly", "keep_weekly = 4"),
    ("storage.nas_retention", "keep_monthly", "keep_monthly = 12"),
    ("storage.nas_retention", "keep_yearly", "keep_yearly = 2"),
    (
        "storage",
        "s3",
        "[storage.s3] with bucket = \"my-checkpoints\"",
    ),
    ("storage.s3", "bucket", "bucket = \"my-checkpoints\""),
    ("storage.s3", "region", "region = \"me-south-1\""),
    (
        "storage.s3",
        "endpoint",
        "endpoint = \"https://s3.eu-central-003.backblazeb2.com\"",
    ),
    ("storage.s3", "prefix", "prefix = \"lifeboat\""),
    ("storage.s3", "path_style", "path_style = true"),
    ("storage.s3", "profile", "profile = \"backup\""),
    ("storage.s3", "keep_last", "keep_last = 10"),
    ("storage.s3", "keep_hourly", "keep_hourly = 24"),
    ("storage.s3", "keep_daily", "keep_daily = 30"),
    ("storage.s3", "keep_weekly", "keep_weekly = 8"),
    ("storage.s3", "keep_monthly", "keep_monthly = 12"),
    ("storage.s3", "keep_yearly", "keep_yearly = 2"),
    ("notify", "kind", "kind = \"telegram\""),
    (
        "notify",
        "bot_token_env",
        "bot_token_env = \"TELEGRAM_BOT_TOKEN\"",
    ),
    ("notify", "chat_id", "chat_id = \"-5275672778\""),
    (
        "notify",
        "url",
        "url = \"https://hooks.example.com/lifeboat\"",
    ),
    ("notify", "token_env", "token_env = \"LIFEBOAT_HOOK_TOKEN\""),
    (
        "notify",
        "api_url",
        "api_url = \"https://api.telegram.org\"",
    ),
    ("provider", "name", "name = \"vast\""),
    ("provider", "kind", "kind = \"vast\""),
    ("provider", "api_key_env", "api_key_env = \"VAST_API_KEY\""),
    ("provider", "poll_every", "poll_every = \"15s\""),
    (
        "provider",
        "api_url",
        "api_url = \"https://console.vast.ai\"",
    ),
    ("console", "listen", "listen = \"127.0.0.1:2222\""),
    (
        "console",
        "authorized_keys",
        "authorized_keys = \"console_keys\"",
    ),
    ("console", "socket_group", "socket_group = \"lifeboat\""),
    (
        "console",
        "socket_group_role",
        "socket_group_role = \"operator\"",
    ),
];

/// A TOML schema as error messages describe it: an example line for every key, which
/// top-level keys are arrays of tables, and the samples a syntax fix shows. The config
/// file has [`CONFIG`]; runbooks have their own (`config::runbook`).
pub struct Schema {
    /// `(table, key, example)`; `table` is the key path without indices (`storage.s3`).
    pub examples: &'static [(&'static str, &'static str, &'static str)],
    /// Top-level array-of-tables keys, written `[[name]]`, the most used first.
    pub table_arrays: &'static [&'static str],
    /// What the file is called in a sentence: "the config file", "a runbook".
    pub noun: &'static str,
    /// Where its commented examples live.
    pub docs: &'static str,
    /// A table header and an array-of-tables header: "[storage] or [[host]]".
    pub headers: &'static str,
    /// An array value: `standby = ["pc1:1", "cpu-vm"]`.
    pub array: &'static str,
    /// A quoted text value: `name = "pc1"`.
    pub text: &'static str,
}

/// The config file's schema.
pub const CONFIG: Schema = Schema {
    examples: EXAMPLES,
    table_arrays: &["host", "job", "notify", "provider"],
    noun: "the config file",
    docs: "assets/examples/",
    headers: "[storage] or [[host]]",
    array: "standby = [\"pc1:1\", \"cpu-vm\"]",
    text: "name = \"pc1\"",
};

impl Schema {
    /// The example for `key` in `table` (`host`, `storage.s3` …), if the schema has it.
    pub fn example(&self, table: &str, key: &str) -> Option<&'static str> {
        self.examples
            .iter()
            .find(|(t, k, _)| *t == table && *k == key)
            .map(|(_, _, e)| *e)
    }

    /// Every key allowed in `table`.
    pub fn keys_of(&self, table: &str) -> Vec<&'static str> {
        self.examples
            .iter()
            .filter(|(t, _, _)| *t == table)
            .map(|(_, k, _)| *k)
            .collect()
    }

    /// The tables (other than the top level) that have a key called `key`.
    pub fn tables_with(&self, key: &str) -> Vec<&'static str> {
        self.examples
            .iter()
            .filter(|(t, k, _)| !t.is_empty() && *k == key)
            .map(|(t, _, _)| *t)
            .collect()
    }

    /// Array-of-tables keys: written `[[name]]`, one table per entry.
    pub fn is_table_array(&self, table: &str, key: &str) -> bool {
        table.is_empty() && self.table_arrays.contains(&key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_examples() {
        let c = &CONFIG;
        assert_eq!(c.example("host", "gpus"), Some("gpus = 2"));
        assert_eq!(
            c.example("storage.s3", "region"),
            Some("region = \"me-south-1\"")
        );
        assert_eq!(c.example("host", "nope"), None);
        assert!(c.keys_of("provider").contains(&"api_key_env"));
        assert!(c.is_table_array("", "host"));
        assert_eq!(
            c.tables_with("keep_last"),
            vec![
                "job.retention",
                "storage",
                "storage.nas_retention",
                "storage.s3"
            ]
        );
        assert_eq!(c.tables_with("parallel"), vec!["storage"]);
        assert_eq!(
            c.tables_with("name"),
            vec!["api.token", "host", "job", "provider"]
        );
        assert!(!c.is_table_array("", "storage"));
    }
}
