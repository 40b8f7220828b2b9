//! Fuzzing of request decoding: arbitrary bodies and query strings sent to every route
//! that reads one must get a 4xx (or a 2xx when the input happens to be valid) with a
//! `{code, message}` JSON body: never a 5xx, never a dropped connection.

use datacrunch_emulator::{Emulator, RunningEmulator};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

struct Target {
    emulator: RunningEmulator,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    token: String,
}

/// One emulator (on its own thread) for every case; big capacity and balance so a
/// valid deploy never answers 503 or 402 for want of room or money.
fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let emulator = Emulator::builder()
            .timing(crate::common::frozen_timing())
            .capacity_per_slot(1_000_000)
            .starting_balance(rust_decimal::Decimal::from(1_000_000_000))
            .build()
            .unwrap()
            .start_on_loopback_thread()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let api = runtime.block_on(crate::common::Api::login(&emulator));
        Target {
            emulator,
            runtime,
            http: api.http,
            token: api.token,
        }
    })
}

/// Sends one request and checks the answer's shape.
fn check(method: &str, path: &str, body: Option<Vec<u8>>) -> Result<(), TestCaseError> {
    let t = target();
    let url = match path.starts_with("/admin") {
        true => format!("{}{path}", t.emulator.base_url.trim_end_matches("/v1")),
        false => format!("{}{path}", t.emulator.base_url),
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let (status, text) = t.runtime.block_on(async {
        let mut req = t.http.request(method.clone(), &url).bearer_auth(&t.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .expect("an answer, not a dropped connection");
        (resp.status(), resp.text().await.unwrap_or_default())
    });
    prop_assert!(status.as_u16() < 500, "{method} {path} -> {status}: {text}");
    if status.as_u16() >= 400 {
        let body: Value = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{status} not JSON ({e}): {text}")))?;
        prop_assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{text}"
        );
    }
    Ok(())
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::String),
        Just(json!("1V100.6V")),
        Just(json!("FIN-01")),
        Just(json!("delete")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,14}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// How many entries [`routes`] has.
const ROUTES: usize = 17;

/// Valid bodies of every body-reading route, to mutate one field at a time.
fn routes() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "POST",
            "/oauth2/token",
            json!({"grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "emulator-secret"}),
        ),
        (
            "POST",
            "/instances",
            json!({"instance_type": "CPU.4V.16G", "image": "ubuntu-24.04", "hostname": "fuzz", "description": "f", "location_code": "FIN-01", "ssh_key_ids": [], "os_volume": {"name": "os", "size": 50}, "volumes": [], "is_spot": false, "tags": []}),
        ),
        (
            "PUT",
            "/instances",
            json!({"action": "shutdown", "id": ["00000000-0000-4000-8000-000000000000"], "volume_ids": null}),
        ),
        (
            "PUT",
            "/instances/action",
            json!({"action": "start", "id": "x"}),
        ),
        (
            "POST",
            "/instances/x/tags",
            json!({"key": "k", "value": "v"}),
        ),
        (
            "POST",
            "/sshkeys",
            json!({"name": "k", "key": crate::common::ED25519}),
        ),
        (
            "POST",
            "/ssh-keys",
            json!({"name": "k", "key": crate::common::ED25519}),
        ),
        ("DELETE", "/sshkeys", json!({"keys": ["x"]})),
        (
            "POST",
            "/scripts",
            json!({"name": "s", "script": "#!/bin/sh"}),
        ),
        ("DELETE", "/scripts", json!({"scripts": ["x"]})),
        (
            "POST",
            "/volumes",
            json!({"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}),
        ),
        (
            "PUT",
            "/volumes",
            json!({"action": "rename", "id": ["x"], "name": "n"}),
        ),
        ("DELETE", "/volumes/x", json!({"is_permanent": true})),
        // Admin calls that cannot turn a later valid request into a 5xx (capacity and
        // fault rules could, so they are left out).
        ("PUT", "/admin/balance", json!({"amount": 1_000_000_000})),
        ("POST", "/admin/clock/advance", json!({"seconds": 1})),
        (
            "PUT",
            "/admin/no-capacity-late",
            json!({"instance_type": "1V100.6V", "location_code": "FIN-01", "enabled": false}),
        ),
        ("POST", "/admin/faults/seed", json!({"seed": 1})),
    ]
}

#[test]
fn route_count_is_current() {
    assert_eq!(routes().len(), ROUTES);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(route in 0usize..ROUTES, bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let (method, path, _) = &routes()[route];
        check(method, path, Some(bytes))?;
    }

    #[test]
    fn arbitrary_json(route in 0usize..ROUTES, body in arb_json()) {
        let (method, path, _) = &routes()[route];
        check(method, path, Some(body.to_string().into_bytes()))?;
    }

    #[test]
    fn one_field_replaced(route in 0usize..ROUTES, field in 0usize..16, value in arb_json()) {
        let (method, path, mut body) = routes()[route].clone();
        let obj = body.as_object_mut().unwrap();
        let key = obj.keys().nth(field % obj.len()).unwrap().clone();
        obj.insert(key, value);
        check(method, path, Some(body.to_string().into_bytes()))?;
    }

    #[test]
    fn arbitrary_query_strings(path in prop_oneof![
        Just("/instances"), Just("/instance-availability"), Just("/instance-availability/1V100.6V"),
        Just("/images"), Just("/instance-types"), Just("/volumes"), Just("/instance-types/1V100.6V"),
    ], query in "[a-zA-Z_=&%0-9.+-]{0,40}") {
        check("GET", &format!("{path}?{query}"), None)?;
    }
}

/// Percent-escapes that decode to invalid UTF-8, in a path parameter or the query: the
/// API's JSON error shape, never axum's plain-text 400.
#[tokio::test]
async fn invalid_utf8_in_paths_and_queries_gets_the_json_error_shape() {
    use crate::common::{raw_http, raw_request, start};
    let (emu, api) = start().await;
    let bearer = format!("Authorization: Bearer {}", api.token);
    for (method, path) in [
        ("GET", "/v1/instances/%FF"),
        ("DELETE", "/v1/instances/%C3%28/tags/k"),
        ("DELETE", "/v1/volumes/abc/tags/%FF"),
        ("GET", "/v1/instance-types/%FF"),
        ("GET", "/v1/instance-availability/%E2%82"),
        ("GET", "/v1/sshkeys/%FF"),
        ("DELETE", "/v1/scripts/%FF"),
        ("GET", "/v1/volumes/%FF"),
        ("GET", "/v1/instances?status=%FF"),
        ("GET", "/v1/instances?status=running&%FF=1"),
        ("GET", "/admin/counters?prefix=%FF"),
    ] {
        let a = raw_http(emu.addr, &raw_request(method, path, &[&bearer])).await;
        assert_eq!(a.status, 400, "{path}: {a:?}");
        assert!(a.head.contains("application/json"), "{path}: {a:?}");
        let body: Value = serde_json::from_str(&a.body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {a:?}"));
        assert_eq!(body["code"], "invalid_request", "{path}: {a:?}");
        assert!(
            body["message"].as_str().unwrap().contains("UTF-8"),
            "{path}: {a:?}"
        );
    }
}

/// Reads until the server closes the connection; `None` when it is still open after a
/// minute (a generous bound: the emulators below close idle connections after 1 s).
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    let read = stream.read_to_end(&mut bytes);
    tokio::time::timeout(std::time::Duration::from_secs(60), read)
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&bytes).into_owned())
}

/// Idle keep-alive connections, and clients that never finish their headers, do not hold
/// a socket (and a task) for ever.
#[tokio::test]
async fn idle_and_half_sent_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let emu = crate::common::builder()
        .idle_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap()
        .spawn_on_loopback()
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(emu.addr).await.unwrap();
    idle.write_all(b"GET /v1/locations HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut idle).await;
    let answered = answered.expect("the idle keep-alive connection was never closed");
    assert!(answered.starts_with("HTTP/1.1 401"), "{answered}");

    let mut slow = tokio::net::TcpStream::connect(emu.addr).await.unwrap();
    slow.write_all(b"GET /v1/locations HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut slow).await;
    assert!(
        answered.is_some(),
        "a half-sent request kept its connection open"
    );
}

/// Request headers and bodies are bounded; a body over the bound gets 413 in the API's
/// error shape, whether its length is declared or it is streamed in chunks.
#[tokio::test]
async fn oversized_headers_and_bodies_are_refused() {
    use crate::common::{raw_get, raw_http, start};
    let (emu, api) = start().await;
    let bearer = format!("Authorization: Bearer {}", api.token);
    let header = |len: usize| format!("X-Padding: {}", "a".repeat(len));
    let a = raw_http(
        emu.addr,
        &raw_get("/v1/locations", &[&bearer, &header(60_000)]),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = raw_http(
        emu.addr,
        &raw_get("/v1/locations", &[&bearer, &header(70_000)]),
    )
    .await;
    assert_eq!(a.status, 431, "{a:?}");

    let limit = 1024 * 1024;
    let script = |len: usize| {
        let filler = "x".repeat(len - r#"{"name":"s","script":""}"#.len());
        format!(r#"{{"name":"s","script":"{filler}"}}"#)
    };
    let a = api
        .call(reqwest::Method::POST, "/scripts", Some(&script(limit)))
        .await;
    assert_eq!(a.status, 201, "a body of exactly the limit is accepted");
    let a = api
        .call(reqwest::Method::POST, "/scripts", Some(&script(limit + 1)))
        .await;
    a.assert_error(413, "invalid_request", "at most 1048576 bytes");
    // Streamed in chunks, with no length declared up front.
    let mut chunked = format!(
        "POST /v1/scripts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{bearer}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..17 {
        chunked.extend_from_slice(format!("{:x}\r\n", 65_536).as_bytes());
        chunked.extend_from_slice(&[b' '; 65_536]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let a = raw_http(emu.addr, &chunked).await;
    assert_eq!(a.status, 413, "{a:?}");
    let body: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body["code"], "invalid_request", "{body}");
}
