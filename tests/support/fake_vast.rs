//! `FakeVast`: a fake of Vast.ai's instance listing for tests, not the real service. It is
//! a real HTTP/1.1 server on 127.0.0.1 (a random port; hand-written, one request per
//! connection) that checks the `Authorization: Bearer` token and answers in the shape Vast
//! documents for `GET /api/v1/instances/` (keyset pages: `limit`, `after_token`,
//! `next_token`) and the older one-piece `GET /api/v0/instances/`. Tests change instance
//! states while it runs, make it answer garbage, an HTTP error or nothing, and stop it.
//!
//! Include it with `#[path = "support/fake_vast.rs"] mod fake_vast;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Vast serves at most this many instances a page.
const VAST_MAX_PAGE: usize = 25;

#[derive(Clone, Debug)]
struct Instance {
    actual: Option<String>,
    intended: String,
    message: String,
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
    /// Request targets seen (path and query), in order.
    requests: Vec<String>,
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
        self.state.lock().unwrap().instances.insert(
            id,
            Instance {
                actual: actual.map(str::to_string),
                intended: intended.to_string(),
                message,
            },
        );
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

    /// Request targets seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
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
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let reply = {
        let mut s = state.lock().unwrap();
        s.requests.push(target.clone());
        (!s.hang).then(|| answer(&s, &method, &target, auth.as_deref()))
    };
    let Some((status, body)) = reply else {
        // Hold the connection open and never answer.
        std::future::pending::<()>().await;
        return;
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
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

fn answer(s: &State, method: &str, target: &str, auth: Option<&str>) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: BTreeMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    if method != "GET" || !matches!(path, "/api/v1/instances/" | "/api/v0/instances/") {
        return (
            404,
            json!({"success": false, "error": "not_found"}).to_string(),
        );
    }
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
    if path == "/api/v0/instances/" {
        let all: Vec<Value> = s.instances.iter().map(|(id, i)| document(*id, i)).collect();
        return (
            200,
            json!({"instances_found": all.len(), "instances": all}).to_string(),
        );
    }
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

/// One instance with the fields Vast documents (a subset; the client ignores the rest).
fn document(id: u64, i: &Instance) -> Value {
    json!({
        "id": id,
        "actual_status": i.actual,
        "intended_status": i.intended,
        "cur_state": if i.intended == "running" { "running" } else { "stopped" },
        "next_state": if i.intended == "running" { "running" } else { "stopped" },
        "status_msg": i.message,
        "label": format!("lifeboat-test-{id}"),
        "machine_id": 1000 + id,
        "ssh_host": format!("ssh{}.vast.ai", id % 10),
        "ssh_port": 10000 + id,
        "public_ipaddr": "192.0.2.45",
        "gpu_name": "RTX 4090",
        "num_gpus": 1,
        "image_uuid": "pytorch/pytorch:latest",
        "ports": {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": (10000 + id).to_string()}]},
    })
}
