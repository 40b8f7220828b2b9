//! Shared test helpers: an emulator whose clock only moves when a test advances it, and
//! a thin raw-HTTP client (reqwest) that shows exactly what is on the wire.

#![allow(dead_code)]

use datacrunch_emulator::{Emulator, EmulatorBuilder, RunningEmulator, Timing};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

pub const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl t@t";

/// Lifecycle steps a test must advance the clock past: nothing moves by itself.
pub fn frozen_timing() -> Timing {
    Timing {
        ordered: Duration::from_secs(10),
        provisioning: Duration::from_secs(100),
        hibernation: Duration::from_secs(50),
        discontinued_visible: Duration::from_secs(30),
    }
}

pub fn builder() -> EmulatorBuilder {
    Emulator::builder().timing(frozen_timing())
}

pub async fn start() -> (RunningEmulator, Api) {
    start_with(builder()).await
}

pub async fn start_with(builder: EmulatorBuilder) -> (RunningEmulator, Api) {
    let emulator = builder.build().unwrap().spawn_on_loopback().await.unwrap();
    let api = Api::login(&emulator).await;
    (emulator, api)
}

/// An answer: status, content type and body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    /// Asserts an error answer: the status, the `code`, and a fragment of `message`.
    pub fn assert_error(&self, status: u16, code: &str, fragment: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "{self:?}"
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{}", self.text);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(fragment),
            "{fragment:?} not in {message:?}"
        );
    }
}

#[derive(Clone, Debug)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn login(emulator: &RunningEmulator) -> Api {
        let http = reqwest::Client::new();
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        });
        let resp = http
            .post(format!("{}/oauth2/token", emulator.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let token: Value = resp.json().await.unwrap();
        Api {
            http,
            base: emulator.base_url.clone(),
            token: token["access_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Answer {
            status,
            content_type,
            text: resp.text().await.unwrap(),
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(&body.to_string())).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(&body.to_string())).await
    }

    pub async fn delete(&self, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        self.call(Method::DELETE, path, body.as_deref()).await
    }

    /// Deploys and returns the new id (asserting 202 + bare text id).
    pub async fn deploy(&self, body: Value) -> String {
        let a = self.post("/instances", body).await;
        assert_eq!(a.status, 202, "{}", a.text);
        assert!(a.content_type.starts_with("text/plain"), "{a:?}");
        assert_eq!(a.text.len(), 36, "bare UUID expected: {}", a.text);
        a.text
    }

    pub async fn instance(&self, id: &str) -> Value {
        let a = self.get(&format!("/instances/{id}")).await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()
    }

    pub async fn status(&self, id: &str) -> String {
        self.instance(id).await["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn action(&self, action: &str, ids: &[&str]) -> Answer {
        self.put(
            "/instances",
            serde_json::json!({"action": action, "id": ids}),
        )
        .await
    }
}

/// A deploy body for a cheap V100 in FIN-01.
pub fn v100(hostname: &str) -> Value {
    serde_json::json!({
        "instance_type": "1V100.6V",
        "image": "ubuntu-22.04-cuda-12.0-docker",
        "hostname": hostname,
        "description": "test",
        "location_code": "FIN-01",
    })
}

/// Advances past ordered + provisioning of [`frozen_timing`].
pub fn to_running(emulator: &RunningEmulator) {
    emulator.admin.advance_clock(Duration::from_secs(111));
}

/// An answer read off a raw connection: the status line's code, the header block and
/// the body.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Sends `request` (bytes exactly as given, so tests can send what no HTTP client
/// would: any Host header, invalid paths, oversized headers) on a new connection and
/// reads the answer until the server closes it (send `Connection: close`).
pub async fn raw_http(addr: std::net::SocketAddr, request: &[u8]) -> RawAnswer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before it has read all of an oversized request.
    let _ = stream.write_all(request).await;
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    RawAnswer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// A GET of `path` with these extra header lines, closing the connection after.
pub fn raw_get(path: &str, headers: &[&str]) -> Vec<u8> {
    raw_request("GET", path, headers)
}

/// A bodiless request with these extra header lines, closing the connection after.
pub fn raw_request(method: &str, path: &str, headers: &[&str]) -> Vec<u8> {
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.into_bytes()
}
