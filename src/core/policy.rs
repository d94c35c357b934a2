//! Tunables for detection and recovery, with the built-in `lan` and `cloud` profiles.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Route-flap-style damping: each flap adds a penalty that decays with a half-life;
/// above `suppress` a host is damped (not trusted), below `reuse` it is trusted again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlapDamping {
    pub penalty: f64,
    pub half_life: Duration,
    pub suppress: f64,
    pub reuse: f64,
}

/// When `share` or more of the hosts (with at least `min_hosts` in the fleet) turn suspect
/// within `window`, the console blames its own network and freezes automatic failover
/// (0.4 trips at exactly 2 of 5); it thaws when fewer than `share` are down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionGuard {
    pub share: f64,
    pub window: Duration,
    pub min_hosts: u32,
}

impl PartitionGuard {
    /// Whether `n` of `total` hosts is `share` of the fleet or more: "40 %" trips at
    /// exactly 2 of 5 (compared without float rounding getting a say).
    pub fn reached(&self, n: usize, total: usize) -> bool {
        total > 0 && n as f64 + 1e-9 >= self.share * total as f64
    }

    /// `0.4` as `40`, for reasons people read.
    pub fn percent(&self) -> String {
        let p = self.share * 100.0;
        if (p - p.round()).abs() < 1e-9 {
            format!("{}", p.round() as i64)
        } else {
            format!("{p:.1}")
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectionProfile {
    pub name: String,
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    /// Consecutive missed probes before a host is SUSPECT (K1).
    pub suspect_after: u32,
    /// Consecutive missed probes before FAILED, given a corroborating channel (K2).
    pub fail_after: u32,
    /// Consecutive missed probes before FAILED with no corroboration at all.
    pub fail_ceiling: u32,
    /// Consecutive missed probes before a host that looks from elsewhere found down (its
    /// port, and a peer or the provider) fails at once (see `detector::lost_verdict`).
    #[serde(default = "lost_after_default")]
    pub lost_after: u32,
    /// Consecutive good probes before a suspect or failed host is healthy again (M).
    pub recover_after: u32,
    /// A job whose step counter has not moved for this long is hung.
    pub heartbeat_hang_timeout: Duration,
    pub flap: FlapDamping,
    pub partition: PartitionGuard,
}

fn lost_after_default() -> u32 {
    2
}

impl DetectionProfile {
    /// Fast: a host on the same LAN that misses three 1 s probes is failed (≤ 3 s).
    pub fn lan() -> Self {
        Self {
            name: "lan".into(),
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(900),
            suspect_after: 1,
            fail_after: 3,
            fail_ceiling: 3,
            lost_after: 2,
            recover_after: 3,
            heartbeat_hang_timeout: Duration::from_secs(120),
            flap: FlapDamping {
                penalty: 1.0,
                half_life: Duration::from_secs(60),
                suppress: 3.0,
                reuse: 1.5,
            },
            partition: PartitionGuard {
                share: 0.4,
                window: Duration::from_secs(10),
                min_hosts: 3,
            },
        }
    }

    /// Cautious: rented hosts over the internet blip; failing needs a second channel
    /// or a long silence.
    pub fn cloud() -> Self {
        Self {
            name: "cloud".into(),
            probe_interval: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(4),
            suspect_after: 2,
            fail_after: 4,
            fail_ceiling: 12,
            // As many as a second channel needs to fail it on misses: caution kept.
            lost_after: 4,
            recover_after: 3,
            heartbeat_hang_timeout: Duration::from_secs(600),
            flap: FlapDamping {
                penalty: 1.0,
                half_life: Duration::from_secs(300),
                suppress: 3.0,
                reuse: 1.5,
            },
            partition: PartitionGuard {
                share: 0.4,
                window: Duration::from_secs(30),
                min_hosts: 3,
            },
        }
    }

    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "lan" => Some(Self::lan()),
            "cloud" => Some(Self::cloud()),
            _ => None,
        }
    }
}

/// Deadlines for each failover step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepTimeouts {
    pub fence: Duration,
    pub stage: Duration,
    pub launch: Duration,
    pub verify: Duration,
    pub notify: Duration,
    pub provision: Duration,
}

impl Default for StepTimeouts {
    fn default() -> Self {
        Self {
            fence: Duration::from_secs(20),
            stage: Duration::from_secs(600),
            launch: Duration::from_secs(30),
            verify: Duration::from_secs(30),
            notify: Duration::from_secs(10),
            provision: Duration::from_secs(900),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecoveryPolicy {
    /// Waits between reconnect attempts (seed 000: 1, 2, 4, 8, 16 s).
    pub reconnect_backoff: Vec<Duration>,
    /// At most this many failovers per job within `budget_window`, then escalate.
    pub restart_budget: u32,
    pub budget_window: Duration,
    pub step_timeouts: StepTimeouts,
    /// A job on a CPU standby returns to a GPU host once that host has answered every
    /// probe for this long; `None` keeps it where it is until an operator moves it.
    #[serde(default)]
    pub return_after: Option<Duration>,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            reconnect_backoff: [1, 2, 4, 8, 16].map(Duration::from_secs).to_vec(),
            restart_budget: 3,
            budget_window: Duration::from_secs(3600),
            step_timeouts: StepTimeouts::default(),
            return_after: Some(Duration::from_secs(60)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub detection: DetectionProfile,
    pub recovery: RecoveryPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            detection: DetectionProfile::lan(),
            recovery: RecoveryPolicy::default(),
        }
    }
}
