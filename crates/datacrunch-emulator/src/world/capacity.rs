//! Capacity: free slots per (instance type, location, spot) where the catalog offers
//! the type, what running instances use of them, and the (type, location) pairs in
//! "late no_capacity" mode. Availability answers come from here.

use super::persist::{decode, to_doc, META_CAPACITY, META_LATE};
use crate::catalog::Catalog;
use crate::error::{ApiError, EmulatorError};
use crate::store::{Store, Write};
use datacrunch_models::LocationAvailability;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// A capacity slot: (instance type, location, spot).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Slot {
    pub instance_type: String,
    pub location: String,
    pub is_spot: bool,
}

/// One slot as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotUsage {
    #[serde(flatten)]
    pub slot: Slot,
    pub total: u32,
    pub used: u32,
}

#[derive(Debug)]
pub struct CapacityStore {
    catalog: Arc<Catalog>,
    totals: BTreeMap<Slot, u32>,
    used: HashMap<Slot, u32>,
    /// (type, location) pairs whose deploys are accepted and then end in `no_capacity`.
    late_no_capacity: BTreeSet<(String, String)>,
    totals_changed: bool,
    late_changed: bool,
}

impl CapacityStore {
    /// Loads the slots, seeding every slot the catalog offers with `per_slot` free ones
    /// in a new state. `in_use` are the slots the stored instances hold.
    pub fn load(
        store: &Store,
        catalog: Arc<Catalog>,
        per_slot: u32,
        in_use: impl Iterator<Item = Slot>,
    ) -> Result<Self, EmulatorError> {
        let mut capacity = CapacityStore {
            catalog,
            totals: BTreeMap::new(),
            used: HashMap::new(),
            late_no_capacity: BTreeSet::new(),
            totals_changed: false,
            late_changed: false,
        };
        match store.meta(META_CAPACITY)? {
            Some(v) => {
                let slots: Vec<(Slot, u32)> = decode("meta", META_CAPACITY, &v)?;
                capacity.totals = slots.into_iter().collect();
            }
            None => capacity.seed(per_slot),
        }
        if let Some(v) = store.meta(META_LATE)? {
            capacity.late_no_capacity = decode("meta", META_LATE, &v)?;
        }
        for slot in in_use {
            capacity.take(slot);
        }
        Ok(capacity)
    }

    /// Every (type, location) the catalog offers gets `per_slot` slots, on demand and
    /// (where the type has spot offers) spot.
    fn seed(&mut self, per_slot: u32) {
        for t in &self.catalog.types {
            for loc in &t.locations {
                for is_spot in [false, true] {
                    if is_spot && !t.spot_offered {
                        continue;
                    }
                    let slot = Slot {
                        instance_type: t.wire.instance_type.clone(),
                        location: loc.clone(),
                        is_spot,
                    };
                    self.totals.insert(slot, per_slot);
                }
            }
        }
        self.totals_changed = true;
    }

    /// Free slots of a capacity slot.
    pub fn free(&self, slot: &Slot) -> u32 {
        let total = self.totals.get(slot).copied().unwrap_or(0);
        total.saturating_sub(self.used.get(slot).copied().unwrap_or(0))
    }

    /// Takes one slot (a deploy, a restore).
    pub fn take(&mut self, slot: Slot) {
        *self.used.entry(slot).or_default() += 1;
    }

    /// Gives one slot back (a delete, a hibernation).
    pub fn give_back(&mut self, slot: &Slot) {
        if let Some(n) = self.used.get_mut(slot) {
            *n = n.saturating_sub(1);
        }
    }

    /// Whether deploys of this type in this location end in `no_capacity`.
    pub fn is_late(&self, instance_type: &str, location: &str) -> bool {
        self.late_no_capacity
            .contains(&(instance_type.to_owned(), location.to_owned()))
    }

    /// `GET /instance-availability`: per location, the types with a free slot.
    pub fn availability(&self, is_spot: bool, location: Option<&str>) -> Vec<LocationAvailability> {
        self.catalog
            .locations
            .iter()
            .filter(|l| location.is_none_or(|want| want == l.code))
            .map(|l| LocationAvailability {
                location_code: l.code.clone(),
                availabilities: self
                    .catalog
                    .types
                    .iter()
                    .map(|t| &t.wire.instance_type)
                    .filter(|t| self.has_free(t, &l.code, is_spot))
                    .cloned()
                    .collect(),
            })
            .collect()
    }

    /// `GET /instance-availability/{type}`.
    pub fn is_available(&self, instance_type: &str, is_spot: bool, location: Option<&str>) -> bool {
        self.catalog
            .locations
            .iter()
            .filter(|l| location.is_none_or(|want| want == l.code))
            .any(|l| self.has_free(instance_type, &l.code, is_spot))
    }

    fn has_free(&self, instance_type: &str, location: &str, is_spot: bool) -> bool {
        self.free(&Slot {
            instance_type: instance_type.to_owned(),
            location: location.to_owned(),
            is_spot,
        }) > 0
    }

    /// Admin: sets the total of one slot (a slot the catalog does not offer may be set).
    pub fn set_total(&mut self, slot: Slot, total: u32) -> Result<(), ApiError> {
        self.check_offered(&slot.instance_type, &slot.location)?;
        self.totals.insert(slot, total);
        self.totals_changed = true;
        Ok(())
    }

    /// Admin: every slot with its use.
    pub fn usage(&self) -> Vec<SlotUsage> {
        self.totals
            .iter()
            .map(|(slot, &total)| SlotUsage {
                slot: slot.clone(),
                total,
                used: self.used.get(slot).copied().unwrap_or(0),
            })
            .collect()
    }

    /// Admin: deploys of this type in this location answer 202 and end in `no_capacity`.
    pub fn set_late(
        &mut self,
        instance_type: &str,
        location: &str,
        enabled: bool,
    ) -> Result<(), ApiError> {
        self.check_offered(instance_type, location)?;
        let key = (instance_type.to_owned(), location.to_owned());
        if enabled {
            self.late_no_capacity.insert(key);
        } else {
            self.late_no_capacity.remove(&key);
        }
        self.late_changed = true;
        Ok(())
    }

    fn check_offered(&self, instance_type: &str, location: &str) -> Result<(), ApiError> {
        if self.catalog.instance_type(instance_type).is_none() {
            return Err(ApiError::invalid(format!(
                "instance_type {instance_type:?} is not in the catalog"
            )));
        }
        if !self.catalog.is_location(location) {
            return Err(ApiError::invalid(format!(
                "location_code {location:?} is not a location"
            )));
        }
        Ok(())
    }

    pub fn drain_writes(&mut self, out: &mut Vec<Write>) {
        if std::mem::take(&mut self.totals_changed) {
            let slots: Vec<(&Slot, &u32)> = self.totals.iter().collect();
            out.push(Write::Meta {
                key: META_CAPACITY,
                value: to_doc(&slots),
            });
        }
        if std::mem::take(&mut self.late_changed) {
            out.push(Write::Meta {
                key: META_LATE,
                value: to_doc(&self.late_no_capacity),
            });
        }
    }
}
