//! Restart with a state file, fault injection, and the admin HTTP API.

use crate::common::{builder, start, start_with, to_running, v100, Api, ED25519};
use datacrunch_emulator::FaultRule;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_restarted_emulator_remembers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let (emu, api) = start_with(builder().state_file(&state).capacity_per_slot(1)).await;
    let key = api
        .post("/sshkeys", json!({"name": "k", "key": ED25519}))
        .await
        .text;
    let script = api
        .post("/scripts", json!({"name": "s", "script": "#!/bin/sh"}))
        .await
        .text;
    let vol = api
        .post(
            "/volumes",
            json!({"type": "HDD", "name": "v", "size": 5, "location_code": "FIN-01"}),
        )
        .await
        .text;
    let running = api.deploy(v100("survivor")).await;
    let deleted = {
        let mut b = v100("gone");
        b["instance_type"] = json!("2V100.10V");
        api.deploy(b).await
    };
    to_running(&emu);
    assert_eq!(api.action("delete", &[&deleted]).await.status, 202);
    let pending = {
        let mut b = v100("pending");
        b["instance_type"] = json!("1A100.22V");
        api.deploy(b).await
    };
    emu.admin.advance_clock(Duration::from_secs(11));
    let before = api.instance(&running).await;
    let balance_before = emu.admin.balance();
    emu.shutdown().await;

    let (emu, old_api) = (
        builder()
            .state_file(&state)
            .capacity_per_slot(1)
            .build()
            .unwrap()
            .spawn_on_loopback()
            .await
            .unwrap(),
        api,
    );
    let stale = Api {
        base: emu.base_url.clone(),
        ..old_api
    };
    stale
        .get("/balance")
        .await
        .assert_error(401, "unauthorized_request", "");
    let api = Api::login(&emu).await;
    assert_eq!(
        api.instance(&running).await,
        before,
        "same instance, same IP"
    );
    assert_eq!(
        api.status(&pending).await,
        "provisioning",
        "clock offset kept"
    );
    assert_eq!(api.status(&deleted).await, "discontinued");
    emu.admin.advance_clock(Duration::from_secs(100));
    api.get(&format!("/instances/{deleted}"))
        .await
        .assert_error(404, "not_found", "Invalid instance id");
    assert_eq!(
        api.status(&pending).await,
        "running",
        "the lifecycle resumes"
    );
    assert_eq!(
        api.get(&format!("/sshkeys/{key}")).await.json()[0]["id"],
        key.as_str()
    );
    assert_eq!(
        api.get(&format!("/scripts/{script}")).await.json()[0]["id"],
        script.as_str()
    );
    assert_eq!(
        api.get(&format!("/volumes/{vol}")).await.json()["type"],
        "HDD"
    );
    // Capacity usage survived: the one FIN-01 V100 slot is still taken.
    assert_eq!(
        api.get("/instance-availability/1V100.6V?location_code=FIN-01")
            .await
            .text,
        "false"
    );
    let balance_after = emu.admin.balance();
    assert!(
        balance_after <= balance_before
            && balance_after > balance_before - rust_decimal::Decimal::ONE
    );
    api.post("/instances", v100("no-room"))
        .await
        .assert_error(503, "service_unavailable", "");
}

#[tokio::test]
async fn injected_statuses_latency_and_retry_after() {
    let (emu, api) = start().await;
    let rule = |r: FaultRule| r;
    emu.admin
        .set_fault(
            "GET /v1/balance",
            rule(FaultRule {
                rate_429: 1.0,
                retry_after_secs: Some(7),
                ..Default::default()
            }),
        )
        .unwrap();
    let a = api.get("/balance").await;
    a.assert_error(429, "too_many_requests", "");
    assert_eq!(a.headers["retry-after"], "7");
    assert_eq!(
        api.get("/locations").await.status,
        200,
        "other endpoints unaffected"
    );
    emu.admin
        .set_fault(
            "GET /v1/instances/{id}",
            FaultRule {
                rate_500: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    api.get("/instances/x")
        .await
        .assert_error(500, "server_error", "injected");
    emu.admin
        .set_fault(
            "*",
            FaultRule {
                rate_503: 1.0,
                latency_ms: 5,
                ..Default::default()
            },
        )
        .unwrap();
    let unavailable = api.get("/volumes").await;
    unavailable.assert_error(503, "service_unavailable", "injected");
    assert!(
        !unavailable.headers.contains_key("retry-after"),
        "no Retry-After unless configured: {:?}",
        unavailable.headers
    );
    emu.admin
        .set_fault(
            "*",
            FaultRule {
                rate_503: 1.0,
                retry_after_503_secs: Some(4),
                ..Default::default()
            },
        )
        .unwrap();
    let unavailable = api.get("/volumes").await;
    unavailable.assert_error(503, "service_unavailable", "injected");
    assert_eq!(unavailable.headers["retry-after"], "4");
    assert!(emu
        .admin
        .set_fault(
            "*",
            FaultRule {
                rate_500: 1.5,
                ..Default::default()
            }
        )
        .is_err());
    emu.admin.clear_faults();
    assert_eq!(api.get("/balance").await.status, 200);
    assert_eq!(emu.admin.count("GET /v1/balance"), 2);
    assert_eq!(emu.admin.count("GET /v1/instances/{id}"), 1);
    // Every fault injected above is counted by kind (the refused rule injected none).
    let (status, injected) = admin_call(
        &reqwest::Client::new(),
        reqwest::Method::GET,
        format!("{}/faults/injected", emu.admin_url),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(injected, json!({"429": 1, "500": 1, "503": 2}));
}

#[tokio::test]
async fn dropped_connections_and_revoked_tokens() {
    let (emu, api) = start().await;
    emu.admin
        .set_fault(
            "GET /v1/locations",
            FaultRule {
                drop_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    let err = api
        .http
        .get(format!("{}/locations", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect_err("the connection is closed without an answer");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("connection"),
        "{err}"
    );
    emu.admin.clear_faults();
    assert_eq!(
        api.get("/locations").await.status,
        200,
        "the server survives"
    );

    emu.admin
        .set_fault(
            "GET /v1/balance",
            FaultRule {
                revoke_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    api.get("/balance")
        .await
        .assert_error(401, "unauthorized_request", "");
    emu.admin.clear_faults();
    api.get("/balance")
        .await
        .assert_error(401, "unauthorized_request", "");
    let fresh = Api::login(&emu).await;
    assert_eq!(fresh.get("/balance").await.status, 200);
    emu.admin.revoke_all_tokens();
    fresh
        .get("/balance")
        .await
        .assert_error(401, "unauthorized_request", "");
}

/// Whether the request failed because the server reset the connection (RST), the way a
/// lost answer shows to a client, rather than with any HTTP answer.
fn is_connection_reset(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionReset {
                return true;
            }
        }
        source = e.source();
    }
    false
}

#[tokio::test]
async fn lost_answers_take_effect_and_then_reset_the_connection() {
    let (emu, api) = start().await;
    emu.admin
        .set_fault(
            "POST /v1/instances",
            FaultRule {
                lost_answer_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    let err = api
        .http
        .post(format!("{}/instances", api.base))
        .bearer_auth(&api.token)
        .json(&v100("lost-answer"))
        .send()
        .await
        .expect_err("the answer to the deploy is lost");
    assert!(is_connection_reset(&err), "not a reset: {err:?}");
    // The deploy happened: exactly one instance, found by looking it up.
    let listed = api.get("/instances").await.json();
    let named: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["hostname"] == "lost-answer")
        .collect();
    assert_eq!(named.len(), 1, "{listed}");
    assert_eq!(named[0]["status"], "ordered");
    assert_eq!(emu.admin.count("POST /v1/instances"), 1);

    // Set through the admin HTTP API: a delete whose answer is lost is done too.
    let key = api
        .post("/sshkeys", json!({"name": "k", "key": ED25519}))
        .await
        .text;
    let http = reqwest::Client::new();
    let fault = json!({"endpoint": "DELETE /v1/sshkeys/{id}", "lost_answer_rate": 1.0});
    let (s, _) = admin_call(
        &http,
        reqwest::Method::PUT,
        format!("{}/faults", emu.admin_url),
        Some(fault),
    )
    .await;
    assert_eq!(s, 204);
    let err = api
        .http
        .delete(format!("{}/sshkeys/{key}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect_err("the answer to the delete is lost");
    assert!(is_connection_reset(&err), "not a reset: {err:?}");
    assert_eq!(api.get("/sshkeys").await.json(), json!([]));
    // Other endpoints, and the server, are unaffected.
    assert_eq!(api.get("/locations").await.status, 200);
}

#[tokio::test]
async fn faults_are_reproducible_with_a_seed() {
    let statuses = |seed: u64| async move {
        let b = builder().fault_seed(seed).fault(
            "GET /v1/locations",
            FaultRule {
                rate_500: 0.5,
                ..Default::default()
            },
        );
        let (_emu, api) = start_with(b).await;
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(api.get("/locations").await.status.as_u16());
        }
        out
    };
    let a = statuses(42).await;
    assert_eq!(a, statuses(42).await);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

pub(crate) async fn admin_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_http_api() {
    use reqwest::Method;
    let (emu, api) = start().await;
    let http = reqwest::Client::new();
    let admin = |p: &str| format!("{}{p}", emu.admin_url);
    let id = api.deploy(v100("adm")).await;

    let (s, clock) = admin_call(
        &http,
        Method::POST,
        admin("/clock/advance"),
        Some(json!({"seconds": 111})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(clock["offset_ms"].as_i64().unwrap() >= 111_000);
    assert_eq!(api.status(&id).await, "running");

    let (s, _) = admin_call(
        &http,
        Method::PUT,
        admin("/capacity"),
        Some(json!({"instance_type": "1V100.6V", "location_code": "FIN-01", "total": 1})),
    )
    .await;
    assert_eq!(s, 204);
    let (_, cap) = admin_call(&http, Method::GET, admin("/capacity"), None).await;
    let slot = cap
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["instance_type"] == "1V100.6V" && c["location"] == "FIN-01" && c["is_spot"] == false
        })
        .unwrap();
    assert_eq!(
        (slot["total"].as_u64(), slot["used"].as_u64()),
        (Some(1), Some(1))
    );
    let (s, err) = admin_call(
        &http,
        Method::PUT,
        admin("/capacity"),
        Some(json!({"instance_type": "nope", "location_code": "FIN-01", "total": 1})),
    )
    .await;
    assert_eq!((s, err["code"].as_str()), (400, Some("invalid_request")));

    assert_eq!(
        admin_call(
            &http,
            Method::PUT,
            admin("/balance"),
            Some(json!({"amount": 12.5}))
        )
        .await
        .0,
        204
    );
    assert_eq!(api.get("/balance").await.json()["amount"], 12.5);

    let fault = json!({"endpoint": "GET /v1/locations", "rate_503": 1.0});
    assert_eq!(
        admin_call(&http, Method::PUT, admin("/faults"), Some(fault))
            .await
            .0,
        204
    );
    assert_eq!(api.get("/locations").await.status, 503);
    let (_, faults) = admin_call(&http, Method::GET, admin("/faults"), None).await;
    assert_eq!(faults["GET /v1/locations"]["rate_503"], 1.0);
    let (s, _) = admin_call(
        &http,
        Method::PUT,
        admin("/faults"),
        Some(json!({"rate_9000": 1})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        admin_call(&http, Method::DELETE, admin("/faults"), None)
            .await
            .0,
        204
    );
    assert_eq!(api.get("/locations").await.status, 200);

    let late = json!({"instance_type": "1A100.22V", "location_code": "FIN-03"});
    assert_eq!(
        admin_call(&http, Method::PUT, admin("/no-capacity-late"), Some(late))
            .await
            .0,
        204
    );
    // A typo in the location would otherwise silently never apply.
    let typo = json!({"instance_type": "1A100.22V", "location_code": "FIN-3"});
    let (s, body) = admin_call(&http, Method::PUT, admin("/no-capacity-late"), Some(typo)).await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("location_code"),
        "{body}"
    );

    let (_, counters) = admin_call(
        &http,
        Method::GET,
        admin("/counters?prefix=GET%20/v1/locations"),
        None,
    )
    .await;
    assert_eq!(counters, json!({"GET /v1/locations": 2}));
    let (_, state) = admin_call(&http, Method::GET, admin("/state"), None).await;
    assert_eq!(state["instances"][0]["id"], id.as_str());
    assert_eq!(state["balance"], 12.5);

    assert_eq!(
        admin_call(&http, Method::POST, admin("/reset"), None)
            .await
            .0,
        204
    );
    let api = Api::login(&emu).await;
    assert_eq!(api.get("/instances").await.json(), json!([]));
    assert_eq!(api.get("/balance").await.json()["amount"], 1000.0);
    assert_eq!(
        admin_call(&http, Method::POST, admin("/tokens/revoke"), None)
            .await
            .0,
        204
    );
    api.get("/balance")
        .await
        .assert_error(401, "unauthorized_request", "");
    let (s, err) = admin_call(&http, Method::GET, admin("/nothing"), None).await;
    assert_eq!((s, err["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn sync_callers_can_run_it_on_its_own_thread() {
    let emu = builder()
        .build()
        .unwrap()
        .start_on_loopback_thread()
        .unwrap();
    let api = Api::login(&emu).await;
    assert_eq!(api.get("/locations").await.status, 200);
    emu.shutdown().await;
}

/// The admin API takes any amount a `Decimal` holds; billing arithmetic on it must
/// saturate, not panic (a panic would kill the request and poison nothing, but the
/// client would see a dropped connection).
#[tokio::test]
async fn extreme_balances_never_panic() {
    let (emu, api) = crate::common::start().await;
    api.deploy(crate::common::v100("rich")).await;
    crate::common::to_running(&emu);
    emu.admin
        .advance_clock(std::time::Duration::from_secs(3600));
    for amount in [rust_decimal::Decimal::MAX, rust_decimal::Decimal::MIN] {
        emu.admin.set_balance(amount);
        let a = api.get("/balance").await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(a.json()["amount"].is_number(), "{}", a.text);
    }
    // With the lowest balance possible, a deploy is refused for want of money.
    api.post("/instances", crate::common::v100("broke"))
        .await
        .assert_error(402, "insufficient_funds", "");
}

/// A state file whose balance, clock or IP counter does not parse is refused at start,
/// naming the value, instead of silently starting over from the defaults.
#[test]
fn a_corrupt_state_file_is_refused_not_reset() {
    use datacrunch_emulator::store::{Store, Write};
    for key in ["balance_base", "clock_offset_ms", "next_ip"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(crate::common::builder().state_file(&path).build().unwrap());
        Store::open(Some(&path))
            .unwrap()
            .apply(&[Write::Meta {
                key,
                value: "garbage".into(),
            }])
            .unwrap();
        let e = crate::common::builder()
            .state_file(&path)
            .build()
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) && e.contains("garbage"), "{key}: {e}");
    }
}
