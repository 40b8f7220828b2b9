//! SSH keys, startup scripts and volumes.

use super::instances::{check_size, stored_tags, target};
use super::{new_id, VolumeRecord, World};
use crate::clock::{iso8601, Millis};
use crate::error::ApiError;
use crate::store::{Kind, Write};
use datacrunch_models::{
    validate, CreateSshKeyRequest, CreateStartupScriptRequest, CreateVolumeRequest, InstanceStatus,
    SshKey, StartupScript, Volume, VolumeAction, VolumeActionRequest, VolumeStatus,
};

/// What SSH keys and scripts have in common: an id, stored as a whole document.
trait Document: serde::Serialize {
    const KIND: Kind;
    fn id(&self) -> &str;
}

impl Document for SshKey {
    const KIND: Kind = Kind::SshKey;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Document for StartupScript {
    const KIND: Kind = Kind::Script;
    fn id(&self) -> &str {
        &self.id
    }
}

fn find<T: Document + Clone>(list: &[T], id: &str, missing: &str) -> Result<T, ApiError> {
    list.iter()
        .find(|d| d.id() == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(missing))
}

fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    Ok(())
}

impl World {
    fn put_doc<T: Document>(&mut self, doc: &T) {
        let json = serde_json::to_string(doc).unwrap_or_default();
        self.writes.push(Write::Put {
            kind: T::KIND,
            id: doc.id().to_owned(),
            doc: json,
        });
        self.version += 1;
    }

    /// Removes the documents with these ids; ids that do not exist are not an error.
    fn delete_docs<T: Document>(list: &mut Vec<T>, writes: &mut Vec<Write>, ids: &[String]) {
        list.retain(|d| !ids.iter().any(|id| id == d.id()));
        for id in ids {
            writes.push(Write::Delete {
                kind: T::KIND,
                id: id.clone(),
            });
        }
    }

    pub fn ssh_keys(&self) -> &[SshKey] {
        &self.ssh_keys
    }

    pub fn ssh_key(&self, id: &str) -> Result<SshKey, ApiError> {
        find(&self.ssh_keys, id, "Invalid ssh-key ID")
    }

    /// `POST /sshkeys`.
    pub fn create_ssh_key(
        &mut self,
        req: CreateSshKeyRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        non_empty("name", &req.name)?;
        validate::ssh_public_key(&req.key).map_err(|e| ApiError::invalid(format!("key {e}")))?;
        let key = SshKey {
            id: new_id(),
            name: req.name,
            key: req.key.trim().to_owned(),
            fingerprint: None,
            created_at: Some(iso8601(now)),
        };
        self.put_doc(&key);
        let id = key.id.clone();
        self.ssh_keys.push(key);
        Ok(id)
    }

    pub fn delete_ssh_keys(&mut self, ids: &[String]) {
        Self::delete_docs(&mut self.ssh_keys, &mut self.writes, ids);
        self.version += 1;
    }

    pub fn scripts(&self) -> &[StartupScript] {
        &self.scripts
    }

    pub fn script(&self, id: &str) -> Result<StartupScript, ApiError> {
        find(&self.scripts, id, "Invalid startup script ID")
    }

    /// `POST /scripts`.
    pub fn create_script(
        &mut self,
        req: CreateStartupScriptRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        non_empty("name", &req.name)?;
        non_empty("script", &req.script)?;
        let script = StartupScript {
            id: new_id(),
            name: req.name,
            script: req.script,
            created_at: Some(iso8601(now)),
        };
        self.put_doc(&script);
        let id = script.id.clone();
        self.scripts.push(script);
        Ok(id)
    }

    pub fn delete_scripts(&mut self, ids: &[String]) {
        Self::delete_docs(&mut self.scripts, &mut self.writes, ids);
        self.version += 1;
    }

    // ---- volumes ----

    pub(super) fn insert_volume(&mut self, record: VolumeRecord) -> String {
        let id = record.id.clone();
        let idx = self.volumes.len();
        self.volume_index.insert(id.clone(), idx);
        self.volumes.push(record);
        self.touch_volume(idx);
        id
    }

    pub(super) fn attach_record(&mut self, vidx: usize, instance_id: &str, position: usize) {
        let v = &mut self.volumes[vidx];
        v.status = VolumeStatus::Attached;
        v.instance_id = Some(instance_id.to_owned());
        v.target = Some(target(position));
        self.touch_volume(vidx);
    }

    pub(super) fn detach_record(&mut self, vidx: usize) {
        let v = &mut self.volumes[vidx];
        let owner = v.instance_id.take();
        v.status = VolumeStatus::Detached;
        v.target = None;
        let vid = v.id.clone();
        self.touch_volume(vidx);
        if let Some(idx) = owner.and_then(|o| self.instance_index.get(&o).copied()) {
            self.instances[idx].volume_ids.retain(|v| v != &vid);
            self.touch_instance(idx);
        }
    }

    /// Moves a volume to the trash, or deletes it for good.
    pub(super) fn trash_record(&mut self, vidx: usize, permanent: bool, now: Millis) {
        self.detach_record(vidx);
        let v = &mut self.volumes[vidx];
        v.status = VolumeStatus::Deleted;
        v.deleted_at = Some(now);
        v.permanently_deleted |= permanent;
        self.touch_volume(vidx);
    }

    /// Existing volumes for a deploy: detached, not deleted, same location.
    pub(super) fn check_existing_volumes(
        &self,
        ids: &[String],
        location: &str,
    ) -> Result<Vec<usize>, ApiError> {
        ids.iter()
            .map(|id| {
                let vidx = self
                    .volume_idx(id)
                    .filter(|&i| !self.volumes[i].is_deleted())
                    .ok_or_else(|| {
                        ApiError::invalid(format!("existing_volumes: no volume {id:?}"))
                    })?;
                let v = &self.volumes[vidx];
                if v.status != VolumeStatus::Detached {
                    return Err(ApiError::invalid(format!(
                        "existing_volumes: volume {id:?} is {}, not detached",
                        v.status
                    )));
                }
                if v.location != location {
                    return Err(ApiError::invalid(format!(
                        "existing_volumes: volume {id:?} is in {}, the instance in {location}",
                        v.location
                    )));
                }
                Ok(vidx)
            })
            .collect()
    }

    pub(super) fn check_new_volume(
        &self,
        field: &str,
        name: &str,
        size: u32,
        volume_type: &str,
    ) -> Result<(), ApiError> {
        non_empty(&format!("{field}.name"), name)?;
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

    /// `GET /volumes[?status=]`: every volume not deleted (or those with the status).
    pub fn volumes(&self, status: Option<&VolumeStatus>) -> Vec<Volume> {
        self.volumes
            .iter()
            .filter(|v| match status {
                Some(s) => &v.status == s,
                None => !v.is_deleted(),
            })
            .map(|v| v.to_wire(&self.catalog))
            .collect()
    }

    /// `GET /volumes/{id}`: deleted volumes still answer, with status `deleted`.
    pub fn volume(&self, id: &str) -> Result<Volume, ApiError> {
        let vidx = self
            .volume_idx(id)
            .ok_or_else(|| ApiError::not_found("Invalid volume id"))?;
        Ok(self.volumes[vidx].to_wire(&self.catalog))
    }

    /// `GET /volumes/trash`: deleted, not permanently.
    pub fn trash(&self) -> Vec<Volume> {
        self.volumes
            .iter()
            .filter(|v| v.is_deleted() && !v.permanently_deleted)
            .map(|v| v.to_wire(&self.catalog))
            .collect()
    }

    /// `POST /volumes`.
    pub fn create_volume(
        &mut self,
        req: CreateVolumeRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        self.check_new_volume("volume", &req.name, req.size, &req.volume_type)?;
        let location = req
            .location_code
            .clone()
            .unwrap_or_else(|| super::instances::DEFAULT_LOCATION.to_owned());
        if !self.catalog.is_location(&location) {
            return Err(ApiError::invalid(format!(
                "Invalid location_code {location:?}"
            )));
        }
        let tags = stored_tags(req.tags)?;
        let attach_to = req
            .instance_id
            .clone()
            .or_else(|| req.instance_ids.first().cloned());
        let owner = match &attach_to {
            Some(iid) => Some(self.offline_instance(iid, &location)?),
            None => None,
        };
        let id = self.insert_volume(VolumeRecord {
            id: new_id(),
            name: req.name,
            size: req.size,
            volume_type: req.volume_type,
            location,
            is_os_volume: false,
            created_at: now,
            status: VolumeStatus::Detached,
            instance_id: None,
            target: None,
            ssh_key_ids: Vec::new(),
            on_spot_discontinue: req.on_spot_discontinue,
            tags,
            deleted_at: None,
            permanently_deleted: false,
        });
        if let Some(idx) = owner {
            self.attach_to_instance(&id, idx);
        }
        Ok(id)
    }

    /// An instance a volume may be attached to or detached from: listed, shut down
    /// (`offline`), and in the volume's location.
    fn offline_instance(&self, instance_id: &str, location: &str) -> Result<usize, ApiError> {
        let idx = self
            .instance_idx(instance_id)
            .ok_or_else(|| ApiError::invalid(format!("Invalid instance_id {instance_id:?}")))?;
        let r = &self.instances[idx];
        if r.status != InstanceStatus::Offline {
            return Err(ApiError::invalid(format!(
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

    fn attach_to_instance(&mut self, volume_id: &str, idx: usize) {
        let position = self.instances[idx].volume_ids.len();
        if let Some(vidx) = self.volume_idx(volume_id) {
            let iid = self.instances[idx].id.clone();
            self.attach_record(vidx, &iid, position);
            self.instances[idx].volume_ids.push(volume_id.to_owned());
            self.touch_instance(idx);
        }
    }

    /// Checks that a volume's instance (if any) is shut down, as attach, detach and
    /// delete require.
    fn owner_offline(&self, vidx: usize) -> Result<(), ApiError> {
        match &self.volumes[vidx].instance_id {
            Some(iid) => self
                .offline_instance(iid, &self.volumes[vidx].location)
                .map(|_| ()),
            None => Ok(()),
        }
    }

    /// `PUT /volumes`. Every id is checked before any is changed. Returns the new ids
    /// for `clone`.
    pub fn volume_action(
        &mut self,
        req: &VolumeActionRequest,
        now: Millis,
    ) -> Result<Option<Vec<String>>, ApiError> {
        if req.id.is_empty() {
            return Err(ApiError::invalid("id must name at least one volume"));
        }
        let idxs = req
            .id
            .iter()
            .map(|id| {
                self.volume_idx(id)
                    .ok_or_else(|| ApiError::not_found(format!("Invalid volume id {id:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let live = |w: &World, vidx: usize| -> Result<(), ApiError> {
            match w.volumes[vidx].is_deleted() {
                true => Err(ApiError::invalid(format!(
                    "Volume {} is deleted",
                    w.volumes[vidx].id
                ))),
                false => Ok(()),
            }
        };
        match &req.action {
            VolumeAction::Attach => {
                let iid = req.instance_id.as_deref().ok_or_else(|| ApiError::invalid("instance_id is required to attach"))?;
                for &v in &idxs {
                    live(self, v)?;
                    if self.volumes[v].instance_id.is_some() {
                        return Err(ApiError::invalid(format!("Volume {} is already attached", self.volumes[v].id)));
                    }
                    self.offline_instance(iid, &self.volumes[v].location)?;
                }
                for (v, id) in idxs.iter().zip(&req.id) {
                    let idx = self.offline_instance(iid, &self.volumes[*v].location)?;
                    self.attach_to_instance(id, idx);
                }
            }
            VolumeAction::Detach => {
                for &v in &idxs {
                    live(self, v)?;
                    self.owner_offline(v)?;
                    if self.volumes[v].is_os_volume && self.volumes[v].instance_id.is_some() {
                        // Allowed on the real service too: the instance just cannot boot.
                        tracing::debug!(volume = %self.volumes[v].id, "detaching an OS volume");
                    }
                }
                idxs.iter().for_each(|&v| self.detach_record(v));
            }
            VolumeAction::Rename => {
                let name = req.name.as_deref().unwrap_or_default();
                non_empty("name", name)?;
                for &v in &idxs {
                    live(self, v)?;
                }
                for &v in &idxs {
                    self.volumes[v].name = name.to_owned();
                    self.touch_volume(v);
                }
            }
            VolumeAction::Resize => {
                let size = req.size.ok_or_else(|| ApiError::invalid("size is required to resize"))?;
                check_size("size", size)?;
                for &v in &idxs {
                    live(self, v)?;
                    if size <= self.volumes[v].size {
                        return Err(ApiError::invalid(format!(
                            "size must be larger than the current {} GB (volumes only grow)",
                            self.volumes[v].size
                        )));
                    }
                }
                for &v in &idxs {
                    self.volumes[v].size = size;
                    self.touch_volume(v);
                }
            }
            VolumeAction::Delete => {
                for &v in &idxs {
                    self.owner_offline(v)?;
                }
                let permanent = req.is_permanent.unwrap_or(false);
                idxs.iter().for_each(|&v| self.trash_record(v, permanent, now));
            }
            VolumeAction::Restore => {
                for &v in &idxs {
                    if !self.volumes[v].is_deleted() || self.volumes[v].permanently_deleted {
                        return Err(ApiError::invalid(format!("Volume {} is not in the trash", self.volumes[v].id)));
                    }
                }
                for &v in &idxs {
                    let r = &mut self.volumes[v];
                    r.status = VolumeStatus::Detached;
                    r.deleted_at = None;
                    self.touch_volume(v);
                }
            }
            VolumeAction::Clone => return self.clone_volumes(&idxs, req, now).map(Some),
            VolumeAction::Other(a) => {
                return Err(ApiError::invalid(format!(
                    "Invalid action {a:?}: expected one of attach, detach, rename, resize, increase-size, delete, clone, restore"
                )))
            }
        }
        Ok(None)
    }

    fn clone_volumes(
        &mut self,
        idxs: &[usize],
        req: &VolumeActionRequest,
        now: Millis,
    ) -> Result<Vec<String>, ApiError> {
        let name = req.name.as_deref().unwrap_or_default();
        non_empty("name", name)?;
        for &v in idxs {
            let src = &self.volumes[v];
            let ty = req.volume_type.as_deref().unwrap_or(&src.volume_type);
            self.check_new_volume("clone", name, src.size, ty)?;
            if src.is_deleted() {
                return Err(ApiError::invalid(format!("Volume {} is deleted", src.id)));
            }
        }
        let mut ids = Vec::new();
        for &v in idxs {
            let src = self.volumes[v].clone();
            ids.push(self.insert_volume(VolumeRecord {
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
            }));
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
        let vidx = self
            .volume_idx(id)
            .ok_or_else(|| ApiError::not_found("Invalid volume id"))?;
        self.owner_offline(vidx)?;
        self.trash_record(vidx, permanent, now);
        Ok(())
    }
}
