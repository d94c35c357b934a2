//! The HTTP API in the daemon: seed 001's failover orchestrator for Lifeboat's jobs, the
//! fleet's state, health checks and Prometheus metrics (axum). Every call but the health
//! checks carries a bearer token from an environment variable the config names; what it
//! may do follows the token's role, and every change it asks for goes to the supervisor
//! as the same request a console sends, journaled under the token's name. Bodies are
//! capped at 64 KiB and every request but a waiting failover at 30 s.

mod auth;
mod cache;
mod counters;
mod error;
mod events;
mod execute;
mod journal;
mod metrics;
mod openapi;
mod ops;
mod read;
mod strategies;
mod tls;
mod volumes;

pub use auth::Tokens;
use error::ApiError;

use crate::runtime::service::socket::Shared;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The largest request body.
const BODY: usize = 64 * 1024;
/// The longest a request may take (a `wait=true` failover has its own limit).
const TIME: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct State {
    shared: Shared,
    tokens: Arc<Tokens>,
    ops: Arc<Mutex<ops::Ops>>,
    state_dir: PathBuf,
    counters: counters::Counters,
    /// `/hosts`, `/jobs` and the fleet's metrics, encoded once per snapshot.
    caches: Arc<cache::Caches>,
}

/// The API as it runs: where it listens, and how to stop it.
pub struct Api {
    pub addr: SocketAddr,
    /// Over HTTPS.
    pub tls: bool,
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

impl Api {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.join.await;
    }
}

/// Binds `listen` and serves the API (over TLS when `tls` names its files) until
/// [`Api::stop`].
pub async fn serve(
    listen: SocketAddr,
    tls: Option<&crate::config::ApiTls>,
    tokens: Tokens,
    shared: Shared,
    state_dir: PathBuf,
) -> Result<Api, String> {
    // A bad certificate stops the start before anything listens.
    let acceptor = tls.map(tls::acceptor).transpose()?;
    let heard = shared.fanout.subscribe().1;
    let state = State {
        shared,
        tokens: Arc::new(tokens),
        ops: Arc::default(),
        state_dir,
        counters: counters::Counters::default(),
        caches: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("the HTTP API cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the HTTP API's address: {e}"))?;
    let app = router(state.clone());
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(counters::collect(
        state.counters.clone(),
        heard,
        stopped.clone(),
    ));
    let join = match acceptor {
        Some(acceptor) => tokio::spawn(tls::serve(listener, acceptor, app, stopped)),
        None => tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!("the HTTP API stopped: {e}");
            }
        }),
    };
    Ok(Api {
        addr,
        tls: tls.is_some(),
        stop,
        join,
    })
}

fn router(state: State) -> Router {
    let open = Router::new()
        .route("/liveness", get(read::liveness))
        .route("/readiness", get(read::readiness))
        .route("/health", get(read::health))
        .route("/openapi.json", get(openapi::document));
    let timed = Router::new()
        .route("/jobs", get(read::jobs))
        .route("/hosts", get(read::hosts))
        .route("/checkpoints", get(read::checkpoints))
        .route("/failover/readiness/{job}", get(read::failover_readiness))
        .route("/failover/status/{job}", get(read::failover_status))
        .route("/failover/strategies", get(strategies::strategies))
        .route("/metrics", get(metrics::metrics))
        .route("/events", get(events::events))
        .route("/failover/regional-volume/list", get(volumes::list))
        .route(
            "/failover/regional-volume/{volume_id}",
            get(volumes::get).delete(volumes::delete),
        )
        .route("/failover/regional-volume/create", post(volumes::create))
        .route(
            "/failover/regional-volume/search/{region}",
            get(volumes::search),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            TIME,
        ));
    // Not timed: a waiting failover has its own limit, a stream runs until it is left.
    let guarded = timed
        .route("/failover/execute", post(execute::execute))
        .route("/failover/test/{job}", post(execute::test))
        .route(
            "/failover/regional-volume/failover",
            post(volumes::failover),
        )
        .route("/events/stream", get(events::stream))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    open.merge(guarded)
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(DefaultBodyLimit::max(BODY))
        .with_state(state)
}

/// Puts the caller's identity on the request, or answers 401.
async fn authenticate(
    axum::extract::State(st): axum::extract::State<State>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let who = st.tokens.check(header, &peer.to_string())?;
    req.extensions_mut().insert(who);
    Ok(next.run(req).await)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no endpoint {}", uri.path()))
        .fix("GET /openapi.json describes it all; this API serves /jobs, /hosts, /checkpoints, /failover/{execute,test/JOB,readiness/JOB,status/JOB,strategies,regional-volume/…}, /events, /events/stream, /metrics, /health, /liveness and /readiness")
}

async fn not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not served on {}", uri.path()),
    )
}
