//! `wait_for_instance` and `find_offer` against a real local HTTP server.

use crate::support::{builder, instance_json, Reply, Sleeps, TestServer};
use datacrunch_client::models::InstanceStatus;
use datacrunch_client::offer::{OfferQuery, SkipReason, TierGroup};
use datacrunch_client::{Client, PollPolicy, WaitError};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Answers `GET /instances/i` with the given statuses in turn, repeating the last one.
async fn status_sequence(statuses: &'static [&'static str]) -> TestServer {
    let n = Arc::new(AtomicUsize::new(0));
    TestServer::start(move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst).min(statuses.len() - 1);
        Reply::json(200, instance_json("i", "h", statuses[i]))
    })
    .await
}

fn fast_client(server: &TestServer) -> Client {
    builder(server, &Sleeps::default())
        .bearer_token("t")
        .poll_policy(PollPolicy {
            initial: Duration::from_millis(1),
            factor: 1.5,
            max: Duration::from_millis(5),
        })
        .build()
        .unwrap()
}

fn later(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

fn is_running(i: &datacrunch_client::models::Instance) -> bool {
    i.status == InstanceStatus::Running
}

#[tokio::test]
async fn waits_until_the_target_holds() {
    let server = status_sequence(&["ordered", "provisioning", "provisioning", "running"]).await;
    let got = fast_client(&server)
        .wait_for_instance("i", is_running, later(30), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(got.status, InstanceStatus::Running);
    assert_eq!(server.count("GET /v1/instances/i"), 4);
}

#[tokio::test]
async fn stops_early_on_a_failed_status() {
    let server = status_sequence(&["provisioning", "no_capacity", "running"]).await;
    let e = fast_client(&server)
        .wait_for_instance("i", is_running, later(30), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            WaitError::Failed {
                status: InstanceStatus::NoCapacity,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(server.count("GET /v1/instances/i"), 2);
}

#[tokio::test]
async fn a_target_that_accepts_failed_states_wins() {
    let server = status_sequence(&["deleting", "discontinued"]).await;
    let got = fast_client(&server)
        .wait_for_instance(
            "i",
            |i| i.status == InstanceStatus::Discontinued,
            later(30),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    // `deleting` is a failed status for a wait that wants `discontinued` only.
    assert!(matches!(
        got,
        WaitError::Failed {
            status: InstanceStatus::Deleting,
            ..
        }
    ));
    let got = fast_client(&server)
        .wait_for_instance(
            "i",
            |i| i.status.is_gone(),
            later(30),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(got.status, InstanceStatus::Discontinued);
}

#[tokio::test]
async fn reports_gone_on_not_found() {
    let server =
        TestServer::start(|_| Reply::error(400, "invalid_request", "Invalid instance id")).await;
    let e = fast_client(&server)
        .wait_for_instance("i", is_running, later(30), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, WaitError::Gone { ref id } if id == "i"),
        "{e:?}"
    );
}

#[tokio::test]
async fn times_out_with_the_last_status() {
    // The first poll answers at once; the next hangs past the deadline, so the outcome
    // does not depend on how fast a loaded machine runs the first one.
    let n = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(move |_| {
        let reply = Reply::json(200, instance_json("i", "h", "provisioning"));
        match n.fetch_add(1, Ordering::SeqCst) {
            0 => reply,
            _ => Reply::Delay(Duration::from_secs(30), Box::new(reply)),
        }
    })
    .await;
    let e = fast_client(&server)
        .wait_for_instance("i", is_running, later(3), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            WaitError::Timeout {
                last_status: Some(InstanceStatus::Provisioning),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn honours_cancellation() {
    let server = status_sequence(&["provisioning"]).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.cancel();
    });
    let e = fast_client(&server)
        .wait_for_instance("i", is_running, later(60), &cancel)
        .await
        .unwrap_err();
    assert!(matches!(e, WaitError::Cancelled { .. }), "{e:?}");
}

#[tokio::test]
async fn transient_errors_do_not_end_the_wait_but_others_do() {
    let n = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(move |_| match n.fetch_add(1, Ordering::SeqCst) {
        // More 500s than the client retries in one call.
        0..=5 => Reply::error(500, "server_error", "boom"),
        _ => Reply::json(200, instance_json("i", "h", "running")),
    })
    .await;
    fast_client(&server)
        .wait_for_instance("i", is_running, later(30), &CancellationToken::new())
        .await
        .unwrap();
    let server = TestServer::start(|_| Reply::error(403, "forbidden_action", "no")).await;
    let e = fast_client(&server)
        .wait_for_instance("i", is_running, later(30), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, WaitError::Client { ref source, .. } if source.is_forbidden()),
        "{e:?}"
    );
}

fn catalog() -> serde_json::Value {
    json!([
        {"instance_type": "1H100.80S.30V", "price_per_hour": "1.99", "spot_price": "1.00", "currency": "usd"},
        {"instance_type": "1H100.80S.32V", "price_per_hour": "2.29", "spot_price": "0.80", "currency": "usd"},
        {"instance_type": "1A100.22V", "price_per_hour": "1.16", "spot_price": "0.58", "currency": "usd"},
        {"instance_type": "1L40S.20V", "price_per_hour": "0.91", "currency": "usd"}
    ])
}

/// On-demand H100s only in FIN-03; spot H100 .32V in FIN-01.
async fn market() -> TestServer {
    TestServer::start(|req| match (req.path.as_str(), req.query.as_str()) {
        ("/v1/instance-types", _) => Reply::json(200, catalog()),
        ("/v1/instance-availability", "is_spot=true") => Reply::json(
            200,
            json!([{"location_code": "FIN-01", "availabilities": ["1H100.80S.32V"]}]),
        ),
        ("/v1/instance-availability", "is_spot=false") => Reply::json(
            200,
            json!([{"location_code": "FIN-01", "availabilities": ["1L40S.20V"]},
                   {"location_code": "FIN-03", "availabilities": ["1H100.80S.30V", "1A100.22V"]}]),
        ),
        _ => Reply::error(404, "not_found", "no route"),
    })
    .await
}

fn h100_or_less() -> Vec<String> {
    TierGroup::H100OrLess
        .instance_types()
        .iter()
        .map(|t| t.to_string())
        .collect()
}

#[tokio::test]
async fn find_offer_queries_the_right_availability_list() {
    let server = market().await;
    let client = builder(&server, &Sleeps::default())
        .bearer_token("t")
        .build()
        .unwrap();
    let on_demand = client
        .find_offer(
            &OfferQuery {
                candidates: h100_or_less(),
                ..OfferQuery::default()
            },
            None,
        )
        .await
        .unwrap();
    let offer = on_demand.offer.unwrap();
    assert_eq!(
        (offer.instance_type.as_str(), offer.location.as_str()),
        ("1H100.80S.30V", "FIN-03")
    );
    assert_eq!(offer.price_per_hour.to_string(), "1.99");

    let spot = client
        .find_offer(
            &OfferQuery {
                candidates: h100_or_less(),
                is_spot: true,
                ..OfferQuery::default()
            },
            None,
        )
        .await
        .unwrap();
    let offer = spot.offer.clone().unwrap();
    assert_eq!(
        (offer.instance_type.as_str(), offer.location.as_str()),
        ("1H100.80S.32V", "FIN-01")
    );
    assert_eq!(offer.price_per_hour.to_string(), "0.8");
    assert_eq!(spot.skipped.len(), 1);
    assert_eq!(spot.skipped[0].reason, SkipReason::NotAvailable);

    let restricted = client
        .find_offer(
            &OfferQuery {
                candidates: h100_or_less(),
                locations: vec!["FIN-01".into()],
                ..OfferQuery::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(restricted.offer.unwrap().instance_type, "1L40S.20V");
}
