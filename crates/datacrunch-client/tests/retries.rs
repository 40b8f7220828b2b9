//! Retry behaviour against a real local HTTP server: what is retried, how long the client
//! asks to wait, and the rule that a deploy (or any create) is never repeated once it may
//! have reached the server.

mod support;

use datacrunch_client::models::{CreateSshKeyRequest, DeployInstanceRequest};
use datacrunch_client::{Error, RetryPolicy};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{bearer_client, builder, Reply, Sleeps, TestServer};

/// A server that answers the first `failures` requests with `fail`, then `ok`.
async fn flaky(failures: usize, fail: Reply, ok: Reply) -> TestServer {
    let n = Arc::new(AtomicUsize::new(0));
    TestServer::start(move |_| {
        if n.fetch_add(1, Ordering::SeqCst) < failures {
            fail.clone()
        } else {
            ok.clone()
        }
    })
    .await
}

fn balance_ok() -> Reply {
    Reply::json(200, json!({"amount": 12.5, "currency": "eur"}))
}

fn deploy_request() -> DeployInstanceRequest {
    DeployInstanceRequest {
        location_code: Some("FIN-01".into()),
        ..DeployInstanceRequest::new("1V100.6V", "ubuntu-24.04", "kdevops-xfs-1", "test")
    }
}

#[tokio::test]
async fn get_is_retried_on_500_with_exponential_backoff() {
    let server = flaky(3, Reply::error(500, "server_error", "boom"), balance_ok()).await;
    let sleeps = Sleeps::default();
    let balance = bearer_client(&server, &sleeps).balance().await.unwrap();
    assert_eq!(balance.currency, "eur");
    assert_eq!(server.count("GET /v1/balance"), 4);
    // Jitter draw fixed at 1: the full caps, 100 ms doubling.
    assert_eq!(sleeps.taken(), [100, 200, 400].map(Duration::from_millis));
}

#[tokio::test]
async fn retries_stop_at_max_retries_with_the_last_error() {
    let server = flaky(
        99,
        Reply::text(502, "<html>bad gateway</html>"),
        balance_ok(),
    )
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .balance()
        .await
        .unwrap_err();
    assert_eq!(server.count("GET /v1/balance"), 4);
    let api = e.api().expect("an API error");
    assert_eq!((api.status, api.code.as_ref()), (502, None));
    assert_eq!(api.message, "<html>bad gateway</html>");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let server = flaky(
        1,
        Reply::error(429, "too_many_requests", "slow down").with_header("Retry-After", "7"),
        balance_ok(),
    )
    .await;
    let sleeps = Sleeps::default();
    bearer_client(&server, &sleeps).balance().await.unwrap();
    assert_eq!(sleeps.taken(), [Duration::from_secs(7)]);
}

#[tokio::test]
async fn a_wait_past_the_retry_budget_is_not_taken() {
    let server = flaky(
        1,
        Reply::error(429, "too_many_requests", "slow down").with_header("Retry-After", "3600"),
        balance_ok(),
    )
    .await;
    let sleeps = Sleeps::default();
    let e = bearer_client(&server, &sleeps).balance().await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert_eq!(
        e.api().unwrap().retry_after,
        Some(Duration::from_secs(3600))
    );
    assert!(sleeps.taken().is_empty());
}

/// `Retry-After` is whatever the server says; the largest number it can say ends the
/// retries like any wait past the budget (the overflow it could cause once more than a
/// second has passed is unit-tested in `transport.rs`).
#[tokio::test]
async fn an_absurd_retry_after_ends_the_retries_without_panicking() {
    let server = flaky(
        1,
        Reply::error(429, "too_many_requests", "slow down")
            .with_header("Retry-After", &u64::MAX.to_string()),
        balance_ok(),
    )
    .await;
    let sleeps = Sleeps::default();
    let e = bearer_client(&server, &sleeps).balance().await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert!(sleeps.taken().is_empty());
}

#[tokio::test]
async fn no_retry_on_503_or_4xx() {
    for (status, code) in [
        (503, "service_unavailable"),
        (400, "invalid_request"),
        (404, "not_found"),
    ] {
        let server = flaky(99, Reply::error(status, code, "x"), balance_ok()).await;
        let e = bearer_client(&server, &Sleeps::default())
            .balance()
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(status));
        assert_eq!(server.count("GET /v1/balance"), 1, "{status}");
    }
}

#[tokio::test]
async fn dropped_connections_are_retried_for_gets() {
    let server = flaky(2, Reply::Drop, balance_ok()).await;
    let sleeps = Sleeps::default();
    bearer_client(&server, &sleeps).balance().await.unwrap();
    assert_eq!(server.count("GET /v1/balance"), 3);
    assert_eq!(sleeps.taken().len(), 2);
}

#[tokio::test]
async fn deploy_is_not_retried_on_500_and_its_outcome_is_unknown() {
    for fail in [
        Reply::error(500, "server_error", "boom"),
        Reply::text(502, "bad gateway"),
        Reply::text(504, "gateway timeout"),
    ] {
        let server = flaky(99, fail, Reply::text(202, "new-id")).await;
        let sleeps = Sleeps::default();
        let e = bearer_client(&server, &sleeps)
            .deploy_instance(&deploy_request())
            .await
            .unwrap_err();
        match &e {
            Error::DeployOutcomeUnknown { hostname, source } => {
                assert_eq!(hostname, "kdevops-xfs-1");
                assert!(source.status().unwrap() >= 500);
            }
            other => panic!("expected DeployOutcomeUnknown, got {other:?}"),
        }
        assert!(e.is_outcome_unknown() && !e.is_retryable());
        assert!(e.to_string().contains("kdevops-xfs-1"), "{e}");
        assert_eq!(server.count("POST /v1/instances"), 1);
        assert!(sleeps.taken().is_empty());
    }
}

#[tokio::test]
async fn deploy_is_not_retried_when_the_connection_drops_after_sending() {
    let server = flaky(99, Reply::Drop, Reply::text(202, "new-id")).await;
    let e = bearer_client(&server, &Sleeps::default())
        .deploy_instance(&deploy_request())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::DeployOutcomeUnknown { source, .. } if matches!(**source, Error::Transport { .. })),
        "{e:?}"
    );
    assert_eq!(server.count("POST /v1/instances"), 1);
    // The message goes down to the cause, not just reqwest's "error sending request".
    let shown = e.to_string();
    assert!(
        shown.contains("connection closed before message completed"),
        "{shown}"
    );
    // The request did reach the server, with the whole body.
    assert_eq!(server.requests()[0].json()["hostname"], "kdevops-xfs-1");
}

#[tokio::test]
async fn deploy_timeout_is_an_unknown_outcome() {
    let server = TestServer::start(|_| {
        Reply::Delay(
            Duration::from_secs(5),
            Box::new(Reply::text(202, "late-id")),
        )
    })
    .await;
    let client = builder(&server, &Sleeps::default())
        .bearer_token("t")
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = client.deploy_instance(&deploy_request()).await.unwrap_err();
    assert!(
        matches!(&e, Error::DeployOutcomeUnknown { source, .. } if matches!(**source, Error::Timeout { .. })),
        "{e:?}"
    );
    assert_eq!(server.count("POST /v1/instances"), 1);
}

#[tokio::test]
async fn deploy_503_and_4xx_are_definite_failures() {
    let cases = [
        (
            Reply::error(
                503,
                "service_unavailable",
                "Not enough resources to deploy 1V100.6V in FIN-01",
            ),
            503,
        ),
        (
            Reply::error(402, "insufficient_funds", "Not enough balance"),
            402,
        ),
        (
            Reply::error(
                400,
                "invalid_request",
                "Operating system is not valid for this instance type",
            ),
            400,
        ),
    ];
    for (reply, status) in cases {
        let server = flaky(99, reply, Reply::text(202, "new-id")).await;
        let e = bearer_client(&server, &Sleeps::default())
            .deploy_instance(&deploy_request())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Api(_)), "{e:?}");
        assert_eq!(e.status(), Some(status));
        assert_eq!(e.is_no_capacity(), status == 503);
        assert_eq!(e.is_insufficient_funds(), status == 402);
        assert_eq!(server.count("POST /v1/instances"), 1);
    }
}

#[tokio::test]
async fn deploy_after_429_is_resent_because_it_was_not_processed() {
    let server = flaky(
        1,
        Reply::error(429, "too_many_requests", "slow").with_header("Retry-After", "2"),
        Reply::text(202, "deadc0de-a5d2-4972-ae4e-d429115d055b"),
    )
    .await;
    let sleeps = Sleeps::default();
    let id = bearer_client(&server, &sleeps)
        .deploy_instance(&deploy_request())
        .await
        .unwrap();
    assert_eq!(id, "deadc0de-a5d2-4972-ae4e-d429115d055b");
    assert_eq!(server.count("POST /v1/instances"), 2);
    assert_eq!(sleeps.taken(), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn deploy_to_a_closed_port_is_a_definite_failure() {
    // Bind then drop a listener to get a port nobody listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = datacrunch_client::Client::builder()
        .base_url(format!("http://{addr}/v1"))
        .bearer_token("t")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = client.deploy_instance(&deploy_request()).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(!e.is_outcome_unknown() && e.is_retryable());
}

#[tokio::test]
async fn other_creates_are_not_retried_either() {
    let server = flaky(
        99,
        Reply::error(500, "server_error", "boom"),
        Reply::text(201, "k"),
    )
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .create_ssh_key(&CreateSshKeyRequest {
            name: "k".into(),
            key: "ssh-ed25519 AAAA".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::OutcomeUnknown { operation, .. } if operation == "POST /sshkeys"),
        "{e:?}"
    );
    assert_eq!(server.count("POST /v1/sshkeys"), 1);
}

#[tokio::test]
async fn deploy_answered_with_an_unreadable_id_is_an_unknown_outcome() {
    let server = flaky(
        99,
        Reply::text(202, "<html>created</html>"),
        Reply::text(202, "x"),
    )
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .deploy_instance(&deploy_request())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::DeployOutcomeUnknown { source, .. } if matches!(**source, Error::Decode { .. })),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused_not_buffered() {
    let huge = "x".repeat(17 << 20);
    let server = flaky(99, Reply::text(200, &huge), balance_ok()).await;
    let client = builder(&server, &Sleeps::default())
        .bearer_token("t")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = client.balance().await.unwrap_err();
    assert!(e.to_string().contains("at most 16 MiB"), "{e}");
}
