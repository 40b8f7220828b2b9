//! A scripted HTTP/1.1 server on 127.0.0.1 for behaviour tests, plus client helpers.
//!
//! Raw TCP rather than a web framework because the tests need faults a framework hides:
//! closing the connection after reading a request without answering, or answering late.
//! Each connection serves one request and is closed (`Connection: close`). [`FakeApi`]
//! builds on it: one collection whose creates can take effect and lose their answer.

#![allow(dead_code)]

use datacrunch_client::models::{
    CreateSshKeyRequest, CreateStartupScriptRequest, CreateVolumeRequest, DeployInstanceRequest,
    Tag,
};
use datacrunch_client::{Client, ClientBuilder, Error, RetryPolicy};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Without the query string, e.g. `/v1/instances`.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// `GET /v1/instances`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then close the connection without answering.
    Drop,
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            serde_json::json!({"code": code, "message": message}),
        )
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub struct TestServer {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (handler, log) = (handler.clone(), task_log.clone());
                tokio::spawn(async move { serve(stream, &*handler, &log).await });
            }
        });
        TestServer { addr, log, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// The requests received so far, as `METHOD path` lines.
    pub fn lines(&self) -> Vec<String> {
        self.requests().iter().map(Recorded::line).collect()
    }

    /// How many requests went to `METHOD path`.
    pub fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }
}

async fn serve(mut stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Recorded>>) {
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    log.lock().unwrap().push(req.clone());
    let mut reply = handler(&req);
    loop {
        match reply {
            Reply::Delay(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            Reply::Drop => return,
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    Some(Recorded {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// Records the waits the client asks for instead of spending them.
#[derive(Clone, Default)]
pub struct Sleeps(pub Arc<Mutex<Vec<Duration>>>);

impl Sleeps {
    pub fn taken(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// A builder aimed at `server`, with recorded sleeps, a fixed jitter draw of 1 (so each
/// wait is the full backoff cap) and a quick retry policy.
pub fn builder(server: &TestServer, sleeps: &Sleeps) -> ClientBuilder {
    let record = sleeps.0.clone();
    Client::builder()
        .base_url(server.base_url())
        .retry_policy(RetryPolicy {
            max_retries: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            budget: Duration::from_secs(60),
        })
        .sleep_fn(Arc::new(move |d| {
            record.lock().unwrap().push(d);
            Box::pin(async {})
        }))
        .jitter_fn(Arc::new(|| 1.0))
}

/// A client with a fixed bearer token (no token traffic).
pub fn bearer_client(server: &TestServer, sleeps: &Sleeps) -> Client {
    builder(server, sleeps)
        .bearer_token("test-token")
        .build()
        .unwrap()
}

/// A JSON instance record in the real API's shape.
pub fn instance_json(id: &str, hostname: &str, status: &str) -> Value {
    serde_json::json!({
        "id": id, "instance_type": "1V100.6V", "image": "ubuntu-24.04", "price_per_hour": 0.14,
        "hostname": hostname, "description": "d", "ip": null, "status": status,
        "created_at": "2021-06-02T12:56:49.582Z", "ssh_key_ids": [], "startup_script_id": null,
        "os_volume_id": null, "location": "FIN-01", "is_spot": false
    })
}

/// A deploy carrying a unique per-create token tag, as callers send it.
pub fn deploy_request() -> DeployInstanceRequest {
    deploy_request_with_token("tok-1")
}

pub fn deploy_request_with_token(token: &str) -> DeployInstanceRequest {
    DeployInstanceRequest {
        location_code: Some("FIN-01".into()),
        tags: vec![Tag {
            key: "create-token".into(),
            value: Some(token.into()),
        }],
        ..DeployInstanceRequest::new(
            "1V100.6V",
            "ubuntu-22.04-cuda-12.0-docker",
            "kdevops-xfs-1",
            "test",
        )
    }
}

/// A fake API with one collection (`instances`, `sshkeys`, `scripts` or `volumes`):
/// `GET /v1/{collection}` lists `existing` plus what POSTs made; the n-th POST (from 0)
/// makes the object its body describes when `post(n).0` says so (with an id and a
/// `created_at` of now) and answers `post(n).1`, or the new id when that is `None`.
pub struct FakeApi {
    pub server: TestServer,
    pub made: Arc<Mutex<Vec<Value>>>,
}

pub type PostScript = fn(usize) -> (bool, Option<Reply>);

pub async fn fake_api(collection: &'static str, existing: Vec<Value>, post: PostScript) -> FakeApi {
    let made = Arc::new(Mutex::new(Vec::<Value>::new()));
    let posts = AtomicUsize::new(0);
    let state = made.clone();
    let server = TestServer::start(move |req: &Recorded| {
        if req.path != format!("/v1/{collection}") {
            return Reply::error(404, "not_found", "no such route");
        }
        if req.method == "GET" {
            let mut all = existing.clone();
            all.extend(state.lock().unwrap().iter().cloned());
            return Reply::json(200, Value::Array(all));
        }
        let n = posts.fetch_add(1, Ordering::SeqCst);
        let (takes_effect, reply) = post(n);
        let id = format!("00000000-0000-4000-8000-00000000000{n}");
        if takes_effect {
            state
                .lock()
                .unwrap()
                .push(record_of(collection, &id, &req.json(), now()));
        }
        reply.unwrap_or_else(|| Reply::text(202, &id))
    })
    .await;
    FakeApi { server, made }
}

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The record the API keeps for a create request `body`.
pub fn record_of(collection: &str, id: &str, body: &Value, created_at: String) -> Value {
    match collection {
        "instances" => {
            let mut i = instance_json(id, body["hostname"].as_str().unwrap(), "provisioning");
            i["tags"] = body["tags"].clone();
            i["created_at"] = json!(created_at);
            i
        }
        "sshkeys" => json!({"id": id, "name": body["name"], "key": body["key"]}),
        "scripts" => json!({"id": id, "name": body["name"], "script": body["script"]}),
        _ => json!({
            "id": id, "status": "detached", "name": body["name"], "size": body["size"],
            "type": body["type"], "location": body["location_code"], "created_at": created_at,
        }),
    }
}

pub const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/// Creates one object of `collection` with `client`.
pub async fn create(client: &Client, collection: &str) -> Result<String, Error> {
    create_nth(client, collection, 0).await
}

/// Creates the `n`-th object of `collection`: distinct names and create tokens for each
/// `n`, so a lookup can tell them apart.
pub async fn create_nth(client: &Client, collection: &str, n: usize) -> Result<String, Error> {
    let suffix = if n == 0 {
        String::new()
    } else {
        format!("-{n}")
    };
    match collection {
        "instances" => {
            client
                .deploy_instance(&deploy_request_with_token(&format!("tok-1{suffix}")))
                .await
        }
        "sshkeys" => {
            client
                .create_ssh_key(&CreateSshKeyRequest {
                    name: format!("kdevops{suffix}"),
                    // The service may keep the key with another comment.
                    key: format!("{KEY} me@laptop"),
                })
                .await
        }
        "scripts" => {
            client
                .create_startup_script(&CreateStartupScriptRequest {
                    name: format!("setup{suffix}"),
                    script: "#!/bin/sh\necho hi\n".into(),
                })
                .await
        }
        _ => {
            client
                .create_volume(&CreateVolumeRequest {
                    volume_type: "NVMe".into(),
                    name: format!("data{suffix}"),
                    size: 100,
                    instance_id: None,
                    instance_ids: vec![],
                    location_code: Some("FIN-01".into()),
                    on_spot_discontinue: None,
                    tags: vec![],
                })
                .await
        }
    }
}

pub const COLLECTIONS: [&str; 4] = ["instances", "sshkeys", "scripts", "volumes"];
