//! Handlers of the public API, `/v1/…`: token, balance, catalog, availability,
//! instances, SSH keys (at `/sshkeys` and `/ssh-keys`), scripts and volumes.

use super::answer::{json, json_bytes, text_id, AppState};
use super::error::HttpError;
use super::extract::{parse_json, ApiJson, ApiPath, OptionalJson, Query, RawBody};
use crate::catalog::Currency;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use datacrunch_models::{
    one_or_many, Balance, CreateSshKeyRequest, CreateStartupScriptRequest, CreateVolumeRequest,
    DeployInstanceRequest, InstanceActionRequest, InstanceActionResult, InstanceStatus, Price,
    TokenRequest, VolumeActionRequest, VolumeStatus,
};
use serde::Deserialize;

pub(super) type ApiResult = Result<Response, HttpError>;

/// Routes that need no bearer token.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/oauth2/token", post(token))
}

/// Routes behind the bearer token.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/balance", get(balance))
        .route("/instance-types", get(instance_types))
        .route("/instance-types/{instance_type}", get(instance_type))
        .route("/images", get(images))
        .route("/locations", get(locations))
        .route("/volume-types", get(volume_types))
        .route("/instance-availability", get(availability))
        .route("/instance-availability/{instance_type}", get(is_available))
        .route("/instances/availability/{instance_type}", get(is_available))
        .route(
            "/instances",
            get(list_instances).post(deploy).put(instance_action),
        )
        .route("/instances/action", put(instance_action))
        .route("/instances/{id}", get(get_instance))
        .route(
            "/sshkeys",
            get(list_keys).post(create_key).delete(delete_keys),
        )
        .route(
            "/ssh-keys",
            get(list_keys).post(create_key).delete(delete_keys),
        )
        .route("/sshkeys/{id}", get(get_key).delete(delete_key))
        .route("/ssh-keys/{id}", get(get_key).delete(delete_key))
        .route(
            "/scripts",
            get(list_scripts).post(create_script).delete(delete_scripts),
        )
        .route("/scripts/{id}", get(get_script).delete(delete_script))
        .route(
            "/volumes",
            get(list_volumes).post(create_volume).put(volume_action),
        )
        .route("/volumes/trash", get(trash))
        .route("/volumes/{id}", get(get_volume).delete(delete_volume))
}

/// `POST /oauth2/token`: JSON (the SDKs) or form-encoded (kdevops) bodies.
async fn token(State(s): State<AppState>, headers: HeaderMap, RawBody(body): RawBody) -> ApiResult {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let looks_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let req: TokenRequest = if form || !looks_like_json && !body.is_empty() {
        serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::invalid(format!("Invalid form body: {e}")))?
    } else {
        parse_json(&body)?
    };
    Ok(json(StatusCode::OK, &s.auth.grant(&req)?))
}

async fn balance(State(s): State<AppState>) -> ApiResult {
    let amount = s.with(|w, now| Ok(w.balance(now)))?;
    Ok(json(
        StatusCode::OK,
        &Balance {
            amount: Price(amount),
            currency: "usd".to_owned(),
        },
    ))
}

pub(super) fn currency(q: &Query) -> Result<Currency, ApiError> {
    Currency::parse(q.get(&["currency"])).map_err(ApiError::invalid)
}

async fn instance_types(State(s): State<AppState>, q: Query) -> ApiResult {
    let bytes = match currency(&q)? {
        Currency::Usd => s.catalog.types_json_usd.clone(),
        Currency::Eur => s.catalog.types_json_eur.clone(),
    };
    Ok(json_bytes(StatusCode::OK, bytes))
}

fn unknown_type(name: &str) -> ApiError {
    ApiError::not_found(format!("Invalid instance type {name:?}"))
}

async fn instance_type(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
    q: Query,
) -> ApiResult {
    let entry = s
        .catalog
        .instance_type(&name)
        .ok_or_else(|| unknown_type(&name))?;
    Ok(json(
        StatusCode::OK,
        &s.catalog.instance_type_in(entry, currency(&q)?),
    ))
}

async fn images(State(s): State<AppState>, q: Query) -> ApiResult {
    let Some(name) = q.get(&["instance_type"]) else {
        return Ok(json_bytes(StatusCode::OK, s.catalog.images_json.clone()));
    };
    let entry = s
        .catalog
        .instance_type(name)
        .ok_or_else(|| ApiError::invalid(format!("Invalid instance_type {name:?}")))?;
    let images: Vec<_> = s
        .catalog
        .images
        .iter()
        .filter(|i| crate::catalog::Catalog::image_supported(entry, &i.image_type))
        .collect();
    Ok(json(StatusCode::OK, &images))
}

async fn locations(State(s): State<AppState>) -> Response {
    json_bytes(StatusCode::OK, s.catalog.locations_json.clone())
}

async fn volume_types(State(s): State<AppState>) -> Response {
    json_bytes(StatusCode::OK, s.catalog.volume_types_json.clone())
}

/// `is_spot`/`isSpot` and `location_code`/`locationCode`, every spelling clients use.
fn availability_query(s: &AppState, q: &Query) -> Result<(bool, Option<String>), ApiError> {
    let is_spot = q.bool(&["is_spot", "isSpot"])?.unwrap_or(false);
    let location = q.get(&["location_code", "locationCode"]).map(str::to_owned);
    if let Some(loc) = &location {
        if !s.catalog.is_location(loc) {
            return Err(ApiError::invalid(format!("Invalid location_code {loc:?}")));
        }
    }
    Ok((is_spot, location))
}

async fn availability(State(s): State<AppState>, q: Query) -> ApiResult {
    let (is_spot, location) = availability_query(&s, &q)?;
    let list = s.with(|w, _| Ok(w.availability(is_spot, location.as_deref())))?;
    Ok(json(StatusCode::OK, &list))
}

async fn is_available(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
    q: Query,
) -> ApiResult {
    if s.catalog.instance_type(&name).is_none() {
        return Err(unknown_type(&name).into());
    }
    let (is_spot, location) = availability_query(&s, &q)?;
    let available = s.with(|w, _| Ok(w.is_available(&name, is_spot, location.as_deref())))?;
    Ok(json(StatusCode::OK, &available))
}

/// The `?status=` filter of the list endpoints: absent, or a status the service knows;
/// anything else is 400 listing the statuses expected (the real API refuses them too).
pub(super) fn status_filter<'a, T>(
    q: &Query,
    parse: fn(&str) -> T,
    is_known: fn(&T) -> bool,
    known: impl Iterator<Item = &'a str>,
) -> Result<Option<T>, ApiError> {
    let Some(raw) = q.get(&["status"]) else {
        return Ok(None);
    };
    let status = parse(raw);
    if !is_known(&status) {
        let known: Vec<&str> = known.collect();
        return Err(ApiError::invalid(format!(
            "Invalid status {raw:?}: expected one of {}",
            known.join(", ")
        )));
    }
    Ok(Some(status))
}

async fn list_instances(State(s): State<AppState>, q: Query) -> ApiResult {
    let status = status_filter(
        &q,
        InstanceStatus::parse,
        InstanceStatus::is_known,
        InstanceStatus::KNOWN.iter().map(InstanceStatus::as_str),
    )?;
    let bytes = s.with(|w, _| Ok(w.instances_json(status)))?;
    Ok(json_bytes(StatusCode::OK, bytes))
}

async fn get_instance(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let instance = s.with(|w, _| w.instance(&id))?;
    Ok(json(StatusCode::OK, &instance))
}

async fn deploy(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<DeployInstanceRequest>,
) -> ApiResult {
    let id = s.with(|w, now| w.deploy(req, now))?;
    Ok(text_id(StatusCode::ACCEPTED, id))
}

/// `PUT /instances`: 202 when every item succeeded, 207 with per-item errors when some
/// failed. A single-id request that fails gets that item's error as the answer, which
/// is how clients see "Can't discontinue a provisioning instance".
async fn instance_action(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<InstanceActionRequest>,
) -> ApiResult {
    let items = s.with(|w, now| w.instance_action(&req, now))?;
    if let [(_, Err(e))] = items.as_slice() {
        return Err(e.clone().into());
    }
    let all_ok = items.iter().all(|(_, r)| r.is_ok());
    let results: Vec<InstanceActionResult> = items
        .into_iter()
        .map(|(id, r)| InstanceActionResult {
            action: req.action.as_str().to_owned(),
            instance_id: id,
            status: if r.is_ok() { "success" } else { "error" }.to_owned(),
            status_code: r.as_ref().err().map(ApiError::status_code),
            error: r.err().map(|e| e.message),
        })
        .collect();
    let status = if all_ok {
        StatusCode::ACCEPTED
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(json(status, &results))
}

async fn list_keys(State(s): State<AppState>) -> ApiResult {
    let keys = s.with(|w, _| Ok(w.ssh_keys().to_vec()))?;
    Ok(json(StatusCode::OK, &keys))
}

/// GET by id answers a one-element array, as the real API does.
async fn get_key(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let key = s.with(|w, _| w.ssh_key(&id))?;
    Ok(json(StatusCode::OK, &[key]))
}

async fn create_key(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateSshKeyRequest>,
) -> ApiResult {
    let id = s.with(|w, now| w.create_ssh_key(req, now))?;
    Ok(text_id(StatusCode::CREATED, id))
}

#[derive(Deserialize)]
struct DeleteKeys {
    #[serde(deserialize_with = "one_or_many")]
    keys: Vec<String>,
}

async fn delete_keys(State(s): State<AppState>, ApiJson(req): ApiJson<DeleteKeys>) -> ApiResult {
    s.with(|w, _| w.delete_ssh_keys(&req.keys))?;
    Ok(StatusCode::OK.into_response())
}

/// Deleting a key that does not exist is not an error (dstack relies on it).
async fn delete_key(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    s.with(|w, _| w.delete_ssh_keys(&[id]))?;
    Ok(StatusCode::OK.into_response())
}

async fn list_scripts(State(s): State<AppState>) -> ApiResult {
    let scripts = s.with(|w, _| Ok(w.scripts().to_vec()))?;
    Ok(json(StatusCode::OK, &scripts))
}

async fn get_script(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let script = s.with(|w, _| w.script(&id))?;
    Ok(json(StatusCode::OK, &[script]))
}

async fn create_script(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateStartupScriptRequest>,
) -> ApiResult {
    let id = s.with(|w, now| w.create_script(req, now))?;
    Ok(text_id(StatusCode::CREATED, id))
}

#[derive(Deserialize)]
struct DeleteScripts {
    #[serde(deserialize_with = "one_or_many")]
    scripts: Vec<String>,
}

async fn delete_scripts(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<DeleteScripts>,
) -> ApiResult {
    s.with(|w, _| w.delete_scripts(&req.scripts))?;
    Ok(StatusCode::OK.into_response())
}

async fn delete_script(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    s.with(|w, _| w.delete_scripts(&[id]))?;
    Ok(StatusCode::OK.into_response())
}

async fn list_volumes(State(s): State<AppState>, q: Query) -> ApiResult {
    let status = status_filter(
        &q,
        VolumeStatus::parse,
        VolumeStatus::is_known,
        VolumeStatus::KNOWN.iter().map(VolumeStatus::as_str),
    )?;
    let volumes = s.with(|w, _| Ok(w.volumes(status.as_ref())))?;
    Ok(json(StatusCode::OK, &volumes))
}

async fn get_volume(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let volume = s.with(|w, _| w.volume(&id))?;
    Ok(json(StatusCode::OK, &volume))
}

async fn trash(State(s): State<AppState>) -> ApiResult {
    let volumes = s.with(|w, _| Ok(w.trash()))?;
    Ok(json(StatusCode::OK, &volumes))
}

async fn create_volume(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateVolumeRequest>,
) -> ApiResult {
    let id = s.with(|w, now| w.create_volume(req, now))?;
    Ok(text_id(StatusCode::ACCEPTED, id))
}

/// `PUT /volumes`: 202; `clone` answers the JSON array of new ids.
async fn volume_action(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<VolumeActionRequest>,
) -> ApiResult {
    match s.with(|w, now| w.volume_action(&req, now))? {
        Some(ids) => Ok(json(StatusCode::ACCEPTED, &ids)),
        None => Ok(StatusCode::ACCEPTED.into_response()),
    }
}

#[derive(Deserialize)]
struct DeleteVolume {
    #[serde(default)]
    is_permanent: Option<bool>,
}

/// `DELETE /volumes/{id}`: permanent with a JSON body `is_permanent`, `?is_permanent=`
/// or `?force=true` (clients disagree; all three work).
async fn delete_volume(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    q: Query,
    OptionalJson(body): OptionalJson<DeleteVolume>,
) -> ApiResult {
    let permanent = body.and_then(|b| b.is_permanent).unwrap_or(false)
        || q.bool(&["is_permanent"])?.unwrap_or(false)
        || q.bool(&["force"])?.unwrap_or(false);
    s.with(|w, now| w.delete_volume(&id, permanent, now))?;
    Ok(StatusCode::ACCEPTED.into_response())
}
