//! The world: every resource the emulated account owns, behind one facade. Handlers
//! call into it under one mutex; each call first [`settle`](World::settle)s due
//! lifecycle steps, then changes records, and [`flush`](World::flush) writes every
//! change through to the [`Store`] before the answer leaves.
//!
//! The world knows no HTTP: it refuses with [`ApiError`] (an error code and message),
//! which the `http` module turns into a status and body.
//!
//! Stores, one per resource (each loads itself and reports its own pending writes):
//! `instances`, `clusters`, `volumes`, `documents` (SSH keys, startup scripts), `capacity`
//! (catalog slots and their use), `ledger` (balance). Operations that span stores live
//! in `deploy`, `actions` (instance actions and tags), `cluster_ops` (cluster
//! endpoints), `cluster_machines` (a cluster's volumes and sandboxed machines),
//! `volume_ops` (volume endpoints), `quota` (the storage quota, the trash included),
//! `spot` (spot instances the provider takes back) and `links` (volumes attached to
//! instances, instances holding capacity). Leaves:
//! `records` (stored shapes), `rules` (shared limits and checks), `schedule` (lifecycle
//! steps on the virtual clock, for instances and clusters), `persist`. `nodes`
//! reads what the sandbox supervisor should run.

mod actions;
mod capacity;
mod cluster_machines;
mod cluster_ops;
mod clusters;
mod deploy;
mod documents;
mod instances;
mod ledger;
mod links;
mod nodes;
mod persist;
mod quota;
mod records;
mod rules;
mod schedule;
mod spot;
mod volume_ops;
mod volumes;

pub use capacity::{Slot, SlotUsage};
pub use quota::StorageUsage;
pub use records::{InstanceRecord, Step, Transition, VolumeRecord};
pub use rules::Tagged;

use crate::catalog::Catalog;
use crate::clock::{iso8601, millis, Clock, Millis};
use crate::config::Config;
use crate::error::{ApiError, EmulatorError};
use crate::store::{Store, Write};
use bytes::Bytes;
use capacity::CapacityStore;
use clusters::ClusterStore;
use datacrunch_models::{
    CreateSshKeyRequest, CreateStartupScriptRequest, InstanceStatus, LocationAvailability, SshKey,
    StartupScript,
};
use documents::DocStore;
use instances::InstanceStore;
use ledger::Ledger;
use persist::{parse_meta, META_CLOCK};
use rust_decimal::Decimal;
use std::sync::Arc;
use volumes::VolumeStore;

/// Everything the emulated account holds.
pub struct World {
    catalog: Arc<Catalog>,
    config: Arc<Config>,
    clock: Arc<Clock>,
    store: Store,
    instances: InstanceStore,
    clusters: ClusterStore,
    volumes: VolumeStore,
    ssh_keys: DocStore<SshKey>,
    scripts: DocStore<StartupScript>,
    capacity: CapacityStore,
    ledger: Ledger,
    /// Starts as the configured quota; the admin API changes it.
    storage_quota_gb: u64,
    clock_offset_changed: bool,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("instances", &self.instances.all().len())
            .finish_non_exhaustive()
    }
}

impl World {
    /// Loads the world from the store, seeding a new one from the configuration.
    pub fn load(
        catalog: Arc<Catalog>,
        config: Arc<Config>,
        clock: Arc<Clock>,
        store: Store,
    ) -> Result<World, EmulatorError> {
        let instances = InstanceStore::load(&store)?;
        let clusters = ClusterStore::load(&store)?;
        let capacity = Self::load_capacity(&store, &catalog, &config, &instances, &clusters)?;
        let world = World {
            clusters,
            volumes: VolumeStore::load(&store)?,
            ssh_keys: DocStore::load(&store)?,
            scripts: DocStore::load(&store)?,
            ledger: Ledger::load(&store, config.starting_balance)?,
            instances,
            capacity,
            storage_quota_gb: config.storage_quota_gb,
            catalog,
            config,
            clock,
            store,
            clock_offset_changed: false,
        };
        if let Some(v) = world.store.meta(META_CLOCK)? {
            world.clock.set_offset(parse_meta(META_CLOCK, &v)?);
        }
        world.write_through()
    }

    fn load_capacity(
        store: &Store,
        catalog: &Arc<Catalog>,
        config: &Config,
        instances: &InstanceStore,
        clusters: &ClusterStore,
    ) -> Result<CapacityStore, EmulatorError> {
        let cluster_nodes = clusters
            .all()
            .iter()
            .filter(|r| r.holds_capacity)
            .flat_map(|r| std::iter::repeat_n(r.slot(), r.node_count as usize));
        let in_use = instances
            .all()
            .iter()
            .filter(|r| r.holds_capacity)
            .map(InstanceRecord::slot)
            .chain(cluster_nodes);
        CapacityStore::load(store, catalog.clone(), config.capacity_per_slot, in_use)
    }

    /// Stores what loading seeded (a new state's balance and capacity).
    fn write_through(mut self) -> Result<World, EmulatorError> {
        let writes = self.pending_writes();
        self.store.apply(&writes)?;
        Ok(self)
    }

    fn pending_writes(&mut self) -> Vec<Write> {
        let mut writes = Vec::new();
        if std::mem::take(&mut self.clock_offset_changed) {
            writes.push(Write::Meta {
                key: META_CLOCK,
                value: self.clock.offset().to_string(),
            });
        }
        self.ledger.drain_writes(&mut writes);
        self.capacity.drain_writes(&mut writes);
        self.instances.drain_writes(&mut writes);
        self.clusters.drain_writes(&mut writes);
        self.volumes.drain_writes(&mut writes);
        self.ssh_keys.drain_writes(&mut writes);
        self.scripts.drain_writes(&mut writes);
        writes
    }

    /// Writes every pending change to the store.
    pub fn flush(&mut self) -> Result<(), ApiError> {
        let writes = self.pending_writes();
        self.store.apply(&writes).map_err(|e| {
            tracing::error!(error = %e, "cannot write state");
            ApiError::server(format!("cannot write state: {e}"))
        })
    }

    /// Applies every lifecycle step due by `now`.
    pub fn settle(&mut self, now: Millis) {
        let provisioning = millis(self.config.timing.provisioning);
        self.instances.settle(now, provisioning);
        self.clusters.settle(now, provisioning);
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    // ---- instances (the endpoints that change them: `deploy`, `actions`) ----

    /// `GET /instances[?status=]` as JSON.
    pub fn instances_json(&mut self, status: Option<InstanceStatus>) -> Bytes {
        self.instances.list_json(status, &self.catalog)
    }

    /// `GET /instances/{id}`.
    pub fn instance(&self, id: &str) -> Result<datacrunch_models::Instance, ApiError> {
        let idx = self.instances.listed_or_not_found(id)?;
        Ok(self.instances.get(idx).to_wire(&self.catalog))
    }

    /// Admin: every instance ever deployed, with history fields.
    pub fn instance_history(&self, now: Millis) -> Vec<serde_json::Value> {
        self.instances
            .all()
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r.to_wire(&self.catalog)).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("listed".into(), r.listed.into());
                    o.insert("deleted_at".into(), r.deleted_at.map(iso8601).into());
                    o.insert("cost".into(), r.cost(now).round_dp(6).to_string().into());
                    o.insert("holds_capacity".into(), r.holds_capacity.into());
                }
                v
            })
            .collect()
    }

    // ---- SSH keys and startup scripts ----

    pub fn ssh_keys(&self) -> &[SshKey] {
        self.ssh_keys.all()
    }

    pub fn ssh_key(&self, id: &str) -> Result<SshKey, ApiError> {
        self.ssh_keys.find(id)
    }

    /// `POST /sshkeys`.
    pub fn create_ssh_key(
        &mut self,
        req: CreateSshKeyRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        self.ssh_keys.create(req, now)
    }

    pub fn delete_ssh_keys(&mut self, ids: &[String]) -> Result<(), ApiError> {
        rules::check_id_count("keys", ids.len())?;
        self.ssh_keys.delete(ids);
        Ok(())
    }

    pub fn scripts(&self) -> &[StartupScript] {
        self.scripts.all()
    }

    pub fn script(&self, id: &str) -> Result<StartupScript, ApiError> {
        self.scripts.find(id)
    }

    /// `POST /scripts`.
    pub fn create_script(
        &mut self,
        req: CreateStartupScriptRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        self.scripts.create(req, now)
    }

    pub fn delete_scripts(&mut self, ids: &[String]) -> Result<(), ApiError> {
        rules::check_id_count("scripts", ids.len())?;
        self.scripts.delete(ids);
        Ok(())
    }

    // ---- capacity and balance ----

    /// Free slots of a capacity slot.
    pub fn free(&self, slot: &Slot) -> u32 {
        self.capacity.free(slot)
    }

    /// `GET /instance-availability`: per location, the types with a free slot.
    pub fn availability(&self, is_spot: bool, location: Option<&str>) -> Vec<LocationAvailability> {
        self.capacity.availability(is_spot, location)
    }

    /// `GET /instance-availability/{type}`.
    pub fn is_available(&self, instance_type: &str, is_spot: bool, location: Option<&str>) -> bool {
        self.capacity.is_available(instance_type, is_spot, location)
    }

    /// Admin: sets the total of one slot.
    pub fn set_capacity(&mut self, slot: Slot, total: u32) -> Result<(), ApiError> {
        self.capacity.set_total(slot, total)
    }

    /// Admin: every slot with its use.
    pub fn capacity(&self) -> Vec<SlotUsage> {
        self.capacity.usage()
    }

    /// Admin: deploys of this type in this location answer 202 and end in `no_capacity`.
    pub fn set_late_no_capacity(
        &mut self,
        instance_type: &str,
        location: &str,
        enabled: bool,
    ) -> Result<(), ApiError> {
        self.capacity.set_late(instance_type, location, enabled)
    }

    /// The balance now: the base minus everything every instance has cost.
    pub fn balance(&self, now: Millis) -> Decimal {
        self.ledger.balance(self.spent(now))
    }

    /// Everything every instance and cluster has cost up to `now`.
    fn spent(&self, now: Millis) -> Decimal {
        self.instances
            .spent(now)
            .saturating_add(self.clusters.spent(now))
    }

    /// Admin: sets the balance as of `now`.
    pub fn set_balance(&mut self, amount: Decimal, now: Millis) {
        let spent = self.spent(now);
        self.ledger.set(amount, spent);
    }

    // ---- admin ----

    /// Admin: moves the clock and persists the offset.
    pub fn advance_clock(&mut self, by_ms: Millis) {
        self.clock.advance(by_ms);
        self.clock_offset_changed = true;
    }

    /// Admin: forgets everything and reseeds from the configuration.
    pub fn reset(&mut self) -> Result<(), ApiError> {
        let server = |e: EmulatorError| ApiError::server(e.to_string());
        self.store.clear().map_err(server)?;
        self.clock.set_offset(0);
        self.clock_offset_changed = false;
        self.instances = InstanceStore::load(&self.store).map_err(server)?;
        self.clusters = ClusterStore::load(&self.store).map_err(server)?;
        self.volumes = VolumeStore::load(&self.store).map_err(server)?;
        self.ssh_keys = DocStore::load(&self.store).map_err(server)?;
        self.scripts = DocStore::load(&self.store).map_err(server)?;
        self.capacity = Self::load_capacity(
            &self.store,
            &self.catalog,
            &self.config,
            &self.instances,
            &self.clusters,
        )
        .map_err(server)?;
        self.ledger = Ledger::load(&self.store, self.config.starting_balance).map_err(server)?;
        self.storage_quota_gb = self.config.storage_quota_gb;
        Ok(())
    }
}
