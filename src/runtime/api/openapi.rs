//! The API's OpenAPI document, generated from the handlers' own annotations (utoipa) and
//! served at `/openapi.json`: every operation with its parameters, bodies and the status
//! codes it answers, the bearer scheme, and the link from a failover to its status.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lifeboat",
        description = "Seed 001's failover orchestrator for Lifeboat's jobs (a job where it has a machine_id), the fleet's state, health checks and metrics. Every call but the health checks takes `Authorization: Bearer TOKEN`."
    ),
    paths(
        super::read::liveness,
        super::read::readiness,
        super::read::health,
        super::read::jobs,
        super::read::hosts,
        super::read::checkpoints,
        super::read::failover_readiness,
        super::read::failover_status,
        super::strategies::strategies,
        super::execute::execute,
        super::execute::test,
        super::events::events,
        super::events::stream,
        super::metrics::metrics,
        super::volumes::list,
        super::volumes::get,
        super::volumes::create,
        super::volumes::delete,
        super::volumes::search,
        super::volumes::failover,
    ),
    components(schemas(super::error::ErrorBody, super::error::ErrorDetail, super::execute::ExecuteBody, super::volumes::CreateBody, super::volumes::VolumeFailoverBody, crate::protocol::volume::VolumeRow, crate::protocol::volume::OfferRow)),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
pub struct Doc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /openapi.json`: the document, with one of this fleet's jobs as the example of
/// every `job` (so a client, or a fuzzer, reaches a real one).
pub async fn document(
    axum::extract::State(st): axum::extract::State<super::State>,
) -> axum::Json<serde_json::Value> {
    let mut doc = Doc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut v = serde_json::to_value(doc).unwrap_or_default();
    camel_links(&mut v);
    let job = st
        .shared
        .fanout
        .latest
        .borrow()
        .snapshot
        .as_ref()
        .and_then(|s| s.jobs.first().map(|j| j.id.to_string()));
    if let Some(job) = job {
        example_job(&mut v, &job);
    }
    axum::Json(v)
}

/// Sets `job` as the example of every `job` parameter and of the execute body's field.
fn example_job(v: &mut serde_json::Value, job: &str) {
    if let Some(paths) = v.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for op in paths.values_mut().filter_map(|p| p.as_object_mut()) {
            for method in op.values_mut() {
                let params = method.get_mut("parameters").and_then(|p| p.as_array_mut());
                for p in params.into_iter().flatten() {
                    if p["name"] == "job" {
                        p["example"] = serde_json::Value::String(job.to_string());
                    }
                }
            }
        }
    }
    if let Some(f) = v.pointer_mut("/components/schemas/ExecuteBody/properties/job") {
        f["example"] = serde_json::Value::String(job.to_string());
    }
}

/// utoipa 5.5 writes a link's `operation_id`; OpenAPI names it `operationId`.
fn camel_links(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(links)) = m.get_mut("links") {
                for link in links.values_mut() {
                    if let Some(l) = link.as_object_mut() {
                        if let Some(id) = l.remove("operation_id") {
                            l.insert("operationId".into(), id);
                        }
                    }
                }
            }
            m.values_mut().for_each(camel_links);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(camel_links),
        _ => {}
    }
}
