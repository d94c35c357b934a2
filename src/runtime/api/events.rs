//! `GET /events?since=SEQ&limit=N`: the journal's events after `since` (its sequence
//! number), oldest first, with `next` to ask from; `GET /events/stream`: every notice as it
//! happens, as server-sent events (the same stream the consoles hear).

use super::error::{ApiError, ErrorBody};
use super::State;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as S};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::time::Duration;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Since {
    /// The sequence number to start after (an earlier answer's `next`; 0: the start).
    #[param(minimum = 0)]
    since: Option<i64>,
    /// At most this many events (default 500, at most 5000).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<usize>,
}

/// The most events one answer holds.
const MAX: usize = 5000;

#[utoipa::path(
    get,
    path = "/events",
    operation_id = "events",
    tag = "events",
    summary = "The journal's events after a sequence number",
    params(Since),
    responses((status = 200, description = "Events, oldest first, and next", body = serde_json::Value), (status = 400, description = "The query or body does not parse", body = ErrorBody), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody), (status = 500, description = "The journal could not be read", body = ErrorBody), (status = 504, description = "The request took longer than 30 s", body = ErrorBody))
)]
pub async fn events(
    S(st): S<State>,
    q: Result<Query<Since>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!("the query does not parse: {e}"))
            .field("since")
            .fix("use ?since=SEQ (a sequence number from an earlier answer's next) and ?limit=N (at most 5000)")
    })?;
    let since = q.since.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::bad_request(format!("since {since} is negative"))
            .field("since")
            .fix("use 0 for the start, or an earlier answer's next"));
    }
    let limit = q.limit.unwrap_or(500);
    if !(1..=MAX).contains(&limit) {
        return Err(
            ApiError::bad_request(format!("limit {limit} is not within 1..=5000"))
                .field("limit")
                .fix("ask for at most 5000 events, and follow next for more"),
        );
    }
    let dir = st.state_dir.clone();
    let rows = tokio::task::spawn_blocking(move || super::journal::since(&dir, since, limit))
        .await
        .map_err(|e| ApiError::internal(format!("reading the journal: {e}")))?
        .map_err(ApiError::internal)?;
    let next = rows.last().map_or(since, |r| r.seq);
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({"seq": r.seq, "ts": r.ts, "kind": r.kind, "job": r.job, "body": r.body}))
        .collect();
    Ok(Json(json!({"events": events, "next": next})))
}

#[utoipa::path(
    get,
    path = "/events/stream",
    operation_id = "events_stream",
    tag = "events",
    summary = "Every notice as it happens (server-sent events)",
    responses((status = 200, description = "A stream of events", content_type = "text/event-stream", body = serde_json::Value), (status = 401, description = "No token, or not one this daemon knows", body = ErrorBody))
)]
pub async fn stream(
    S(st): S<State>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let rx = st.shared.fanout.subscribe().1;
    let s = futures::stream::unfold(rx, |mut rx| async move {
        let e = match rx.recv().await {
            Ok(n) => Event::default()
                .event("notice")
                .data(serde_json::to_string(&n).unwrap_or_default()),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => Event::default()
                .event("missed")
                .data(format!("{{\"missed\": {k}}}")),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(e), rx))
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
