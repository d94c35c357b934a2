//! `GET /metrics` in the OpenMetrics text format (prometheus-client): the fleet from the
//! supervisor's latest picture (encoded once per picture), then the counters. Labels are
//! bounded by the config: `host` (one per `[[host]]`), `gpu` (its index), `job` (one per
//! `[[job]]`), `store` (nas, s3), `state` (a fixed vocabulary), `destination` (one per
//! `[[notify]]`, and "all"), so a scrape grows with the fleet and the config and nothing
//! else.

use super::error::{ApiError, ErrorBody};
use super::State;
use crate::core::snapshot::Snapshot;
use axum::extract::State as S;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type F64 = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostL {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostStateL {
    host: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GpuL {
    host: String,
    gpu: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobL {
    job: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobStateL {
    job: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreL {
    store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CopyL {
    store: String,
    state: String,
}

fn family<L>(reg: &mut Registry, name: &str, help: &str) -> Family<L, F64>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let f = Family::<L, F64>::default();
    reg.register(name, help, f.clone());
    f
}

/// What is counted as it happens (failovers, drills, notifications), then the scrape's
/// end: the part of a scrape that no snapshot holds, encoded at each request.
fn render_counted(
    out: &mut String,
    counted: &super::counters::Counters,
) -> Result<(), std::fmt::Error> {
    let mut reg = Registry::with_prefix("lifeboat");
    counted.register(&mut reg);
    notifications(&mut reg);
    workload(&mut reg);
    prometheus_client::encoding::text::encode_registry(out, &reg)?;
    prometheus_client::encoding::text::encode_eof(out)
}

/// The fleet's part of a scrape, from the snapshot alone (no end marker): the part the
/// API encodes once per snapshot.
fn render_fleet(snap: &Snapshot) -> Result<String, std::fmt::Error> {
    let mut reg = Registry::with_prefix("lifeboat");
    let up = family::<HostL>(&mut reg, "host_up", "1 while the host is healthy");
    let hstate = family::<HostStateL>(
        &mut reg,
        "host_state",
        "1 for the host's state: healthy, suspect or failed",
    );
    let latency = family::<HostL>(
        &mut reg,
        "host_probe_latency_seconds",
        "The last probe's round trip",
    );
    let xid = family::<HostL>(
        &mut reg,
        "host_gpu_xid_errors",
        "Distinct GPU Xid errors in the host's kernel log at the last probe (application Xids left out)",
    );
    let util = family::<GpuL>(&mut reg, "gpu_utilization_ratio", "GPU utilisation, 0 to 1");
    let mem = family::<GpuL>(&mut reg, "gpu_memory_used_bytes", "GPU memory in use");
    let temp = family::<GpuL>(&mut reg, "gpu_temperature_celsius", "GPU temperature");
    let power = family::<GpuL>(&mut reg, "gpu_power_watts", "GPU power draw");
    let ecc = family::<GpuL>(
        &mut reg,
        "gpu_ecc_uncorrected_errors",
        "Uncorrected ECC errors since the driver loaded",
    );
    let throttle = family::<GpuL>(
        &mut reg,
        "gpu_throttled",
        "1 while a hardware or thermal slowdown is active",
    );
    let healthy = family::<GpuL>(
        &mut reg,
        "gpu_healthy",
        "1 while Lifeboat judges the GPU healthy",
    );
    let jstate = family::<JobStateL>(&mut reg, "job_state", "1 for the job's recovery state");
    let step = family::<JobL>(&mut reg, "job_step", "The job's last reported step");
    let hb = family::<JobL>(
        &mut reg,
        "job_heartbeat_age_seconds",
        "Seconds since the job's step last advanced",
    );
    let ck = family::<JobL>(
        &mut reg,
        "job_checkpoint_age_seconds",
        "Age of the newest verified checkpoint (the RPO exposure)",
    );
    let epoch = family::<JobL>(
        &mut reg,
        "job_epoch",
        "The job's fencing epoch (one more per failover)",
    );
    let pending = family::<StoreL>(
        &mut reg,
        "store_pending_copies",
        "Copies waiting to be written to the store",
    );
    let failing = family::<StoreL>(
        &mut reg,
        "store_failing",
        "1 while the store's last word was an error",
    );
    let copies = family::<CopyL>(
        &mut reg,
        "store_copies",
        "Checkpoint copies in the store by state",
    );
    let frozen = F64::default();
    reg.register(
        "automation_held",
        "1 while automation is frozen or paused",
        frozen.clone(),
    );
    let now = snap.now;
    for h in &snap.hosts {
        let host = h.id.to_string();
        let reach = h.reach.as_str();
        up.get_or_create(&HostL { host: host.clone() })
            .set(f64::from(u8::from(reach == "healthy")));
        for s in ["healthy", "suspect", "failed"] {
            hstate
                .get_or_create(&HostStateL {
                    host: host.clone(),
                    state: s.into(),
                })
                .set(f64::from(u8::from(reach == s)));
        }
        let xids = h.fatal.iter().chain(&h.degraded);
        xid.get_or_create(&HostL { host: host.clone() })
            .set(xids.filter(|r| r.starts_with("Xid ")).count() as f64);
        if let Some(ms) = h.latency_ms {
            latency
                .get_or_create(&HostL { host: host.clone() })
                .set(ms as f64 / 1000.0);
        }
        for g in &h.gpus {
            let Some(i) = g.sample.index else { continue };
            let l = GpuL {
                host: host.clone(),
                gpu: i.to_string(),
            };
            let s = &g.sample;
            if let Some(v) = s.utilization_gpu {
                util.get_or_create(&l).set(v / 100.0);
            }
            if let Some(v) = s.memory_used_mib {
                mem.get_or_create(&l).set(v * 1048576.0);
            }
            if let Some(v) = s.temperature_gpu {
                temp.get_or_create(&l).set(v);
            }
            if let Some(v) = s.power_draw_w {
                power.get_or_create(&l).set(v);
            }
            if let Some(v) = s.ecc_uncorrected_volatile {
                ecc.get_or_create(&l).set(v as f64);
            }
            let slowed = [
                s.hw_slowdown,
                s.hw_thermal_slowdown,
                s.sw_thermal_slowdown,
                s.hw_power_brake_slowdown,
            ]
            .into_iter()
            .any(|b| b == Some(true));
            throttle.get_or_create(&l).set(f64::from(u8::from(slowed)));
            healthy.get_or_create(&l).set(f64::from(u8::from(
                g.health == crate::core::gpu::GpuHealth::Healthy,
            )));
        }
    }
    for j in &snap.jobs {
        let job = j.id.to_string();
        for s in crate::core::recovery::RecoveryState::PIPELINE {
            jstate
                .get_or_create(&JobStateL {
                    job: job.clone(),
                    state: s.as_str().into(),
                })
                .set(f64::from(u8::from(j.state == s)));
        }
        let l = JobL { job: job.clone() };
        if let Some(v) = j.last_step {
            step.get_or_create(&l).set(v as f64);
        }
        if let Some(at) = j.progress_at {
            hb.get_or_create(&l).set(now.since(at).as_secs_f64());
        }
        if let Some(c) = &j.newest_verified {
            ck.get_or_create(&l).set(now.since(c.created).as_secs_f64());
        }
        epoch.get_or_create(&l).set(j.epoch.0 as f64);
    }
    for s in &snap.stores {
        let l = StoreL {
            store: s.store.clone(),
        };
        pending.get_or_create(&l).set(f64::from(s.pending));
        failing
            .get_or_create(&l)
            .set(f64::from(u8::from(s.failing())));
    }
    let mut by_state: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for c in &snap.inventory.checkpoints {
        for cp in &c.copies {
            let state = format!("{:?}", cp.state).to_lowercase();
            *by_state.entry((cp.store.clone(), state)).or_default() += 1.0;
        }
    }
    for ((store, state), n) in by_state {
        copies.get_or_create(&CopyL { store, state }).set(n);
    }
    replicated(&mut reg, snap);
    let held = snap.automation.frozen.is_some() || snap.automation.paused_by.is_some();
    frozen.set(f64::from(u8::from(held)));
    let mut out = String::new();
    prometheus_client::encoding::text::encode_registry(&mut out, &reg)?;
    Ok(out)
}

/// Bytes held verified per store, and when the last scrub (of every store) ended.
fn replicated(reg: &mut Registry, snap: &Snapshot) {
    use crate::core::inventory::CopyState;
    let bytes = family::<StoreL>(
        reg,
        "store_verified_bytes",
        "Bytes of checkpoints whose copy in the store is verified (replicated and read back)",
    );
    for s in &snap.inventory.stores {
        let held: u64 = snap
            .inventory
            .checkpoints
            .iter()
            .filter(|c| {
                c.copies
                    .iter()
                    .any(|cp| cp.store == s.name && cp.state == CopyState::Verified)
            })
            .map(|c| c.bytes)
            .sum();
        bytes
            .get_or_create(&StoreL {
                store: s.name.clone(),
            })
            .set(held as f64);
    }
    if let Some(at) = snap.inventory.last_scrub {
        let scrub = F64::default();
        reg.register(
            "checkpoint_last_scrub_timestamp_seconds",
            "When the last scrub of every store's copies ended (Unix time)",
            scrub.clone(),
        );
        scrub.set(at.0 as f64 / 1000.0);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyL {
    destination: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeldL {
    destination: String,
    reason: String,
}

/// Notifications by `[[notify]]` destination ("all" for those a drill held before any
/// destination): sent, failed or dropped, and held (rate limit, drill).
/// What the supervisor has done since the process started (see `runtime::workload`).
/// Gauges that only grow (read them with `rate()`), not counters: a counter's samples end
/// in `_total` where its help does not, which the classic text format (promtool) refuses.
fn workload(reg: &mut Registry) {
    use prometheus_client::metrics::gauge::ConstGauge;
    for (name, help, value) in crate::runtime::workload::WORKLOAD.counts() {
        reg.register(name, help, ConstGauge::new(value));
    }
}

fn notifications(reg: &mut Registry) {
    use crate::runtime::notify::tally;
    use prometheus_client::metrics::counter::Counter;
    let done = Family::<NotifyL, Counter>::default();
    reg.register(
        "notifications",
        "Notifications by destination and outcome: sent, failed, dropped",
        done.clone(),
    );
    let held = Family::<HeldL, Counter>::default();
    reg.register(
        "notifications_held",
        "Notifications held back, by reason: rate_limit (sent later as a summary) or drill",
        held.clone(),
    );
    for (destination, fate, n) in tally::counts() {
        let reason = fate.as_str().to_string();
        if fate.held() {
            held.get_or_create(&HeldL {
                destination,
                reason,
            })
            .inc_by(n);
        } else {
            done.get_or_create(&NotifyL {
                destination,
                outcome: reason,
            })
            .inc_by(n);
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "metrics",
    summary = "Prometheus metrics (OpenMetrics text)",
    responses((status = 200, description = "The scrape", content_type = "application/openmetrics-text", body = String), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 500, description = "The metrics could not be encoded", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub(crate) async fn metrics(S(st): S<State>) -> Result<Response, ApiError> {
    let snap = super::read::snapshot(&st)?;
    let failed = |e: std::fmt::Error| ApiError::internal(format!("encoding the metrics: {e}"));
    let fleet = st
        .caches
        .metrics
        .get(&snap, |s| render_fleet(s).map(bytes::Bytes::from))
        .map_err(failed)?;
    let mut counted = String::new();
    render_counted(&mut counted, &st.counters).map_err(failed)?;
    let mut text = Vec::with_capacity(fleet.len() + counted.len());
    text.extend_from_slice(&fleet);
    text.extend_from_slice(counted.as_bytes());
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
