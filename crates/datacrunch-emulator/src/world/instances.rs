//! The instance store: every instance ever deployed (deleted ones stay as history,
//! unlisted), indexed by id; the lifecycle steps that happen by themselves on the
//! virtual clock; IP allocation; and the instance list, cached as serialized JSON
//! between changes because clients poll it.

use super::persist::{load_all, parse_meta, to_doc, META_NEXT_IP};
use super::records::InstanceRecord;
use super::schedule;
use crate::catalog::Catalog;
use crate::clock::Millis;
use crate::error::{ApiError, EmulatorError};
use crate::store::{Kind, Store, Write};
use bytes::Bytes;
use datacrunch_models::{messages, Instance, InstanceStatus};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

/// A new state's first address is one of the first this many: 127.0.1.1 to about
/// 127.127.255.254, leaving the rest of 127.0.0.0/8 to hand out.
const FIRST_IP_RANGE: u64 = 254 * 255 * 128;

#[derive(Debug)]
pub struct InstanceStore {
    records: Vec<InstanceRecord>,
    index: HashMap<String, usize>,
    changed: BTreeSet<usize>,
    next_ip: u64,
    next_ip_changed: bool,
    /// Earliest scheduled transition, so `settle` costs nothing when none is due.
    next_due: Millis,
    /// Bumped on every change; keys the cached list.
    version: u64,
    list_cache: HashMap<Option<InstanceStatus>, Bytes>,
    list_cache_version: u64,
}

impl InstanceStore {
    pub fn load(store: &Store) -> Result<Self, EmulatorError> {
        let mut instances = InstanceStore {
            records: Vec::new(),
            index: HashMap::new(),
            changed: BTreeSet::new(),
            next_ip: match store.meta(META_NEXT_IP)? {
                Some(v) => parse_meta(META_NEXT_IP, &v)?,
                // A new state starts at a random address: emulators running side by
                // side (parallel tests, two projects) then hand out different
                // addresses, so their SSH-able nodes do not fight over one address.
                None => rand::random_range(0..FIRST_IP_RANGE),
            },
            next_ip_changed: false,
            next_due: Millis::MAX,
            version: 0,
            list_cache: HashMap::new(),
            list_cache_version: 0,
        };
        for record in load_all::<InstanceRecord>(store, Kind::Instance)? {
            instances
                .index
                .insert(record.id.clone(), instances.records.len());
            instances.records.push(record);
        }
        instances.recompute_next_due();
        Ok(instances)
    }

    /// Every instance ever deployed, deleted ones included.
    pub fn all(&self) -> &[InstanceRecord] {
        &self.records
    }

    pub fn get(&self, idx: usize) -> &InstanceRecord {
        &self.records[idx]
    }

    /// An instance to change; it is written through at the end of the request.
    pub fn get_mut(&mut self, idx: usize) -> &mut InstanceRecord {
        self.changed.insert(idx);
        self.version += 1;
        &mut self.records[idx]
    }

    /// Any instance, unlisted (long deleted) ones included.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// An instance still in `GET /instances`.
    pub fn listed(&self, id: &str) -> Option<usize> {
        self.find(id).filter(|&i| self.records[i].listed)
    }

    /// A listed instance, or 404 "Invalid instance id" as the real service answers.
    pub fn listed_or_not_found(&self, id: &str) -> Result<usize, ApiError> {
        self.listed(id)
            .ok_or_else(|| ApiError::not_found(messages::INVALID_INSTANCE_ID))
    }

    /// Stores a new instance; returns its index.
    pub fn insert(&mut self, record: InstanceRecord) -> usize {
        let idx = self.records.len();
        self.index.insert(record.id.clone(), idx);
        self.records.push(record);
        self.changed.insert(idx);
        self.version += 1;
        idx
    }

    /// A new IP: 127.a.b.c with c in 1..=254 and b in 1..=255, never 127.0.0.1, never
    /// reused (the sequence starts at a random point of a new state).
    pub fn alloc_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip += 1;
        self.next_ip_changed = true;
        let c = 1 + n % 254;
        let rest = n / 254;
        let b = 1 + rest % 255;
        let a = (rest / 255) % 256;
        format!("127.{a}.{b}.{c}")
    }

    /// `GET /instances[?status=]` as JSON, re-serialized only after a change.
    pub fn list_json(&mut self, status: Option<InstanceStatus>, catalog: &Catalog) -> Bytes {
        if self.list_cache_version != self.version {
            self.list_cache.clear();
            self.list_cache_version = self.version;
        }
        if let Some(bytes) = self.list_cache.get(&status) {
            return bytes.clone();
        }
        let list: Vec<Instance> = self
            .records
            .iter()
            .filter(|r| r.listed && status.as_ref().is_none_or(|s| &r.status == s))
            .map(|r| r.to_wire(catalog))
            .collect();
        let bytes = Bytes::from(serde_json::to_vec(&list).unwrap_or_default());
        self.list_cache.insert(status, bytes.clone());
        bytes
    }

    /// Everything every instance has cost up to `now`.
    pub fn spent(&self, now: Millis) -> Decimal {
        schedule::spent(&self.records, now)
    }

    /// Applies every transition due by `now`; `provisioning` is how long the
    /// `provisioning` step lasts.
    pub fn settle(&mut self, now: Millis, provisioning: Millis) {
        if now < self.next_due {
            return;
        }
        let (changed, version) = (&mut self.changed, &mut self.version);
        schedule::settle(&mut self.records, now, provisioning, |idx| {
            changed.insert(idx);
            *version += 1;
        });
        self.recompute_next_due();
    }

    fn recompute_next_due(&mut self) {
        self.next_due = schedule::next_due(&self.records);
    }

    pub fn drain_writes(&mut self, out: &mut Vec<Write>) {
        if std::mem::take(&mut self.next_ip_changed) {
            out.push(Write::Meta {
                key: META_NEXT_IP,
                value: self.next_ip.to_string(),
            });
        }
        if self.changed.is_empty() {
            return;
        }
        for idx in std::mem::take(&mut self.changed) {
            let r = &self.records[idx];
            out.push(Write::Put {
                kind: Kind::Instance,
                id: r.id.clone(),
                doc: to_doc(r),
            });
        }
        self.recompute_next_due();
    }
}
