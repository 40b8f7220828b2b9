//! Instances: the list (cached as serialized JSON between changes), deploy with the
//! real service's validation, the action state machine, and tags.

use super::{new_id, records::Step, InstanceRecord, Slot, Transition, VolumeRecord, World};
use crate::catalog::Catalog;
use crate::clock::Millis;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::StatusCode;
use datacrunch_models::{
    messages, validate, Contract, DeployInstanceRequest, ErrorCode, Instance, InstanceAction,
    InstanceActionRequest, InstanceStatus, Tag, VolumeStatus,
};

/// Where deploys land without a `location_code` (the SDK default since 2025-10).
pub const DEFAULT_LOCATION: &str = "FIN-03";
/// OS volume size when the request names none, as the official CLI does.
pub const DEFAULT_OS_VOLUME_GB: u32 = 50;
/// The largest volume accepted, in GB (no source documents a limit).
pub const MAX_VOLUME_GB: u32 = 102_400;

/// The result of one item of `PUT /instances`.
pub type ActionItem = (String, Result<(), ApiError>);

/// `vda`, `vdb`, … for the n-th attached volume.
pub(super) fn target(n: usize) -> String {
    format!("vd{}", char::from(b'a' + (n.min(25) as u8)))
}

impl World {
    /// `GET /instances[?status=]` as JSON, re-serialized only after a change.
    pub fn instances_json(&mut self, status: Option<InstanceStatus>) -> Bytes {
        if self.list_cache_version != self.version {
            self.list_cache.clear();
            self.list_cache_version = self.version;
        }
        if let Some(bytes) = self.list_cache.get(&status) {
            return bytes.clone();
        }
        let list: Vec<Instance> = self
            .instances
            .iter()
            .filter(|r| r.listed && status.as_ref().is_none_or(|s| &r.status == s))
            .map(|r| r.to_wire(&self.catalog))
            .collect();
        let bytes = Bytes::from(serde_json::to_vec(&list).unwrap_or_default());
        self.list_cache.insert(status, bytes.clone());
        bytes
    }

    /// `GET /instances/{id}`.
    pub fn instance(&self, id: &str) -> Result<Instance, ApiError> {
        let idx = self.listed_instance(id)?;
        Ok(self.instances[idx].to_wire(&self.catalog))
    }

    fn listed_instance(&self, id: &str) -> Result<usize, ApiError> {
        self.instance_idx(id)
            .ok_or_else(|| ApiError::not_found(messages::INVALID_INSTANCE_ID))
    }

    /// `POST /instances`: validates like the real service, then charges capacity.
    pub fn deploy(
        &mut self,
        mut req: DeployInstanceRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        let catalog = self.catalog.clone();
        let entry = catalog.instance_type(&req.instance_type).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid instance_type {:?}: not a type of GET /instance-types",
                req.instance_type
            ))
        })?;
        let location = req
            .location_code
            .clone()
            .unwrap_or_else(|| DEFAULT_LOCATION.to_owned());
        if !catalog.is_location(&location) {
            return Err(ApiError::invalid(format!(
                "Invalid location_code {location:?}: expected one of FIN-01, FIN-02, FIN-03, ICE-01"
            )));
        }
        validate::hostname(&req.hostname)
            .map_err(|e| ApiError::invalid(format!("Invalid hostname {:?}: {e}", req.hostname)))?;
        let boot_volume = self.resolve_image(&req.image, entry, &location)?;
        for key in &req.ssh_key_ids {
            if !self.ssh_keys.iter().any(|k| &k.id == key) {
                return Err(ApiError::invalid(format!(
                    "Invalid ssh-key ID {key:?} in ssh_key_ids"
                )));
            }
        }
        if let Some(script) = &req.startup_script_id {
            if !self.scripts.iter().any(|s| &s.id == script) {
                return Err(ApiError::invalid(format!(
                    "Invalid startup_script_id {script:?}"
                )));
            }
        }
        let existing = self.check_existing_volumes(&req.existing_volumes, &location)?;
        for v in &req.volumes {
            self.check_new_volume("volumes", &v.name, v.size, &v.volume_type)?;
        }
        if let Some(os) = &req.os_volume {
            check_size("os_volume.size", os.size)?;
        }
        let tags = stored_tags(std::mem::take(&mut req.tags))?;

        let is_spot = req.is_spot || req.contract == Some(Contract::Spot);
        let price = match is_spot {
            true => entry.wire.spot_price.unwrap_or(entry.wire.price_per_hour),
            false => entry.wire.price_per_hour,
        };
        if self.balance(now) < price.0 {
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorCode::InsufficientFunds,
                messages::NOT_ENOUGH_BALANCE,
            ));
        }
        let slot = Slot {
            instance_type: req.instance_type.clone(),
            location: location.clone(),
            is_spot,
        };
        let late = self
            .late_no_capacity
            .contains(&(slot.instance_type.clone(), location.clone()));
        if !late && self.free(&slot) == 0 {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                messages::NOT_ENOUGH_RESOURCES,
            ));
        }

        let id = new_id();
        let ip = self.alloc_ip();
        let mut volume_ids = Vec::new();
        let os_volume_id = match boot_volume {
            Some(vidx) => {
                self.attach_record(vidx, &id, 0);
                self.volumes[vidx].id.clone()
            }
            None => {
                let os = req.os_volume.as_ref();
                self.insert_volume(VolumeRecord {
                    id: new_id(),
                    name: os.map_or_else(|| format!("OS-{}", req.hostname), |o| o.name.clone()),
                    size: os.map_or(DEFAULT_OS_VOLUME_GB, |o| o.size),
                    volume_type: "NVMe".to_owned(),
                    location: location.clone(),
                    is_os_volume: true,
                    created_at: now,
                    status: VolumeStatus::Attached,
                    instance_id: Some(id.clone()),
                    target: Some(target(0)),
                    ssh_key_ids: req.ssh_key_ids.clone(),
                    on_spot_discontinue: os.and_then(|o| o.on_spot_discontinue.clone()),
                    tags: Vec::new(),
                    deleted_at: None,
                    permanently_deleted: false,
                })
            }
        };
        volume_ids.push(os_volume_id.clone());
        for v in &req.volumes {
            let vid = self.insert_volume(VolumeRecord {
                id: new_id(),
                name: v.name.clone(),
                size: v.size,
                volume_type: v.volume_type.clone(),
                location: location.clone(),
                is_os_volume: false,
                created_at: now,
                status: VolumeStatus::Attached,
                instance_id: Some(id.clone()),
                target: Some(target(volume_ids.len())),
                ssh_key_ids: Vec::new(),
                on_spot_discontinue: v.on_spot_discontinue.clone(),
                tags: Vec::new(),
                deleted_at: None,
                permanently_deleted: false,
            });
            volume_ids.push(vid);
        }
        for vidx in existing {
            self.attach_record(vidx, &id, volume_ids.len());
            volume_ids.push(self.volumes[vidx].id.clone());
        }
        let ordered = crate::clock::millis(self.config.timing.ordered);
        let record = InstanceRecord {
            id: id.clone(),
            instance_type: req.instance_type,
            image: match boot_volume {
                Some(_) => req.image,
                None => catalog
                    .image(&req.image)
                    .map_or(req.image.clone(), |i| i.image_type.clone()),
            },
            hostname: req.hostname,
            description: req.description,
            location,
            is_spot,
            contract: Some(req.contract.unwrap_or(if is_spot {
                Contract::Spot
            } else {
                Contract::PayAsYouGo
            })),
            pricing: Some(
                req.pricing
                    .unwrap_or(datacrunch_models::Pricing::FixedPrice),
            ),
            ssh_key_ids: req.ssh_key_ids,
            startup_script_id: req.startup_script_id,
            price_per_hour: price,
            ip,
            os_volume_id: Some(os_volume_id),
            volume_ids,
            tags,
            jupyter_token: uuid::Uuid::new_v4().simple().to_string(),
            created_at: now,
            status: InstanceStatus::Ordered,
            next: Some(Transition {
                step: if late {
                    Step::NoCapacity
                } else {
                    Step::Provisioning
                },
                at: now.saturating_add(ordered),
            }),
            billed_ms: 0,
            billing_since: None,
            holds_capacity: false,
            deleted_at: None,
            listed: true,
        };
        let idx = self.instances.len();
        self.instance_index.insert(id.clone(), idx);
        self.instances.push(record);
        self.touch_instance(idx);
        if !late {
            self.acquire(idx);
        }
        Ok(id)
    }

    /// An image type or id from the catalog (`None`), or a detached OS volume to boot.
    fn resolve_image(
        &self,
        image: &str,
        entry: &crate::catalog::TypeEntry,
        location: &str,
    ) -> Result<Option<usize>, ApiError> {
        if let Some(img) = self.catalog.image(image) {
            if !Catalog::image_supported(entry, &img.image_type) {
                return Err(ApiError::invalid(messages::OS_NOT_VALID_FOR_TYPE));
            }
            return Ok(None);
        }
        let volume = self.volume_idx(image).filter(|&i| {
            let v = &self.volumes[i];
            v.is_os_volume && v.status == VolumeStatus::Detached && v.location == location
        });
        match volume {
            Some(vidx) => Ok(Some(vidx)),
            None => Err(ApiError::invalid(format!(
                "Invalid image {image:?}: not an image_type or id of GET /images, nor a detached OS volume in {location}"
            ))),
        }
    }

    /// `PUT /instances`: one outcome per id, in order.
    pub fn instance_action(
        &mut self,
        req: &InstanceActionRequest,
        now: Millis,
    ) -> Result<Vec<ActionItem>, ApiError> {
        if !req.action.is_known() {
            let known: Vec<&str> = InstanceAction::KNOWN.iter().map(|a| a.as_str()).collect();
            return Err(ApiError::invalid(format!(
                "Invalid action {:?}: expected one of {}",
                req.action.as_str(),
                known.join(", ")
            )));
        }
        if req.id.is_empty() {
            return Err(ApiError::invalid("id must name at least one instance"));
        }
        Ok(req
            .id
            .iter()
            .map(|id| (id.clone(), self.act(id, req, now)))
            .collect())
    }

    fn act(&mut self, id: &str, req: &InstanceActionRequest, now: Millis) -> Result<(), ApiError> {
        use InstanceAction as A;
        use InstanceStatus as S;
        let idx = self.listed_instance(id)?;
        let status = self.instances[idx].status.clone();
        let refuse = |verb: &str| ApiError::invalid(format!("Can't {verb} a {status} instance"));
        let hibernation = crate::clock::millis(self.config.timing.hibernation);
        match &req.action {
            A::Start | A::Boot => match status {
                S::Running => Ok(()),
                S::Offline => self.set_status(idx, S::Running),
                _ => Err(refuse("start")),
            },
            A::Shutdown | A::ForceShutdown => match status {
                S::Offline => Ok(()),
                // Shutdown keeps billing: only delete stops charges.
                S::Running => self.set_status(idx, S::Offline),
                _ => Err(refuse("shut down")),
            },
            A::Hibernate => match status {
                S::Offline => {
                    let r = &mut self.instances[idx];
                    r.stop_billing(now);
                    r.status = S::StartingHibernation;
                    r.next = Some(Transition {
                        step: Step::Hibernating,
                        at: now.saturating_add(hibernation),
                    });
                    self.release(idx);
                    self.touch_instance(idx);
                    Ok(())
                }
                S::Running => Err(ApiError::invalid(
                    "Can't hibernate a running instance: shut it down first",
                )),
                _ => Err(refuse("hibernate")),
            },
            A::Restore => match status {
                S::Hibernating => {
                    if self.free(&super::slot_of(&self.instances[idx])) == 0 {
                        return Err(ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            ErrorCode::ServiceUnavailable,
                            messages::NOT_ENOUGH_RESOURCES,
                        ));
                    }
                    self.acquire(idx);
                    let r = &mut self.instances[idx];
                    r.status = S::Restoring;
                    r.next = Some(Transition {
                        step: Step::Running,
                        at: now.saturating_add(hibernation),
                    });
                    Ok(())
                }
                _ => Err(refuse("restore")),
            },
            // The real service refuses a delete the state does not allow with 403
            // `forbidden_action`, not 400: clients tell "already gone" and "not yet"
            // apart from a malformed request by that code.
            A::Delete | A::Discontinue | A::DeleteStuck => match status {
                S::Ordered | S::Provisioning if req.action != A::DeleteStuck => {
                    Err(ApiError::forbidden(messages::CANT_DISCONTINUE_PROVISIONING))
                }
                S::Discontinued => {
                    Err(ApiError::forbidden(messages::CANT_DISCONTINUE_DISCONTINUED))
                }
                S::Restoring => Err(ApiError::forbidden(format!(
                    "Can't discontinue a {status} instance"
                ))),
                _ => self.discontinue(
                    idx,
                    req.volume_ids.as_deref(),
                    req.delete_permanently.unwrap_or(false),
                    now,
                ),
            },
            A::Other(_) => Err(refuse(req.action.as_str())),
        }
    }

    fn set_status(&mut self, idx: usize, status: InstanceStatus) -> Result<(), ApiError> {
        self.instances[idx].status = status;
        self.touch_instance(idx);
        Ok(())
    }

    /// Delete: stop billing, free capacity, then handle volumes. `volume_ids` absent
    /// deletes the OS volume and detaches the rest; `[]` deletes none; a list deletes
    /// those (each must belong to the instance) and detaches the others.
    fn discontinue(
        &mut self,
        idx: usize,
        volume_ids: Option<&[String]>,
        permanent: bool,
        now: Millis,
    ) -> Result<(), ApiError> {
        let attached = self.instances[idx].volume_ids.clone();
        let doomed: Vec<String> = match volume_ids {
            None => self.instances[idx].os_volume_id.iter().cloned().collect(),
            Some(list) => {
                if let Some(stray) = list.iter().find(|v| !attached.contains(v)) {
                    return Err(ApiError::invalid(format!(
                        "volume_ids: volume {stray:?} is not attached to instance {:?}",
                        self.instances[idx].id
                    )));
                }
                list.to_vec()
            }
        };
        let visible = crate::clock::millis(self.config.timing.discontinued_visible);
        self.release(idx);
        let r = &mut self.instances[idx];
        r.stop_billing(now);
        r.status = InstanceStatus::Discontinued;
        r.deleted_at = Some(now);
        r.next = Some(Transition {
            step: Step::Unlist,
            at: now.saturating_add(visible),
        });
        r.volume_ids.clear();
        self.touch_instance(idx);
        for vid in attached {
            if let Some(vidx) = self.volume_idx(&vid) {
                if doomed.contains(&vid) {
                    self.trash_record(vidx, permanent, now);
                } else {
                    self.detach_record(vidx);
                }
            }
        }
        Ok(())
    }

    /// `POST /instances/{id}/tags` and `POST /volumes/{id}/tags`: keys are lowercased;
    /// a duplicate key is a 409.
    pub fn add_tag(&mut self, kind: Tagged, id: &str, tag: Tag) -> Result<Tag, ApiError> {
        let tags = self.tags_mut(kind, id)?;
        let tag = Tag {
            key: tag.key.to_lowercase(),
            value: tag.value,
        };
        if tags.iter().any(|t| t.key == tag.key) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!(
                    "Tag key {:?} already exists on this {}",
                    tag.key,
                    kind.noun()
                ),
            ));
        }
        let all = tags.iter().chain(std::iter::once(&tag));
        validate::tags(all.map(|t| (t.key.as_str(), t.value.as_deref())))
            .map_err(|e| ApiError::invalid(format!("tags {e}")))?;
        tags.push(tag.clone());
        Ok(tag)
    }

    /// `DELETE /instances/{id}/tags/{key}` and `DELETE /volumes/{id}/tags/{key}`.
    pub fn remove_tag(&mut self, kind: Tagged, id: &str, key: &str) -> Result<(), ApiError> {
        let tags = self.tags_mut(kind, id)?;
        let key = key.to_lowercase();
        let before = tags.len();
        tags.retain(|t| t.key != key);
        if tags.len() == before {
            return Err(ApiError::not_found(format!(
                "No tag {key:?} on this {}",
                kind.noun()
            )));
        }
        Ok(())
    }

    /// The tags of a listed instance or a volume not deleted, marked as changed.
    fn tags_mut(&mut self, kind: Tagged, id: &str) -> Result<&mut Vec<Tag>, ApiError> {
        match kind {
            Tagged::Instance => {
                let idx = self.listed_instance(id)?;
                self.touch_instance(idx);
                Ok(&mut self.instances[idx].tags)
            }
            Tagged::Volume => {
                let vidx = self
                    .volume_idx(id)
                    .filter(|&v| !self.volumes[v].is_deleted())
                    .ok_or_else(|| ApiError::not_found("Invalid volume id"))?;
                self.touch_volume(vidx);
                Ok(&mut self.volumes[vidx].tags)
            }
        }
    }
}

/// The resources that carry tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tagged {
    Instance,
    Volume,
}

impl Tagged {
    fn noun(self) -> &'static str {
        match self {
            Tagged::Instance => "instance",
            Tagged::Volume => "volume",
        }
    }
}

/// Tags as the service stores them: keys lowercased, then checked against its limits
/// (count, lengths, no key twice), for deploys and new volumes alike.
pub(super) fn stored_tags(tags: Vec<Tag>) -> Result<Vec<Tag>, ApiError> {
    let tags: Vec<Tag> = tags
        .into_iter()
        .map(|t| Tag {
            key: t.key.to_lowercase(),
            value: t.value,
        })
        .collect();
    validate::tags(tags.iter().map(|t| (t.key.as_str(), t.value.as_deref())))
        .map_err(|e| ApiError::invalid(format!("tags {e}")))?;
    Ok(tags)
}

pub(super) fn check_size(field: &str, size: u32) -> Result<(), ApiError> {
    if size == 0 || size > MAX_VOLUME_GB {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to {MAX_VOLUME_GB} (GB), got {size}"
        )));
    }
    Ok(())
}
