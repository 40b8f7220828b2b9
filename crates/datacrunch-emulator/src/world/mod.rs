//! The world: every resource the emulated account owns, its lifecycle on the virtual
//! clock, capacity and balance. Handlers call into it under one mutex; each call first
//! [`settle`](World::settle)s due transitions, then changes records, and every change is
//! written through to the [`Store`] before the answer leaves.
//!
//! Sub-modules: `records` (stored shapes), `instances` (deploy, actions, tags),
//! `resources` (SSH keys, scripts, volumes).

mod instances;
mod records;
mod resources;

pub use instances::Tagged;
pub use records::{InstanceRecord, Step, Transition, VolumeRecord};

use crate::catalog::Catalog;
use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{ApiError, EmulatorError};
use crate::store::{Kind, Store, Write};
use axum::body::Bytes;
use datacrunch_models::{InstanceStatus, LocationAvailability, SshKey, StartupScript};
use rust_decimal::Decimal;
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

/// Everything the emulated account holds.
pub struct World {
    catalog: Arc<Catalog>,
    config: Arc<Config>,
    clock: Arc<Clock>,
    store: Store,
    writes: Vec<Write>,
    dirty_instances: BTreeSet<usize>,
    dirty_volumes: BTreeSet<usize>,
    instances: Vec<InstanceRecord>,
    instance_index: HashMap<String, usize>,
    volumes: Vec<VolumeRecord>,
    volume_index: HashMap<String, usize>,
    ssh_keys: Vec<SshKey>,
    scripts: Vec<StartupScript>,
    capacity: BTreeMap<Slot, u32>,
    used: HashMap<Slot, u32>,
    /// (type, location) pairs whose deploys are accepted and then end in `no_capacity`.
    late_no_capacity: BTreeSet<(String, String)>,
    /// Balance plus everything billed so far: balance = base − Σ cost.
    balance_base: Decimal,
    next_ip: u64,
    /// Earliest scheduled transition, so `settle` costs nothing when none is due.
    next_due: Millis,
    /// Bumped on every change; keys the cached instance list.
    version: u64,
    list_cache: HashMap<Option<InstanceStatus>, Bytes>,
    list_cache_version: u64,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("instances", &self.instances.len())
            .field("volumes", &self.volumes.len())
            .finish_non_exhaustive()
    }
}

const META_BALANCE: &str = "balance_base";
const META_CLOCK: &str = "clock_offset_ms";
const META_CAPACITY: &str = "capacity";
const META_LATE: &str = "late_no_capacity";
const META_NEXT_IP: &str = "next_ip";

fn decode<T: serde::de::DeserializeOwned>(
    kind: &str,
    id: &str,
    doc: &str,
) -> Result<T, EmulatorError> {
    serde_json::from_str(doc).map_err(|source| EmulatorError::CorruptRecord {
        kind: kind.to_owned(),
        id: id.to_owned(),
        source,
    })
}

/// A number kept in the `meta` table. A value that does not parse is a corrupt state
/// file, refused like a corrupt document: silently starting over would reset the
/// balance, move the clock back, or hand out IPs already in use.
fn parse_meta<T>(key: &str, value: &str) -> Result<T, EmulatorError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| EmulatorError::CorruptRecord {
            kind: "meta".to_owned(),
            id: key.to_owned(),
            source: serde::de::Error::custom(format!("{value:?} is not a number: {e}")),
        })
}

impl World {
    /// Loads the world from the store, seeding a new one from the configuration.
    pub fn load(
        catalog: Arc<Catalog>,
        config: Arc<Config>,
        clock: Arc<Clock>,
        store: Store,
    ) -> Result<World, EmulatorError> {
        let mut world = World {
            catalog,
            config,
            clock,
            store,
            writes: Vec::new(),
            dirty_instances: BTreeSet::new(),
            dirty_volumes: BTreeSet::new(),
            instances: Vec::new(),
            instance_index: HashMap::new(),
            volumes: Vec::new(),
            volume_index: HashMap::new(),
            ssh_keys: Vec::new(),
            scripts: Vec::new(),
            capacity: BTreeMap::new(),
            used: HashMap::new(),
            late_no_capacity: BTreeSet::new(),
            balance_base: Decimal::ZERO,
            next_ip: 0,
            next_due: Millis::MAX,
            version: 0,
            list_cache: HashMap::new(),
            list_cache_version: 0,
        };
        world.load_from_store()?;
        Ok(world)
    }

    fn load_from_store(&mut self) -> Result<(), EmulatorError> {
        let kinds = [Kind::Instance, Kind::Volume, Kind::SshKey, Kind::Script];
        let [instances, volumes, keys, scripts] = kinds.map(|k| (k, self.store.load(k)));
        for (id, doc) in instances.1? {
            let record: InstanceRecord = decode(instances.0.as_str(), &id, &doc)?;
            self.instance_index
                .insert(record.id.clone(), self.instances.len());
            self.instances.push(record);
        }
        for (id, doc) in volumes.1? {
            let record: VolumeRecord = decode(volumes.0.as_str(), &id, &doc)?;
            self.volume_index
                .insert(record.id.clone(), self.volumes.len());
            self.volumes.push(record);
        }
        for (id, doc) in keys.1? {
            self.ssh_keys.push(decode(keys.0.as_str(), &id, &doc)?);
        }
        for (id, doc) in scripts.1? {
            self.scripts.push(decode(scripts.0.as_str(), &id, &doc)?);
        }
        match self.store.meta(META_BALANCE)? {
            Some(v) => self.balance_base = parse_meta(META_BALANCE, &v)?,
            None => {
                self.balance_base = self.config.starting_balance;
                self.set_meta(META_BALANCE, self.balance_base.to_string());
            }
        }
        if let Some(v) = self.store.meta(META_CLOCK)? {
            self.clock.set_offset(parse_meta(META_CLOCK, &v)?);
        }
        self.next_ip = match self.store.meta(META_NEXT_IP)? {
            Some(v) => parse_meta(META_NEXT_IP, &v)?,
            None => 0,
        };
        match self.store.meta(META_CAPACITY)? {
            Some(v) => {
                let slots: Vec<(Slot, u32)> = decode("meta", META_CAPACITY, &v)?;
                self.capacity = slots.into_iter().collect();
            }
            None => self.seed_capacity(),
        }
        if let Some(v) = self.store.meta(META_LATE)? {
            self.late_no_capacity = decode("meta", META_LATE, &v)?;
        }
        self.used.clear();
        for r in self.instances.iter().filter(|r| r.holds_capacity) {
            *self.used.entry(slot_of(r)).or_default() += 1;
        }
        self.recompute_next_due();
        self.store.apply(&std::mem::take(&mut self.writes))
    }

    /// Every (type, location) the catalog offers gets the configured number of slots,
    /// on demand and (where the type has spot offers) spot.
    fn seed_capacity(&mut self) {
        let per_slot = self.config.capacity_per_slot;
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
                    self.capacity.insert(slot, per_slot);
                }
            }
        }
        self.save_capacity();
    }

    fn set_meta(&mut self, key: &'static str, value: String) {
        self.writes.push(Write::Meta { key, value });
        self.version += 1;
    }

    fn save_capacity(&mut self) {
        let slots: Vec<(&Slot, &u32)> = self.capacity.iter().collect();
        let json = serde_json::to_string(&slots).unwrap_or_default();
        self.set_meta(META_CAPACITY, json);
    }

    pub(crate) fn touch_instance(&mut self, idx: usize) {
        self.dirty_instances.insert(idx);
        self.version += 1;
    }

    pub(crate) fn touch_volume(&mut self, idx: usize) {
        self.dirty_volumes.insert(idx);
        self.version += 1;
    }

    /// Writes every pending change to the store.
    pub fn flush(&mut self) -> Result<(), ApiError> {
        for idx in std::mem::take(&mut self.dirty_instances) {
            let r = &self.instances[idx];
            let doc = serde_json::to_string(r).unwrap_or_default();
            self.writes.push(Write::Put {
                kind: Kind::Instance,
                id: r.id.clone(),
                doc,
            });
        }
        for idx in std::mem::take(&mut self.dirty_volumes) {
            let r = &self.volumes[idx];
            let doc = serde_json::to_string(r).unwrap_or_default();
            self.writes.push(Write::Put {
                kind: Kind::Volume,
                id: r.id.clone(),
                doc,
            });
        }
        if self.writes.is_empty() {
            return Ok(());
        }
        self.recompute_next_due();
        let writes = std::mem::take(&mut self.writes);
        self.store.apply(&writes).map_err(|e| {
            tracing::error!(error = %e, "cannot write state");
            ApiError::server(format!("cannot write state: {e}"))
        })
    }

    fn recompute_next_due(&mut self) {
        self.next_due = self
            .instances
            .iter()
            .filter_map(|r| r.next.as_ref().map(|t| t.at))
            .min()
            .unwrap_or(Millis::MAX);
    }

    /// Applies every transition due by `now`.
    pub fn settle(&mut self, now: Millis) {
        if now < self.next_due {
            return;
        }
        for idx in 0..self.instances.len() {
            while let Some(t) = self.instances[idx].next.clone().filter(|t| t.at <= now) {
                self.apply_transition(idx, t);
            }
        }
        self.recompute_next_due();
    }

    fn apply_transition(&mut self, idx: usize, t: Transition) {
        let provisioning = crate::clock::millis(self.config.timing.provisioning);
        let r = &mut self.instances[idx];
        r.next = None;
        match t.step {
            Step::Provisioning => {
                r.status = InstanceStatus::Provisioning;
                r.next = Some(Transition {
                    step: Step::Running,
                    at: t.at.saturating_add(provisioning),
                });
            }
            Step::Running => {
                r.status = InstanceStatus::Running;
                r.start_billing(t.at);
            }
            Step::NoCapacity => r.status = InstanceStatus::NoCapacity,
            Step::Hibernating => r.status = InstanceStatus::Hibernating,
            Step::Unlist => r.listed = false,
        }
        self.touch_instance(idx);
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Free slots of a capacity slot.
    pub fn free(&self, slot: &Slot) -> u32 {
        let total = self.capacity.get(slot).copied().unwrap_or(0);
        total.saturating_sub(self.used.get(slot).copied().unwrap_or(0))
    }

    fn acquire(&mut self, idx: usize) {
        let slot = slot_of(&self.instances[idx]);
        *self.used.entry(slot).or_default() += 1;
        self.instances[idx].holds_capacity = true;
        self.touch_instance(idx);
    }

    fn release(&mut self, idx: usize) {
        if !self.instances[idx].holds_capacity {
            return;
        }
        let slot = slot_of(&self.instances[idx]);
        if let Some(n) = self.used.get_mut(&slot) {
            *n = n.saturating_sub(1);
        }
        self.instances[idx].holds_capacity = false;
        self.touch_instance(idx);
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
                    .filter(|t| {
                        self.free(&Slot {
                            instance_type: (*t).clone(),
                            location: l.code.clone(),
                            is_spot,
                        }) > 0
                    })
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
            .any(|l| {
                self.free(&Slot {
                    instance_type: instance_type.to_owned(),
                    location: l.code.clone(),
                    is_spot,
                }) > 0
            })
    }

    /// The balance now: the base minus everything every instance has cost.
    pub fn balance(&self, now: Millis) -> Decimal {
        self.balance_base
            .saturating_sub(self.spent(now))
            .round_dp(4)
    }

    /// Everything every instance has cost up to `now`. Saturating: the admin API and
    /// `--balance` accept amounts up to `Decimal::MAX`, and plain `+`/`-` on
    /// `Decimal` panics on overflow.
    fn spent(&self, now: Millis) -> Decimal {
        self.instances
            .iter()
            .fold(Decimal::ZERO, |sum, r| sum.saturating_add(r.cost(now)))
    }

    /// Admin: sets the balance as of `now`.
    pub fn set_balance(&mut self, amount: Decimal, now: Millis) {
        self.balance_base = amount.saturating_add(self.spent(now));
        self.set_meta(META_BALANCE, self.balance_base.to_string());
    }

    /// Admin: sets the total of one slot (a slot the catalog does not offer may be set).
    pub fn set_capacity(&mut self, slot: Slot, total: u32) -> Result<(), ApiError> {
        if self.catalog.instance_type(&slot.instance_type).is_none() {
            return Err(ApiError::invalid(format!(
                "instance_type {:?} is not in the catalog",
                slot.instance_type
            )));
        }
        if !self.catalog.is_location(&slot.location) {
            return Err(ApiError::invalid(format!(
                "location_code {:?} is not a location",
                slot.location
            )));
        }
        self.capacity.insert(slot, total);
        self.save_capacity();
        Ok(())
    }

    /// Admin: every slot with its use.
    pub fn capacity(&self) -> Vec<SlotUsage> {
        self.capacity
            .iter()
            .map(|(slot, &total)| SlotUsage {
                slot: slot.clone(),
                total,
                used: self.used.get(slot).copied().unwrap_or(0),
            })
            .collect()
    }

    /// Admin: deploys of this type in this location answer 202 and end in `no_capacity`.
    pub fn set_late_no_capacity(&mut self, instance_type: &str, location: &str, enabled: bool) {
        let key = (instance_type.to_owned(), location.to_owned());
        if enabled {
            self.late_no_capacity.insert(key);
        } else {
            self.late_no_capacity.remove(&key);
        }
        let json = serde_json::to_string(&self.late_no_capacity).unwrap_or_default();
        self.set_meta(META_LATE, json);
    }

    /// Admin: moves the clock and persists the offset.
    pub fn advance_clock(&mut self, by_ms: Millis) {
        let offset = self.clock.advance(by_ms);
        self.set_meta(META_CLOCK, offset.to_string());
    }

    /// Admin: forgets everything and reseeds from the configuration.
    pub fn reset(&mut self) -> Result<(), ApiError> {
        self.store
            .clear()
            .map_err(|e| ApiError::server(e.to_string()))?;
        self.clock.set_offset(0);
        self.writes.clear();
        self.dirty_instances.clear();
        self.dirty_volumes.clear();
        self.instances.clear();
        self.instance_index.clear();
        self.volumes.clear();
        self.volume_index.clear();
        self.ssh_keys.clear();
        self.scripts.clear();
        self.capacity.clear();
        self.late_no_capacity.clear();
        self.load_from_store()
            .map_err(|e| ApiError::server(e.to_string()))?;
        self.version += 1;
        Ok(())
    }

    /// Admin: every instance ever deployed, with history fields.
    pub fn instance_history(&self, now: Millis) -> Vec<serde_json::Value> {
        self.instances
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r.to_wire(&self.catalog)).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("listed".into(), r.listed.into());
                    o.insert(
                        "deleted_at".into(),
                        r.deleted_at.map(crate::clock::iso8601).into(),
                    );
                    o.insert("cost".into(), r.cost(now).round_dp(6).to_string().into());
                    o.insert("holds_capacity".into(), r.holds_capacity.into());
                }
                v
            })
            .collect()
    }

    fn alloc_ip(&mut self) -> String {
        // 127.a.b.c with c in 1..=254 and b in 1..=255: never 127.0.0.1, never reused.
        let n = self.next_ip;
        self.next_ip += 1;
        self.set_meta(META_NEXT_IP, self.next_ip.to_string());
        let c = 1 + n % 254;
        let rest = n / 254;
        let b = 1 + rest % 255;
        let a = (rest / 255) % 256;
        format!("127.{a}.{b}.{c}")
    }

    fn instance_idx(&self, id: &str) -> Option<usize> {
        self.instance_index
            .get(id)
            .copied()
            .filter(|&i| self.instances[i].listed)
    }

    fn volume_idx(&self, id: &str) -> Option<usize> {
        self.volume_index.get(id).copied()
    }
}

fn slot_of(r: &InstanceRecord) -> Slot {
    Slot {
        instance_type: r.instance_type.clone(),
        location: r.location.clone(),
        is_spot: r.is_spot,
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
