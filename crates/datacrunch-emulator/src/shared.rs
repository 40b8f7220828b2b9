//! [`Shared`]: the state every request handler sees (world, auth, faults, counters),
//! and [`AdminHandle`], the in-process admin API tests use instead of HTTP.

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::clock::{Clock, Millis};
use crate::error::ApiError;
use crate::faults::{FaultRule, Faults};
use crate::sandbox::Board;
use crate::world::{Slot, SlotUsage, StorageUsage, World};
use axum::http::Method;
use datacrunch_models::InstanceStatus;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests per endpoint key, e.g. `"GET /v1/instances/{id}"`, kept by method then
/// route so counting a request allocates nothing once its route has been seen.
#[derive(Debug, Default)]
pub struct Counters(Mutex<HashMap<Method, HashMap<String, u64>>>);

impl Counters {
    pub fn bump(&self, method: &Method, route: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let routes = match map.get_mut(method) {
            Some(routes) => routes,
            None => map.entry(method.clone()).or_default(),
        };
        match routes.get_mut(route) {
            Some(n) => *n += 1,
            None => {
                routes.insert(route.to_owned(), 1);
            }
        }
    }

    /// Counts by `"METHOD /route"`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .flat_map(|(method, routes)| {
                routes
                    .iter()
                    .map(move |(route, n)| (format!("{method} {route}"), *n))
            })
            .collect()
    }

    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Everything a running emulator holds.
#[derive(Debug)]
pub struct Shared {
    pub world: Mutex<World>,
    pub auth: Auth,
    pub faults: Faults,
    pub counters: Counters,
    pub catalog: Arc<Catalog>,
    pub clock: Arc<Clock>,
    /// The emulated machines, as the sandbox supervisor last saw them.
    pub nodes: Arc<Board>,
}

impl Shared {
    /// Runs `f` on the world at the current virtual time, after applying every due
    /// transition, and writes the changes through to the store.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut World, Millis) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        world.settle(now);
        let result = f(&mut world, now);
        world.flush()?;
        result
    }
}

/// The admin API, in process: inspect and steer a running emulator from a test.
#[derive(Clone, Debug)]
pub struct AdminHandle(pub(crate) Arc<Shared>);

impl AdminHandle {
    /// The node mode in force and every node (`GET /admin/nodes`).
    pub fn nodes(&self) -> crate::sandbox::BoardView {
        self.0.nodes.view()
    }

    /// Moves the virtual clock forward (lifecycle steps and billing follow).
    pub fn advance_clock(&self, by: Duration) {
        let _ = self.0.with(|w, _| {
            w.advance_clock(crate::clock::millis(by));
            Ok(())
        });
    }

    /// Sets the total of one capacity slot.
    pub fn set_capacity(
        &self,
        instance_type: &str,
        location: &str,
        is_spot: bool,
        total: u32,
    ) -> Result<(), ApiError> {
        let slot = Slot {
            instance_type: instance_type.to_owned(),
            location: location.to_owned(),
            is_spot,
        };
        self.0.with(|w, _| w.set_capacity(slot, total))
    }

    /// Every capacity slot with its use.
    pub fn capacity(&self) -> Vec<SlotUsage> {
        self.0.with(|w, _| Ok(w.capacity())).unwrap_or_default()
    }

    /// Makes deploys of a type in a location answer 202 and then end in `no_capacity`.
    pub fn set_late_no_capacity(&self, instance_type: &str, location: &str, enabled: bool) {
        if let Err(e) = self
            .0
            .with(|w, _| w.set_late_no_capacity(instance_type, location, enabled))
        {
            tracing::warn!(error = %e, "late no_capacity mode not set");
        }
    }

    pub fn balance(&self) -> Decimal {
        self.0.with(|w, now| Ok(w.balance(now))).unwrap_or_default()
    }

    pub fn set_balance(&self, amount: Decimal) {
        let _ = self.0.with(|w, now| {
            w.set_balance(amount, now);
            Ok(())
        });
    }

    /// Sets the fault rule of one endpoint key (`"GET /v1/instances"` or `"*"`).
    pub fn set_fault(&self, endpoint: &str, rule: FaultRule) -> Result<(), String> {
        rule.validate()?;
        self.0.faults.set(endpoint.to_owned(), rule);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.0.faults.replace(BTreeMap::new());
    }

    /// Faults injected so far, by kind (`"500"`, `"lost_answer"`, …), as
    /// `GET /admin/faults/injected` reports them.
    pub fn injected_faults(&self) -> BTreeMap<&'static str, u64> {
        self.0.faults.injected()
    }

    pub fn revoke_all_tokens(&self) {
        self.0.auth.revoke_all();
    }

    /// Requests served per endpoint key (method + route template).
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.0.counters.snapshot()
    }

    /// The count of one endpoint key, 0 if never called.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.counters().get(endpoint).copied().unwrap_or(0)
    }

    pub fn reset_counters(&self) {
        self.0.counters.reset();
    }

    /// Every instance ever deployed, including deleted ones (with `listed`,
    /// `deleted_at`, `cost`).
    pub fn instances(&self) -> Vec<serde_json::Value> {
        self.0
            .with(|w, now| Ok(w.instance_history(now)))
            .unwrap_or_default()
    }

    /// Every cluster ever created, including deleted ones (with `listed`, `cost`,
    /// `holds_capacity`).
    pub fn clusters(&self) -> Vec<serde_json::Value> {
        self.0
            .with(|w, now| Ok(w.cluster_history(now)))
            .unwrap_or_default()
    }

    /// Keeps an instance in `provisioning` or `error` for good; a normal delete is then
    /// refused and only `delete_stuck` removes it.
    pub fn make_stuck(&self, id: &str, status: InstanceStatus) -> Result<(), ApiError> {
        self.0.with(|w, _| w.make_stuck(id, status))
    }

    /// The provider takes the spot instance back: it is discontinued and each of its
    /// volumes follows its `on_spot_discontinue` policy.
    pub fn discontinue_spot(&self, id: &str) -> Result<(), ApiError> {
        self.0.with(|w, now| w.discontinue_spot(id, now))
    }

    /// The storage quota, its use and the trash's part of it.
    pub fn storage(&self) -> Result<StorageUsage, ApiError> {
        self.0.with(|w, _| Ok(w.storage()))
    }

    /// Sets the storage quota in GB (until a restart or reset).
    pub fn set_storage_quota(&self, gb: u64) -> Result<(), ApiError> {
        self.0.with(|w, _| {
            w.set_storage_quota(gb);
            Ok(())
        })
    }

    /// Forgets every resource and reseeds capacity and balance.
    pub fn reset(&self) -> Result<(), ApiError> {
        self.0.with(|w, _| w.reset())?;
        self.0.counters.reset();
        Ok(())
    }
}
