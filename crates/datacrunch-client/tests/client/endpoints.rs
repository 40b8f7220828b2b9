//! Endpoint shapes against a real local HTTP server: paths, query spellings, bodies,
//! the API's answer quirks, error mapping and bulk-action results.

use crate::support::{bearer_client, instance_json, Reply, Sleeps, TestServer};
use datacrunch_client::models::{
    CreateVolumeRequest, InstanceAction, InstanceActionRequest, InstanceStatus, LongTermScope,
    VolumeAction, VolumeActionRequest,
};
use datacrunch_client::Error;
use serde_json::json;

const ID: &str = "deadc0de-a5d2-4972-ae4e-d429115d055b";

async fn answering(reply: Reply) -> TestServer {
    TestServer::start(move |_| reply.clone()).await
}

#[tokio::test]
async fn create_ids_in_every_form_the_api_uses() {
    for reply in [
        Reply::text(202, ID),
        Reply::text(202, &format!("{ID}\n")),
        Reply::json(202, json!(ID)),
        Reply::json(201, json!({"id": ID})),
    ] {
        let server = answering(reply).await;
        let client = bearer_client(&server, &Sleeps::default());
        let id = client
            .create_volume(&CreateVolumeRequest {
                volume_type: "NVMe".into(),
                name: "data".into(),
                size: 100,
                instance_id: None,
                instance_ids: vec![],
                location_code: Some("FIN-03".into()),
                on_spot_discontinue: None,
                tags: vec![],
            })
            .await
            .unwrap();
        assert_eq!(id, ID);
        let req = &server.requests()[0];
        assert_eq!(req.line(), "POST /v1/volumes");
        assert_eq!(
            req.json(),
            json!({"type": "NVMe", "name": "data", "size": 100, "location_code": "FIN-03"})
        );
    }
}

#[tokio::test]
async fn a_garbled_create_answer_is_an_unknown_outcome_naming_the_endpoint() {
    let server = answering(Reply::text(202, "<html>hello</html>")).await;
    let e = bearer_client(&server, &Sleeps::default())
        .create_startup_script(&datacrunch_client::models::CreateStartupScriptRequest {
            name: "s".into(),
            script: "#!/bin/sh\n".into(),
        })
        .await
        .unwrap_err();
    // The script was created but its id is unknown: not a plain failure to retry.
    assert!(
        matches!(&e, Error::OutcomeUnknown { source, .. } if matches!(**source, Error::Decode { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("POST /scripts"), "{e}");
}

#[tokio::test]
async fn ssh_keys_and_scripts_by_id_tolerate_array_and_object() {
    let key = json!({"id": ID, "name": "k", "key": "ssh-ed25519 AAAA"});
    for body in [json!([key.clone()]), key.clone()] {
        let server = answering(Reply::json(200, body)).await;
        let got = bearer_client(&server, &Sleeps::default())
            .ssh_key(ID)
            .await
            .unwrap();
        assert_eq!(got.name, "k");
        assert_eq!(server.lines(), [format!("GET /v1/sshkeys/{ID}")]);
    }
    let server = answering(Reply::json(
        200,
        json!([{"id": ID, "name": "s", "script": "#!"}]),
    ))
    .await;
    let got = bearer_client(&server, &Sleeps::default())
        .startup_script(ID)
        .await
        .unwrap();
    assert_eq!(got.script, "#!");
    let server = answering(Reply::json(200, json!([]))).await;
    let e = bearer_client(&server, &Sleeps::default())
        .ssh_key(ID)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn availability_queries_and_boolean_forms() {
    for (body, want) in [
        (json!(true), true),
        (json!("true"), true),
        (json!(false), false),
    ] {
        let server = answering(Reply::json(200, body)).await;
        let available = bearer_client(&server, &Sleeps::default())
            .is_instance_type_available("1H100.80S.30V", true, Some("FIN-03"))
            .await
            .unwrap();
        assert_eq!(available, want);
        let req = &server.requests()[0];
        assert_eq!(req.path, "/v1/instance-availability/1H100.80S.30V");
        assert_eq!(req.query, "is_spot=true&location_code=FIN-03");
    }
    let server = answering(Reply::json(
        200,
        json!([{"location_code": "FIN-01", "availabilites": ["1V100.6V"]}]),
    ))
    .await;
    let list = bearer_client(&server, &Sleeps::default())
        .instance_availability(Some(false), None)
        .await
        .unwrap();
    assert_eq!(list[0].availabilities, ["1V100.6V"]);
    assert_eq!(server.requests()[0].query, "is_spot=false");
}

#[tokio::test]
async fn list_filters_are_sent_as_query_parameters() {
    let server = answering(Reply::json(200, json!([]))).await;
    let client = bearer_client(&server, &Sleeps::default());
    client
        .instances(Some(&InstanceStatus::Running))
        .await
        .unwrap();
    client.images(Some("1A100.22V")).await.unwrap();
    client.instance_types(Some("eur")).await.unwrap();
    client.instances(None).await.unwrap();
    let queries: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{}?{}", r.path, r.query))
        .collect();
    assert_eq!(
        queries,
        [
            "/v1/instances?status=running",
            "/v1/images?instance_type=1A100.22V",
            "/v1/instance-types?currency=eur",
            "/v1/instances?",
        ]
    );
}

#[tokio::test]
async fn ids_are_escaped_into_one_path_segment() {
    let server = answering(Reply::error(404, "not_found", "no")).await;
    let e = bearer_client(&server, &Sleeps::default())
        .instance("../balance?x=1")
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(
        server.requests()[0].path,
        "/v1/instances/..%2Fbalance%3Fx=1"
    );
    let e = bearer_client(&server, &Sleeps::default())
        .instance(" ")
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput(ref m) if m.contains("instance_id")),
        "{e:?}"
    );
}

/// One of the `Error::is_*` helpers.
type ErrorCheck = fn(&Error) -> bool;

#[tokio::test]
async fn error_bodies_map_to_the_helpers() {
    let cases: Vec<(Reply, ErrorCheck)> = vec![
        (
            Reply::error(400, "invalid_request", "Invalid instance id"),
            Error::is_not_found,
        ),
        (
            Reply::error(404, "not_found", "Instance not found"),
            Error::is_not_found,
        ),
        (
            Reply::error(400, "invalid_request", "Invalid ssh-key ID"),
            Error::is_not_found,
        ),
        (
            Reply::error(402, "insufficient_funds", "Not enough balance"),
            Error::is_insufficient_funds,
        ),
        (
            Reply::error(
                403,
                "forbidden_action",
                "Can't discontinue a discontinued instance",
            ),
            Error::is_already_discontinued,
        ),
        (
            Reply::error(403, "forbidden_action", "nope"),
            Error::is_forbidden,
        ),
        (
            Reply::error(
                400,
                "invalid_request",
                "Can't discontinue a provisioning instance",
            ),
            Error::is_still_provisioning,
        ),
        (
            Reply::error(
                503,
                "service_unavailable",
                "Not enough resources to deploy 1V100.6V in FIN-01",
            ),
            Error::is_no_capacity,
        ),
        (
            Reply::error(503, "service_unavailable", "Down for maintenance"),
            |e: &Error| e.is_retryable() && !e.is_no_capacity(),
        ),
        (
            Reply::error(
                403,
                "forbidden_action",
                "Can't discontinue a discontinued instance",
            ),
            |e: &Error| e.is_forbidden_action() && e.is_gone_on_delete(),
        ),
        (
            Reply::error(404, "not_found", "Instance not found"),
            Error::is_gone_on_delete,
        ),
        (
            Reply::error(
                400,
                "invalid_request",
                "Not enough resources to deploy 1B300.30V",
            ),
            Error::is_no_capacity,
        ),
    ];
    for (reply, check) in cases {
        let server = answering(reply.clone()).await;
        let e = bearer_client(&server, &Sleeps::default())
            .instance(ID)
            .await
            .unwrap_err();
        assert!(check(&e), "{reply:?} -> {e:?}");
    }
    let server = answering(Reply::error(400, "invalid_request", "Invalid status")).await;
    let e = bearer_client(&server, &Sleeps::default())
        .instance(ID)
        .await
        .unwrap_err();
    assert!(
        !e.is_not_found() && !e.is_no_capacity() && !e.is_retryable(),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("GET /instances/{ID}: HTTP 400 invalid_request: Invalid status")
    );
}

fn delete(ids: &[&str]) -> InstanceActionRequest {
    InstanceActionRequest {
        action: InstanceAction::Delete,
        id: ids.iter().map(|s| s.to_string()).collect(),
        volume_ids: Some(vec![]),
        delete_permanently: Some(true),
    }
}

#[tokio::test]
async fn instance_action_sends_the_documented_body_and_accepts_empty_answers() {
    for reply in [
        Reply::text(202, ""),
        Reply::text(204, ""),
        Reply::text(202, "ok"),
    ] {
        let server = answering(reply).await;
        let results = bearer_client(&server, &Sleeps::default())
            .instance_action(&delete(&["a"]))
            .await
            .unwrap();
        assert!(results.is_empty());
        let req = &server.requests()[0];
        assert_eq!(req.line(), "PUT /v1/instances");
        assert_eq!(
            req.json(),
            json!({"action": "delete", "id": ["a"], "volume_ids": [], "delete_permanently": true})
        );
    }
}

#[tokio::test]
async fn a_207_surfaces_the_failed_items() {
    let server = answering(Reply::json(
        207,
        json!([
            {"action": "delete", "instanceId": "a", "status": "success"},
            {"action": "delete", "instanceId": "b", "status": "error",
             "error": "Can't discontinue a provisioning instance", "statusCode": 400}
        ]),
    ))
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .instance_action(&delete(&["a", "b"]))
        .await
        .unwrap_err();
    match &e {
        Error::PartialFailure {
            action,
            succeeded,
            failed,
        } => {
            assert_eq!(action, "delete");
            assert_eq!(succeeded, &["a"]);
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].instance_id, "b");
            assert_eq!(failed[0].status, Some(400));
            assert!(failed[0].is_still_provisioning());
        }
        other => panic!("expected PartialFailure, got {other:?}"),
    }
    assert!(e.is_still_provisioning());
    assert!(
        e.to_string()
            .contains("b (Can't discontinue a provisioning instance)"),
        "{e}"
    );
}

#[tokio::test]
async fn an_all_failed_single_action_answers_the_helpers() {
    let server = answering(Reply::json(
        207,
        json!([{"action": "delete", "instanceId": "a", "status": "error",
                "error": "Can't discontinue a discontinued instance", "statusCode": 400}]),
    ))
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .instance_action(&delete(&["a"]))
        .await
        .unwrap_err();
    assert!(
        e.is_already_discontinued() && !e.is_still_provisioning(),
        "{e:?}"
    );
    let server = answering(Reply::text(207, "not json")).await;
    let e = bearer_client(&server, &Sleeps::default())
        .instance_action(&delete(&["a"]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

#[tokio::test]
async fn volume_clone_returns_new_ids_and_delete_sends_is_permanent() {
    let server = answering(Reply::json(202, json!(["v2"]))).await;
    let client = bearer_client(&server, &Sleeps::default());
    let ids = client
        .volume_action(&VolumeActionRequest {
            action: VolumeAction::Clone,
            id: vec!["v1".into()],
            instance_id: None,
            name: Some("copy".into()),
            size: None,
            is_permanent: None,
            volume_type: None,
        })
        .await
        .unwrap();
    assert_eq!(ids, ["v2"]);
    let server = answering(Reply::text(202, "")).await;
    let client = bearer_client(&server, &Sleeps::default());
    client.delete_volume("v1", true).await.unwrap();
    let req = &server.requests()[0];
    assert_eq!(req.line(), "DELETE /v1/volumes/v1");
    assert_eq!(req.json(), json!({"is_permanent": true}));
}

#[tokio::test]
async fn find_instances_by_hostname_filters_the_list() {
    let server = answering(Reply::json(
        200,
        json!([
            instance_json("1", "kdevops-a", "running"),
            instance_json("2", "other", "running"),
            instance_json("3", "KDEVOPS-A", "provisioning")
        ]),
    ))
    .await;
    let found = bearer_client(&server, &Sleeps::default())
        .find_instances_by_hostname("kdevops-a")
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["1", "3"]
    );
}

#[tokio::test]
async fn catalog_endpoints_decode_real_shapes() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/v1/locations" => Reply::json(
            200,
            json!([{"code": "FIN-01", "name": "Finland 1", "country_code": "FI"}]),
        ),
        "/v1/volume-types" => Reply::json(
            200,
            json!([{"type": "NVMe", "price": {"currency": "usd", "price_per_month_per_gb": 0.2}}]),
        ),
        "/v1/balance" => Reply::json(200, json!({"amount": 50.5, "currency": "usd"})),
        _ => Reply::json(
            200,
            json!([{"id": "x", "image_type": "ubuntu-24.04", "name": "Ubuntu 24.04"}]),
        ),
    })
    .await;
    let client = bearer_client(&server, &Sleeps::default());
    assert_eq!(client.locations().await.unwrap()[0].code, "FIN-01");
    assert_eq!(client.volume_types().await.unwrap()[0].volume_type, "NVMe");
    assert_eq!(client.balance().await.unwrap().amount.to_string(), "50.5");
    assert_eq!(
        client.images(None).await.unwrap()[0].image_type,
        "ubuntu-24.04"
    );
    let server = answering(Reply::json(200, json!({"not": "a list"}))).await;
    let e = bearer_client(&server, &Sleeps::default())
        .locations()
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("GET /locations") && e.to_string().contains("an array of locations"),
        "{e}"
    );
}

#[tokio::test]
async fn bulk_deletes_send_the_documented_bodies() {
    let server = answering(Reply::text(200, "")).await;
    let client = bearer_client(&server, &Sleeps::default());
    client.delete_ssh_keys(&["k1", "k2"]).await.unwrap();
    client.delete_startup_scripts(&["s1"]).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].line(), "DELETE /v1/sshkeys");
    assert_eq!(requests[0].json(), json!({"keys": ["k1", "k2"]}));
    assert_eq!(requests[1].line(), "DELETE /v1/scripts");
    assert_eq!(requests[1].json(), json!({"scripts": ["s1"]}));
}

#[tokio::test]
async fn price_history_and_long_term_periods_paths_and_shapes() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/v1/instance-types/price-history" => Reply::json(
            200,
            json!({"1H100.80S.30V": [{"date": "2026-11-01", "fixed_price_per_hour": 1.99,
                "dynamic_price_per_hour": "1.98", "currency": "usd"}]}),
        ),
        _ => Reply::json(
            200,
            json!([{"code": "3_MONTHS", "name": "3 months", "is_enabled": true,
                "unit_name": "month", "unit_value": 3, "discount_percentage": 10}]),
        ),
    })
    .await;
    let client = bearer_client(&server, &Sleeps::default());
    let history = client
        .instance_type_price_history(Some(6), Some("eur"))
        .await
        .unwrap();
    assert_eq!(
        history["1H100.80S.30V"][0]
            .dynamic_price_per_hour
            .to_string(),
        "1.98"
    );
    for scope in LongTermScope::ALL {
        let periods = client.long_term_periods(scope).await.unwrap();
        assert_eq!(periods[0].code, "3_MONTHS");
    }
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{}?{}", r.path, r.query))
        .collect();
    assert_eq!(
        sent,
        [
            "/v1/instance-types/price-history?num_of_months=6&currency=eur",
            "/v1/long-term/periods?",
            "/v1/long-term/periods/instances?",
            "/v1/long-term/periods/clusters?",
        ]
    );
}
