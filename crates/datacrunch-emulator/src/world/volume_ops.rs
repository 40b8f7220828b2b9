//! The volume endpoints: list, get, trash, create, `PUT /volumes` actions (attach,
//! detach, rename, resize, delete, restore, clone) and delete. Every id of an action is
//! checked before any volume is changed.

use super::records::VolumeRecord;
use super::rules::{
    check_id_count, check_name, check_size, check_spot_policy, check_volume_count, new_id,
    stored_tags, DEFAULT_LOCATION,
};
use super::World;
use crate::clock::Millis;
use crate::error::ApiError;
use datacrunch_models::{
    CreateVolumeRequest, OnSpotDiscontinue, Tag, Volume, VolumeAction, VolumeActionRequest,
    VolumeStatus,
};

/// A volume to create detached (see [`World::add_volume`]).
#[derive(Clone, Debug)]
pub(super) struct NewVolume {
    pub name: String,
    pub size: u32,
    pub volume_type: String,
    pub location: String,
    pub on_spot_discontinue: Option<OnSpotDiscontinue>,
    pub tags: Vec<Tag>,
}

impl World {
    /// `GET /volumes[?status=]`: every volume not deleted (or those with the status).
    pub fn volumes(&self, status: Option<&VolumeStatus>) -> Vec<Volume> {
        self.volumes.list(status, &self.catalog)
    }

    /// `GET /volumes/{id}`: deleted volumes still answer, with status `deleted`.
    pub fn volume(&self, id: &str) -> Result<Volume, ApiError> {
        let vidx = self.found_volume(id)?;
        Ok(self.volumes.get(vidx).to_wire(&self.catalog))
    }

    /// `GET /volumes/trash`: deleted, not permanently.
    pub fn trash(&self) -> Vec<Volume> {
        self.volumes.trash(&self.catalog)
    }

    fn found_volume(&self, id: &str) -> Result<usize, ApiError> {
        self.volumes
            .find(id)
            .ok_or_else(|| ApiError::not_found("Invalid volume id"))
    }

    /// A new volume's name, size and type are valid (`field` names it in errors).
    pub(super) fn check_new_volume(
        &self,
        field: &str,
        name: &str,
        size: u32,
        volume_type: &str,
    ) -> Result<(), ApiError> {
        check_name(&format!("{field}.name"), name)?;
        check_size(&format!("{field}.size"), size)?;
        if self.catalog.volume_type(volume_type).is_none() {
            let known: Vec<&str> = self
                .catalog
                .volume_types
                .iter()
                .map(|t| t.volume_type.as_str())
                .collect();
            return Err(ApiError::invalid(format!(
                "{field}.type {volume_type:?} is not a volume type; expected one of {}",
                known.join(", ")
            )));
        }
        Ok(())
    }

    /// `POST /volumes`.
    pub fn create_volume(
        &mut self,
        req: CreateVolumeRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        check_spot_policy("on_spot_discontinue", req.on_spot_discontinue.as_ref())?;
        let location = req
            .location_code
            .clone()
            .unwrap_or_else(|| DEFAULT_LOCATION.to_owned());
        if !self.catalog.is_location(&location) {
            return Err(ApiError::invalid(format!(
                "Invalid location_code {location:?}"
            )));
        }
        let tags = stored_tags(req.tags)?;
        let attach_to = req
            .instance_id
            .or_else(|| req.instance_ids.first().cloned());
        let owner = match &attach_to {
            Some(iid) => {
                let idx = self.offline_instance(iid, &location)?;
                let attached = self.instances.get(idx).volume_ids.len();
                check_volume_count("instance_id", attached + 1)?;
                Some(idx)
            }
            None => None,
        };
        let vidx = self.add_volume(
            NewVolume {
                name: req.name,
                size: req.size,
                volume_type: req.volume_type,
                location,
                on_spot_discontinue: req.on_spot_discontinue,
                tags,
            },
            now,
        )?;
        if let Some(idx) = owner {
            self.attach_to_instance(vidx, idx);
        }
        Ok(self.volumes.get(vidx).id.clone())
    }

    /// Creates a detached volume after checking it (name, size, type) and the storage
    /// quota; returns its index. `POST /volumes` creates through this, and so may any
    /// endpoint that makes a volume of its own (attach it with `attach_to_instance`).
    pub(super) fn add_volume(&mut self, spec: NewVolume, now: Millis) -> Result<usize, ApiError> {
        self.check_new_volume("volume", &spec.name, spec.size, &spec.volume_type)?;
        self.check_quota("the new volume", u64::from(spec.size))?;
        Ok(self.volumes.insert(VolumeRecord {
            id: new_id(),
            name: spec.name,
            size: spec.size,
            volume_type: spec.volume_type,
            location: spec.location,
            is_os_volume: false,
            created_at: now,
            status: VolumeStatus::Detached,
            instance_id: None,
            target: None,
            ssh_key_ids: Vec::new(),
            on_spot_discontinue: spec.on_spot_discontinue,
            tags: spec.tags,
            deleted_at: None,
            permanently_deleted: false,
        }))
    }

    /// `PUT /volumes`. Returns the new ids for `clone`.
    pub fn volume_action(
        &mut self,
        req: &VolumeActionRequest,
        now: Millis,
    ) -> Result<Option<Vec<String>>, ApiError> {
        if req.id.is_empty() {
            return Err(ApiError::invalid("id must name at least one volume"));
        }
        check_id_count("id", req.id.len())?;
        let idxs = req
            .id
            .iter()
            .map(|id| {
                self.volumes
                    .find(id)
                    .ok_or_else(|| ApiError::not_found(format!("Invalid volume id {id:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        match &req.action {
            VolumeAction::Attach => self.attach_volumes(&idxs, req.instance_id.as_deref())?,
            VolumeAction::Detach => self.detach_volumes(&idxs)?,
            VolumeAction::Rename => self.rename_volumes(&idxs, req.name.as_deref())?,
            VolumeAction::Resize => self.resize_volumes(&idxs, req.size)?,
            VolumeAction::Delete => {
                for &v in &idxs {
                    self.owner_offline(v)?;
                }
                let permanent = req.is_permanent.unwrap_or(false);
                idxs.iter()
                    .for_each(|&v| self.trash_record(v, permanent, now));
            }
            VolumeAction::Restore => self.restore_volumes(&idxs)?,
            VolumeAction::Clone => return self.clone_volumes(&idxs, req, now).map(Some),
            VolumeAction::Other(a) => {
                return Err(ApiError::invalid(format!(
                    "Invalid action {a:?}: expected one of attach, detach, rename, resize, increase-size, delete, clone, restore"
                )))
            }
        }
        Ok(None)
    }

    /// A volume an action other than delete and restore may change: not deleted.
    fn check_live(&self, vidx: usize) -> Result<(), ApiError> {
        let v = self.volumes.get(vidx);
        match v.is_deleted() {
            true => Err(ApiError::invalid(format!("Volume {} is deleted", v.id))),
            false => Ok(()),
        }
    }

    fn attach_volumes(
        &mut self,
        idxs: &[usize],
        instance_id: Option<&str>,
    ) -> Result<(), ApiError> {
        let iid =
            instance_id.ok_or_else(|| ApiError::invalid("instance_id is required to attach"))?;
        for &v in idxs {
            self.check_live(v)?;
            let volume = self.volumes.get(v);
            if volume.instance_id.is_some() {
                return Err(ApiError::invalid(format!(
                    "Volume {} is already attached",
                    volume.id
                )));
            }
            let idx = self.offline_instance(iid, &volume.location)?;
            let attached = self.instances.get(idx).volume_ids.len();
            check_volume_count("attach", attached + idxs.len())?;
        }
        for &v in idxs {
            let idx = self.offline_instance(iid, &self.volumes.get(v).location)?;
            self.attach_to_instance(v, idx);
        }
        Ok(())
    }

    fn detach_volumes(&mut self, idxs: &[usize]) -> Result<(), ApiError> {
        for &v in idxs {
            self.check_live(v)?;
            self.owner_offline(v)?;
            let volume = self.volumes.get(v);
            if volume.is_os_volume && volume.instance_id.is_some() {
                // Allowed on the real service too: the instance just cannot boot.
                tracing::debug!(volume = %volume.id, "detaching an OS volume");
            }
        }
        idxs.iter().for_each(|&v| self.detach_record(v));
        Ok(())
    }

    fn rename_volumes(&mut self, idxs: &[usize], name: Option<&str>) -> Result<(), ApiError> {
        let name = name.unwrap_or_default();
        check_name("name", name)?;
        for &v in idxs {
            self.check_live(v)?;
        }
        for &v in idxs {
            self.volumes.get_mut(v).name = name.to_owned();
        }
        Ok(())
    }

    fn resize_volumes(&mut self, idxs: &[usize], size: Option<u32>) -> Result<(), ApiError> {
        let size = size.ok_or_else(|| ApiError::invalid("size is required to resize"))?;
        check_size("size", size)?;
        let mut growth = 0;
        for &v in idxs {
            self.check_live(v)?;
            let current = self.volumes.get(v).size;
            if size <= current {
                return Err(ApiError::invalid(format!(
                    "size must be larger than the current {current} GB (volumes only grow)"
                )));
            }
            growth += u64::from(size - current);
        }
        self.check_quota("the resize", growth)?;
        for &v in idxs {
            self.volumes.get_mut(v).size = size;
        }
        Ok(())
    }

    fn restore_volumes(&mut self, idxs: &[usize]) -> Result<(), ApiError> {
        for &v in idxs {
            let volume = self.volumes.get(v);
            if !volume.is_deleted() || volume.permanently_deleted {
                return Err(ApiError::invalid(format!(
                    "Volume {} is not in the trash",
                    volume.id
                )));
            }
        }
        for &v in idxs {
            let r = self.volumes.get_mut(v);
            r.status = VolumeStatus::Detached;
            r.deleted_at = None;
        }
        Ok(())
    }

    fn clone_volumes(
        &mut self,
        idxs: &[usize],
        req: &VolumeActionRequest,
        now: Millis,
    ) -> Result<Vec<String>, ApiError> {
        let name = req.name.as_deref().unwrap_or_default();
        check_name("name", name)?;
        for &v in idxs {
            let src = self.volumes.get(v);
            let ty = req.volume_type.as_deref().unwrap_or(&src.volume_type);
            self.check_new_volume("clone", name, src.size, ty)?;
            if src.is_deleted() {
                return Err(ApiError::invalid(format!("Volume {} is deleted", src.id)));
            }
        }
        let total = idxs
            .iter()
            .map(|&v| u64::from(self.volumes.get(v).size))
            .sum();
        self.check_quota("the clone", total)?;
        let mut ids = Vec::new();
        for &v in idxs {
            let src = self.volumes.get(v).clone();
            let copy = self.volumes.insert(VolumeRecord {
                id: new_id(),
                name: name.to_owned(),
                volume_type: req.volume_type.clone().unwrap_or(src.volume_type),
                created_at: now,
                status: VolumeStatus::Detached,
                instance_id: None,
                target: None,
                tags: Vec::new(),
                deleted_at: None,
                permanently_deleted: false,
                ..src
            });
            ids.push(self.volumes.get(copy).id.clone());
        }
        Ok(ids)
    }

    /// `DELETE /volumes/{id}`.
    pub fn delete_volume(
        &mut self,
        id: &str,
        permanent: bool,
        now: Millis,
    ) -> Result<(), ApiError> {
        let vidx = self.found_volume(id)?;
        self.owner_offline(vidx)?;
        self.trash_record(vidx, permanent, now);
        Ok(())
    }
}
