//! How handlers answer: the state they are handed, and JSON or bare-id bodies with the
//! content type clients expect.

use crate::error::ApiError;
use crate::shared::Shared;
use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What every handler is handed.
pub type AppState = Arc<Shared>;

/// Answers JSON (already serialized).
pub fn json_bytes(status: StatusCode, bytes: Bytes) -> Response {
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Answers JSON.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => json_bytes(status, Bytes::from(bytes)),
        Err(e) => ApiError::server(format!("cannot encode the answer: {e}")).into_response(),
    }
}

/// Answers a bare id as `text/plain`, as every create endpoint does.
pub fn text_id(status: StatusCode, id: String) -> Response {
    let mut response = (status, id).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
