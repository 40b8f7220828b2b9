//! The stored records of instances and volumes, and how each becomes its wire shape.
//!
//! Records hold what the wire types cannot: the virtual-clock timestamps that drive the
//! lifecycle, the next scheduled transition, billing counters, whether the instance
//! still holds capacity, and history (deleted instances stay stored, unlisted).

use super::capacity::Slot;
use crate::catalog::{Catalog, TypeEntry};
use crate::clock::{iso8601, Millis};
use datacrunch_models::{
    Contract, Instance, InstanceStatus, OnSpotDiscontinue, Price, Pricing, SizeSpec, Tag, Volume,
    VolumeStatus,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The lifecycle steps that happen by themselves, on the virtual clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// `ordered` → `provisioning`.
    Provisioning,
    /// `provisioning` or `restoring` → `running`; billing starts.
    Running,
    /// `ordered` → `no_capacity` (a slot in "late no_capacity" mode).
    NoCapacity,
    /// `starting_hibernation` → `hibernating`.
    Hibernating,
    /// A `discontinued` instance leaves the list; GET answers 404 from then on.
    Unlist,
}

/// A step scheduled at a time on the virtual clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub step: Step,
    pub at: Millis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: String,
    pub instance_type: String,
    /// The `image_type` deployed (an image UUID in the request is resolved to it), or
    /// the id of the OS volume booted.
    pub image: String,
    pub hostname: String,
    pub description: String,
    pub location: String,
    pub is_spot: bool,
    pub contract: Option<Contract>,
    pub pricing: Option<Pricing>,
    pub ssh_key_ids: Vec<String>,
    pub startup_script_id: Option<String>,
    pub price_per_hour: Price,
    /// Allocated at deploy (unique, never reused); shown from `running` on.
    pub ip: String,
    pub os_volume_id: Option<String>,
    pub volume_ids: Vec<String>,
    pub tags: Vec<Tag>,
    pub jupyter_token: String,
    pub created_at: Millis,
    pub status: InstanceStatus,
    pub next: Option<Transition>,
    /// Billed time before `billing_since`.
    pub billed_ms: i64,
    pub billing_since: Option<Millis>,
    pub holds_capacity: bool,
    pub deleted_at: Option<Millis>,
    /// False once a deleted instance has left `GET /instances` (kept as history).
    pub listed: bool,
    /// Made stuck through the admin API: the status stays put and a normal delete is
    /// refused; only `delete_stuck` removes it.
    #[serde(default)]
    pub stuck: bool,
}

impl InstanceRecord {
    /// The capacity slot the instance takes.
    pub fn slot(&self) -> Slot {
        Slot {
            instance_type: self.instance_type.clone(),
            location: self.location.clone(),
            is_spot: self.is_spot,
        }
    }

    /// The money this instance has cost up to `now`.
    pub fn cost(&self, now: Millis) -> Decimal {
        let ms = self.billed_ms + self.billing_since.map_or(0, |s| (now - s).max(0));
        self.price_per_hour.0 * Decimal::from(ms) / Decimal::from(3_600_000)
    }

    pub fn start_billing(&mut self, at: Millis) {
        if self.billing_since.is_none() {
            self.billing_since = Some(at);
        }
    }

    pub fn stop_billing(&mut self, at: Millis) {
        if let Some(since) = self.billing_since.take() {
            self.billed_ms += (at - since).max(0);
        }
    }

    /// Whether the instance has been provisioned (IP and OS volume are visible).
    fn provisioned(&self) -> bool {
        !matches!(
            self.status,
            InstanceStatus::Ordered | InstanceStatus::Provisioning | InstanceStatus::NoCapacity
        )
    }

    pub fn to_wire(&self, catalog: &Catalog) -> Instance {
        let entry: Option<&TypeEntry> = catalog.instance_type(&self.instance_type);
        let spec = |f: fn(&TypeEntry) -> SizeSpec| entry.map(f).unwrap_or_default();
        let provisioned = self.provisioned();
        Instance {
            id: self.id.clone(),
            instance_type: self.instance_type.clone(),
            image: self.image.clone(),
            os_name: Some(Catalog::os_name(&self.image)),
            price_per_hour: self.price_per_hour,
            hostname: self.hostname.clone(),
            description: self.description.clone(),
            ip: (provisioned && self.status != InstanceStatus::Discontinued)
                .then(|| self.ip.clone()),
            status: self.status.clone(),
            created_at: iso8601(self.created_at),
            ssh_key_ids: self.ssh_key_ids.clone(),
            startup_script_id: self.startup_script_id.clone(),
            cpu: entry.map(|e| e.wire.cpu.clone()).unwrap_or_default(),
            gpu: entry.map(|e| e.wire.gpu.clone()).unwrap_or_default(),
            memory: spec(|e| e.wire.memory.clone()),
            gpu_memory: spec(|e| e.wire.gpu_memory.clone()),
            storage: spec(|e| e.wire.storage.clone()),
            os_volume_id: if provisioned {
                self.os_volume_id.clone()
            } else {
                None
            },
            location: self.location.clone(),
            is_spot: self.is_spot,
            jupyter_token: Some(self.jupyter_token.clone()),
            contract: self.contract.clone(),
            pricing: self.pricing.clone(),
            volume_ids: self.volume_ids.clone(),
            tags: self.tags.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub id: String,
    pub name: String,
    pub size: u32,
    pub volume_type: String,
    pub location: String,
    pub is_os_volume: bool,
    pub created_at: Millis,
    pub status: VolumeStatus,
    pub instance_id: Option<String>,
    pub target: Option<String>,
    pub ssh_key_ids: Vec<String>,
    pub on_spot_discontinue: Option<OnSpotDiscontinue>,
    pub tags: Vec<Tag>,
    pub deleted_at: Option<Millis>,
    pub permanently_deleted: bool,
}

impl VolumeRecord {
    pub fn is_deleted(&self) -> bool {
        self.status == VolumeStatus::Deleted
    }

    pub fn to_wire(&self, catalog: &Catalog) -> Volume {
        let per_gb = catalog
            .volume_type(&self.volume_type)
            .map_or(Decimal::ZERO, |t| t.price.price_per_month_per_gb.0);
        let monthly = per_gb * Decimal::from(self.size);
        Volume {
            id: self.id.clone(),
            status: self.status.clone(),
            instance_id: self.instance_id.clone(),
            name: self.name.clone(),
            size: self.size,
            volume_type: self.volume_type.clone(),
            location: self.location.clone(),
            is_os_volume: self.is_os_volume,
            created_at: iso8601(self.created_at),
            target: self.target.clone(),
            ssh_key_ids: self.ssh_key_ids.clone(),
            contract: Some(Contract::PayAsYouGo),
            base_hourly_cost: Some(Price((monthly / Decimal::from(730)).round_dp(8))),
            monthly_price: Some(Price(monthly)),
            currency: Some("usd".to_owned()),
            deleted_at: self.deleted_at.map(iso8601),
            is_permanently_deleted: self.deleted_at.map(|_| self.permanently_deleted),
            tags: self.tags.clone(),
        }
    }
}
