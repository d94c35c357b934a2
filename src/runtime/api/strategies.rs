//! `GET /failover/strategies`: what each strategy is, what it needs and costs, the
//! recovery time nominally expected of it, and the one measured on this fleet (p50/p95
//! from the journal, with how many failovers they are made of).

use super::error::{ApiError, ErrorBody};
use super::State;
use crate::core::fleet::StrategyKind;
use axum::extract::State as S;
use axum::Json;
use serde_json::{json, Value};

struct About {
    kind: StrategyKind,
    name: &'static str,
    description: &'static str,
    nominal: &'static str,
    cost: &'static str,
    requirements: &'static [&'static str],
}

const ALL: [About; 6] = [
    About {
        kind: StrategyKind::RestartInPlace,
        name: "Restart in place",
        description: "Start the job again on its own host and GPU from its newest verified checkpoint, when the host and GPU are healthy (a crash, not a hardware fault).",
        nominal: "seconds",
        cost: "none",
        requirements: &["the host answers", "its GPU is healthy"],
    },
    About {
        kind: StrategyKind::WarmStandby,
        name: "Warm standby",
        description: "Move the job to a standby GPU host (pre-staged checkpoint when prestage = true), fencing the old copy first.",
        nominal: "seconds to a minute",
        cost: "a standby GPU host kept ready",
        requirements: &["a standby in the job's list that is healthy and has a free GPU", "the checkpoint in a store or on the standby"],
    },
    About {
        kind: StrategyKind::CpuStandby,
        name: "CPU standby",
        description: "Keep the job alive on a CPU host (cpu_launch) from its checkpoint until a GPU is back, then return it.",
        nominal: "a minute, at CPU speed until it returns",
        cost: "a CPU host",
        requirements: &["a cpu-standby host", "the job's cpu_launch"],
    },
    About {
        kind: StrategyKind::Provision,
        name: "Provision",
        description: "Rent a new GPU machine through the provider ([job.provision]) and restore the checkpoint onto it.",
        nominal: "minutes (the provider's boot time)",
        cost: "the rented machine's hourly price",
        requirements: &["a [[provider]] with its key", "[job.provision] with criteria and a price cap"],
    },
    About {
        kind: StrategyKind::RegionalVolume,
        name: "Regional volume",
        description: "Rent a GPU in the region of the job's persistent volume and attach it there: the data is already in place.",
        nominal: "30-60 s plus the provider's boot time",
        cost: "the volume's storage plus the rented machine",
        requirements: &["a provider volume in the region", "GPUs offered in that region"],
    },
    About {
        kind: StrategyKind::Escalate,
        name: "Escalate",
        description: "Hand the incident to a human: page through the notifiers and wait, moving nothing.",
        nominal: "manual",
        cost: "none",
        requirements: &["[[notify]] destinations"],
    },
];

#[utoipa::path(
    get,
    path = "/failover/strategies",
    operation_id = "failover_strategies",
    tag = "failover",
    summary = "Every strategy, with its recovery time measured on this fleet",
    responses((status = 200, description = "The strategies", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 500, description = "The journal could not be read", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn strategies(S(st): S<State>) -> Result<Json<Value>, ApiError> {
    let dir = st.state_dir.clone();
    let times = tokio::task::spawn_blocking(move || super::journal::recovery_times(&dir))
        .await
        .map_err(|e| ApiError::internal(format!("reading the journal: {e}")))?;
    let rows: Vec<Value> = ALL
        .iter()
        .map(|a| {
            let id = a.kind.as_str();
            let t = times.get(id).map(Vec::as_slice).unwrap_or_default();
            json!({
                "id": id,
                "name": a.name,
                "description": a.description,
                "requirements": a.requirements,
                "cost": a.cost,
                "recovery_time": a.nominal,
                "measured": {
                    "count": t.len(),
                    "p50_ms": super::journal::quantile(t, 0.5),
                    "p95_ms": super::journal::quantile(t, 0.95),
                },
            })
        })
        .collect();
    Ok(Json(json!({"strategies": rows})))
}
