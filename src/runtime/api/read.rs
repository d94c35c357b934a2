//! What the API answers from the supervisor's latest picture: the fleet's jobs, hosts and
//! checkpoints, a job's failover readiness (the same verdict as `failover --dry-run`) and
//! status, and Patroni-style health checks for load balancers and orchestrators.

use super::error::{ApiError, ErrorBody};
use super::State;
use crate::core::ids::JobId;
use crate::core::snapshot::{JobView, Snapshot};
use axum::extract::{Path, State as S};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// The latest snapshot, or 503 while the supervisor has none yet.
pub fn snapshot(st: &State) -> Result<Arc<Snapshot>, ApiError> {
    st.shared
        .fanout
        .latest
        .borrow()
        .snapshot
        .clone()
        .ok_or_else(|| {
            ApiError::unavailable("the supervisor has no picture of the fleet yet")
                .fix("retry in a few seconds: the first probes are under way")
        })
}

pub fn job<'s>(snap: &'s Snapshot, name: &str) -> Result<&'s JobView, ApiError> {
    snap.jobs
        .iter()
        .find(|j| j.id.as_str() == name)
        .ok_or_else(|| {
            let known: Vec<&str> = snap.jobs.iter().map(|j| j.id.as_str()).collect();
            ApiError::not_found(format!("no job named {name:?}"))
                .field("job")
                .fix(format!("use one of: {}", known.join(", ")))
        })
}

/// `GET /liveness`: the process answers (Patroni: 200 while it runs).
#[utoipa::path(
    get,
    path = "/liveness",
    operation_id = "liveness",
    tag = "health",
    summary = "The process answers",
    responses((status = 200, description = "Alive", body = serde_json::Value)),
    security(())
)]
pub async fn liveness() -> impl IntoResponse {
    Json(json!({"alive": true}))
}

/// `GET /readiness`: 200 once the supervisor watches its fleet, else 503.
#[utoipa::path(
    get,
    path = "/readiness",
    operation_id = "readiness",
    tag = "health",
    summary = "The supervisor watches its fleet",
    responses((status = 200, description = "Ready", body = serde_json::Value), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody)),
    security(())
)]
pub async fn readiness(S(st): S<State>) -> Result<Json<Value>, ApiError> {
    let snap = snapshot(&st)?;
    Ok(Json(json!({
        "ready": true,
        "hosts": snap.hosts.len(),
        "jobs": snap.jobs.len(),
    })))
}

/// `GET /health`: 200 while the supervisor watches and may act; 503 (with why) while
/// automation is frozen or paused, so a balancer sends people elsewhere.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "health",
    summary = "The supervisor watches and may act",
    responses((status = 200, description = "Healthy", body = serde_json::Value), (status = 503, description = "Automation is frozen or paused, or there is no picture yet", body = serde_json::Value)),
    security(())
)]
pub async fn health(S(st): S<State>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let snap = snapshot(&st)?;
    let a = &snap.automation;
    let held = a.frozen.clone().or_else(|| {
        a.paused_by
            .as_ref()
            .map(|who| format!("automation paused by {who}"))
    });
    let status = if held.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "status": if held.is_some() { "held" } else { "ok" },
            "why": held,
            "profile": snap.profile,
            "daemon": {
                "pid": st.shared.info.pid,
                "version": st.shared.info.version,
                "fleet": st.shared.info.fleet,
                "demo": st.shared.info.demo,
            },
        })),
    ))
}

/// `GET /jobs`.
#[utoipa::path(
    get,
    path = "/jobs",
    operation_id = "jobs",
    tag = "fleet",
    summary = "Every job as the supervisor sees it",
    responses((status = 200, description = "The jobs", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn jobs(S(st): S<State>) -> Result<axum::response::Response, ApiError> {
    let snap = snapshot(&st)?;
    let body = st.caches.jobs.get(&snap, |s| {
        encoded(&json!({"jobs": s.jobs, "count": s.jobs.len()}))
    })?;
    Ok(json_bytes(body))
}

/// `value` as JSON bytes.
fn encoded(value: &Value) -> Result<bytes::Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|e| ApiError::internal(format!("encoding the answer: {e}")))
}

/// An encoded JSON body as a response.
fn json_bytes(body: bytes::Bytes) -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// `GET /hosts`.
#[utoipa::path(
    get,
    path = "/hosts",
    operation_id = "hosts",
    tag = "fleet",
    summary = "Every host as the supervisor sees it",
    responses((status = 200, description = "The hosts", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn hosts(S(st): S<State>) -> Result<axum::response::Response, ApiError> {
    let snap = snapshot(&st)?;
    let body = st.caches.hosts.get(&snap, |s| {
        encoded(&json!({"hosts": s.hosts, "count": s.hosts.len()}))
    })?;
    Ok(json_bytes(body))
}

/// `GET /checkpoints`: every catalogued checkpoint with its copies, and the stores.
#[utoipa::path(
    get,
    path = "/checkpoints",
    operation_id = "checkpoints",
    tag = "fleet",
    summary = "Every catalogued checkpoint with its copies",
    responses((status = 200, description = "The checkpoints", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn checkpoints(S(st): S<State>) -> Result<Json<Value>, ApiError> {
    let snap = snapshot(&st)?;
    Ok(Json(json!({
        "checkpoints": snap.inventory.checkpoints,
        "stores": snap.stores,
        "last_scrub": snap.inventory.last_scrub,
    })))
}

/// `GET /failover/readiness/{job}`: per strategy, ready or not and why; `overall_ready`
/// is the verdict `lifeboat failover JOB --dry-run` gives.
#[utoipa::path(
    get,
    path = "/failover/readiness/{job}",
    operation_id = "failover_readiness",
    tag = "failover",
    summary = "Whether a failover of the job would succeed now, per strategy",
    params(("job" = String, Path, description = "The job (seed 001's machine_id)")),
    responses((status = 200, description = "Readiness", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 500, description = "No readiness could be judged", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn failover_readiness(
    S(st): S<State>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let snap = snapshot(&st)?;
    let j = job(&snap, &name)?;
    let r = crate::core::readiness_snapshot::from_snapshot(&snap, &j.id, snap.caps)
        .ok_or_else(|| ApiError::internal(format!("no readiness could be judged for {name}")))?;
    Ok(Json(json!({
        "job": r.job,
        "effective_strategy": r.first_ready.map(|k| k.as_str()),
        "target": r.first_target.map(|t| t.to_string()),
        "overall_ready": r.would_succeed,
        "reason": r.reason,
        "strategies": r.strategies,
    })))
}

/// `GET /failover/status/{job}`: enabled strategies, recovery state, the failover under
/// way (or the last one, from the journal) with its steps, and what to do now.
#[utoipa::path(
    get,
    path = "/failover/status/{job}",
    operation_id = "failover_status",
    tag = "failover",
    summary = "The job's recovery state and its failover, under way or last",
    params(("job" = String, Path, description = "The job")),
    responses((status = 200, description = "Status", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn failover_status(
    S(st): S<State>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let snap = snapshot(&st)?;
    let j = job(&snap, &name)?;
    // SQLite reads block: off the async threads.
    let (dir, id) = (st.state_dir.clone(), j.id.clone());
    let last = tokio::task::spawn_blocking(move || super::journal::last_failover(&dir, &id))
        .await
        .map_err(|e| ApiError::internal(format!("reading the journal: {e}")))?;
    Ok(Json(json!({
        "job": j.id,
        "state": j.state.as_str(),
        "why": j.why,
        "placement": j.placement.to_string(),
        "epoch": j.epoch.0,
        "enabled_strategies": j.strategies,
        "current": (!j.steps.is_empty() || j.step.is_some()).then(|| json!({
            "strategy": j.strategy,
            "step": j.step.map(|s| s.as_str()),
            "steps": j.steps,
        })),
        "last": last,
        "recommended_action": recommended(j),
        "operation": st.ops.lock().map(|o| o.for_job(&j.id)).unwrap_or_default(),
    })))
}

/// What an operator should do about `j` now, or nothing.
fn recommended(j: &JobView) -> Option<String> {
    use crate::core::recovery::RecoveryState as R;
    match j.state {
        R::Running | R::Resolved => None,
        R::Escalating => Some(format!(
            "a human must act: {} (acknowledge it, then fail over to a target or fix the host)",
            j.why
        )),
        R::Failed => Some(format!("the job is down: {}", j.why)),
        _ => Some(format!("wait: {}", j.why)),
    }
}

/// `true` while `id`'s failover is under way.
pub fn failing_over(snap: &Snapshot, id: &JobId) -> Option<String> {
    let j = snap.jobs.iter().find(|j| &j.id == id)?;
    (j.state == crate::core::recovery::RecoveryState::FailingOver).then(|| {
        format!(
            "{} is failing over ({} under way)",
            j.id,
            j.step.map_or("a step", |s| s.as_str())
        )
    })
}
