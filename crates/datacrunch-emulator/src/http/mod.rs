//! The HTTP surface: the public API under `/v1` (`api`, `clusters`, `pricing`,
//! `tags`), the admin API under `/admin` (`admin`, guarded by `loopback`: local peers
//! addressing a local host), and the
//! middleware every request passes: a one-line log, request counters and fault
//! injection keyed by method + route template, bearer-token checks, and
//! `{code, message}` bodies for unknown routes and methods.

mod admin;
mod answer;
mod api;
mod clusters;
mod error;
pub mod extract;
mod loopback;
mod pricing;
mod tags;

pub use answer::AppState;
pub use error::HttpError;

use crate::error::ApiError;
use crate::faults::Fault;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use datacrunch_models::ErrorCode;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Per-connection facts the accept loop hands to every request, and the means to end
/// that connection without an answer (the "drop" and "lost answer" faults).
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    abort: CancellationToken,
    reset: Arc<AtomicBool>,
}

impl ConnInfo {
    pub fn new(peer: SocketAddr) -> ConnInfo {
        ConnInfo {
            peer,
            abort: CancellationToken::new(),
            reset: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Closes the connection without an answer (an orderly close: the client reads EOF).
    pub fn close(&self) {
        self.abort.cancel();
    }

    /// Resets the connection without an answer (the client reads ECONNRESET).
    pub fn reset(&self) {
        self.reset.store(true, Ordering::Relaxed);
        self.abort.cancel();
    }

    /// Completes once [`close`](Self::close) or [`reset`](Self::reset) was called.
    pub fn aborted(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.abort.cancelled()
    }

    /// The flag the socket reads when it is dropped: set, it resets rather than closes.
    pub fn reset_flag(&self) -> Arc<AtomicBool> {
        self.reset.clone()
    }
}

/// The largest request body read: the biggest real payload (a startup script) is a few
/// KiB. A larger body gets 413 with the JSON error shape.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// The whole router: `/v1/…`, `/admin/…`, and JSON 404/405 answers for the rest.
pub fn router(state: AppState) -> Router {
    let v1 = api::routes()
        .merge(clusters::routes())
        .merge(pricing::routes())
        .merge(tags::routes())
        .route_layer(from_fn_with_state(state.clone(), require_token))
        .merge(api::public_routes())
        .layer(from_fn_with_state(state.clone(), count_and_inject_faults));
    Router::new()
        .nest("/v1", v1)
        .nest(
            "/admin",
            admin::routes().layer(from_fn(loopback::loopback_only)),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), date_from_clock))
        .layer(from_fn(log_request))
        .with_state(state)
}

/// The `Date` header on the virtual clock, as the real API sends its own: clients that
/// measure running time on the server's clock (`status`) then follow an advanced
/// clock. (hyper would add the wall-clock date otherwise.)
async fn date_from_clock(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&crate::clock::http_date(state.clock.now())) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

async fn unknown_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("No route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> HttpError {
    HttpError::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        ApiError::invalid(format!("Method {method} is not allowed on {}", uri.path())),
    )
}

/// One line per request on stderr.
async fn log_request(req: Request, next: Next) -> Response {
    // Under load with logging off, skip even the copies of method and path.
    if !tracing::enabled!(target: "datacrunch_emulator::request", tracing::Level::INFO) {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    tracing::info!(
        target: "datacrunch_emulator::request",
        "{method} {path} {} {:.1}ms",
        response.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// Counts the request under its endpoint key, then applies any fault rule for it.
async fn count_and_inject_faults(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", |m| m.as_str());
    state.counters.bump(req.method(), route);
    if !state.faults.active() {
        return next.run(req).await;
    }
    let key = format!("{} {route}", req.method());
    let (latency, fault) = state.faults.decide(&key);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::None => {}
        Fault::Drop => {
            if let Some(conn) = req.extensions().get::<ConnInfo>() {
                tracing::info!(endpoint = %key, "fault: dropping the connection");
                conn.close();
                // The connection task closes the socket; this answer is never sent.
                std::future::pending::<()>().await;
            }
            return ApiError::server("Injected fault: connection dropped").into_response();
        }
        Fault::LoseAnswer => {
            let conn = req.extensions().get::<ConnInfo>().cloned();
            // Handled in full first: whatever the request does is done and stored.
            let answer = next.run(req).await;
            if let Some(conn) = conn {
                tracing::info!(
                    endpoint = %key,
                    status = answer.status().as_u16(),
                    "fault: answer lost, resetting the connection"
                );
                conn.reset();
                std::future::pending::<()>().await;
            }
            return ApiError::server("Injected fault: answer lost").into_response();
        }
        Fault::TooManyRequests { retry_after_secs } => {
            let response = ApiError::new(
                ErrorCode::TooManyRequests,
                "Too many requests (injected fault)",
            )
            .into_response();
            return with_retry_after(response, Some(retry_after_secs));
        }
        Fault::ServerError => {
            return ApiError::server("Internal server error (injected fault)").into_response()
        }
        Fault::Unavailable { retry_after_secs } => {
            let response =
                ApiError::unavailable("Service unavailable (injected fault)").into_response();
            return with_retry_after(response, retry_after_secs);
        }
        Fault::Revoke => {
            if let Some(h) = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
            {
                tracing::info!(endpoint = %key, "fault: revoking the bearer token");
                state.auth.revoke(h);
            }
        }
    }
    next.run(req).await
}

fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    match state.auth.check(header) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}
