//! What ties the stores together: volumes attached to instances (both sides kept in
//! step), and instances holding a capacity slot.

use super::rules::target;
use super::World;
use crate::clock::Millis;
use crate::error::ApiError;
use datacrunch_models::{InstanceStatus, VolumeStatus};

impl World {
    /// The instance takes a slot of its (type, location, spot).
    pub(super) fn acquire(&mut self, idx: usize) {
        let r = self.instances.get_mut(idx);
        r.holds_capacity = true;
        let slot = r.slot();
        self.capacity.take(slot);
    }

    /// The instance gives its slot back, if it holds one.
    pub(super) fn release(&mut self, idx: usize) {
        if !self.instances.get(idx).holds_capacity {
            return;
        }
        let r = self.instances.get_mut(idx);
        r.holds_capacity = false;
        let slot = r.slot();
        self.capacity.give_back(&slot);
    }

    /// Marks a volume attached to an instance at a device position (the instance's
    /// own volume list is the caller's).
    pub(super) fn attach_record(&mut self, vidx: usize, instance_id: &str, position: usize) {
        let v = self.volumes.get_mut(vidx);
        v.status = VolumeStatus::Attached;
        v.instance_id = Some(instance_id.to_owned());
        v.target = Some(target(position));
    }

    /// Attaches a volume to an instance, both sides.
    pub(super) fn attach_to_instance(&mut self, vidx: usize, idx: usize) {
        let position = self.instances.get(idx).volume_ids.len();
        let iid = self.instances.get(idx).id.clone();
        self.attach_record(vidx, &iid, position);
        let vid = self.volumes.get(vidx).id.clone();
        self.instances.get_mut(idx).volume_ids.push(vid);
    }

    /// Detaches a volume from its instance, if any, both sides.
    pub(super) fn detach_record(&mut self, vidx: usize) {
        let v = self.volumes.get_mut(vidx);
        let owner = v.instance_id.take();
        v.status = VolumeStatus::Detached;
        v.target = None;
        let vid = v.id.clone();
        if let Some(idx) = owner.and_then(|o| self.instances.find(&o)) {
            self.instances.get_mut(idx).volume_ids.retain(|v| v != &vid);
        }
    }

    /// Moves a volume to the trash, or deletes it for good.
    pub(super) fn trash_record(&mut self, vidx: usize, permanent: bool, now: Millis) {
        self.detach_record(vidx);
        let v = self.volumes.get_mut(vidx);
        v.status = VolumeStatus::Deleted;
        v.deleted_at = Some(now);
        v.permanently_deleted |= permanent;
    }

    /// An instance a volume may be attached to or detached from: listed, shut down
    /// (`offline`), and in the volume's location.
    pub(super) fn offline_instance(
        &self,
        instance_id: &str,
        location: &str,
    ) -> Result<usize, ApiError> {
        let idx = self
            .instances
            .listed(instance_id)
            .ok_or_else(|| ApiError::invalid(format!("Invalid instance_id {instance_id:?}")))?;
        let r = self.instances.get(idx);
        // 403 `forbidden_action`: the request is well formed, the instance's state
        // does not allow it (clients tell the two apart by the code).
        if r.status != InstanceStatus::Offline {
            return Err(ApiError::forbidden(format!(
                "Instance {instance_id} must be shut down (offline) first; it is {}",
                r.status
            )));
        }
        if r.location != location {
            return Err(ApiError::invalid(format!(
                "Instance {instance_id} is in {}, the volume in {location}",
                r.location
            )));
        }
        Ok(idx)
    }

    /// Checks that a volume's instance (if any) is shut down, as attach, detach and
    /// delete require.
    pub(super) fn owner_offline(&self, vidx: usize) -> Result<(), ApiError> {
        let v = self.volumes.get(vidx);
        match &v.instance_id {
            Some(iid) => self.offline_instance(iid, &v.location).map(|_| ()),
            None => Ok(()),
        }
    }
}
