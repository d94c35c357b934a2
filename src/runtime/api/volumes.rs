//! Seed 001's regional volumes, through the config's `[[provider]]`s: list, get, create,
//! delete (refused while an instance uses the volume), search machines in a region, and a
//! failover by the job's regional-volume strategy. Each call goes to the supervisor as a
//! `Request::Volume` (changes journaled under the token's name); the provider answers.

use super::error::{ApiError, ErrorBody};
use super::execute::{ExecuteBody, Wait};
use super::State;
use crate::core::identity::{Identity, Role};
use crate::protocol::drill::Answer;
use crate::protocol::request::Request;
use crate::protocol::volume::{VolumeAnswer, VolumeFailure, VolumeOp, VolumeRow};
use crate::protocol::wire::Outcome;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State as S};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

/// Asks the supervisor `op` as `who`; a failure becomes its HTTP status.
async fn ask(st: &State, who: &Identity, op: VolumeOp) -> Result<VolumeAnswer, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let routed = crate::runtime::service::socket::Routed {
        by: who.clone(),
        request: Request::Volume(op),
        reply,
    };
    if st.shared.requests.send(routed).await.is_err() {
        return Err(ApiError::unavailable("the supervisor is stopping"));
    }
    match answer.await {
        Ok(Outcome::Answered {
            answer: Answer::Volumes(VolumeAnswer::Failed { failure, reason }),
        }) => Err(failed(failure, reason)),
        Ok(Outcome::Answered {
            answer: Answer::Volumes(a),
        }) => Ok(a),
        Ok(Outcome::Refused { reason }) => Err(ApiError::conflict(reason)),
        Ok(other) => Err(ApiError::internal(format!(
            "the supervisor answered {other:?}"
        ))),
        Err(_) => Err(ApiError::internal("the supervisor did not answer")),
    }
}

fn failed(failure: VolumeFailure, reason: String) -> ApiError {
    match failure {
        VolumeFailure::NoProvider => ApiError::conflict(reason)
            .fix("add a [[provider]] section (kind = \"vast\") to the daemon's config"),
        VolumeFailure::NotFound => ApiError::not_found(reason)
            .field("volume_id")
            .fix("GET /failover/regional-volume/list names the account's volumes"),
        VolumeFailure::InUse => ApiError::conflict(reason).field("volume_id"),
        VolumeFailure::Invalid => ApiError::unprocessable(reason),
        VolumeFailure::Provider => ApiError::new(StatusCode::BAD_GATEWAY, "bad_gateway", reason)
            .fix("the provider's API failed; try again, or check its status page"),
    }
}

fn volumes(a: VolumeAnswer) -> Vec<VolumeRow> {
    match a {
        VolumeAnswer::Volumes { volumes } => volumes,
        _ => Vec::new(),
    }
}

/// `GET /failover/regional-volume/list`.
#[utoipa::path(
    get,
    path = "/failover/regional-volume/list",
    operation_id = "volume_list",
    tag = "regional-volume",
    summary = "The account's volumes at every provider (seed 001)",
    responses((status = 200, description = "The volumes and their count", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 409, description = "The fleet has no provider", body = ErrorBody), (status = 502, description = "The provider's API failed", body = ErrorBody), (status = 503, description = "The supervisor is stopping", body = ErrorBody))
)]
pub async fn list(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    let rows = volumes(ask(&st, &who, VolumeOp::List).await?);
    Ok(Json(json!({"count": rows.len(), "volumes": rows})))
}

/// `GET /failover/regional-volume/{volume_id}`.
#[utoipa::path(
    get,
    path = "/failover/regional-volume/{volume_id}",
    operation_id = "volume_get",
    tag = "regional-volume",
    summary = "One volume",
    params(("volume_id" = String, Path, description = "The provider's volume id")),
    responses((status = 200, description = "The volume", body = VolumeRow), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 404, description = "No provider holds it", body = ErrorBody), (status = 409, description = "The fleet has no provider", body = ErrorBody), (status = 502, description = "The provider's API failed", body = ErrorBody), (status = 503, description = "The supervisor is stopping", body = ErrorBody))
)]
pub async fn get(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<VolumeRow>, ApiError> {
    let rows = volumes(ask(&st, &who, VolumeOp::List).await?);
    rows.into_iter()
        .find(|v| v.volume_id == id)
        .map(Json)
        .ok_or_else(|| {
            failed(
                VolumeFailure::NotFound,
                format!("no provider holds a volume with id {id}"),
            )
        })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Two-letter country code the volume lives in (machines that attach it must be there).
    #[schema(pattern = "^[A-Za-z]{2}$")]
    region: String,
    /// Whole GB (JSON Schema counts 100.0 as an integer, so it is read as a number).
    #[schema(value_type = u32, minimum = 1, maximum = 65536)]
    size_gb: f64,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    name: Option<String>,
    /// The `[[provider]]` to create it at (the only one when absent).
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    provider: Option<String>,
}

/// `POST /failover/regional-volume/create`: on the cheapest disk offered in the region.
#[utoipa::path(
    post,
    path = "/failover/regional-volume/create",
    operation_id = "volume_create",
    tag = "regional-volume",
    summary = "Create a volume in a region (seed 001)",
    request_body = CreateBody,
    responses((status = 201, description = "Created: seed 001's answer with the volume", body = serde_json::Value, headers(("Location" = String, description = "/failover/regional-volume/{volume_id}"))), (status = 400, description = "The body does not parse", body = ErrorBody), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 403, description = "A viewer token", body = ErrorBody), (status = 409, description = "The fleet has no provider", body = ErrorBody), (status = 413, description = "The body is over 64 KiB"), (status = 422, description = "No such provider, several and none named, or no disk offered there", body = ErrorBody), (status = 502, description = "The provider's API failed", body = ErrorBody), (status = 503, description = "The supervisor is stopping", body = ErrorBody))
)]
pub async fn create(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::auth::allow(&who, Role::Operator, "creating a volume")?;
    let b: CreateBody = serde_json::from_slice(&body).map_err(|e| ApiError::body(&e))?;
    let size = whole_gb(b.size_gb);
    check(&b.region, size.is_some(), &b.name, &b.provider)?;
    let op = VolumeOp::Create {
        provider: b.provider,
        region: b.region.to_ascii_uppercase(),
        size_gb: size.unwrap_or_default(),
        name: b.name,
    };
    let VolumeAnswer::Created { volume } = ask(&st, &who, op).await? else {
        return Err(ApiError::internal("the provider answered something else"));
    };
    let at = format!("/failover/regional-volume/{}", volume.volume_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, at)],
        Json(json!({
            "success": true,
            "volume_id": volume.volume_id,
            "region": volume.region,
            "size_gb": volume.size_gb,
            "volume": volume,
        })),
    )
        .into_response())
}

/// `gb` as whole GB from 1 to 65536, or `None`.
fn whole_gb(gb: f64) -> Option<u32> {
    (gb.fract() == 0.0 && (1.0..=65536.0).contains(&gb)).then_some(gb as u32)
}

fn word_ok(w: &str) -> bool {
    (1..=64).contains(&w.len())
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn region_ok(r: &str) -> bool {
    r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic())
}

/// What the schema says, checked (serde only checks the types).
fn check(
    region: &str,
    size: bool,
    name: &Option<String>,
    provider: &Option<String>,
) -> Result<(), ApiError> {
    if !region_ok(region) {
        return Err(ApiError::unprocessable(format!(
            "region {region:?} is not a two-letter country code"
        ))
        .field("region")
        .fix("use a code like \"US\", \"DE\" or \"NO\""));
    }
    if !size {
        return Err(
            ApiError::unprocessable("size_gb must be a whole number from 1 to 65536")
                .field("size_gb"),
        );
    }
    for (field, v) in [("name", name), ("provider", provider)] {
        if let Some(v) = v.as_deref().filter(|v| !word_ok(v)) {
            return Err(ApiError::unprocessable(format!(
                "{field} {v:?} is not 1 to 64 letters, digits, '.', '_' or '-'"
            ))
            .field(field));
        }
    }
    Ok(())
}

/// `DELETE /failover/regional-volume/{volume_id}`: the volume and its data, refused while
/// an instance uses it (admin, as pruning checkpoints is).
#[utoipa::path(
    delete,
    path = "/failover/regional-volume/{volume_id}",
    operation_id = "volume_delete",
    tag = "regional-volume",
    summary = "Delete a volume that no instance uses",
    params(("volume_id" = String, Path, description = "The provider's volume id")),
    responses((status = 200, description = "Deleted", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 403, description = "Not an admin token", body = ErrorBody), (status = 404, description = "No provider holds it", body = ErrorBody), (status = 409, description = "An instance uses it, or the fleet has no provider", body = ErrorBody), (status = 502, description = "The provider's API failed", body = ErrorBody), (status = 503, description = "The supervisor is stopping", body = ErrorBody))
)]
pub async fn delete(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    super::auth::allow(&who, Role::Admin, "deleting a volume")?;
    let VolumeAnswer::Deleted { volume } = ask(&st, &who, VolumeOp::Delete { id }).await? else {
        return Err(ApiError::internal("the provider answered something else"));
    };
    Ok(Json(
        json!({"success": true, "volume_id": volume.volume_id, "volume": volume}),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The most to pay, dollars per hour.
    #[param(minimum = 0.0, maximum = 1000.0)]
    max_price: Option<f64>,
    /// A GPU model ("RTX_4090" and "RTX 4090" are the same).
    #[param(pattern = "^[A-Za-z0-9 _-]{1,64}$")]
    gpu_name: Option<String>,
}

/// `GET /failover/regional-volume/search/{region}`: machines to rent there, cheapest first.
#[utoipa::path(
    get,
    path = "/failover/regional-volume/search/{region}",
    operation_id = "volume_search",
    tag = "regional-volume",
    summary = "Machines to rent in a region, for a failover onto a volume there (seed 001)",
    params(("region" = String, Path, description = "Two-letter country code", pattern = "^[A-Za-z]{2}$"), SearchQuery),
    responses((status = 200, description = "found, the cheapest offer, and every offer", body = serde_json::Value), (status = 400, description = "The query does not parse", body = ErrorBody), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 409, description = "The fleet has no provider", body = ErrorBody), (status = 422, description = "Not a country code, or a price out of range", body = ErrorBody), (status = 502, description = "The provider's API failed", body = ErrorBody), (status = 503, description = "The supervisor is stopping", body = ErrorBody))
)]
pub async fn search(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    Path(region): Path<String>,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!("the query does not parse: {e}"))
            .fix("use ?max_price=DOLLARS&gpu_name=MODEL, or nothing")
    })?;
    check(&region, true, &None, &None)?;
    if let Some(p) = q.max_price.filter(|p| !(0.0..=1000.0).contains(p)) {
        return Err(ApiError::unprocessable(format!(
            "max_price {p} is not 0 to 1000 dollars an hour"
        ))
        .field("max_price"));
    }
    if let Some(g) = q.gpu_name.as_deref().filter(|g| {
        g.is_empty()
            || g.len() > 64
            || !g
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'))
    }) {
        return Err(
            ApiError::unprocessable(format!("gpu_name {g:?} is not a GPU model")).field("gpu_name"),
        );
    }
    let op = VolumeOp::Offers {
        region: region.to_ascii_uppercase(),
        max_price: q.max_price,
        gpu_name: q.gpu_name.map(|g| g.replace('_', " ")),
    };
    let VolumeAnswer::Offers { offers } = ask(&st, &who, op).await? else {
        return Err(ApiError::internal("the provider answered something else"));
    };
    Ok(Json(json!({
        "found": !offers.is_empty(),
        "offer": offers.first(),
        "offers": offers,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeFailoverBody {
    /// The Lifeboat job (seed 001's `old_instance_id`); its chain must hold regional-volume.
    job: String,
    /// The volume its `[job.provision]` attaches, to make sure of it (422 when another).
    volume_id: Option<String>,
    /// Why, for the log.
    reason: Option<String>,
    /// The same key never starts a second failover.
    idempotency_key: Option<String>,
}

/// `POST /failover/regional-volume/failover`: the job's failover by its regional-volume
/// strategy alone (a machine rented next to the volume, the volume attached).
#[utoipa::path(
    post,
    path = "/failover/regional-volume/failover",
    operation_id = "volume_failover",
    tag = "regional-volume",
    summary = "Fail a job over onto its regional volume (seed 001)",
    params(Wait),
    request_body = VolumeFailoverBody,
    responses((status = 202, description = "Accepted: follow it at Location", body = serde_json::Value, headers(("Location" = String, description = "/failover/status/{job}"))), (status = 200, description = "With wait=true, the end: seed 001's answer", body = serde_json::Value), (status = 400, description = "The query or body does not parse", body = ErrorBody), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 403, description = "A viewer token", body = ErrorBody), (status = 404, description = "No such job, or its volume is not at the provider", body = ErrorBody), (status = 409, description = "A failover of the job is in progress, it would not succeed now, or the fleet has no provider", body = ErrorBody), (status = 413, description = "The body is over 64 KiB"), (status = 422, description = "The job has no regional-volume strategy, or attaches another volume", body = ErrorBody), (status = 500, description = "The supervisor failed the request", body = ErrorBody), (status = 502, description = "The provider's API failed", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody))
)]
pub async fn failover(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    q: Result<Query<Wait>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::auth::allow(&who, Role::Operator, "a failover")?;
    let q = super::execute::wait_query(q)?;
    let b: VolumeFailoverBody = serde_json::from_slice(&body).map_err(|e| ApiError::body(&e))?;
    let snap = super::read::snapshot(&st)?;
    let j = super::read::job(&snap, &b.job)?;
    if !j.strategies.iter().any(|s| s == "regional-volume") {
        return Err(ApiError::unprocessable(format!(
            "{}'s strategy chain ({}) has no regional-volume",
            j.id,
            j.strategies.join(", ")
        ))
        .field("job")
        .fix(
            "add \"regional-volume\" to the job's strategies and a volume to its [job.provision]",
        ));
    }
    let vol = volumes(ask(&st, &who, VolumeOp::Job { job: b.job.clone() }).await?)
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the provider answered no volume"))?;
    if let Some(want) = b.volume_id.as_deref().filter(|w| *w != vol.volume_id) {
        return Err(ApiError::unprocessable(format!(
            "{} attaches volume {} (its [job.provision] volume), not {want}",
            b.job, vol.volume_id
        ))
        .field("volume_id")
        .fix("leave volume_id out, or change volume in the job's [job.provision] and reload"));
    }
    let exec = ExecuteBody {
        job: b.job,
        force_strategy: Some("regional-volume".into()),
        target: None,
        reason: b.reason,
        idempotency_key: b.idempotency_key,
    };
    let answered = super::execute::run(st, who, q, exec).await?;
    with_volume(answered, &vol).await
}

/// Adds seed 001's volume fields to a failover's answer.
async fn with_volume(r: Response, vol: &VolumeRow) -> Result<Response, ApiError> {
    let (parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|e| ApiError::internal(format!("the failover's answer: {e}")))?;
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("volume_id".into(), json!(vol.volume_id));
        obj.insert("region".into(), json!(vol.region));
        if let Some(ms) = obj.get("total_ms").and_then(Value::as_u64) {
            obj.insert("failover_time_seconds".into(), json!(ms as f64 / 1000.0));
        }
    }
    let body = serde_json::to_vec(&v).unwrap_or_default();
    let mut out = Response::from_parts(parts, axum::body::Body::from(body));
    out.headers_mut().remove(header::CONTENT_LENGTH);
    Ok(out)
}
