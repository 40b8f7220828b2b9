//! Spot instances taken back by the provider: the instance is discontinued and each of
//! its volumes follows its own `on_spot_discontinue` policy (`keep_detached`, the
//! default; `move_to_trash`; `delete_permanently`). The real service does this when it
//! reclaims capacity; the emulator does it when the admin API asks.

use super::World;
use crate::clock::Millis;
use crate::error::ApiError;
use datacrunch_models::{messages, InstanceStatus, OnSpotDiscontinue};

impl World {
    /// Admin: the provider reclaims the spot instance `id`.
    pub fn discontinue_spot(&mut self, id: &str, now: Millis) -> Result<(), ApiError> {
        let idx = self.instances.listed_or_not_found(id)?;
        let r = self.instances.get(idx);
        if !r.is_spot {
            return Err(ApiError::forbidden(format!(
                "Instance {id} is not a spot instance; only spot instances are discontinued \
                 by the provider"
            )));
        }
        if r.status == InstanceStatus::Discontinued {
            return Err(ApiError::forbidden(messages::CANT_DISCONTINUE_DISCONTINUED));
        }
        for (vidx, _) in self.retire(idx, now) {
            match self.volumes.get(vidx).on_spot_discontinue {
                Some(OnSpotDiscontinue::MoveToTrash) => self.trash_record(vidx, false, now),
                Some(OnSpotDiscontinue::DeletePermanently) => self.trash_record(vidx, true, now),
                _ => self.detach_record(vidx),
            }
        }
        Ok(())
    }
}
