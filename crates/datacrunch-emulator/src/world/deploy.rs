//! `POST /instances`: validate like the real service (type, location, hostname, image,
//! referenced keys, script and volumes, funds, capacity), then create the volumes and
//! the instance record, in named steps.

use super::records::{InstanceRecord, Step, Transition, VolumeRecord};
use super::rules::{
    check_id_count, check_len, check_name, check_size, check_spot_policy, check_volume_count,
    new_id, stored_tags, target, DEFAULT_LOCATION, DEFAULT_OS_VOLUME_GB, MAX_DESCRIPTION_LEN,
};
use super::{Slot, World};
use crate::catalog::{Catalog, TypeEntry};
use crate::clock::{millis, Millis};
use crate::error::ApiError;
use datacrunch_models::{
    messages, validate, Contract, DeployInstanceRequest, InstanceStatus, Price, Pricing, Tag,
    VolumeStatus,
};

/// Where and at what price an accepted deploy runs.
struct Offer {
    slot: Slot,
    price: Price,
    /// The slot is in "late no_capacity" mode: accept, then end in `no_capacity`.
    late: bool,
}

/// The volumes a deploy starts with: the OS volume first, then new, then existing.
struct Disks {
    /// The instance boots a detached OS volume rather than a catalog image.
    booted_volume: bool,
    os_volume_id: String,
    volume_ids: Vec<String>,
}

impl World {
    /// `POST /instances`: validates like the real service, then charges capacity.
    pub fn deploy(
        &mut self,
        mut req: DeployInstanceRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        check_sizes(&req)?;
        let catalog = self.catalog.clone();
        let (entry, location) = placement(&catalog, &req)?;
        let boot_volume = self.resolve_image(&req.image, entry, &location)?;
        self.check_references(&req.ssh_key_ids, req.startup_script_id.as_ref())?;
        let existing = self.check_existing_volumes(&req.existing_volumes, &location)?;
        self.check_volume_specs(&req, boot_volume.is_some())?;
        let tags = stored_tags(std::mem::take(&mut req.tags))?;
        let offer = self.offer(entry, &req, location, now)?;

        let id = new_id();
        let disks = self.create_disks(&req, &id, &offer.slot.location, boot_volume, existing, now);
        let record = self.new_record(req, &id, &offer, disks, tags, now);
        let idx = self.instances.insert(record);
        if !offer.late {
            self.acquire(idx);
        }
        Ok(id)
    }

    /// An image type or id from the catalog (`None`), or a detached OS volume to boot.
    fn resolve_image(
        &self,
        image: &str,
        entry: &TypeEntry,
        location: &str,
    ) -> Result<Option<usize>, ApiError> {
        if let Some(img) = self.catalog.image(image) {
            if !Catalog::image_supported(entry, &img.image_type) {
                return Err(ApiError::invalid(messages::OS_NOT_VALID_FOR_TYPE));
            }
            return Ok(None);
        }
        let volume = self.volumes.find(image).filter(|&i| {
            let v = self.volumes.get(i);
            v.is_os_volume && v.status == VolumeStatus::Detached && v.location == location
        });
        match volume {
            Some(vidx) => Ok(Some(vidx)),
            None => Err(ApiError::invalid(format!(
                "Invalid image {image:?}: not an image_type or id of GET /images, nor a detached OS volume in {location}"
            ))),
        }
    }

    /// Every SSH key and the startup script named exist.
    pub(super) fn check_references(
        &self,
        ssh_key_ids: &[String],
        startup_script_id: Option<&String>,
    ) -> Result<(), ApiError> {
        if let Some(key) = ssh_key_ids.iter().find(|k| !self.ssh_keys.contains(k)) {
            return Err(ApiError::invalid(format!(
                "Invalid ssh-key ID {key:?} in ssh_key_ids"
            )));
        }
        match startup_script_id {
            Some(script) if !self.scripts.contains(script) => Err(ApiError::invalid(format!(
                "Invalid startup_script_id {script:?}"
            ))),
            _ => Ok(()),
        }
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
                    .volumes
                    .find(id)
                    .filter(|&i| !self.volumes.get(i).is_deleted())
                    .ok_or_else(|| {
                        ApiError::invalid(format!("existing_volumes: no volume {id:?}"))
                    })?;
                let v = self.volumes.get(vidx);
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

    /// The new data volumes and the OS volume are valid and fit in the storage quota
    /// (a booted OS volume is already counted).
    fn check_volume_specs(
        &self,
        req: &DeployInstanceRequest,
        boots_volume: bool,
    ) -> Result<(), ApiError> {
        let mut new_gb = 0;
        for v in &req.volumes {
            self.check_new_volume("volumes", &v.name, v.size, &v.volume_type)?;
            check_spot_policy(
                "volumes.on_spot_discontinue",
                v.on_spot_discontinue.as_ref(),
            )?;
            new_gb += u64::from(v.size);
        }
        if let Some(os) = &req.os_volume {
            check_size("os_volume.size", os.size)?;
            check_spot_policy(
                "os_volume.on_spot_discontinue",
                os.on_spot_discontinue.as_ref(),
            )?;
        }
        if !boots_volume {
            new_gb += u64::from(
                req.os_volume
                    .as_ref()
                    .map_or(DEFAULT_OS_VOLUME_GB, |o| o.size),
            );
        }
        self.check_quota("the deploy's volumes", new_gb)
    }

    /// The price, and a slot to run in: enough balance for an hour, and a free slot
    /// (or the slot in "late no_capacity" mode).
    fn offer(
        &self,
        entry: &TypeEntry,
        req: &DeployInstanceRequest,
        location: String,
        now: Millis,
    ) -> Result<Offer, ApiError> {
        let is_spot = req.is_spot || req.contract == Some(Contract::Spot);
        let price = match is_spot {
            true => entry.wire.spot_price.unwrap_or(entry.wire.price_per_hour),
            false => entry.wire.price_per_hour,
        };
        if self.balance(now) < price.0 {
            return Err(ApiError::insufficient_funds(messages::NOT_ENOUGH_BALANCE));
        }
        let late = self.capacity.is_late(&req.instance_type, &location);
        let slot = Slot {
            instance_type: req.instance_type.clone(),
            location,
            is_spot,
        };
        if !late && self.capacity.free(&slot) == 0 {
            return Err(ApiError::unavailable(messages::NOT_ENOUGH_RESOURCES));
        }
        Ok(Offer { slot, price, late })
    }

    /// Attaches the boot volume or creates the OS volume, creates the new data volumes,
    /// and attaches the existing ones, in device order.
    fn create_disks(
        &mut self,
        req: &DeployInstanceRequest,
        instance_id: &str,
        location: &str,
        boot_volume: Option<usize>,
        existing: Vec<usize>,
        now: Millis,
    ) -> Disks {
        let os_vidx = match boot_volume {
            Some(vidx) => {
                self.attach_record(vidx, instance_id, 0);
                vidx
            }
            None => {
                let os = req.os_volume.as_ref();
                self.volumes.insert(VolumeRecord {
                    name: os.map_or_else(|| format!("OS-{}", req.hostname), |o| o.name.clone()),
                    size: os.map_or(DEFAULT_OS_VOLUME_GB, |o| o.size),
                    volume_type: "NVMe".to_owned(),
                    is_os_volume: true,
                    ssh_key_ids: req.ssh_key_ids.clone(),
                    on_spot_discontinue: os.and_then(|o| o.on_spot_discontinue.clone()),
                    ..attached_volume(instance_id, location, 0, now)
                })
            }
        };
        let os_volume_id = self.volumes.get(os_vidx).id.clone();
        let mut volume_ids = vec![os_volume_id.clone()];
        for v in &req.volumes {
            let vidx = self.volumes.insert(VolumeRecord {
                name: v.name.clone(),
                size: v.size,
                volume_type: v.volume_type.clone(),
                on_spot_discontinue: v.on_spot_discontinue.clone(),
                ..attached_volume(instance_id, location, volume_ids.len(), now)
            });
            volume_ids.push(self.volumes.get(vidx).id.clone());
        }
        for vidx in existing {
            self.attach_record(vidx, instance_id, volume_ids.len());
            volume_ids.push(self.volumes.get(vidx).id.clone());
        }
        Disks {
            booted_volume: boot_volume.is_some(),
            os_volume_id,
            volume_ids,
        }
    }

    /// The record of a new instance, with its IP: `ordered`, with its first lifecycle
    /// step scheduled.
    fn new_record(
        &mut self,
        req: DeployInstanceRequest,
        id: &str,
        offer: &Offer,
        disks: Disks,
        tags: Vec<Tag>,
        now: Millis,
    ) -> InstanceRecord {
        let is_spot = offer.slot.is_spot;
        // The image deployed is recorded by its image_type, also when the request named
        // an image id; a booted OS volume by its id.
        let image = match disks.booted_volume {
            true => req.image.clone(),
            false => self
                .catalog
                .image(&req.image)
                .map_or(req.image.clone(), |i| i.image_type.clone()),
        };
        let first_step = match offer.late {
            true => Step::NoCapacity,
            false => Step::Provisioning,
        };
        InstanceRecord {
            id: id.to_owned(),
            instance_type: req.instance_type,
            image,
            hostname: req.hostname,
            description: req.description,
            location: offer.slot.location.clone(),
            is_spot,
            contract: Some(req.contract.unwrap_or(match is_spot {
                true => Contract::Spot,
                false => Contract::PayAsYouGo,
            })),
            pricing: Some(req.pricing.unwrap_or(Pricing::FixedPrice)),
            ssh_key_ids: req.ssh_key_ids,
            startup_script_id: req.startup_script_id,
            price_per_hour: offer.price,
            ip: self.instances.alloc_ip(),
            os_volume_id: Some(disks.os_volume_id),
            volume_ids: disks.volume_ids,
            tags,
            jupyter_token: uuid::Uuid::new_v4().simple().to_string(),
            created_at: now,
            status: InstanceStatus::Ordered,
            next: Some(Transition {
                step: first_step,
                at: now.saturating_add(millis(self.config.timing.ordered)),
            }),
            billed_ms: 0,
            billing_since: None,
            holds_capacity: false,
            deleted_at: None,
            listed: true,
            stuck: false,
        }
    }
}

/// The request's lengths and counts are within the service's limits, checked before
/// anything is looked up so an oversized request costs no work.
fn check_sizes(req: &DeployInstanceRequest) -> Result<(), ApiError> {
    check_len("description", &req.description, MAX_DESCRIPTION_LEN)?;
    check_id_count("ssh_key_ids", req.ssh_key_ids.len())?;
    check_id_count("existing_volumes", req.existing_volumes.len())?;
    // The OS volume (new or booted) plus every new and existing data volume.
    let volumes = 1 + req.volumes.len() + req.existing_volumes.len();
    check_volume_count("volumes and existing_volumes", volumes)?;
    if let Some(os) = &req.os_volume {
        check_name("os_volume.name", &os.name)?;
    }
    Ok(())
}

/// The catalog entry of the type, and the location (the default when none is named),
/// both known to the catalog; the hostname valid.
fn placement<'c>(
    catalog: &'c Catalog,
    req: &DeployInstanceRequest,
) -> Result<(&'c TypeEntry, String), ApiError> {
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
    Ok((entry, location))
}

/// A new volume attached to an instance at a device position; the caller fills in
/// name, size, type and the like.
fn attached_volume(
    instance_id: &str,
    location: &str,
    position: usize,
    now: Millis,
) -> VolumeRecord {
    VolumeRecord {
        id: new_id(),
        name: String::new(),
        size: 0,
        volume_type: String::new(),
        location: location.to_owned(),
        is_os_volume: false,
        created_at: now,
        status: VolumeStatus::Attached,
        instance_id: Some(instance_id.to_owned()),
        target: Some(target(position)),
        ssh_key_ids: Vec::new(),
        on_spot_discontinue: None,
        tags: Vec::new(),
        deleted_at: None,
        permanently_deleted: false,
    }
}
