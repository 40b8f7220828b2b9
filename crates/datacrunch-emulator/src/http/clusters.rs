//! Handlers of the cluster API under `/v1`: clusters, cluster types, cluster
//! availability and cluster images.

use super::answer::{json, json_bytes, AppState};
use super::api::{status_filter, ApiResult};
use super::extract::{ApiJson, ApiPath, Query};
use crate::cluster_catalog::ClusterCatalog;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use datacrunch_models::{
    ClusterActionRequest, ClusterStatus, CreateClusterRequest, CreatedCluster,
};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/clusters",
            get(list_clusters).post(create_cluster).put(cluster_action),
        )
        .route("/clusters/{id}", get(get_cluster))
        .route("/cluster-types", get(cluster_types))
        .route("/cluster-availability", get(availability))
        .route("/cluster-availability/{cluster_type}", get(is_available))
        .route("/images/cluster", get(images))
}

async fn list_clusters(State(s): State<AppState>, q: Query) -> ApiResult {
    let status = status_filter(
        &q,
        ClusterStatus::parse,
        ClusterStatus::is_known,
        ClusterStatus::KNOWN.iter().map(ClusterStatus::as_str),
    )?;
    let clusters = s.with(|w, _| Ok(w.clusters(status.as_ref())))?;
    Ok(json(StatusCode::OK, &clusters))
}

async fn get_cluster(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let cluster = s.with(|w, _| w.cluster(&id))?;
    Ok(json(StatusCode::OK, &cluster))
}

/// `POST /clusters` answers JSON `{"id"}`, unlike every other create (a bare id).
async fn create_cluster(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateClusterRequest>,
) -> ApiResult {
    let id = s.with(|w, now| w.create_cluster(req, now))?;
    Ok(json(StatusCode::ACCEPTED, &CreatedCluster { id }))
}

/// One item of a `PUT /clusters` answer when some items failed.
#[derive(Serialize)]
struct ActionResult {
    id: String,
    action: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `PUT /clusters`: 202 when every item succeeded, 207 with per-item results when some
/// failed; a single item that fails answers with its own error, as for instances.
async fn cluster_action(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ClusterActionRequest>,
) -> ApiResult {
    let items = s.with(|w, now| w.cluster_action(&req, now))?;
    if let [(_, Err(e))] = items.as_slice() {
        return Err(e.clone().into());
    }
    if items.iter().all(|(_, r)| r.is_ok()) {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let results: Vec<ActionResult> = items
        .into_iter()
        .zip(&req.actions)
        .map(|((id, r), a)| ActionResult {
            id,
            action: a.action.as_str().to_owned(),
            status: if r.is_ok() { "success" } else { "error" },
            status_code: r.as_ref().err().map(ApiError::status_code),
            error: r.err().map(|e| e.message),
        })
        .collect();
    Ok(json(StatusCode::MULTI_STATUS, &results))
}

async fn cluster_types(State(s): State<AppState>) -> ApiResult {
    Ok(json_bytes(
        StatusCode::OK,
        s.catalog.clusters.types_json.clone(),
    ))
}

fn location_query(s: &AppState, q: &Query) -> Result<Option<String>, ApiError> {
    let location = q.get(&["location_code", "locationCode"]).map(str::to_owned);
    if let Some(loc) = &location {
        if !s.catalog.is_location(loc) {
            return Err(ApiError::invalid(format!("Invalid location_code {loc:?}")));
        }
    }
    Ok(location)
}

async fn availability(State(s): State<AppState>, q: Query) -> ApiResult {
    let location = location_query(&s, &q)?;
    let list = s.with(|w, _| Ok(w.cluster_availability(location.as_deref())))?;
    Ok(json(StatusCode::OK, &list))
}

async fn is_available(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
    q: Query,
) -> ApiResult {
    let entry = s
        .catalog
        .clusters
        .cluster_type(&name)
        .ok_or_else(|| ApiError::not_found(format!("Invalid cluster type {name:?}")))?
        .clone();
    let location = location_query(&s, &q)?;
    let available = s.with(|w, _| Ok(w.is_cluster_available(&entry, location.as_deref())))?;
    Ok(json(StatusCode::OK, &available))
}

/// `GET /images/cluster[?instance_type=]`: the filter names a cluster type.
async fn images(State(s): State<AppState>, q: Query) -> ApiResult {
    let clusters = &s.catalog.clusters;
    let Some(name) = q.get(&["instance_type", "cluster_type"]) else {
        return Ok(json_bytes(StatusCode::OK, clusters.images_json.clone()));
    };
    let entry = clusters
        .cluster_type(name)
        .ok_or_else(|| ApiError::invalid(format!("Invalid cluster type {name:?}")))?;
    let images: Vec<_> = clusters
        .images
        .iter()
        .filter(|i| ClusterCatalog::image_supported(entry, &i.image_type))
        .collect();
    Ok(json(StatusCode::OK, &images))
}
