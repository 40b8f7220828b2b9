//! Errors: [`ApiError`], why the emulated service refuses a call (an
//! [`ErrorCode`] and a message, the `{code, message}` body every failed API call gets),
//! and [`EmulatorError`], what the library API returns when the emulator cannot start.
//!
//! `ApiError` knows no HTTP: its status is the one the real API pairs with its code
//! ([`ErrorCode::http_status`]); `http` turns it into a response.

use datacrunch_models::{ApiErrorBody, ErrorCode};

/// A refused or failed API call: the code and message of `{"code", "message"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `invalid_request` (400): the caller sent something the service refuses.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `not_found` (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `unauthorized_request` (401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedRequest, message)
    }

    /// `forbidden_action` (403): not allowed in the resource's current state.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ForbiddenAction, message)
    }

    /// `conflict` (409).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// `insufficient_funds` (402).
    pub fn insufficient_funds(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InsufficientFunds, message)
    }

    /// `service_unavailable` (503): no capacity.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceUnavailable, message)
    }

    /// `server_error` (500): only for real failures such as a state file that cannot be
    /// written, and for injected faults.
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServerError, message)
    }

    /// The HTTP status the real API answers this code with (500 for a code it has no
    /// pairing for).
    pub fn status_code(&self) -> u16 {
        self.code.http_status().unwrap_or(500)
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ApiErrorBody {
        ApiErrorBody {
            code: self.code.clone(),
            message: self.message.clone(),
            details: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status_code(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Why the emulator could not be built or could not serve.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("state store {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store holds a record that does not decode ({kind} {id}): {source}")]
    CorruptRecord {
        kind: String,
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
