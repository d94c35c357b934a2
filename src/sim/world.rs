//! The simulated world's state: hosts, GPUs whose metrics move plausibly, and job
//! processes. It lives in a JSON file in the state dir, so a console killed mid-failover
//! finds the same world when it restarts. This is a simulator, not a real fleet.

use crate::core::fleet::Fleet;
use crate::core::gpu::QUERY_FIELDS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    Up,
    /// Refuses connections.
    Down,
    /// Accepts nothing and answers nothing: probes time out.
    Hung,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimGpu {
    pub name: String,
    pub lost: bool,
    pub util: f64,
    pub mem_used: f64,
    pub mem_total: f64,
    pub temp: f64,
    pub power: f64,
    pub power_limit: f64,
    pub sm_clock: f64,
    pub ecc_corrected: u64,
    pub ecc_uncorrected: u64,
    pub recovery_action: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimProc {
    pub job: String,
    pub epoch: u64,
    pub gpu: Option<u32>,
    pub step: u64,
    /// Alive but making no progress.
    pub hung: bool,
    pub heartbeat_ms: u64,
    pub last_checkpoint_step: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimHost {
    pub condition: Condition,
    /// Single probes fail at random until then (ms since epoch).
    pub flaky_until: Option<u64>,
    pub boot_id: String,
    pub gpus: Vec<SimGpu>,
    pub procs: Vec<SimProc>,
    /// Xid codes logged since the last probe.
    pub xids: Vec<u32>,
    /// The provider has announced a preemption (reported once on the provider channel).
    pub preempted: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimWorld {
    pub hosts: BTreeMap<String, SimHost>,
    /// Faults already injected (indices into the schedule), so a restart does not repeat them.
    pub injected: Vec<usize>,
    /// When the world was created (ms since epoch); the chaos schedule counts from here.
    pub born_ms: u64,
    /// Things the world will do by itself later: a preempted host dies, a broken one is repaired.
    #[serde(default)]
    pub timers: Vec<Timer>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub due_ms: u64,
    pub host: String,
    pub action: TimerAction,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimerAction {
    /// The preempted instance is reclaimed: its processes die with it.
    Reclaim,
    /// Repaired and back in service.
    Heal,
}

pub fn idle_gpu(name: &str) -> SimGpu {
    SimGpu {
        name: name.into(),
        lost: false,
        util: 0.0,
        mem_used: 0.0,
        mem_total: 81559.0,
        temp: 33.0,
        power: 72.0,
        power_limit: 700.0,
        sm_clock: 1980.0,
        ecc_corrected: 0,
        ecc_uncorrected: 0,
        recovery_action: "None".into(),
    }
}

impl SimWorld {
    /// A fresh world for `fleet`: every job running under epoch 1 on its home GPU.
    pub fn new(fleet: &Fleet, born_ms: u64) -> Self {
        let mut hosts = BTreeMap::new();
        for (i, h) in fleet.hosts.iter().enumerate() {
            let gpus = (0..h.gpus)
                .map(|_| idle_gpu("NVIDIA H100 80GB HBM3"))
                .collect();
            let host = SimHost {
                condition: Condition::Up,
                flaky_until: None,
                boot_id: format!("boot-{i}-1"),
                gpus,
                procs: Vec::new(),
                xids: Vec::new(),
                preempted: false,
            };
            hosts.insert(h.id.to_string(), host);
        }
        for j in &fleet.jobs {
            if let Some(h) = hosts.get_mut(j.host.as_str()) {
                h.procs.push(SimProc {
                    job: j.id.to_string(),
                    epoch: 1,
                    gpu: j.gpu,
                    step: 0,
                    hung: false,
                    heartbeat_ms: born_ms,
                    last_checkpoint_step: 0,
                });
            }
        }
        Self {
            hosts,
            injected: Vec::new(),
            born_ms,
            timers: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Option<Self>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                format!(
                    "simulated world {} is unreadable ({e}); delete it to start afresh",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes atomically (temp file, then rename), so a kill never leaves half a world.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Hosts where a copy of `job` runs.
    pub fn running(&self, job: &str) -> Vec<(String, u64)> {
        self.hosts
            .iter()
            .flat_map(|(h, s)| {
                s.procs
                    .iter()
                    .filter(|p| p.job == job)
                    .map(move |p| (h.clone(), p.epoch))
            })
            .collect()
    }

    /// Moves GPU metrics a little toward where the load puts them; `jitter` in [-1, 1].
    pub fn drift(&mut self, mut jitter: impl FnMut() -> f64) {
        for host in self.hosts.values_mut() {
            let busy: Vec<Option<u32>> = host
                .procs
                .iter()
                .filter(|p| !p.hung)
                .map(|p| p.gpu)
                .collect();
            for (i, g) in host.gpus.iter_mut().enumerate() {
                let loaded = busy.contains(&Some(i as u32));
                let (util, temp, power, mem) = if loaded {
                    (96.0, 74.0, 640.0, 61_000.0)
                } else {
                    (0.0, 33.0, 72.0, 0.0)
                };
                g.util = (util + 3.0 * jitter()).clamp(0.0, 100.0).round();
                g.temp = (g.temp + (temp - g.temp) * 0.3 + jitter()).round();
                g.power =
                    ((g.power + (power - g.power) * 0.4 + 15.0 * jitter()) * 100.0).round() / 100.0;
                g.mem_used = (mem + if loaded { 400.0 * jitter() } else { 0.0 })
                    .max(0.0)
                    .round();
            }
        }
    }
}

/// `nvidia-smi --query-gpu=QUERY_FIELDS --format=csv,noheader,nounits` as the host would
/// print it, with its exit code.
pub fn nvidia_smi(host: &SimHost) -> (String, i32) {
    debug_assert_eq!(QUERY_FIELDS.split(',').count(), 33);
    if host.gpus.is_empty() {
        return ("nvidia-smi: command not found".into(), 127);
    }
    let mut lines = Vec::new();
    for (i, g) in host.gpus.iter().enumerate() {
        if g.lost {
            lines.push(format!(
                "Unable to determine the device handle for GPU00000000:{:02X}:00.0: Unknown Error",
                0x10 + i
            ));
            continue;
        }
        lines.push(format!(
            "{i}, GPU-5e1b0a7c-0000-4000-8000-00000000{i:04x}, 00000000:{:02X}:00.0, {}, P0, {}, {}, {}, {}, {}, {}, {:.2}, {:.2}, {}, 0x0000000000000000, Not Active, Not Active, Not Active, Not Active, Not Active, Enabled, {}, {}, {}, [N/A], No, No, 5, 5, 16, 16, {}, {}",
            0x10 + i,
            g.name,
            g.util,
            (g.util * 0.6).round(),
            g.mem_used,
            g.mem_total,
            g.temp,
            g.temp + 2.0,
            g.power,
            g.power_limit,
            g.sm_clock,
            g.ecc_corrected,
            g.ecc_uncorrected,
            g.ecc_uncorrected,
            g.recovery_action,
            host.gpus.len()
        ));
    }
    let all_lost = host.gpus.iter().all(|g| g.lost);
    (lines.join("\n"), if all_lost { 15 } else { 0 })
}

/// Where the simulator keeps a host's files.
pub fn host_dir(root: &Path, host: &str) -> PathBuf {
    root.join("hosts").join(host)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::core::gpu::{assess, parse_query_gpu, GpuReadout};

    fn host(n: usize) -> SimHost {
        SimHost {
            condition: Condition::Up,
            flaky_until: None,
            boot_id: "b".into(),
            gpus: (0..n).map(|_| idle_gpu("NVIDIA H100 80GB HBM3")).collect(),
            procs: Vec::new(),
            xids: Vec::new(),
            preempted: false,
        }
    }

    #[test]
    fn simulated_nvidia_smi_parses_with_the_real_parser() {
        let (out, code) = nvidia_smi(&host(2));
        let r = parse_query_gpu(&out, code);
        let GpuReadout::Gpus(s) = &r else {
            panic!("{r:?}")
        };
        assert_eq!(s.len(), 2);
        assert!(assess(&r, 2, &[], &[], false).is_healthy());
    }

    #[test]
    fn a_lost_gpu_is_fatal_for_that_gpu_only() {
        let mut h = host(2);
        h.gpus[0].lost = true;
        let (out, code) = nvidia_smi(&h);
        assert_eq!(code, 0);
        let r = parse_query_gpu(&out, code);
        let GpuReadout::Gpus(s) = &r else {
            panic!("{r:?}")
        };
        assert_eq!(s[0].index, Some(1));
        h.gpus[1].lost = true;
        assert_eq!(nvidia_smi(&h).1, 15);
    }

    #[test]
    fn cpu_host_has_no_nvidia_smi() {
        assert_eq!(
            parse_query_gpu(&nvidia_smi(&host(0)).0, 127),
            GpuReadout::NotInstalled
        );
    }
}
