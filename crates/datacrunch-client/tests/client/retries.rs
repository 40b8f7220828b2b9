//! Retry behaviour against a real local HTTP server: what is retried, how long the client
//! asks to wait, what the final error says, and the rule that a create is never sent
//! again before the client has looked for what a lost attempt may have made.

use crate::support::{
    bearer_client, builder, create, create_nth, deploy_request, fake_api, now, record_of,
    PostScript, Recorded, Reply, Sleeps, TestServer, COLLECTIONS,
};
use datacrunch_client::{Client, Error, RetryPolicy};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
async fn dropped_connections_are_retried_for_gets() {
    let server = flaky(2, Reply::Drop, balance_ok()).await;
    let sleeps = Sleeps::default();
    bearer_client(&server, &sleeps).balance().await.unwrap();
    assert_eq!(server.count("GET /v1/balance"), 3);
    assert_eq!(sleeps.taken().len(), 2);
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

#[tokio::test]
async fn no_retry_on_4xx() {
    for (status, code) in [(400, "invalid_request"), (404, "not_found")] {
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
async fn get_is_retried_on_503_honouring_retry_after_in_seconds() {
    let server = flaky(
        2,
        Reply::error(503, "service_unavailable", "Service unavailable")
            .with_header("Retry-After", "7"),
        balance_ok(),
    )
    .await;
    let sleeps = Sleeps::default();
    bearer_client(&server, &sleeps).balance().await.unwrap();
    assert_eq!(server.count("GET /v1/balance"), 3);
    assert_eq!(sleeps.taken(), [Duration::from_secs(7); 2]);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
    let date = at
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    let server = flaky(
        1,
        Reply::error(503, "service_unavailable", "busy").with_header("Retry-After", &date),
        balance_ok(),
    )
    .await;
    let sleeps = Sleeps::default();
    bearer_client(&server, &sleeps).balance().await.unwrap();
    let waits = sleeps.taken();
    // The date has one-second resolution and a moment passes before it is read.
    assert!(
        waits.len() == 1
            && waits[0] > Duration::from_secs(27)
            && waits[0] <= Duration::from_secs(30),
        "{waits:?} for Retry-After: {date}"
    );
}

#[tokio::test]
async fn the_final_error_gives_attempts_duration_and_the_apis_message() {
    let server = flaky(
        99,
        Reply::error(503, "service_unavailable", "Down for maintenance"),
        balance_ok(),
    )
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .balance()
        .await
        .unwrap_err();
    assert_eq!(server.count("GET /v1/balance"), 4);
    let shown = e.to_string();
    assert!(
        shown.starts_with("GET /balance: HTTP 503 service_unavailable: Down for maintenance (gave up after 4 attempts over "),
        "{shown}"
    );
    assert_eq!(e.attempts(), Some(4));
    // A generic 503 is not a capacity problem, and is worth trying again later.
    assert!(!e.is_no_capacity() && e.is_retryable(), "{e:?}");
}

/// A port nothing listens on.
fn closed_port_url() -> String {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn a_dead_endpoint_is_given_a_few_seconds_then_named() {
    let base = closed_port_url();
    let sleeps = Sleeps::default();
    let record = sleeps.0.clone();
    let client = Client::builder()
        .base_url(&base)
        .bearer_token("t")
        // A policy that would keep retrying a server error for minutes.
        .retry_policy(RetryPolicy {
            max_retries: 10,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            budget: Duration::from_secs(1200),
        })
        .sleep_fn(Arc::new(move |d| {
            record.lock().unwrap().push(d);
            Box::pin(async {})
        }))
        .jitter_fn(Arc::new(|| 1.0))
        .build()
        .unwrap();
    let e = client.balance().await.unwrap_err();
    let waits = sleeps.taken();
    assert_eq!(waits.len(), 3, "{waits:?}");
    assert!(
        waits.iter().sum::<Duration>() <= Duration::from_secs(5),
        "{waits:?}"
    );
    assert!(
        e.is_unreachable() && !e.is_retryable() && !e.is_outcome_unknown(),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("{base}/balance")) && shown.contains("4 attempts"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_deploy_to_a_closed_port_is_a_definite_failure() {
    let client = Client::builder()
        .base_url(closed_port_url())
        .bearer_token("t")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = client.deploy_instance(&deploy_request()).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(e.is_unreachable() && !e.is_outcome_unknown());
}

#[tokio::test]
async fn a_lost_answer_never_makes_a_duplicate() {
    let lost_answers: [PostScript; 3] = [
        // The connection is reset after the object was made.
        |_| (true, Some(Reply::Drop)),
        // The object was made, then a proxy answered 502.
        |_| (true, Some(Reply::text(502, "<html>Bad Gateway</html>"))),
        // The object was made; the answer comes after the client stopped waiting.
        |_| {
            (
                true,
                Some(Reply::Delay(
                    Duration::from_secs(3),
                    Box::new(Reply::text(202, "late")),
                )),
            )
        },
    ];
    for collection in COLLECTIONS {
        for post in lost_answers {
            let api = fake_api(collection, vec![], post).await;
            let client = builder(&api.server, &Sleeps::default())
                .bearer_token("t")
                .timeout(Duration::from_millis(500))
                .build()
                .unwrap();
            let id = create(&client, collection).await.unwrap();
            let post_line = format!("POST /v1/{collection}");
            let get_line = format!("GET /v1/{collection}");
            assert_eq!(api.server.lines(), [post_line, get_line], "{collection}");
            let made = api.made.lock().unwrap().clone();
            assert_eq!(made.len(), 1, "{collection}");
            assert_eq!(made[0]["id"], id.as_str(), "{collection}");
        }
    }
}

#[tokio::test]
async fn a_create_that_did_not_take_effect_is_looked_up_then_sent_again() {
    // A bare 503 (not "no capacity") or a 500, before anything was made.
    let failing_first: [PostScript; 2] = [
        |n| match n {
            0 => (
                false,
                Some(Reply::error(
                    503,
                    "service_unavailable",
                    "Service unavailable",
                )),
            ),
            _ => (true, None),
        },
        |n| match n {
            0 => (false, Some(Reply::error(500, "server_error", "boom"))),
            _ => (true, None),
        },
    ];
    for collection in COLLECTIONS {
        for post in failing_first {
            let api = fake_api(collection, vec![], post).await;
            let sleeps = Sleeps::default();
            let id = create(&bearer_client(&api.server, &sleeps), collection)
                .await
                .unwrap();
            let (post_line, get_line) = (
                format!("POST /v1/{collection}"),
                format!("GET /v1/{collection}"),
            );
            assert_eq!(
                api.server.lines(),
                [post_line.clone(), get_line, post_line],
                "{collection}"
            );
            assert_eq!(api.made.lock().unwrap()[0]["id"], id.as_str());
            assert_eq!(sleeps.taken(), [Duration::from_millis(100)]);
        }
    }
}

#[tokio::test]
async fn older_or_deleted_look_alikes_are_not_taken_for_what_the_deploy_made() {
    let req = serde_json::to_value(deploy_request()).unwrap();
    let mut older = record_of(
        "instances",
        "older",
        &req,
        "2021-06-02T12:56:49.582Z".into(),
    );
    older["status"] = json!("running");
    let mut gone = record_of("instances", "gone", &req, now());
    gone["status"] = json!("discontinued");
    let other_token = record_of(
        "instances",
        "other",
        &json!({"hostname": "kdevops-xfs-1", "tags": [{"key": "create-token", "value": "tok-0"}]}),
        now(),
    );
    let api = fake_api("instances", vec![older, gone, other_token], |n| match n {
        0 => (false, Some(Reply::Drop)),
        _ => (true, None),
    })
    .await;
    let id = create(&bearer_client(&api.server, &Sleeps::default()), "instances")
        .await
        .unwrap();
    assert_eq!(api.server.count("POST /v1/instances"), 2);
    assert_eq!(api.made.lock().unwrap()[0]["id"], id.as_str());
}

#[tokio::test]
async fn a_deploy_that_keeps_failing_reports_attempts_and_never_no_capacity() {
    let api = fake_api("instances", vec![], |_| {
        (
            false,
            Some(Reply::error(
                503,
                "service_unavailable",
                "Service unavailable",
            )),
        )
    })
    .await;
    let e = create(&bearer_client(&api.server, &Sleeps::default()), "instances")
        .await
        .unwrap_err();
    // Four attempts, each followed by a lookup.
    assert_eq!(api.server.count("POST /v1/instances"), 4);
    assert_eq!(api.server.count("GET /v1/instances"), 4);
    assert!(
        !e.is_no_capacity() && !e.is_outcome_unknown() && e.is_retryable(),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(
        shown.contains(
            "HTTP 503 service_unavailable: Service unavailable (gave up after 4 attempts over "
        ),
        "{shown}"
    );
}

#[tokio::test]
async fn the_outcome_is_unknown_only_when_the_lookup_fails() {
    let server = TestServer::start(|req: &Recorded| match req.method.as_str() {
        "POST" => Reply::Drop,
        _ => Reply::error(403, "forbidden_action", "listing is not allowed"),
    })
    .await;
    let e = bearer_client(&server, &Sleeps::default())
        .deploy_instance(&deploy_request())
        .await
        .unwrap_err();
    match &e {
        Error::DeployOutcomeUnknown {
            hostname,
            source,
            lookup,
        } => {
            assert_eq!(hostname, "kdevops-xfs-1");
            assert!(matches!(**source, Error::Transport { .. }), "{source:?}");
            assert!(
                lookup.as_ref().is_some_and(|l| l.is_forbidden_action()),
                "{lookup:?}"
            );
        }
        other => panic!("expected DeployOutcomeUnknown, got {other:?}"),
    }
    assert!(e.is_outcome_unknown() && !e.is_retryable());
    // The message goes down to the cause, not just reqwest's "error sending request".
    let shown = e.to_string();
    assert!(
        shown.contains("connection closed before message completed")
            && shown.contains("listing is not allowed"),
        "{shown}"
    );
    assert_eq!(server.count("POST /v1/instances"), 1);
}

#[tokio::test]
async fn an_unreadable_id_is_looked_up_not_sent_again() {
    let api = fake_api("sshkeys", vec![], |_| {
        (true, Some(Reply::text(202, "<html>created</html>")))
    })
    .await;
    let id = create(&bearer_client(&api.server, &Sleeps::default()), "sshkeys")
        .await
        .unwrap();
    assert_eq!(api.server.count("POST /v1/sshkeys"), 1);
    assert_eq!(api.made.lock().unwrap()[0]["id"], id.as_str());
}

/// The real emulator answering a share of every request with an injected 503: the
/// client's retries carry a whole create-and-read session through without a duplicate.
#[tokio::test]
async fn a_session_survives_injected_503s_against_the_emulator() {
    let emu = datacrunch_emulator::Emulator::builder()
        .fault(
            "*",
            datacrunch_emulator::FaultRule {
                rate_503: 0.3,
                ..Default::default()
            },
        )
        .fault_seed(7)
        .capacity_per_slot(10)
        .build()
        .unwrap()
        .spawn_on_loopback()
        .await
        .unwrap();
    let client = Client::builder()
        .base_url(&emu.base_url)
        .client_credentials(&emu.client_id, &emu.client_secret)
        .retry_policy(RetryPolicy {
            max_retries: 8,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            budget: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    for n in 1..=3 {
        for collection in COLLECTIONS {
            create_nth(&client, collection, n).await.unwrap();
        }
    }
    let mine = client
        .find_instances_by_hostname("kdevops-xfs-1")
        .await
        .unwrap();
    // Three deploys, three instances: none doubled by a retry.
    assert_eq!(mine.len(), 3, "{mine:?}");
    client.instance(&mine[0].id).await.unwrap();
    assert_eq!(client.ssh_keys().await.unwrap().len(), 3);
    assert_eq!(client.startup_scripts().await.unwrap().len(), 3);
}
