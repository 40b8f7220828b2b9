//! The account's storage quota. Every volume not deleted for good counts against it,
//! those in the trash included: the real service keeps trashed volumes (and bills them)
//! until they are purged, so a create that would go over is refused until volumes are
//! deleted permanently.

use super::World;
use crate::error::ApiError;
use serde::Serialize;

/// What the quota is and how much of it is used (`GET /admin/storage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StorageUsage {
    pub quota_gb: u64,
    /// Every volume not permanently deleted, the trash included.
    pub used_gb: u64,
    /// The part of `used_gb` held by volumes in the trash.
    pub trash_gb: u64,
}

impl World {
    /// The quota and its use.
    pub fn storage(&self) -> StorageUsage {
        let (mut used_gb, mut trash_gb) = (0, 0);
        for v in self.volumes.all().iter().filter(|v| !v.permanently_deleted) {
            used_gb += u64::from(v.size);
            if v.is_deleted() {
                trash_gb += u64::from(v.size);
            }
        }
        StorageUsage {
            quota_gb: self.storage_quota_gb,
            used_gb,
            trash_gb,
        }
    }

    /// Admin: sets the storage quota (until the emulator restarts or is reset).
    pub fn set_storage_quota(&mut self, gb: u64) {
        self.storage_quota_gb = gb;
    }

    /// Refuses (403 `forbidden_action`, the code the API gives an action the account's
    /// state does not allow) when `extra_gb` more would go over the quota; `what` names
    /// the request in the message.
    pub(super) fn check_quota(&self, what: &str, extra_gb: u64) -> Result<(), ApiError> {
        let usage = self.storage();
        if usage.used_gb.saturating_add(extra_gb) <= usage.quota_gb {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "Storage quota exceeded: {what} needs {extra_gb} GB, and {} GB of the {} GB \
             quota are in use ({} GB of it by volumes in the trash, which count until \
             they are deleted permanently)",
            usage.used_gb, usage.quota_gb, usage.trash_gb
        )))
    }
}
