//! Tags on every kind of resource that carries them: `POST /{kind}/{id}/tags` and
//! `DELETE /{kind}/{id}/tags/{key}`, one pair of handlers for instances, volumes and
//! clusters.

use super::answer::{json, AppState};
use super::api::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::world::Tagged;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, post};
use axum::Router;
use datacrunch_models::Tag;

/// The tag routes of every tagged kind, under its collection's path.
pub fn routes() -> Router<AppState> {
    [
        (Tagged::Instance, "instances"),
        (Tagged::Volume, "volumes"),
        (Tagged::Cluster, "clusters"),
    ]
    .into_iter()
    .fold(Router::new(), |router, (kind, collection)| {
        router
            .route(
                &format!("/{collection}/{{id}}/tags"),
                post(
                    move |State(s): State<AppState>,
                          ApiPath(id): ApiPath<String>,
                          ApiJson(tag): ApiJson<Tag>| add_tag(s, kind, id, tag),
                ),
            )
            .route(
                &format!("/{collection}/{{id}}/tags/{{key}}"),
                delete(
                    move |State(s): State<AppState>,
                          ApiPath((id, key)): ApiPath<(String, String)>| {
                        remove_tag(s, kind, id, key)
                    },
                ),
            )
    })
}

/// Answers 201 with `{"id", "key", "value"}` (the key as stored: lowercased).
async fn add_tag(s: AppState, kind: Tagged, id: String, tag: Tag) -> ApiResult {
    let tag = s.with(|w, _| w.add_tag(kind, &id, tag))?;
    let body = serde_json::json!({"id": id, "key": tag.key, "value": tag.value});
    Ok(json(StatusCode::CREATED, &body))
}

async fn remove_tag(s: AppState, kind: Tagged, id: String, key: String) -> ApiResult {
    s.with(|w, _| w.remove_tag(kind, &id, &key))?;
    Ok(StatusCode::OK.into_response())
}
