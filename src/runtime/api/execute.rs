//! `POST /failover/execute`: seed 001's failover, for a Lifeboat job. The request goes to
//! the supervisor as the same command a console gives (journaled under the token's name);
//! the answer is `202` with the operation and `Location: /failover/status/{job}`, or with
//! `?wait=true` the end of the failover in seed 001's response shape. One failover per job
//! at a time (`409` names the one under way) and one per idempotency key, ever.

use super::error::{ApiError, ErrorBody};
use super::ops::{Claim, Operation};
use super::State;
use crate::core::event::EventKind;
use crate::core::identity::{Identity, Role};
use crate::core::ids::{JobId, Target};
use crate::core::io::Command;
use crate::protocol::notice::Notice;
use crate::protocol::request::Request;
use crate::protocol::wire::Outcome;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as S};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteBody {
    /// The Lifeboat job (seed 001's `machine_id`).
    pub(super) job: String,
    /// One strategy of the job's chain: the job goes where its readiness says it would
    /// (409 when it would not succeed now, or rents its machine).
    #[schema(
        pattern = "^(restart-in-place|warm-standby|cpu-standby|provision|regional-volume|escalate)$"
    )]
    pub(super) force_strategy: Option<String>,
    /// Where to (`HOST` or `HOST:GPU`); down the job's chain when absent.
    #[schema(pattern = "^[A-Za-z0-9._-]+(:(gpu)?[0-9]+)?$")]
    pub(super) target: Option<String>,
    /// Why, for the log.
    pub(super) reason: Option<String>,
    /// The same key never starts a second failover: it answers with the first's operation.
    pub(super) idempotency_key: Option<String>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Wait {
    /// Answer when the failover ends, in seed 001's shape.
    wait: Option<bool>,
    /// Seconds a `wait=true` request waits for the end (default and most: 600).
    timeout: Option<u64>,
}

/// The longest a failover is followed before its operation is closed as unheard.
const FOLLOW: Duration = Duration::from_secs(3600);
/// The longest (and default) `wait=true` request.
const WAIT: u64 = 600;

#[utoipa::path(
    post,
    path = "/failover/execute",
    operation_id = "failover_execute",
    tag = "failover",
    summary = "Fail a job over (seed 001)",
    params(Wait),
    request_body = ExecuteBody,
    responses((status = 202, description = "Accepted: follow it at Location", body = serde_json::Value, headers(("Location" = String, description = "/failover/status/{job}")), links(("status" = (operation_id = "failover_status", parameters(("job" = "$request.body#/job")))))), (status = 200, description = "The same idempotency key again, or with wait=true the end in seed 001's shape", body = serde_json::Value), (status = 400, description = "The query or body does not parse", body = ErrorBody), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 403, description = "The token's role may not fail over", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 409, description = "A failover of the job is in progress (the body names it), or the supervisor refused", body = ErrorBody), (status = 413, description = "The body is over 64 KiB"), (status = 422, description = "A field that parses but cannot be used", body = ErrorBody), (status = 500, description = "The supervisor failed the request", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody))
)]
pub async fn execute(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    q: Result<Query<Wait>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::auth::allow(&who, Role::Operator, "a failover")?;
    let q = wait_query(q)?;
    let b: ExecuteBody = serde_json::from_slice(&body).map_err(|e| ApiError::body(&e))?;
    run(st, who, q, b).await
}

/// A failover's `?wait=true&timeout=S`, or a 400 saying how to write it.
pub(super) fn wait_query(q: Result<Query<Wait>, QueryRejection>) -> Result<Wait, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(format!("the query does not parse: {e}"))
            .fix("use ?wait=true&timeout=SECONDS, or nothing")
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Test {
    /// One strategy of the job's chain to judge (the whole chain when absent).
    #[param(
        pattern = "^(restart-in-place|warm-standby|cpu-standby|provision|regional-volume|escalate)$"
    )]
    strategy: Option<String>,
    /// Change nothing (the default); false runs the failover (operator).
    dry_run: Option<bool>,
}

/// `POST /failover/test/{job}?strategy=&dry_run=true`: whether a failover would succeed
/// now (of the whole chain, or of one strategy), changing nothing; `dry_run=false` runs
/// it, as `/failover/execute` does (operator), with the strategy forced when one is named.
#[utoipa::path(
    post,
    path = "/failover/test/{job}",
    operation_id = "failover_test",
    tag = "failover",
    summary = "Whether a failover would succeed now; dry_run=false runs it",
    params(("job" = String, Path, description = "The job"), Test),
    responses((status = 200, description = "The dry run's verdict", body = serde_json::Value), (status = 202, description = "dry_run=false: accepted", body = serde_json::Value), (status = 400, description = "The query or body does not parse", body = ErrorBody), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 403, description = "The token's role may not fail over", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 409, description = "A failover of the job is in progress", body = ErrorBody), (status = 422, description = "A strategy not in the job's chain", body = ErrorBody), (status = 500, description = "The supervisor failed the request", body = ErrorBody), (status = 503, description = "The supervisor has no picture of the fleet yet", body = ErrorBody))
)]
pub async fn test(
    S(st): S<State>,
    Extension(who): Extension<Identity>,
    axum::extract::Path(name): axum::extract::Path<String>,
    q: Result<Query<Test>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!("the query does not parse: {e}"))
            .fix("use ?strategy=NAME&dry_run=true|false")
    })?;
    let snap = super::read::snapshot(&st)?;
    let j = super::read::job(&snap, &name)?;
    let r = crate::core::readiness_snapshot::from_snapshot(&snap, &j.id, snap.caps)
        .ok_or_else(|| ApiError::internal(format!("no readiness could be judged for {name}")))?;
    let row = match &q.strategy {
        None => None,
        Some(s) => Some(
            r.strategies
                .iter()
                .find(|row| row.strategy.as_str() == s)
                .ok_or_else(|| {
                    let e = format!(
                        "strategy {s:?} is not in {}'s chain ({})",
                        j.id,
                        j.strategies.join(", ")
                    );
                    match crate::core::fleet::StrategyKind::parse(s) {
                        Some(_) => ApiError::not_found(e),
                        None => ApiError::unprocessable(e),
                    }
                    .field("strategy")
                })?,
        ),
    };
    if !q.dry_run.unwrap_or(true) {
        super::auth::allow(&who, Role::Operator, "a failover")?;
        let b = ExecuteBody {
            job: j.id.to_string(),
            force_strategy: q.strategy.clone(),
            reason: Some("POST /failover/test with dry_run=false".into()),
            ..ExecuteBody::default()
        };
        return run(st, who, Wait::default(), b).await;
    }
    let would = row.map_or(r.would_succeed, |row| row.ready);
    let readiness: serde_json::Map<String, Value> = r
        .strategies
        .iter()
        .map(|row| {
            (
                format!("{}_ready", row.strategy.as_str().replace('-', "_")),
                Value::Bool(row.ready),
            )
        })
        .collect();
    Ok(Json(json!({
        "dry_run": true,
        "job": j.id,
        "strategy": q.strategy,
        "would_succeed": would,
        "readiness": readiness,
        "reason": r.reason,
        "message": "nothing was done; POST with dry_run=false to run the failover (operator)",
    }))
    .into_response())
}

/// Where strategy `s` of `j`'s chain would take it now: the target its readiness names
/// when it would succeed, or `None` for a strategy that rents its machine (the failover
/// then runs that strategy alone and the provider picks the machine).
fn forced(
    snap: &crate::core::snapshot::Snapshot,
    j: &crate::core::snapshot::JobView,
    s: &str,
) -> Result<Option<Target>, ApiError> {
    let r = crate::core::readiness_snapshot::from_snapshot(snap, &j.id, snap.caps)
        .ok_or_else(|| ApiError::internal(format!("no readiness could be judged for {}", j.id)))?;
    let row = r
        .strategies
        .iter()
        .find(|row| row.strategy.as_str() == s)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "strategy {s:?} is not in {}'s chain ({})",
                j.id,
                j.strategies.join(", ")
            ))
            .field("force_strategy")
        })?;
    let failing: Vec<String> = row
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    match (&row.target, row.ready) {
        (Some(t), true) => Ok(Some(t.clone())),
        (None, true) => Ok(None),
        (_, false) => Err(ApiError::conflict(format!(
            "{s} would not succeed for {} now: {}",
            j.id,
            failing.join("; ")
        ))
        .field("force_strategy")
        .fix(format!("read /failover/readiness/{}", j.id))),
    }
}

/// Asks the supervisor for `b`'s failover as `who`, and answers as `q` asks.
pub(super) async fn run(
    st: State,
    who: Identity,
    q: Wait,
    b: ExecuteBody,
) -> Result<Response, ApiError> {
    let snap = super::read::snapshot(&st)?;
    let j = super::read::job(&snap, &b.job)?;
    let mut target =
        match &b.target {
            None => None,
            Some(t) => Some(Target::parse(t).map_err(|e| {
                ApiError::unprocessable(format!("target {t:?}: {e}")).field("target")
            })?),
        };
    if let Some(t) = &target {
        if !snap.hosts.iter().any(|h| h.id == t.host) {
            return Err(ApiError::not_found(format!("no host named {:?}", t.host.as_str()))
                .field("target")
                .fix("name a host of the fleet (GET /hosts), or leave target out to go down the job's chain"));
        }
    }
    if let Some(s) = &b.force_strategy {
        if target.is_some() {
            return Err(ApiError::conflict(
                "force_strategy and target both say where the job goes",
            )
            .field("force_strategy")
            .fix("give one of them"));
        }
        target = forced(&snap, j, s)?;
    }
    // A renting strategy has no target to name: the failover runs it alone.
    let strategy = match (&target, b.force_strategy.as_deref()) {
        (None, Some(s)) => crate::core::fleet::StrategyKind::parse(s),
        _ => None,
    };
    let key = b.idempotency_key.as_deref().filter(|k| !k.is_empty());
    let job = j.id.clone();
    let op = {
        let mut ops = st
            .ops
            .lock()
            .map_err(|_| ApiError::internal("operations lock"))?;
        match ops.claim(
            job.as_str(),
            &who.name,
            key,
            crate::core::time::rfc3339(snap.now),
        ) {
            Claim::New(op) => op,
            Claim::Again(op) => return Ok(accepted(&op, StatusCode::OK)),
            Claim::Busy(op) => {
                return Err(ApiError::conflict(format!(
                    "a failover of {job} is in progress: operation {} asked by {}",
                    op.id, op.by
                ))
                .fix(format!("follow it at /failover/status/{job}")))
            }
            Claim::KeyElsewhere(op) => {
                return Err(ApiError::unprocessable(format!(
                    "idempotency_key {:?} was used for operation {} of job {}",
                    key.unwrap_or_default(),
                    op.id,
                    op.job
                ))
                .field("idempotency_key")
                .fix("use a new key for each failover"))
            }
        }
    };
    if let Some(why) = super::read::failing_over(&snap, &job) {
        set(
            &st,
            &op.id,
            "refused",
            Some(json!({"success": false, "error": why})),
        );
        return Err(ApiError::conflict(why).fix(format!("follow it at /failover/status/{job}")));
    }
    // Heard from before the command is sent: its first steps may come at once.
    let heard = st.shared.fanout.subscribe().1;
    let command = Command::Failover {
        job: job.clone(),
        target,
        seen: snap.epoch,
        strategy,
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let routed = crate::runtime::service::socket::Routed {
        by: who.clone(),
        request: Request::Core(command),
        reply,
    };
    if st.shared.requests.send(routed).await.is_err() {
        set(&st, &op.id, "failed", None);
        return Err(ApiError::unavailable("the supervisor is stopping"));
    }
    let outcome = answer.await.unwrap_or(Outcome::Failed {
        reason: "the supervisor did not answer".into(),
    });
    match outcome {
        Outcome::Accepted { .. } | Outcome::Answered { .. } => {}
        Outcome::Refused { reason } => {
            set(
                &st,
                &op.id,
                "refused",
                Some(json!({"success": false, "error": reason})),
            );
            return Err(
                ApiError::conflict(format!("the supervisor refused: {reason}"))
                    .fix(format!("read /failover/status/{job} and try again")),
            );
        }
        Outcome::Failed { reason } => {
            set(
                &st,
                &op.id,
                "failed",
                Some(json!({"success": false, "error": reason})),
            );
            return Err(ApiError::internal(reason));
        }
    }
    if let Some(r) = &b.reason {
        tracing::info!(job = %job, by = %who.name, "API failover {}: {r}", op.id);
    }
    set(&st, &op.id, "running", None);
    let (done_tx, mut done) = watch::channel(None);
    tokio::spawn(follow(
        st.clone(),
        op.id.clone(),
        job.clone(),
        heard,
        done_tx,
    ));
    if !q.wait.unwrap_or(false) {
        let op = st.ops.lock().ok().and_then(|o| o.get(&op.id)).unwrap_or(op);
        return Ok(accepted(&op, StatusCode::ACCEPTED));
    }
    let limit = Duration::from_secs(q.timeout.unwrap_or(WAIT).clamp(1, WAIT));
    let ended = match tokio::time::timeout(limit, done.wait_for(Option::is_some)).await {
        Ok(Ok(v)) => v.clone(),
        _ => None,
    };
    match ended {
        // The operation ended: its body says whether the failover succeeded.
        Some(result) => Ok((StatusCode::OK, location(&job), Json(result)).into_response()),
        None => {
            let op = st.ops.lock().ok().and_then(|o| o.get(&op.id)).unwrap_or(op);
            Ok(accepted(&op, StatusCode::ACCEPTED))
        }
    }
}

fn location(job: &JobId) -> [(header::HeaderName, String); 1] {
    [(header::LOCATION, format!("/failover/status/{job}"))]
}

fn accepted(op: &Operation, status: StatusCode) -> Response {
    let job = JobId::new(&op.job);
    (
        status,
        location(&job),
        Json(json!({
            "operation": op,
            "failover_id": op.id,
            "status_url": format!("/failover/status/{job}"),
        })),
    )
        .into_response()
}

fn set(st: &State, id: &str, state: &'static str, result: Option<Value>) {
    if let Ok(mut ops) = st.ops.lock() {
        ops.set(id, state, result);
    }
}

/// Follows `job`'s failover to its end (finished, escalated, failed) and closes the
/// operation with seed 001's response: which strategies were tried, which worked, where
/// the job went, each strategy's time and the total.
async fn follow(
    st: State,
    id: String,
    job: JobId,
    mut heard: broadcast::Receiver<Notice>,
    done: watch::Sender<Option<Value>>,
) {
    let mut attempts: BTreeMap<String, u64> = BTreeMap::new();
    let mut tried: Vec<String> = Vec::new();
    let end = tokio::time::Instant::now() + FOLLOW;
    let result = loop {
        let n = match tokio::time::timeout_at(end, heard.recv()).await {
            Err(_) => {
                break fail(
                    &id,
                    &job,
                    &tried,
                    &attempts,
                    "no end of the failover was heard within an hour",
                )
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                break fail(&id, &job, &tried, &attempts, "the supervisor stopped")
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Ok(n)) => n,
        };
        let Notice::Core(e) = n else { continue };
        if e.kind.job() != Some(&job) {
            continue;
        }
        match &e.kind {
            EventKind::FailoverStep { strategy, ms, .. } => {
                *attempts.entry(strategy.clone()).or_default() += ms;
                if !tried.contains(strategy) {
                    tried.push(strategy.clone());
                }
            }
            EventKind::FailoverFinished {
                ok: true,
                target,
                rto_ms,
                epoch,
                ..
            } => {
                break json!({
                    "success": true,
                    "failover_id": id,
                    "job": job,
                    "strategy_attempted": tried.join(","),
                    "strategy_succeeded": tried.last(),
                    "new_host": target.as_ref().map(|t| t.host.to_string()),
                    "new_gpu": target.as_ref().and_then(|t| t.gpu),
                    "epoch": epoch.0,
                    "attempt_ms": attempts,
                    "total_ms": rto_ms,
                    "error": null,
                })
            }
            EventKind::FailoverFinished { ok: false, .. } => {
                break fail(&id, &job, &tried, &attempts, "the failover failed")
            }
            EventKind::Escalated { reason, .. } => {
                break fail(
                    &id,
                    &job,
                    &tried,
                    &attempts,
                    &format!("escalated to a human: {reason}"),
                )
            }
            EventKind::RecoveryState { to, reason, .. } if to == "FAILED" => {
                break fail(&id, &job, &tried, &attempts, reason)
            }
            _ => {}
        }
    };
    let state = match result.get("success") == Some(&Value::Bool(true)) {
        true => "finished",
        false => "failed",
    };
    set(&st, &id, state, Some(result.clone()));
    let _ = done.send(Some(result));
}

fn fail(
    id: &str,
    job: &JobId,
    tried: &[String],
    attempts: &BTreeMap<String, u64>,
    why: &str,
) -> Value {
    json!({
        "success": false,
        "failover_id": id,
        "job": job,
        "strategy_attempted": tried.join(","),
        "strategy_succeeded": null,
        "attempt_ms": attempts,
        "total_ms": attempts.values().sum::<u64>(),
        "error": why,
    })
}
