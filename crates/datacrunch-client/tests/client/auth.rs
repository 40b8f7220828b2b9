//! Token behaviour against a real local HTTP server: caching, refresh before expiry,
//! fallback when a refresh is refused, one renewal on 401, single flight under
//! concurrency, and no secrets in logs.

use crate::support::{builder, Reply, Sleeps, TestServer};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A token endpoint that issues `t1`, `t2`, … each with refresh token `r1`, `r2`, …,
/// living `expires_in` seconds; `/v1/balance` accepts only the newest token.
async fn token_server(expires_in: u64) -> TestServer {
    let issued = Arc::new(AtomicUsize::new(0));
    TestServer::start(move |req| match req.path.as_str() {
        "/v1/oauth2/token" => {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::json(
                200,
                json!({"access_token": format!("t{n}"), "token_type": "Bearer",
                       "expires_in": expires_in, "refresh_token": format!("r{n}"), "scope": "fullAccess"}),
            )
        }
        "/v1/balance" => {
            let newest = format!("Bearer t{}", issued.load(Ordering::SeqCst));
            if req.header("authorization") == Some(newest.as_str()) {
                Reply::json(200, json!({"amount": 50.5, "currency": "usd"}))
            } else {
                Reply::error(401, "unauthorized_request", "Invalid token")
            }
        }
        _ => Reply::error(404, "not_found", "no route"),
    })
    .await
}

/// A client of `server` logging in with client id `cid` and secret `csecret`.
fn credentials_client(server: &TestServer) -> datacrunch_client::Client {
    builder(server, &Sleeps::default())
        .client_credentials("cid", "csecret")
        .build()
        .unwrap()
}

fn grants(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/oauth2/token")
        .map(|r| r.json()["grant_type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn token_is_fetched_once_and_cached() {
    let server = token_server(3600).await;
    let client = credentials_client(&server);
    client.balance().await.unwrap();
    client.balance().await.unwrap();
    assert_eq!(grants(&server), ["client_credentials"]);
    let token_req = &server.requests()[0];
    assert_eq!(token_req.header("content-type"), Some("application/json"));
    assert_eq!(
        token_req.json(),
        json!({"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"})
    );
    assert_eq!(token_req.header("authorization"), None);
}

#[tokio::test]
async fn token_is_refreshed_before_expiry_with_the_refresh_grant() {
    // A zero lifetime puts the token inside the refresh margin at once.
    let server = token_server(0).await;
    let client = credentials_client(&server);
    client.balance().await.unwrap();
    client.balance().await.unwrap();
    assert_eq!(grants(&server), ["client_credentials", "refresh_token"]);
    let refresh = server.requests()[2].json();
    assert_eq!(
        refresh,
        json!({"grant_type": "refresh_token", "refresh_token": "r1"})
    );
    // The call after the refresh carried the new token.
    assert_eq!(
        server.requests()[3].header("authorization"),
        Some("Bearer t2")
    );
}

#[tokio::test]
async fn refused_refresh_falls_back_to_client_credentials() {
    let issued = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/v1/oauth2/token" if req.json()["grant_type"] == "refresh_token" => {
            Reply::error(401, "invalid_grant", "refresh token expired")
        }
        "/v1/oauth2/token" => {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::json(
                200,
                json!({"access_token": format!("t{n}"), "expires_in": 0, "refresh_token": "r"}),
            )
        }
        _ => Reply::json(200, json!({"amount": 1, "currency": "usd"})),
    })
    .await;
    let client = credentials_client(&server);
    client.balance().await.unwrap();
    client.balance().await.unwrap();
    assert_eq!(
        grants(&server),
        ["client_credentials", "refresh_token", "client_credentials"]
    );
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_retries() {
    let server = token_server(3600).await;
    let client = credentials_client(&server);
    client.balance().await.unwrap();
    // Another process got a newer token: ours is now refused.
    let other = credentials_client(&server);
    other.authenticate().await.unwrap();
    client.balance().await.unwrap();
    assert_eq!(
        server.lines(),
        [
            "POST /v1/oauth2/token",
            "GET /v1/balance",
            "POST /v1/oauth2/token",
            "GET /v1/balance",
            "POST /v1/oauth2/token",
            "GET /v1/balance",
        ]
    );
    // The renewal went through the refresh grant of the cached token.
    assert_eq!(grants(&server)[2], "refresh_token");
}

#[tokio::test]
async fn a_second_401_is_returned_not_retried_forever() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/v1/oauth2/token" => Reply::json(200, json!({"access_token": "t", "expires_in": 3600})),
        _ => Reply::error(401, "unauthorized_request", "nope"),
    })
    .await;
    let client = credentials_client(&server);
    let e = client.balance().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert_eq!(server.count("GET /v1/balance"), 2);
    assert_eq!(server.count("POST /v1/oauth2/token"), 2);
}

#[tokio::test]
async fn a_static_bearer_token_is_never_renewed() {
    let server = TestServer::start(|_| Reply::error(401, "unauthorized_request", "expired")).await;
    let client = builder(&server, &Sleeps::default())
        .bearer_token("static-token")
        .build()
        .unwrap();
    let e = client.balance().await.unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(server.lines(), ["GET /v1/balance"]);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer static-token")
    );
}

#[tokio::test]
async fn bad_credentials_are_an_unauthorized_error() {
    // The token endpoint answers bad client credentials with 401 or 400.
    for (status, code) in [(401, "unauthorized_request"), (400, "invalid_grant")] {
        let server = TestServer::start(move |_| Reply::error(status, code, "Invalid client")).await;
        let client = builder(&server, &Sleeps::default())
            .client_credentials("cid", "wrong")
            .build()
            .unwrap();
        let e = client.authenticate().await.unwrap_err();
        assert!(e.is_unauthorized(), "{e}");
        assert!(e.to_string().contains("/oauth2/token"), "{e}");
        // A refused grant is not retried.
        assert_eq!(server.lines(), ["POST /v1/oauth2/token"]);
    }
}

#[tokio::test]
async fn concurrent_calls_share_one_token_fetch() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/v1/oauth2/token" => Reply::Delay(
            std::time::Duration::from_millis(50),
            Box::new(Reply::json(
                200,
                json!({"access_token": "t", "expires_in": 3600}),
            )),
        ),
        _ => Reply::json(200, json!({"amount": 1, "currency": "usd"})),
    })
    .await;
    let client = credentials_client(&server);
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.balance().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(server.count("POST /v1/oauth2/token"), 1);
    assert_eq!(server.count("GET /v1/balance"), 16);
}

/// A `tracing` writer that keeps everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/v1/oauth2/token" => Reply::json(
            200,
            json!({"access_token": "SENTINEL-ACCESS", "expires_in": 0, "refresh_token": "SENTINEL-REFRESH"}),
        ),
        _ => Reply::error(401, "unauthorized_request", "no"),
    })
    .await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = builder(&server, &Sleeps::default())
        .client_credentials("cid", "SENTINEL-SECRET")
        .build()
        .unwrap();
    let e = client.balance().await.unwrap_err();
    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("/balance"), "nothing logged: {logged}");
    for shown in [
        logged,
        format!("{e:?}"),
        e.to_string(),
        format!("{client:?}"),
    ] {
        assert!(!shown.contains("SENTINEL"), "{shown}");
    }
}

/// A token answer of the wrong shape must not put the token into the error (errors are
/// printed and logged).
#[tokio::test]
async fn a_malformed_token_answer_does_not_leak_the_token_into_the_error() {
    for body in [
        json!("SENTINEL-TOKEN"),
        json!({"access_token": "SENTINEL-TOKEN", "expires_in": "SENTINEL-EXP"}),
        json!({"access_token": ["SENTINEL-TOKEN"]}),
    ] {
        let server = TestServer::start(move |req| match req.path.as_str() {
            "/v1/oauth2/token" => Reply::json(200, body.clone()),
            _ => Reply::error(404, "not_found", "no route"),
        })
        .await;
        let client = credentials_client(&server);
        let e = client.balance().await.unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("/oauth2/token"), "{shown}");
        assert!(!shown.contains("SENTINEL"), "{shown}");
    }
}
