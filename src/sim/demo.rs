//! The built-in demo fleet: `assets/demo/fleet.toml`, compiled in and read by the same
//! config loader as any user's file (six simulated hosts, four jobs).

use crate::config::{parse_str, Config};
use crate::core::fleet::Fleet;
use crate::core::policy::Policy;
use std::path::Path;

pub const DEMO_TOML: &str = include_str!("../../assets/demo/fleet.toml");

/// The demo config. The file ships with the binary and a test checks it loads, so an error
/// here means a broken build; it is still reported, never a panic.
pub fn demo_config() -> Result<Config, crate::config::ConfigError> {
    parse_str(DEMO_TOML, Path::new("assets/demo/fleet.toml"))
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
}
