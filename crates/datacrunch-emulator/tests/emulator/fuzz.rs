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
