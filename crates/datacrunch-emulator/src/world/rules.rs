//! The service's rules that several resources share: defaults, size limits, tag and
//! name checks, and device names of attached volumes.

use crate::error::ApiError;
use datacrunch_models::{validate, OnSpotDiscontinue, Tag};

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

/// The longest name of a key, script or volume, in characters. The API documents none;
/// this is far above anything the console or an SDK makes, and keeps stored records and
/// every list answer bounded.
pub const MAX_NAME_LEN: usize = 255;
/// The longest instance description, in characters (documented by no source either).
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// The most ids one request may list (`ssh_key_ids`, `existing_volumes`, the `id` and
/// `volume_ids` of actions, bulk deletes), so one call cannot make unbounded work.
pub const MAX_IDS_PER_REQUEST: usize = 100;
/// The most volumes (the OS volume included) attached to one instance: one per device
/// name `vda` … `vdz`.
pub const MAX_VOLUMES_PER_INSTANCE: usize = 26;

pub fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    Ok(())
}

/// A name: not empty and at most [`MAX_NAME_LEN`] characters.
pub fn check_name(field: &str, value: &str) -> Result<(), ApiError> {
    non_empty(field, value)?;
    check_len(field, value, MAX_NAME_LEN)
}

/// At most `max` characters.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len > max {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {max} characters, got {len}"
        )));
    }
    Ok(())
}

/// A list of ids of at most [`MAX_IDS_PER_REQUEST`].
pub fn check_id_count(field: &str, count: usize) -> Result<(), ApiError> {
    if count > MAX_IDS_PER_REQUEST {
        return Err(ApiError::invalid(format!(
            "{field} may list at most {MAX_IDS_PER_REQUEST} ids, got {count}"
        )));
    }
    Ok(())
}

/// An instance would have `count` volumes attached: at most [`MAX_VOLUMES_PER_INSTANCE`].
pub fn check_volume_count(what: &str, count: usize) -> Result<(), ApiError> {
    if count > MAX_VOLUMES_PER_INSTANCE {
        return Err(ApiError::invalid(format!(
            "{what}: an instance may have at most {MAX_VOLUMES_PER_INSTANCE} volumes \
             attached (the OS volume included), this would make {count}"
        )));
    }
    Ok(())
}

/// An `on_spot_discontinue` policy the service knows (or none: `keep_detached`).
pub fn check_spot_policy(field: &str, policy: Option<&OnSpotDiscontinue>) -> Result<(), ApiError> {
    match policy {
        Some(OnSpotDiscontinue::Other(p)) => Err(ApiError::invalid(format!(
            "{field} {p:?} is not a policy; expected one of keep_detached, move_to_trash, \
             delete_permanently"
        ))),
        _ => Ok(()),
    }
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
    Cluster,
}

impl Tagged {
    pub fn noun(self) -> &'static str {
        match self {
            Tagged::Instance => "instance",
            Tagged::Volume => "volume",
            Tagged::Cluster => "cluster",
        }
    }
}
