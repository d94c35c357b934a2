//! The built-in demo fleet: `assets/demo/fleet.toml`, compiled in and read by the same
//! config loader as any user's file (six simulated hosts, four jobs). `--fleet-size N`
//! grows it to N hosts for scale runs: the extra hosts are 8-GPU machines, one in ten a
//! standby, the others each running one job that fails over to the nearest standby.

use crate::config::{parse_str, Config};
use crate::core::fleet::Fleet;
use crate::core::policy::Policy;
use std::fmt::Write;
use std::path::Path;

pub const DEMO_TOML: &str = include_str!("../../assets/demo/fleet.toml");

/// Hosts in the shipped demo fleet (the least `--fleet-size`).
pub const DEMO_HOSTS: usize = 6;

/// The most hosts a scaled demo fleet may have.
pub const MAX_HOSTS: usize = 10_000;

/// The demo config. The file ships with the binary and a test checks it loads, so an error
/// here means a broken build; it is still reported, never a panic.
pub fn demo_config() -> Result<Config, crate::config::ConfigError> {
    parse_str(DEMO_TOML, Path::new("assets/demo/fleet.toml"))
}

/// The demo config grown to `hosts` hosts (the shipped one at `DEMO_HOSTS` or fewer).
pub fn demo_config_sized(hosts: usize) -> Result<Config, crate::config::ConfigError> {
    parse_str(&sized_toml(hosts), Path::new("assets/demo/fleet.toml"))
}

/// The shipped fleet's text with `hosts - DEMO_HOSTS` generated hosts and their jobs after
/// it, so the scaled fleet is checked by the same loader as any config.
pub fn sized_toml(hosts: usize) -> String {
    let extra = hosts.clamp(DEMO_HOSTS, MAX_HOSTS) - DEMO_HOSTS;
    let mut text = DEMO_TOML.to_string();
    let name = |k: usize| format!("node-{k:05}");
    let standby = |k: usize| k.is_multiple_of(10);
    for k in 1..=extra {
        let role = if standby(k) { "standby" } else { "primary" };
        let _ = write!(
            text,
            "\n[[host]]\nname = \"{}\"\naddress = \"10.{}.{}.{}\"\nuser = \"trainer\"\nrole = \"{role}\"\ngpus = 8\n",
            name(k),
            100 + k / 65536,
            (k / 256) % 256,
            k % 256
        );
    }
    for k in (1..=extra).filter(|k| !standby(*k)) {
        // The standby of its ten, else the last one before it, else the shipped spare.
        let up = k.div_ceil(10) * 10;
        let spare = if up <= extra {
            format!("{}:{}", name(up), k % 8)
        } else if k > 10 {
            format!("{}:{}", name(k / 10 * 10), k % 8)
        } else {
            "spare-1:0".to_string()
        };
        let job = format!("job-{k:05}");
        let _ = write!(
            text,
            "\n[[job]]\nname = \"{job}\"\nhost = \"{}\"\ngpu = 0\nworkdir = \"/workspace/{job}\"\nlaunch = \"python train.py --resume {{checkpoint}}\"\nheartbeat = \"/workspace/{job}/heartbeat\"\ncheckpoint_dir = \"/workspace/{job}/checkpoints\"\nstandby = [\"{spare}\"]\nstrategies = [\"restart-in-place\", \"warm-standby\", \"escalate\"]\n",
            name(k)
        );
    }
    text
}

pub fn demo_fleet() -> Fleet {
    demo_config().map(|c| c.fleet).unwrap_or_default()
}

pub fn demo_policy() -> Policy {
    demo_config().map(|c| c.policy).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_fleet_loads() {
        let cfg = demo_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((cfg.fleet.hosts.len(), cfg.fleet.jobs.len()), (6, 4));
        assert_eq!(
            cfg.policy.detection.heartbeat_hang_timeout,
            std::time::Duration::from_secs(12)
        );
    }

    #[test]
    fn a_scaled_demo_fleet_loads_with_the_hosts_asked_for() {
        for n in [6, 7, 11, 25, 1000] {
            let cfg = demo_config_sized(n).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(cfg.fleet.hosts.len(), n);
            let extra = n - DEMO_HOSTS;
            let standbys = extra / 10;
            assert_eq!(cfg.fleet.jobs.len(), 4 + extra - standbys, "{n}");
        }
        let big = demo_config_sized(1000).unwrap_or_else(|e| panic!("{e}"));
        let gpus: u32 = big.fleet.hosts.iter().map(|h| h.gpus).sum();
        assert!(gpus >= 994 * 8, "{gpus}");
    }
}
