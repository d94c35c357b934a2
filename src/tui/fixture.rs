//! Fixed snapshots for render tests: a small fleet driven by the core's deterministic
//! harness (fixed ids, fixed clock), so snapshot files never churn. Test-only.

use super::state::{Level, Message, UiState, HISTORY};
use super::update::note;
use crate::core::event::{Event, EventKind};
use crate::core::fleet::{Fleet, Role, StrategyKind};
use crate::core::gpu::GpuHealth;
use crate::core::harness::{h, host, j, job, Harness};
use crate::core::ids::Epoch;
use crate::core::io::{Channel, ChannelStatus, CheckpointRef, Input};
use crate::core::policy::Policy;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::notice::Notice;
use std::collections::VecDeque;
use std::time::Duration;

const MIN: u64 = 60_000;

/// Six hosts and five jobs: two healthy jobs, one reconnecting to its silent host, one
/// mid-failover (held at its launch step), one escalated after its GPU fell off the bus.
pub fn fleet() -> Fleet {
    use StrategyKind::*;
    let mut bert = job("bert-base", "gpu-a1", &[], &[RestartInPlace, Escalate]);
    bert.gpu = Some(1);
    Fleet {
        hosts: vec![
            host("gpu-a1", Role::Primary, 2),
            host("gpu-a2", Role::Primary, 1),
            host("gpu-b1", Role::Standby, 2),
            host("gpu-c1", Role::Primary, 1),
            host("gpu-d1", Role::Primary, 1),
            host("cpu-1", Role::CpuStandby, 0),
        ],
        jobs: vec![
            job(
                "llama-70b",
                "gpu-a1",
                &[("gpu-b1", Some(0)), ("cpu-1", None)],
                &[RestartInPlace, WarmStandby, CpuStandby, Escalate],
            ),
            bert,
            job(
                "rl-selfplay",
                "gpu-c1",
                &[("gpu-b1", Some(0))],
                &[RestartInPlace, WarmStandby, Escalate],
            ),
            job(
                "mistral-7b",
                "gpu-d1",
                &[("gpu-b1", Some(1)), ("cpu-1", None)],
                &[RestartInPlace, WarmStandby, CpuStandby, Escalate],
            ),
            job("vision-ft", "gpu-a2", &[], &[RestartInPlace, Escalate]),
        ],
    }
}

fn checkpoint(job: &str, n: u64, created: Ts, verified: bool, s3: bool) -> CheckpointRef {
    let location = if s3 {
        format!("s3://lifeboat-ckpt/{job}/ck-{n:04}")
    } else {
        format!("nas:/mnt/ckpt/{job}/ck-{n:04}")
    };
    CheckpointRef {
        id: format!("ck-{n:04}"),
        step: n * 1000,
        created,
        bytes: (n + 3) * 1_310_720_000,
        sha256: format!("{n:02}b4f0c9e1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"),
        location,
        verified,
    }
}

/// Drives the harness into the fixture's state and returns it with its core events.
pub fn harness() -> Harness {
    let mut hs = Harness::new(fleet(), Policy::default());
    hs.run_for(Duration::from_secs(5));
    let t0 = hs.now;
    let ago = |m: u64| Ts(t0.0.saturating_sub(m * MIN));
    for (n, m, verified, s3) in [
        (1, 95, true, true),
        (2, 65, true, false),
        (3, 35, true, true),
        (4, 5, false, false),
    ] {
        hs.input(Input::CheckpointSeen {
            job: j("llama-70b"),
            epoch: Epoch(1),
            checkpoint: checkpoint("llama-70b", n, ago(m), verified, s3),
        });
    }
    hs.input(Input::CheckpointSeen {
        job: j("rl-selfplay"),
        epoch: Epoch(1),
        checkpoint: checkpoint("rl-selfplay", 7, ago(42), true, false),
    });
    hs.input(Input::CheckpointSeen {
        job: j("vision-ft"),
        epoch: Epoch(1),
        checkpoint: checkpoint("vision-ft", 2, ago(3), true, true),
    });
    hs.run_for(Duration::from_secs(20));
    // vision-ft: its GPU falls off the bus and it cannot restart in place: escalated.
    hs.fake("gpu-a2").lost_gpu = Some(0);
    hs.fake("gpu-a2").launch_fails = true;
    hs.run_for(Duration::from_secs(12));
    hs.hold_steps = true;
    // rl-selfplay: its host goes silent, and no second look can tell more (no peer to
    // ask): it is reconnecting with backoff.
    hs.no_looks = true;
    hs.fake("gpu-c1").up = false;
    hs.run_for(Duration::from_secs(3));
    hs.input(Input::ChannelReported {
        host: h("gpu-c1"),
        channel: Channel::Provider,
        status: ChannelStatus::Down(
            "instance not responding to the provider's health check".into(),
        ),
    });
    hs.input(Input::ChannelReported {
        host: h("gpu-a1"),
        channel: Channel::Agent,
        status: ChannelStatus::Up,
    });
    // mistral-7b: its GPU falls off the bus; the failover is held at its launch step.
    hs.fake("gpu-d1").lost_gpu = Some(0);
    hs.run_for(Duration::from_secs(1));
    for _ in 0..2 {
        hs.run_for(Duration::from_millis(350));
        hs.release();
    }
    hs.run_for(Duration::from_millis(2_400));
    hs
}

/// The fixture's snapshot, with GPU readings varied so bars, temperatures and throttling
/// show (the harness reports every GPU idle at 33 °C).
pub fn snapshot(hs: &Harness) -> Snapshot {
    let mut snap = hs.core.snapshot();
    dress(&mut snap);
    snap
}

/// Plausible readings per GPU: busy GPUs under the jobs, idle standbys, one GPU hot and
/// throttling, one with a fatal Xid.
pub fn dress(snap: &mut Snapshot) {
    for h in &mut snap.hosts {
        let busy = h.role == Role::Primary;
        for (i, g) in h.gpus.iter_mut().enumerate() {
            let k = (h.id.as_str().len() + i * 3) as f64;
            let s = &mut g.sample;
            if busy {
                s.utilization_gpu = Some(71.0 + k * 2.0);
                s.memory_used_mib = Some(52_000.0 + k * 1_100.0);
                s.temperature_gpu = Some(64.0 + k);
                s.power_draw_w = Some(520.0 + k * 9.0);
            } else {
                s.utilization_gpu = Some(0.0);
                s.memory_used_mib = Some(512.0);
                s.temperature_gpu = Some(31.0 + k);
                s.power_draw_w = Some(68.0);
            }
        }
        if h.id.as_str() == "gpu-a1" {
            if let Some(g) = h.gpus.get_mut(1) {
                g.sample.temperature_gpu = Some(87.0);
                g.sample.hw_thermal_slowdown = Some(true);
                g.sample.sw_power_cap = Some(true);
                g.sample.utilization_gpu = Some(38.0);
                g.health = GpuHealth::Degraded(vec![
                    "GPU 1: thermal slowdown active".into(),
                    "GPU 1: temperature 87 °C".into(),
                ]);
            }
            h.degraded = vec![
                "GPU 1: thermal slowdown active".into(),
                "GPU 1: temperature 87 °C".into(),
            ];
            h.badge = "degraded".into();
        }
        if h.id.as_str() == "gpu-d1" {
            if let Some(g) = h.gpus.get_mut(0) {
                g.health = GpuHealth::Fatal(vec!["Xid 79: GPU has fallen off the bus".into()]);
            }
        }
    }
}

/// A UI state with history, the core's events as the console logs them (plus an
/// operator's action), and nothing open.
pub fn ui(hs: &Harness) -> UiState {
    let mut ui = UiState::default();
    let snap = hs.core.snapshot();
    ui.settings.operator = "alice".into();
    for e in &hs.events {
        note(&mut ui, &Notice::Core(e.clone()));
    }
    note(
        &mut ui,
        &Notice::Core(Event {
            ts: snap.now,
            kind: EventKind::CommandAccepted {
                role: None,
                origin: None,
                operator: "alice".into(),
                command: "pause llama-70b".into(),
            },
        }),
    );
    ui.message = None;
    for h in &snap.hosts {
        for g in &h.gpus {
            let Some(idx) = g.sample.index else { continue };
            let seed = h.id.as_str().len() as u64 * 7 + u64::from(idx) * 13;
            let util: VecDeque<u64> = (0..HISTORY as u64)
                .map(|i| (seed * 3 + i * 11 + (i * i) % 17 * 3) % 100)
                .collect();
            let temp: VecDeque<u64> = (0..HISTORY as u64)
                .map(|i| 40 + (seed + i * 7 + (i * i) % 13) % 45)
                .collect();
            ui.history.util.insert((h.id.to_string(), idx), util);
            ui.history.temp.insert((h.id.to_string(), idx), temp);
        }
    }
    ui.history.last = Some(snap.now);
    ui
}

/// The message a refused action leaves in the footer.
pub fn refusal(at: Ts) -> Message {
    Message {
        text: "read-only: failover refused".into(),
        level: Level::Warn,
        at,
    }
}
