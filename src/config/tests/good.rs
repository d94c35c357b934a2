//! Valid configs: the shipped examples, defaults, and the forms each value may take.

use super::*;
use crate::config::{summary, NotifierConfig};
use crate::core::fleet::{HeartbeatSource, HostKeyPolicy, Role, StrategyKind};
use crate::core::ids::{HostId, Target};
use std::time::Duration;

const GATE0: &str = include_str!("../../../assets/examples/gate0.toml");
const CLOUD: &str = include_str!("../../../assets/examples/cloud-fleet.toml");

#[test]
fn gate0_example_is_seed_000() {
    let c = ok(GATE0);
    assert_eq!(c.source.as_deref(), Some(Path::new("/etc/lifeboat/t.toml")));
    assert_eq!(c.policy.detection.name, "lan");
    assert_eq!(c.fleet.hosts.len(), 1);
    let pc1 = &c.fleet.hosts[0];
    assert_eq!(
        (pc1.id.as_str(), pc1.gpus, pc1.port, pc1.role),
        ("pc1", 2, 22, Role::Primary)
    );
    let job = &c.fleet.jobs[0];
    assert_eq!(job.gpu, Some(0));
    assert_eq!(job.standbys, vec![Target::new(HostId::new("pc1"), Some(1))]);
    assert_eq!(
        job.strategies,
        vec![
            StrategyKind::RestartInPlace,
            StrategyKind::WarmStandby,
            StrategyKind::Escalate
        ]
    );
    assert_eq!(
        c.storage.nas.as_deref(),
        Some(Path::new("/mnt/nas/dc1/checkpoints"))
    );
    let s3 = c.storage.s3.as_ref().unwrap();
    assert_eq!(
        (s3.bucket.as_str(), s3.region.as_str()),
        ("dc1-gate0-checkpoints", "me-south-1")
    );
    assert_eq!(c.storage.keep_last, 3);
    assert_eq!(
        c.notifiers,
        vec![NotifierConfig::Telegram {
            bot_token_env: "TELEGRAM_BOT_TOKEN".into(),
            chat_id: "-5275672778".into(),
            api_url: None
        }]
    );
    assert_eq!(
        c.policy.recovery.step_timeouts.stage,
        Duration::from_secs(120)
    );
}

#[test]
fn cloud_example_is_a_rented_fleet() {
    let c = ok(CLOUD);
    assert_eq!(c.policy.detection.name, "cloud");
    assert_eq!(
        c.policy.detection.heartbeat_hang_timeout,
        Duration::from_secs(900)
    );
    assert_eq!(c.policy.detection.partition.window, Duration::from_secs(60));
    let roles: Vec<Role> = c.fleet.hosts.iter().map(|h| h.role).collect();
    assert_eq!(
        roles,
        vec![
            Role::Primary,
            Role::Primary,
            Role::Standby,
            Role::CpuStandby
        ]
    );
    assert_eq!(c.fleet.hosts[0].port, 41022);
    assert_eq!(
        c.fleet.hosts[0].provider.as_ref().unwrap().instance,
        "9876543"
    );
    assert_eq!(c.fleet.hosts[3].gpus, 0);
    let ssh = &c.fleet.hosts[0].ssh;
    assert_eq!(ssh.host_key_policy, HostKeyPolicy::AcceptNew);
    assert_eq!(
        ssh.key_passphrase_env.as_deref(),
        Some("VAST_KEY_PASSPHRASE")
    );
    assert_eq!(c.fleet.hosts[1].ssh.host_key_policy, HostKeyPolicy::Strict);
    assert_eq!(c.providers[0].api_key_env, "VAST_API_KEY");
    assert_eq!(
        c.fleet.jobs[0].heartbeat,
        HeartbeatSource::File {
            path: "/workspace/heartbeat".into()
        }
    );
    assert_eq!(
        c.fleet.jobs[1].heartbeat,
        HeartbeatSource::Mtime {
            path: "/workspace/selfplay/games.log".into()
        }
    );
    for j in &c.fleet.jobs {
        assert_eq!(
            j.strategies,
            vec![
                StrategyKind::WarmStandby,
                StrategyKind::CpuStandby,
                StrategyKind::Provision,
                StrategyKind::Escalate
            ]
        );
    }
    let s3 = c.storage.s3.as_ref().unwrap();
    assert!(s3.path_style);
    assert_eq!(
        s3.endpoint.as_deref(),
        Some("https://s3.eu-central-003.backblazeb2.com")
    );
    assert_eq!(s3.prefix, "lifeboat/fleet");
    assert!(
        matches!(&c.notifiers[0], NotifierConfig::Webhook { token_env: Some(t), .. } if t == "LIFEBOAT_HOOK_TOKEN")
    );
    assert_eq!(c.state_dir.as_deref(), Some(Path::new("/var/lib/lifeboat")));
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let c = ok(BASE);
    assert_eq!(c.policy, crate::core::policy::Policy::default());
    assert_eq!(c.storage.keep_last, 3);
    assert!(c.notifiers.is_empty() && c.providers.is_empty() && c.state_dir.is_none());
    let job = &c.fleet.jobs[0];
    assert_eq!(job.heartbeat, HeartbeatSource::None);
    // The default chain, less cpu-standby: this job has no cpu-standby host.
    assert_eq!(
        job.strategies,
        vec![
            StrategyKind::RestartInPlace,
            StrategyKind::WarmStandby,
            StrategyKind::Escalate
        ]
    );
    let none = ok(&edit("standby = [\"pc1:1\"]\n", ""));
    assert_eq!(
        none.fleet.jobs[0].strategies,
        vec![StrategyKind::RestartInPlace, StrategyKind::Escalate]
    );
}

#[test]
fn addresses_ports_and_users() {
    let port = |addr: &str| {
        let c = ok(&edit("\"192.168.1.10\"", &format!("\"{addr}\"")));
        (c.fleet.hosts[0].address.clone(), c.fleet.hosts[0].port)
    };
    assert_eq!(
        port("gpu.example.com:2222"),
        ("gpu.example.com".into(), 2222)
    );
    assert_eq!(port("[fd00::10]:2200"), ("fd00::10".into(), 2200));
    assert_eq!(port("fd00::10"), ("fd00::10".into(), 22));
    assert_eq!(port("[fd00::10]"), ("fd00::10".into(), 22));
    let c = ok(&edit(
        "gpus = 2",
        "gpus = 2\nuser = \"trainer\"\nssh_key = \"/k/id\"",
    ));
    assert_eq!(c.fleet.hosts[0].user.as_deref(), Some("trainer"));
    assert_eq!(
        c.fleet.hosts[0].ssh_key.as_deref(),
        Some(Path::new("/k/id"))
    );
}

#[test]
fn standby_targets_take_three_forms() {
    let c = ok(&with(
        "[[host]]\nname = \"vm\"\naddress = \"10.0.0.9\"\nrole = \"cpu-standby\"\n[[host]]\nname = \"b\"\naddress = \"10.0.0.8\"\ngpus = 4\nrole = \"standby\"\n",
    )
    .replace("[\"pc1:1\"]", "[\"pc1:gpu1\", \"b:3\", \"vm\"]"));
    let t: Vec<String> = c.fleet.jobs[0]
        .standbys
        .iter()
        .map(Target::to_string)
        .collect();
    assert_eq!(t, vec!["pc1:gpu1", "b:gpu3", "vm"]);
    assert_eq!(
        c.fleet.jobs[0].strategies,
        StrategyKind::default_chain(),
        "with a cpu-standby in reach the whole default chain applies"
    );
}

#[test]
fn heartbeat_forms() {
    let hb = |v: &str| {
        ok(&edit("gpu = 0", &format!("gpu = 0\nheartbeat = {v}")))
            .fleet
            .jobs[0]
            .heartbeat
            .clone()
    };
    assert_eq!(
        hb("\"/w/hb\""),
        HeartbeatSource::File {
            path: "/w/hb".into()
        }
    );
    assert_eq!(
        hb("{ file = \"/w/hb\" }"),
        HeartbeatSource::File {
            path: "/w/hb".into()
        }
    );
    assert_eq!(
        hb("{ mtime = \"/w/log\" }"),
        HeartbeatSource::Mtime {
            path: "/w/log".into()
        }
    );
    let dotted = ok(&edit("gpu = 0", "gpu = 0\nheartbeat.mtime = \"/w/log\""));
    assert_eq!(
        dotted.fleet.jobs[0].heartbeat,
        HeartbeatSource::Mtime {
            path: "/w/log".into()
        }
    );
}

#[test]
fn overrides_apply_on_top_of_the_profile() {
    let c = ok(&with(
        "[settings]\nprofile = \"cloud\"\n[detection]\nprobe_interval = \"10s\"\nfail_ceiling = 20\nlost_after = 3\n[detection.flap]\nhalf_life = \"10m\"\n[recovery]\nreconnect_backoff = [\"500ms\", \"1s\"]\nrestart_budget = 1\nbudget_window = \"1d\"\n[recovery.timeouts]\nfence = \"5s\"\n",
    ));
    let d = &c.policy.detection;
    assert_eq!(d.probe_interval, Duration::from_secs(10));
    assert_eq!(
        d.probe_timeout,
        Duration::from_secs(4),
        "untouched: the cloud default"
    );
    assert_eq!(d.fail_ceiling, 20);
    assert_eq!(d.lost_after, 3);
    assert_eq!(d.flap.half_life, Duration::from_secs(600));
    let r = &c.policy.recovery;
    assert_eq!(
        r.reconnect_backoff,
        vec![Duration::from_millis(500), Duration::from_secs(1)]
    );
    assert_eq!(
        (r.restart_budget, r.budget_window),
        (1, Duration::from_secs(86_400))
    );
    assert_eq!(r.step_timeouts.fence, Duration::from_secs(5));
}

#[test]
fn summary_says_what_the_config_means() {
    let s = summary(&ok(GATE0));
    assert!(s.starts_with("ok: /etc/lifeboat/t.toml\n"), "{s}");
    for part in [
        "profile lan (probe every 1s, fail after 3 misses)",
        "1 host: pc1 (primary, 2 GPUs, trainer@192.168.1.10:22)",
        "1 job: gate0-train on pc1:gpu0 → standbys pc1:gpu1; strategies restart-in-place → warm-standby → escalate",
        "storage: NAS /mnt/nas/dc1/checkpoints, S3 s3://dc1-gate0-checkpoints/gate0 (me-south-1); keep last 3",
        "notify: telegram chat -5275672778 (token from $TELEGRAM_BOT_TOKEN)",
    ] {
        assert!(s.contains(part), "summary lacks {part:?}:\n{s}");
    }
    let s = summary(&ok(CLOUD));
    assert!(
        s.contains(
            "4 hosts:\n    vast-a (primary, 1 GPU, root@ssh4.vast.ai:41022, vast instance 9876543)"
        ),
        "{s}"
    );
    assert!(
        s.contains("fail after 4 misses with a second channel, or 12 alone"),
        "{s}"
    );
}
