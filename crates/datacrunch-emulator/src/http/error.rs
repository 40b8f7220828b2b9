//! [`HttpError`]: an [`ApiError`] on its way out as a response. Its status is the one
//! the real API pairs with the error code, except where HTTP itself decides (405 for a
//! method a route does not serve, 413 for a body too large, …).

use crate::error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A failed call as an HTTP answer: a status plus the `{"code", "message"}` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub error: ApiError,
}

impl HttpError {
    /// An error whose status HTTP decides rather than its code.
    pub fn with_status(status: StatusCode, error: ApiError) -> Self {
        HttpError { status, error }
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        let status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpError { status, error }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.error.body()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}
