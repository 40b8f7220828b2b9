//! The service's rules that several resources share: defaults, size limits, tag and
//! name checks, and device names of attached volumes.

use crate::error::ApiError;
use datacrunch_models::{validate, Tag};

/// Where deploys and new volumes land without a `location_code` (the SDK default
/// since 2025-10).
pub const DEFAULT_LOCATION: &str = "FIN-03";
/// OS volume size when the request names none, as the official CLI does.
pub const DEFAULT_OS_VOLUME_GB: u32 = 50;
/// The largest volume accepted, in GB (no source documents a limit).
pub const MAX_VOLUME_GB: u32 = 102_400;

/// `vda`, `vdb`, … for the n-th attached volume.
pub fn target(n: usize) -> String {
    format!("vd{}", char::from(b'a' + (n.min(25) as u8)))
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    Ok(())
}

pub fn check_size(field: &str, size: u32) -> Result<(), ApiError> {
    if size == 0 || size > MAX_VOLUME_GB {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to {MAX_VOLUME_GB} (GB), got {size}"
        )));
    }
    Ok(())
}

/// Tags as the service stores them: keys lowercased, then checked against its limits
/// (count, lengths, no key twice), for deploys and new volumes alike.
pub fn stored_tags(tags: Vec<Tag>) -> Result<Vec<Tag>, ApiError> {
    let tags: Vec<Tag> = tags
        .into_iter()
        .map(|t| Tag {
            key: t.key.to_lowercase(),
            value: t.value,
        })
        .collect();
    check_tags(&tags)?;
    Ok(tags)
}

/// Checks a complete tag list against the service's limits.
pub fn check_tags<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> Result<(), ApiError> {
    validate::tags(
        tags.into_iter()
            .map(|t| (t.key.as_str(), t.value.as_deref())),
    )
    .map_err(|e| ApiError::invalid(format!("tags {e}")))
}

/// The resources that carry tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tagged {
    Instance,
    Volume,
}

impl Tagged {
    pub fn noun(self) -> &'static str {
        match self {
            Tagged::Instance => "instance",
            Tagged::Volume => "volume",
        }
    }
}
