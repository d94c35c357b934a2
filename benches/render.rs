//! Full-frame render time of the console at 160×48 with 1,000 hosts × 8 GPUs (goal ≤ 5 ms
//! a frame): the Fleet view (top of the list and scrolled to the middle, with a host's
//! detail open) and the Jobs view, each drawn through ratatui's `TestBackend` as the real
//! terminal loop draws (render, then diff into the backend).

use criterion::{criterion_group, criterion_main, Criterion};
use lifeboat::core::detector::Reach;
use lifeboat::core::fleet::Role;
use lifeboat::core::gpu::{GpuHealth, GpuSample};
use lifeboat::core::ids::{Epoch, HostId, JobId, Target};
use lifeboat::core::io::CheckpointRef;
use lifeboat::core::recovery::{RecoveryState, StepKind, StepRecord};
use lifeboat::core::snapshot::{
    Automation, ChannelView, GpuView, HostView, JobView, Snapshot, TaskView,
};
use lifeboat::core::time::Ts;
use lifeboat::tui::action::View;
use lifeboat::tui::state::{EventLine, UiState, HISTORY};
use lifeboat::tui::theme::Theme;
use lifeboat::tui::views;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::hint::black_box;

const HOSTS: usize = 1000;
const GPUS: u32 = 8;
const NOW: Ts = Ts(1_700_000_000_000);

fn sample(h: usize, g: u32) -> GpuSample {
    let k = (h * 8 + g as usize) as f64;
    GpuSample {
        index: Some(g),
        uuid: Some(format!("GPU-{h:04}-{g}")),
        pci_bus_id: Some(format!("00000000:{g:02}:00.0")),
        name: Some("NVIDIA H100 80GB HBM3".into()),
        pstate: Some("P0".into()),
        utilization_gpu: Some(k % 100.0),
        utilization_memory: Some((k * 3.0) % 100.0),
        memory_used_mib: Some(20_000.0 + (k * 97.0) % 60_000.0),
        memory_total_mib: Some(81_559.0),
        temperature_gpu: Some(40.0 + k % 50.0),
        temperature_memory: Some(45.0),
        power_draw_w: Some(200.0 + k % 500.0),
        power_limit_w: Some(700.0),
        clocks_sm_mhz: Some(1980.0),
        clocks_event_reasons_active: Some(0),
        hw_slowdown: Some(false),
        hw_thermal_slowdown: Some(g == 3),
        sw_thermal_slowdown: Some(false),
        hw_power_brake_slowdown: Some(false),
        sw_power_cap: Some(g == 5),
        ecc_mode_enabled: Some(true),
        ecc_corrected_volatile: Some(0),
        ecc_uncorrected_volatile: Some(u64::from(h.is_multiple_of(97))),
        ecc_uncorrected_aggregate: Some(0),
        retired_pages_pending: Some(false),
        remapped_rows_pending: Some(false),
        remapped_rows_failure: Some(false),
        pcie_gen_current: Some(5),
        pcie_gen_max: Some(5),
        pcie_width_current: Some(16),
        pcie_width_max: Some(16),
        gpu_recovery_action: Some("None".into()),
        count: Some(GPUS),
        unreadable: Vec::new(),
    }
}

fn host(h: usize) -> HostView {
    let badge = match h % 50 {
        7 => "failed",
        13 => "suspect",
        21 => "degraded",
        _ => "healthy",
    };
    HostView {
        id: HostId::new(format!("gpu-{h:04}")),
        address: format!("10.0.{}.{}", h / 250, h % 250),
        role: if h % 10 == 9 {
            Role::Standby
        } else {
            Role::Primary
        },
        badge: badge.into(),
        reach: if badge == "failed" {
            Reach::Failed
        } else {
            Reach::Healthy
        },
        reason: "answering probes".into(),
        misses: 0,
        successes: 40,
        damped: false,
        penalty: 0.0,
        last_ok: Some(Ts(NOW.0 - if badge == "failed" { 12_000 } else { 400 })),
        latency_ms: Some(3 + (h % 17) as u64),
        expected_gpus: GPUS,
        gpus: (0..GPUS)
            .map(|g| GpuView {
                sample: sample(h, g),
                health: if g == 3 {
                    GpuHealth::Degraded(vec![format!("GPU {g}: thermal slowdown active")])
                } else {
                    GpuHealth::Healthy
                },
            })
            .collect(),
        fatal: Vec::new(),
        degraded: Vec::new(),
        channels: vec![ChannelView {
            channel: "provider".into(),
            status: "up".into(),
            at: NOW,
        }],
    }
}

fn job(h: usize) -> JobView {
    let host = HostId::new(format!("gpu-{h:04}"));
    let state = match h % 40 {
        7 => RecoveryState::FailingOver,
        13 => RecoveryState::Reconnecting,
        _ => RecoveryState::Running,
    };
    let failing = state == RecoveryState::FailingOver;
    let ck = |n: u64| CheckpointRef {
        id: format!("ck-{n:04}"),
        step: n * 1000,
        created: Ts(NOW.0 - n * 60_000),
        bytes: 8 << 30,
        sha256: "ab".repeat(32),
        location: format!("s3://ckpt/job-{h:04}/ck-{n:04}"),
        verified: true,
    };
    JobView {
        id: JobId::new(format!("job-{h:04}")),
        state,
        reason: "running".into(),
        why: format!("healthy: last progress 400ms ago on gpu-{h:04}:gpu0"),
        placement: Target::new(host.clone(), Some(0)),
        epoch: Epoch(1),
        paused_by: None,
        changed_at: 0,
        reconnect_attempt: u32::from(state == RecoveryState::Reconnecting) * 2,
        reconnect_attempts: 5,
        detected_at: None,
        evidence_at: None,
        next_attempt_at: (state == RecoveryState::Reconnecting).then_some(Ts(NOW.0 + 3000)),
        strategy: failing.then(|| "warm-standby".into()),
        step: failing.then_some(StepKind::Launch),
        steps: if failing {
            [StepKind::SelectTarget, StepKind::Fence, StepKind::Stage]
                .into_iter()
                .map(|s| StepRecord {
                    strategy: "warm-standby".into(),
                    step: s,
                    target: None,
                    ms: 350,
                    ok: true,
                    detail: "ok".into(),
                })
                .collect()
        } else {
            Vec::new()
        },
        failovers_in_window: 0,
        restart_budget: 3,
        last_step: Some(123_456),
        progress_at: Some(Ts(NOW.0 - 400)),
        newest_verified: Some(ck(3)),
        checkpoints: (1..=3).map(ck).collect(),
        task: failing.then(|| TaskView {
            what: "warm-standby launch".into(),
            started: Ts(NOW.0 - 2400),
            deadline: Ts(NOW.0 + 27_600),
            progress: None,
            eta_ms: None,
        }),
        home: Target::new(host, Some(0)),
        standbys: vec![Target::new(HostId::new("gpu-spare"), Some(0))],
        strategies: vec![
            "restart-in-place".into(),
            "warm-standby".into(),
            "escalate".into(),
        ],
        escalation: None,
        next_target: None,
    }
}

fn fleet() -> (Snapshot, UiState) {
    let snap = Snapshot {
        epoch: 42,
        now: NOW,
        profile: "lan".into(),
        automation: Automation::default(),
        hosts: (0..HOSTS).map(host).collect(),
        jobs: (0..HOSTS).map(job).collect(),
        inventory: Default::default(),
        caps: Default::default(),
        stores: Vec::new(),
    };
    let mut ui = UiState::default();
    for h in 0..HOSTS {
        for g in 0..GPUS {
            let key = (format!("gpu-{h:04}"), g);
            let util: VecDeque<u64> = (0..HISTORY as u64)
                .map(|i| (i * 7 + h as u64) % 100)
                .collect();
            let temp: VecDeque<u64> = (0..HISTORY as u64)
                .map(|i| 40 + (i * 3 + g as u64) % 45)
                .collect();
            ui.history.util.insert(key.clone(), util);
            ui.history.temp.insert(key, temp);
        }
    }
    for i in 0..5000u64 {
        ui.events.push_back(EventLine {
            ts: Ts(NOW.0 - (5000 - i) * 1000),
            kind: "health_changed".into(),
            job: Some(format!("job-{:04}", i % 1000)),
            host: Some(format!("gpu-{:04}", i % 1000)),
            operator: None,
            text: format!(
                "HEALTH  gpu-{:04}: healthy → suspect (1 probe(s) missed)",
                i % 1000
            ),
        });
    }
    (snap, ui)
}

fn bench(c: &mut Criterion) {
    let (snap, mut ui) = fleet();
    let theme = Theme::default();
    let Ok(mut term) = Terminal::new(TestBackend::new(160, 48)) else {
        eprintln!("render bench: could not make a test terminal");
        return;
    };
    let frame = |term: &mut Terminal<TestBackend>, ui: &UiState| {
        if let Err(e) = term.draw(|f| views::draw(f, black_box(&snap), ui, &theme)) {
            eprintln!("render bench: draw failed: {e}");
        }
    };
    c.bench_function("fleet 160x48, 1000 hosts x 8 GPUs", |b| {
        b.iter(|| frame(&mut term, &ui))
    });
    ui.selected.insert(View::Fleet, 500);
    ui.detail = Some("gpu-0500".into());
    c.bench_function("fleet 160x48, scrolled to host 500, detail open", |b| {
        b.iter(|| frame(&mut term, &ui))
    });
    ui.view = View::Jobs;
    ui.selected.insert(View::Jobs, 487);
    c.bench_function("jobs 160x48, 1000 jobs, one mid-failover selected", |b| {
        b.iter(|| frame(&mut term, &ui))
    });
    ui.view = View::Events;
    ui.selected.insert(View::Events, 4999);
    c.bench_function("events 160x48, 5000 lines", |b| {
        b.iter(|| frame(&mut term, &ui))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
