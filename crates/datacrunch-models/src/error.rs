//! The error body every non-2xx response carries, and the codes it uses.

use serde::{Deserialize, Serialize};

/// `{"code": "invalid_request", "message": "Invalid instance id"}`. The Go SDK also reads
/// an optional `details` string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// The `code` values the API uses, with the HTTP status each goes with.
pub mod codes {
    /// 400: validation failures, bad ids, bad filters.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// 401: missing, unknown or expired token; bad client credentials.
    pub const UNAUTHORIZED_REQUEST: &str = "unauthorized_request";
    /// 402: balance too low to deploy.
    pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
    /// 403: an action not allowed in the current state.
    pub const FORBIDDEN_ACTION: &str = "forbidden_action";
    /// 404: unknown resource.
    pub const NOT_FOUND: &str = "not_found";
    /// 500.
    pub const SERVER_ERROR: &str = "server_error";
    /// 503: no capacity for the requested type.
    pub const SERVICE_UNAVAILABLE: &str = "service_unavailable";
    /// 409: a tag key that already exists.
    pub const CONFLICT: &str = "conflict";
    /// 429: too many requests (no source documents it; the emulator injects it).
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
    /// Token endpoint: wrong grant type.
    pub const UNSUPPORTED_GRANT_TYPE: &str = "unsupported_grant_type";
    /// Token endpoint: bad refresh token.
    pub const INVALID_GRANT: &str = "invalid_grant";
}

/// Real `message` strings that clients act on. Matching on these is how dstack tells an
/// already deleted instance from one it must retry.
pub mod messages {
    pub const INVALID_INSTANCE_ID: &str = "Invalid instance id";
    pub const CANT_DISCONTINUE_DISCONTINUED: &str = "Can't discontinue a discontinued instance";
    pub const CANT_DISCONTINUE_PROVISIONING: &str = "Can't discontinue a provisioning instance";
    pub const OS_NOT_VALID_FOR_TYPE: &str = "Operating system is not valid for this instance type";
    pub const NOT_ENOUGH_RESOURCES: &str = "Not enough resources";
    pub const NOT_ENOUGH_BALANCE: &str = "Not enough balance";
}
