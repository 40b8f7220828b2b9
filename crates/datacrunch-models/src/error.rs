//! The error body every non-2xx response carries, and the codes it uses.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// `{"code": "invalid_request", "message": "Invalid instance id"}`. The Go SDK also reads
/// an optional `details` string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    #[serde(default)]
    pub code: ErrorCode,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
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
