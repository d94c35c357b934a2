//! `FakeVast`: a fake of Vast.ai's REST API for tests, not the real service. It is a real
//! HTTP/1.1 server on 127.0.0.1 (a random port; hand-written, one request per connection)
//! that checks the `Authorization: Bearer` token on every call, like the real API, and
//! answers in the shapes Vast documents:
//! - listing: `GET /api/v1/instances/` (keyset pages: `limit`, `after_token`, `next_token`)
//!   and the older one-piece `GET /api/v0/instances/`;
//! - search: `POST /api/v0/bundles/`, applying the query's operator filters (`eq`, `neq`,
//!   `lt`, `lte`, `gt`, `gte`, `in`, `notin`), `order` and `limit` to a configurable list;
//! - rent: `PUT /api/v0/asks/{id}/` → `{"success": true, "new_contract": ID}` (410 for an
//!   offer scripted as gone); the instance is `loading` for a few polls, then `running`
//!   with a configurable `ssh_host`/`ssh_port` (point them at a loopback sshd);
//! - show `GET`, stop `PUT {"state": "stopped"}` and destroy `DELETE` on
//!   `/api/v0/instances/{id}/` (404 for an unknown id); volumes `GET /api/v0/volumes`.
//!
//! Every request is recorded (method, target, body). Tests change instance states while
//! it runs, script failures (an offer gone, an instance that never runs, filters ignored),
//! make it answer garbage, an HTTP error or nothing, and stop it.
//!
//! Include it with `#[path = "support/fake_vast.rs"] mod fake_vast;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Vast serves at most this many instances a page.
const VAST_MAX_PAGE: usize = 25;

#[derive(Clone, Debug, Default)]
struct Instance {
    actual: Option<String>,
    intended: String,
    message: String,
    label: Option<String>,
    /// Shown polls still to answer `loading` before `running` (rented instances only).
    loading_polls: Option<u32>,
    /// Never leaves `loading`.
    stuck: bool,
    ssh: Option<(String, u16)>,
    /// The rent body that made it.
    created_with: Option<Value>,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The body, parsed as JSON (null when empty or not JSON).
    pub body: Value,
}

/// An offer the fake's search can return (the fields Vast documents; units as its REST API:
/// `cpu_ram` MB, `disk_space` GB).
#[derive(Clone, Debug)]
pub struct FakeOffer(pub Value);

impl FakeOffer {
    /// A verified, rentable 1-GPU offer with 64 GiB RAM, 500 GB disk, reliability 0.99, in Oslo.
    pub fn new(id: u64, gpu: &str, price: f64) -> FakeOffer {
        FakeOffer(json!({
            "id": id, "ask_contract_id": id, "machine_id": 50_000 + id, "gpu_name": gpu,
            "num_gpus": 1, "dph_total": price, "cpu_ram": 65536, "disk_space": 500.0,
            "geolocation": "Oslo, NO", "reliability2": 0.99, "reliability": 0.99,
            "verified": true, "rentable": true, "rented": false,
        }))
    }

    fn with(mut self, key: &str, v: Value) -> FakeOffer {
        self.0[key] = v;
        self
    }

    pub fn region(self, geolocation: &str) -> FakeOffer {
        self.with("geolocation", json!(geolocation))
    }

    pub fn gpus(self, n: u32) -> FakeOffer {
        self.with("num_gpus", json!(n))
    }

    pub fn ram_gb(self, gb: u32) -> FakeOffer {
        self.with("cpu_ram", json!(gb * 1024))
    }

    pub fn disk_gb(self, gb: f64) -> FakeOffer {
        self.with("disk_space", json!(gb))
    }

    pub fn reliability(self, r: f64) -> FakeOffer {
        self.with("reliability2", json!(r))
            .with("reliability", json!(r))
    }
}

#[derive(Default)]
struct State {
    token: String,
    instances: BTreeMap<u64, Instance>,
    /// Fewer than Vast's 25 a page, to make tests page.
    page_size: Option<usize>,
    /// Answer 200 with this body instead of JSON.
    garbage: Option<String>,
    /// Answer this HTTP status instead.
    status: Option<u16>,
    /// Accept connections but never answer.
    hang: bool,
    /// Requests seen, in order.
    calls: Vec<Call>,
    offers: Vec<Value>,
    /// Search answers every offer, whatever the query says (a misbehaving API).
    ignore_filters: bool,
    /// Offers that answer 410 when rented.
    gone: BTreeSet<u64>,
    /// Polls a rented instance answers `loading` before `running`.
    ready_after: u32,
    /// Rented instances never run.
    never_running: bool,
    /// The SSH address rented instances report.
    ssh: Option<(String, u16)>,
    next_contract: u64,
    volumes: Vec<Value>,
    /// Disk offered for new volumes (`POST /api/v0/volumes/search/`).
    volume_offers: Vec<Value>,
    next_volume: u64,
    /// Rents happen, but their answer never comes (a connection lost mid-call).
    lose_rent_answers: bool,
}

/// A running fake; dropping it stops the server.
pub struct FakeVast {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl FakeVast {
    /// Starts a fake that accepts the API key `token`.
    pub async fn start(token: &str) -> FakeVast {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            ready_after: 2,
            next_contract: 7001,
            next_volume: 5001,
            volume_offers: vec![
                json!({"id": 9101, "geolocation": "Oslo, NO", "disk_space": 500.0, "storage_cost": 0.15, "verified": true}),
                json!({"id": 9102, "geolocation": "Oslo, NO", "disk_space": 80.0, "storage_cost": 0.10, "verified": true}),
                json!({"id": 9201, "geolocation": "Frankfurt, DE", "disk_space": 2000.0, "storage_cost": 0.12, "verified": true}),
            ],
            ..State::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        FakeVast { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`, for `VastOptions::base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds or changes an instance; `actual` None is Vast's null (being provisioned).
    pub fn set(&self, id: u64, actual: Option<&str>, intended: &str) {
        let message = match actual {
            Some("running") => "success, running pytorch/pytorch_latest/ssh".to_string(),
            Some("exited") => "Error: container exited with code 137".to_string(),
            _ => String::new(),
        };
        let mut s = self.state.lock().unwrap();
        let i = s.instances.entry(id).or_default();
        i.actual = actual.map(str::to_string);
        i.intended = intended.to_string();
        i.message = message;
        i.loading_polls = None;
        i.stuck = false;
    }

    pub fn remove(&self, id: u64) {
        self.state.lock().unwrap().instances.remove(&id);
    }

    pub fn set_page_size(&self, n: usize) {
        self.state.lock().unwrap().page_size = Some(n);
    }

    pub fn serve_garbage(&self, body: Option<&str>) {
        self.state.lock().unwrap().garbage = body.map(str::to_string);
    }

    pub fn serve_status(&self, status: Option<u16>) {
        self.state.lock().unwrap().status = status;
    }

    pub fn hang(&self, on: bool) {
        self.state.lock().unwrap().hang = on;
    }

    /// The offers the search has.
    pub fn set_offers(&self, offers: Vec<FakeOffer>) {
        self.state.lock().unwrap().offers = offers.into_iter().map(|o| o.0).collect();
    }

    /// Makes the search answer every offer, ignoring the query's filters.
    pub fn ignore_filters(&self, on: bool) {
        self.state.lock().unwrap().ignore_filters = on;
    }

    /// Renting offer `id` answers 410: it is no longer available.
    pub fn offer_gone(&self, id: u64) {
        self.state.lock().unwrap().gone.insert(id);
    }

    /// Rented instances answer `loading` for `polls` shows, then `running`.
    pub fn ready_after(&self, polls: u32) {
        self.state.lock().unwrap().ready_after = polls;
    }

    /// Rented instances stay `loading` for ever.
    pub fn never_running(&self, on: bool) {
        self.state.lock().unwrap().never_running = on;
    }

    /// The SSH address rented instances report.
    pub fn set_ssh(&self, host: &str, port: u16) {
        self.state.lock().unwrap().ssh = Some((host.to_string(), port));
    }

    /// Rents go through, but the answer is never sent.
    pub fn lose_rent_answers(&self, on: bool) {
        self.state.lock().unwrap().lose_rent_answers = on;
    }

    /// A persistent volume the account holds.
    pub fn add_volume(&self, id: u64, label: &str, geolocation: &str) {
        self.state.lock().unwrap().volumes.push(json!({
            "id": id, "label": label, "geolocation": geolocation, "machine_id": 60_000 + id,
            "disk_space": 50.0, "status": "available", "type": "local_volume",
            "start_date": 1_700_000_000.0,
        }));
    }

    /// The offer volume `id` was created on, when it was created through the fake.
    pub fn volume_created_on(&self, id: &str) -> Option<u64> {
        let s = self.state.lock().unwrap();
        s.volumes
            .iter()
            .find(|v| v["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(id))
            .and_then(|v| v["offer"].as_u64())
    }

    /// Whether the account holds instance `id` (destroyed ones are gone).
    pub fn has_instance(&self, id: u64) -> bool {
        self.state.lock().unwrap().instances.contains_key(&id)
    }

    /// Ids of instances rented through the fake and still held.
    pub fn rented(&self) -> Vec<u64> {
        let s = self.state.lock().unwrap();
        s.instances
            .iter()
            .filter(|(_, i)| i.created_with.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The intended status of instance `id`.
    pub fn intended(&self, id: u64) -> Option<String> {
        let s = self.state.lock().unwrap();
        s.instances.get(&id).map(|i| i.intended.clone())
    }

    /// Request targets seen so far.
    pub fn requests(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.calls.iter().map(|c| c.target.clone()).collect()
    }

    /// Requests seen so far, with method and body.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// `"METHOD path"` of each request (query left off), in order.
    pub fn call_lines(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| {
                let path = c.target.split('?').next().unwrap_or_default();
                format!("{} {path}", c.method)
            })
            .collect()
    }

    /// Stops listening: later connections are refused.
    pub async fn stop(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        task.abort();
        let _ = task.await;
    }
}

impl Drop for FakeVast {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let length: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body: Value =
        serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
    let auth = header("authorization");
    let reply = {
        let mut s = state.lock().unwrap();
        s.calls.push(Call {
            method: method.clone(),
            target: target.clone(),
            body: body.clone(),
        });
        (!s.hang).then(|| answer(&mut s, &method, &target, auth.as_deref(), &body))
    };
    // Status 0: the call took effect, but its answer is lost.
    let Some((status @ 100.., body)) = reply else {
        // Hold the connection open and never answer.
        std::future::pending::<()>().await;
        return;
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        410 => "Gone",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[derive(Debug, PartialEq)]
enum Route {
    List,
    ListV0,
    Search,
    Rent(u64),
    Show(u64),
    Manage(u64),
    Destroy(u64),
    Volumes,
    VolumeSearch,
    VolumeCreate,
    VolumeDelete,
}

fn route(method: &str, path: &str) -> Option<Route> {
    let id_in = |prefix: &str| -> Option<u64> {
        path.strip_prefix(prefix)?
            .trim_end_matches('/')
            .parse()
            .ok()
    };
    match (method, path) {
        ("GET", "/api/v1/instances/") => Some(Route::List),
        ("GET", "/api/v0/instances/") => Some(Route::ListV0),
        ("POST", "/api/v0/bundles/" | "/api/v0/bundles") => Some(Route::Search),
        ("GET", "/api/v0/volumes" | "/api/v0/volumes/") => Some(Route::Volumes),
        ("POST", "/api/v0/volumes/search/") => Some(Route::VolumeSearch),
        ("PUT", "/api/v0/volumes/") => Some(Route::VolumeCreate),
        ("DELETE", "/api/v0/volumes/") => Some(Route::VolumeDelete),
        ("PUT", p) if p.starts_with("/api/v0/asks/") => id_in("/api/v0/asks/").map(Route::Rent),
        ("GET", _) => id_in("/api/v0/instances/").map(Route::Show),
        ("PUT", _) => id_in("/api/v0/instances/").map(Route::Manage),
        ("DELETE", _) => id_in("/api/v0/instances/").map(Route::Destroy),
        _ => None,
    }
}

fn not_found(what: &str) -> (u16, String) {
    (
        404,
        json!({"success": false, "error": "not_found", "msg": what}).to_string(),
    )
}

fn answer(
    s: &mut State,
    method: &str,
    target: &str,
    auth: Option<&str>,
    body: &Value,
) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(route) = route(method, path) else {
        return not_found("no such endpoint");
    };
    if auth != Some(format!("Bearer {}", s.token).as_str()) {
        let body =
            json!({"success": false, "error": "invalid_user_key", "msg": "Invalid user key"});
        return (401, body.to_string());
    }
    if let Some(status) = s.status {
        return (
            status,
            format!("<html><body>{status} upstream trouble</body></html>"),
        );
    }
    if let Some(garbage) = &s.garbage {
        return (200, garbage.clone());
    }
    match route {
        Route::List => list_page(s, query),
        Route::ListV0 => {
            let all: Vec<Value> = s.instances.iter().map(|(id, i)| document(*id, i)).collect();
            (
                200,
                json!({"instances_found": all.len(), "instances": all}).to_string(),
            )
        }
        Route::Search => (200, json!({"offers": search(s, body)}).to_string()),
        Route::Rent(ask) => {
            let reply = rent(s, ask, body);
            if s.lose_rent_answers {
                return (0, String::new());
            }
            reply
        }
        Route::Show(id) => {
            let Some(i) = s.instances.get_mut(&id) else {
                return not_found("no such instance");
            };
            if let Some(left) = i.loading_polls {
                if i.stuck || left > 0 {
                    i.loading_polls = Some(left.saturating_sub(1));
                    i.actual = Some("loading".into());
                } else {
                    i.actual = Some("running".into());
                    i.message = "success, running image/ssh".into();
                }
            }
            (200, json!({"instances": document(id, i)}).to_string())
        }
        Route::Manage(id) => {
            let Some(i) = s.instances.get_mut(&id) else {
                return not_found("no such instance");
            };
            match body.get("state").and_then(Value::as_str) {
                Some("stopped") => {
                    i.intended = "stopped".into();
                    i.actual = Some("exited".into());
                }
                // Started again: the fake runs it at once.
                Some("running") => {
                    i.intended = "running".into();
                    i.actual = Some("running".into());
                }
                _ => {}
            }
            (200, json!({"success": true}).to_string())
        }
        Route::Destroy(id) => match s.instances.remove(&id) {
            Some(_) => {
                // Its volume is free again.
                for v in &mut s.volumes {
                    if let Some(list) = v["instances"].as_array_mut() {
                        list.retain(|i| i.as_u64() != Some(id));
                    }
                }
                (200, json!({"success": true}).to_string())
            }
            None => not_found("no such instance"),
        },
        Route::Volumes => (200, json!({"volumes": s.volumes}).to_string()),
        Route::VolumeSearch => {
            let offers: Vec<Value> = s
                .volume_offers
                .iter()
                .filter(|o| passes(o, body))
                .cloned()
                .collect();
            (200, json!({"offers": offers}).to_string())
        }
        Route::VolumeCreate => create_volume(s, body),
        Route::VolumeDelete => {
            let params: BTreeMap<&str, &str> =
                query.split('&').filter_map(|p| p.split_once('=')).collect();
            let Some(id) = params.get("id").and_then(|i| i.parse::<u64>().ok()) else {
                return (
                    400,
                    json!({"success": false, "error": "invalid_args", "msg": "id required"})
                        .to_string(),
                );
            };
            let Some(at) = s.volumes.iter().position(|v| v["id"] == id) else {
                return not_found("no such volume");
            };
            let used = s.volumes[at]["instances"]
                .as_array()
                .is_some_and(|l| !l.is_empty());
            if used {
                return (
                    400,
                    json!({"success": false, "error": "in_use", "msg": "volume is attached to an instance"})
                        .to_string(),
                );
            }
            s.volumes.remove(at);
            (200, json!({"success": true}).to_string())
        }
    }
}

fn list_page(s: &State, query: &str) -> (u16, String) {
    let params: BTreeMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(VAST_MAX_PAGE)
        .clamp(1, VAST_MAX_PAGE)
        .min(s.page_size.unwrap_or(VAST_MAX_PAGE));
    let after = match params.get("after_token") {
        None => None,
        Some(t) => match t
            .strip_prefix("cursor-")
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(n) => Some(n),
            None => {
                return (
                    400,
                    json!({"success": false, "error": "invalid token"}).to_string(),
                )
            }
        },
    };
    let rest: Vec<(&u64, &Instance)> = s
        .instances
        .iter()
        .filter(|(id, _)| after.is_none_or(|a| **id > a))
        .collect();
    let page: Vec<Value> = rest
        .iter()
        .take(limit)
        .map(|(id, i)| document(**id, i))
        .collect();
    let next = (rest.len() > limit).then(|| format!("cursor-{}", rest[limit - 1].0));
    let body = json!({
        "success": true,
        "instances_found": page.len(),
        "total_instances": s.instances.len(),
        "label_counts": {"": s.instances.len()},
        "next_token": next,
        "instances": page,
    });
    (200, body.to_string())
}

/// The offers that pass every operator filter in `query`, ordered and limited as it asks.
fn search(s: &State, query: &Value) -> Vec<Value> {
    let mut found: Vec<Value> = s
        .offers
        .iter()
        .filter(|o| s.ignore_filters || passes(o, query))
        .cloned()
        .collect();
    if !s.ignore_filters {
        if let Some([field, dir]) = query["order"][0]
            .as_array()
            .and_then(|o| <&[Value; 2]>::try_from(o.as_slice()).ok())
        {
            let field = field.as_str().unwrap_or("dph_total");
            found.sort_by(|a, b| {
                let (x, y) = (
                    a[field].as_f64().unwrap_or(0.0),
                    b[field].as_f64().unwrap_or(0.0),
                );
                x.total_cmp(&y)
            });
            if dir.as_str() == Some("desc") {
                found.reverse();
            }
        }
        if let Some(limit) = query["limit"].as_u64() {
            found.truncate(limit as usize);
        }
    }
    found
}

fn passes(offer: &Value, query: &Value) -> bool {
    let Some(filters) = query.as_object() else {
        return true;
    };
    filters.iter().all(|(field, cond)| {
        let Some(ops) = cond.as_object() else {
            return true; // order, limit, type, allocated_storage …
        };
        let Some(have) = offer.get(field) else {
            return true;
        };
        // Vast filters locations by country code: "Oslo, NO" is in "NO".
        let have = match (field.as_str(), have.as_str()) {
            ("geolocation", Some(g)) => json!(g.rsplit(',').next().unwrap_or(g).trim()),
            _ => have.clone(),
        };
        ops.iter().all(|(op, want)| {
            let num = |v: &Value| v.as_f64();
            match op.as_str() {
                "eq" => have == *want,
                "neq" => have != *want,
                "lt" => num(&have).zip(num(want)).is_some_and(|(h, w)| h < w),
                "lte" => num(&have).zip(num(want)).is_some_and(|(h, w)| h <= w),
                "gt" => num(&have).zip(num(want)).is_some_and(|(h, w)| h > w),
                "gte" => num(&have).zip(num(want)).is_some_and(|(h, w)| h >= w),
                "in" => want.as_array().is_some_and(|a| a.contains(&have)),
                "notin" => want.as_array().is_some_and(|a| !a.contains(&have)),
                _ => true,
            }
        })
    })
}

fn rent(s: &mut State, ask: u64, body: &Value) -> (u16, String) {
    let offer = s.offers.iter().find(|o| o["id"].as_u64() == Some(ask));
    if offer.is_none() {
        return (
            404,
            json!({"success": false, "error": "no_such_ask", "msg": "Offer not found", "ask_id": ask})
                .to_string(),
        );
    }
    if s.gone.contains(&ask) {
        return (
            410,
            json!({"success": false, "error": "no_such_ask",
                   "msg": format!("Instance type {ask} is no longer available."), "ask_id": ask})
            .to_string(),
        );
    }
    if body["client_id"] != "me" || !body["image"].is_string() {
        return (
            400,
            json!({"success": false, "error": "invalid_args", "msg": "image and client_id required"})
                .to_string(),
        );
    }
    let volume = body
        .get("volume_info")
        .map(|v| s.volumes.iter().position(|vol| vol["id"] == v["volume_id"]));
    if let Some(v) = volume {
        if v.is_none() {
            return (
                400,
                json!({"success": false, "error": "invalid_args", "msg": "no such volume"})
                    .to_string(),
            );
        }
    }
    let id = s.next_contract;
    s.next_contract += 1;
    let instance = Instance {
        actual: None,
        intended: "running".into(),
        message: String::new(),
        label: body["label"].as_str().map(str::to_string),
        loading_polls: Some(s.ready_after),
        stuck: s.never_running,
        ssh: s.ssh.clone(),
        created_with: Some(body.clone()),
    };
    s.instances.insert(id, instance);
    if let Some(Some(v)) = volume {
        s.volumes[v]["instances"] = json!([id]);
    }
    (
        200,
        json!({"success": true, "new_contract": id}).to_string(),
    )
}

/// `PUT /api/v0/volumes/ {"size", "id": OFFER, "name"}`: a volume on the offer's machine.
fn create_volume(s: &mut State, body: &Value) -> (u16, String) {
    let size = body["size"].as_f64().unwrap_or(0.0);
    let offer = s
        .volume_offers
        .iter()
        .find(|o| o["id"] == body["id"])
        .cloned();
    let Some(offer) = offer.filter(|o| size > 0.0 && o["disk_space"].as_f64() >= Some(size)) else {
        return (
            400,
            json!({"success": false, "error": "invalid_args", "msg": "no such volume offer, or too small"})
                .to_string(),
        );
    };
    let id = s.next_volume;
    s.next_volume += 1;
    s.volumes.push(json!({
        "id": id, "label": body["name"], "geolocation": offer["geolocation"],
        "machine_id": 60_000 + id, "disk_space": size, "status": "available",
        "type": "local_volume", "instances": [], "offer": offer["id"],
    }));
    (200, json!({"success": true, "volume_id": id}).to_string())
}

/// One instance with the fields Vast documents (a subset; the client ignores the rest).
fn document(id: u64, i: &Instance) -> Value {
    let (ssh_host, ssh_port) = i
        .ssh
        .clone()
        .unwrap_or_else(|| (format!("ssh{}.vast.ai", id % 10), (10000 + id) as u16));
    json!({
        "id": id,
        "actual_status": i.actual,
        "intended_status": i.intended,
        "cur_state": if i.intended == "running" { "running" } else { "stopped" },
        "next_state": if i.intended == "running" { "running" } else { "stopped" },
        "status_msg": i.message,
        "label": i.label.clone().unwrap_or_else(|| format!("lifeboat-test-{id}")),
        "machine_id": 1000 + id,
        "ssh_host": ssh_host,
        "ssh_port": ssh_port,
        "public_ipaddr": "192.0.2.45",
        "geolocation": "Oslo, NO",
        "gpu_name": "RTX 4090",
        "num_gpus": 1,
        "image_uuid": "pytorch/pytorch:latest",
        "ports": {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": ssh_port.to_string()}]},
    })
}
