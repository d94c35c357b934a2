//! The built-in demo fleet: six simulated hosts and four jobs, enough to show every kind
//! of failure and every strategy with no setup.

use crate::core::fleet::{Fleet, HeartbeatSource, HostSpec, JobSpec, Role, StrategyKind};
use crate::core::ids::{HostId, JobId, Target};
use crate::core::policy::Policy;
use std::time::Duration;

fn host(name: &str, role: Role, gpus: u32, n: u8) -> HostSpec {
    HostSpec {
        id: HostId::new(name),
        address: format!("10.0.0.{n} (simulated)"),
        port: 22,
        user: Some("trainer".into()),
        role,
        gpus,
        ssh_key: None,
        provider: None,
    }
}

fn job(name: &str, on: &str, gpu: u32, standbys: &[(&str, Option<u32>)]) -> JobSpec {
    use StrategyKind::*;
    JobSpec {
        id: JobId::new(name),
        host: HostId::new(on),
        gpu: Some(gpu),
        workdir: format!("/workspace/{name}").into(),
        launch: format!("python train.py --run {name} --resume {{checkpoint}}"),
        cpu_launch: Some(format!("python serve_cpu.py --run {name}")),
        stop: None,
        heartbeat: HeartbeatSource::File {
            path: format!("/workspace/{name}/heartbeat").into(),
        },
        checkpoint_dir: format!("/workspace/{name}/checkpoints").into(),
        standbys: standbys
            .iter()
            .map(|(h, g)| Target::new(HostId::new(*h), *g))
            .collect(),
        strategies: vec![RestartInPlace, WarmStandby, CpuStandby, Escalate],
    }
}

pub fn demo_fleet() -> Fleet {
    Fleet {
        hosts: vec![
            host("gpu-a", Role::Primary, 2, 11),
            host("gpu-b", Role::Primary, 2, 12),
            host("gpu-c", Role::Primary, 1, 13),
            host("spare-1", Role::Standby, 2, 21),
            host("spare-2", Role::Standby, 1, 22),
            host("cpu-1", Role::CpuStandby, 0, 31),
        ],
        jobs: vec![
            job(
                "llm-pretrain",
                "gpu-a",
                0,
                &[("spare-1", Some(0)), ("spare-1", Some(1)), ("cpu-1", None)],
            ),
            job(
                "rl-selfplay",
                "gpu-a",
                1,
                &[("spare-2", Some(0)), ("spare-1", Some(1)), ("cpu-1", None)],
            ),
            job(
                "vision-finetune",
                "gpu-b",
                0,
                &[("gpu-b", Some(1)), ("spare-1", Some(1)), ("cpu-1", None)],
            ),
            job(
                "diffusion",
                "gpu-c",
                0,
                &[("spare-2", Some(0)), ("spare-1", Some(0)), ("cpu-1", None)],
            ),
        ],
    }
}

/// The `lan` profile, with a hang timeout short enough to see within a minute.
pub fn demo_policy() -> Policy {
    let mut p = Policy::default();
    p.detection.heartbeat_hang_timeout = Duration::from_secs(12);
    p
}
