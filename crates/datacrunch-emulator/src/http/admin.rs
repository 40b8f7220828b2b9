//! The admin API, `/admin/…`: no token, loopback clients only. Inspect state (with
//! deleted-instance history), steer capacity, balance, the storage quota, faults and
//! the clock, make an instance stuck, discontinue a spot instance, reset, and read the
//! request counters benchmarks and provider tests count API calls with.

use super::answer::{json, AppState};
use super::error::HttpError;
use super::extract::{ApiJson, ApiPath, Query};
use crate::error::ApiError;
use crate::faults::{FaultRule, ANY_ENDPOINT};
use crate::shared::AdminHandle;
use crate::world::Slot;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use datacrunch_models::{InstanceStatus, Price, VolumeStatus};
use serde::Deserialize;
use serde_json::json as j;

type ApiResult = Result<Response, HttpError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/state", get(state))
        .route("/instances", get(instances))
        .route("/instances/{id}/stuck", put(make_stuck))
        .route("/instances/{id}/discontinue", put(discontinue_spot))
        .route("/storage", get(storage).put(set_storage_quota))
        .route("/capacity", get(capacity).put(set_capacity))
        .route("/balance", put(set_balance))
        .route("/faults", get(faults).put(set_fault).delete(clear_faults))
        .route("/faults/seed", post(reseed))
        .route("/faults/injected", get(injected_faults))
        .route("/no-capacity-late", put(set_late))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/reset", post(reset))
        .route("/counters", get(counters).delete(reset_counters))
        .route("/tokens/revoke", post(revoke_tokens))
        .route("/nodes", get(nodes))
}

fn admin(s: &AppState) -> AdminHandle {
    AdminHandle(s.clone())
}

fn ok() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The node mode, why sandboxes are off if they are, and each running node's address,
/// ssh port and readiness.
async fn nodes(State(s): State<AppState>) -> ApiResult {
    Ok(json(StatusCode::OK, &admin(&s).nodes()))
}

async fn state(State(s): State<AppState>) -> ApiResult {
    let body = s.with(|w, now| {
        let mut volumes = w.volumes(None);
        volumes.extend(w.volumes(Some(&VolumeStatus::Deleted)));
        Ok(j!({
            "clock": {"now": crate::clock::iso8601(now), "offset_ms": s.clock.offset()},
            "balance": Price(w.balance(now)),
            "instances": w.instance_history(now),
            "clusters": w.cluster_history(now),
            "volumes": volumes,
            "ssh_keys": w.ssh_keys(),
            "scripts": w.scripts(),
            "capacity": w.capacity(),
        }))
    })?;
    Ok(json(StatusCode::OK, &body))
}

async fn instances(State(s): State<AppState>) -> Response {
    json(StatusCode::OK, &admin(&s).instances())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MakeStuck {
    status: String,
}

/// `PUT /admin/instances/{id}/stuck` with `{"status": "provisioning"}` or `"error"`:
/// the instance stays there and refuses a normal delete (only `delete_stuck` works).
async fn make_stuck(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MakeStuck>,
) -> ApiResult {
    let status = InstanceStatus::parse(&req.status);
    s.with(|w, _| w.make_stuck(&id, status))?;
    Ok(ok())
}

/// `PUT /admin/instances/{id}/discontinue`: the provider takes the spot instance back;
/// each of its volumes follows its `on_spot_discontinue` policy.
async fn discontinue_spot(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    admin(&s).discontinue_spot(&id)?;
    Ok(ok())
}

/// `GET /admin/storage`: the storage quota, what is used and how much of it the trash
/// holds.
async fn storage(State(s): State<AppState>) -> ApiResult {
    Ok(json(StatusCode::OK, &admin(&s).storage()?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetStorageQuota {
    quota_gb: u64,
}

/// `PUT /admin/storage` with `{"quota_gb": N}`.
async fn set_storage_quota(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<SetStorageQuota>,
) -> ApiResult {
    admin(&s).set_storage_quota(req.quota_gb)?;
    Ok(ok())
}

async fn capacity(State(s): State<AppState>) -> Response {
    json(StatusCode::OK, &admin(&s).capacity())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetCapacity {
    instance_type: String,
    location_code: String,
    #[serde(default)]
    is_spot: bool,
    total: u32,
}

async fn set_capacity(State(s): State<AppState>, ApiJson(req): ApiJson<SetCapacity>) -> ApiResult {
    let slot = Slot {
        instance_type: req.instance_type,
        location: req.location_code,
        is_spot: req.is_spot,
    };
    s.with(|w, _| w.set_capacity(slot, req.total))?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBalance {
    amount: Price,
}

async fn set_balance(State(s): State<AppState>, ApiJson(req): ApiJson<SetBalance>) -> Response {
    admin(&s).set_balance(req.amount.0);
    ok()
}

async fn faults(State(s): State<AppState>) -> Response {
    json(StatusCode::OK, &s.faults.rules())
}

/// `GET /admin/faults/injected`: how many faults of each kind were injected so far.
async fn injected_faults(State(s): State<AppState>) -> Response {
    json(StatusCode::OK, &admin(&s).injected_faults())
}

/// `PUT /admin/faults`: a [`FaultRule`] plus an optional `endpoint`
/// (`"GET /v1/instances"`, default `"*"`). Unknown keys are refused, so a typo does not
/// silently inject nothing.
async fn set_fault(
    State(s): State<AppState>,
    ApiJson(mut body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult {
    let endpoint = match body.remove("endpoint") {
        None | Some(serde_json::Value::Null) => ANY_ENDPOINT.to_owned(),
        Some(serde_json::Value::String(e)) => e,
        Some(other) => {
            return Err(ApiError::invalid(format!("endpoint must be a string, got {other}")).into())
        }
    };
    let rule: FaultRule = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|e| ApiError::invalid(format!("Invalid fault rule: {e}")))?;
    admin(&s)
        .set_fault(&endpoint, rule)
        .map_err(ApiError::invalid)?;
    Ok(ok())
}

async fn clear_faults(State(s): State<AppState>) -> Response {
    admin(&s).clear_faults();
    ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    seed: u64,
}

async fn reseed(State(s): State<AppState>, ApiJson(req): ApiJson<Seed>) -> Response {
    s.faults.reseed(req.seed);
    ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLate {
    instance_type: String,
    location_code: String,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

async fn set_late(State(s): State<AppState>, ApiJson(req): ApiJson<SetLate>) -> ApiResult {
    s.with(|w, _| w.set_late_no_capacity(&req.instance_type, &req.location_code, req.enabled))?;
    Ok(ok())
}

async fn clock(State(s): State<AppState>) -> Response {
    let now = s.clock.now();
    json(
        StatusCode::OK,
        &j!({"now": crate::clock::iso8601(now), "now_ms": now, "offset_ms": s.clock.offset()}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

async fn advance(State(s): State<AppState>, ApiJson(req): ApiJson<Advance>) -> ApiResult {
    // A century is far more than any test needs, and keeps clock arithmetic in range.
    const MAX_SECONDS: f64 = 100.0 * 365.0 * 86_400.0;
    let by = std::time::Duration::try_from_secs_f64(req.seconds)
        .ok()
        .filter(|_| req.seconds <= MAX_SECONDS)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "seconds must be 0 to {MAX_SECONDS}, got {}",
                req.seconds
            ))
        })?;
    admin(&s).advance_clock(by);
    Ok(clock(State(s)).await)
}

async fn reset(State(s): State<AppState>) -> ApiResult {
    admin(&s).reset()?;
    Ok(ok())
}

/// `GET /admin/counters[?prefix=GET%20/v1/instances]`.
async fn counters(State(s): State<AppState>, q: Query) -> Response {
    let prefix = q.get(&["prefix"]).unwrap_or_default().to_owned();
    let mut all = admin(&s).counters();
    all.retain(|k, _| k.starts_with(&prefix));
    json(StatusCode::OK, &all)
}

async fn reset_counters(State(s): State<AppState>) -> Response {
    admin(&s).reset_counters();
    ok()
}

async fn revoke_tokens(State(s): State<AppState>) -> Response {
    admin(&s).revoke_all_tokens();
    ok()
}
