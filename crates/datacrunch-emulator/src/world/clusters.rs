//! The cluster store: every cluster ever created (deleted ones stay as history,
//! unlisted), indexed by id, settling the lifecycle steps that happen by themselves on
//! the virtual clock (`ordered` → `provisioning` → `running`, and a discontinued
//! cluster leaving the list; see `schedule`), and the record's wire shape.

use super::capacity::Slot;
use super::persist::{load_all, to_doc};
use super::records::{Step, Transition};
use super::schedule;
use crate::clock::{iso8601, Millis};
use crate::error::{ApiError, EmulatorError};
use crate::store::{Kind, Store, Write};
use datacrunch_models::{
    Cluster, ClusterSharedVolume, ClusterStatus, ClusterWorkerNode, Contract, Price, Tag,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// One node of a cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: String,
    pub hostname: String,
    /// On the cluster's own private network.
    pub private_ip: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub id: String,
    pub cluster_type: String,
    /// The instance type of every node, and how many.
    pub node_type: String,
    pub node_count: u32,
    /// The `image_type` deployed (an image id in the request is resolved to it).
    pub image: String,
    pub hostname: String,
    pub description: String,
    pub location: String,
    pub contract: Contract,
    pub ssh_key_ids: Vec<String>,
    pub startup_script_id: Option<String>,
    pub shared_volume: ClusterSharedVolume,
    pub existing_volume_ids: Vec<String>,
    pub price_per_hour: Price,
    /// The jump host's address, allocated at create, shown from `running` on.
    pub ip: String,
    pub nodes: Vec<NodeRecord>,
    pub tags: Vec<Tag>,
    pub created_at: Millis,
    pub status: ClusterStatus,
    pub next: Option<Transition>,
    pub billed_ms: i64,
    pub billing_since: Option<Millis>,
    pub holds_capacity: bool,
    pub deleted_at: Option<Millis>,
    pub listed: bool,
}

impl ClusterRecord {
    /// The on-demand capacity slot each node takes.
    pub fn slot(&self) -> Slot {
        Slot {
            instance_type: self.node_type.clone(),
            location: self.location.clone(),
            is_spot: false,
        }
    }

    /// The money this cluster has cost up to `now`.
    pub fn cost(&self, now: Millis) -> Decimal {
        let ms = self.billed_ms + self.billing_since.map_or(0, |s| (now - s).max(0));
        self.price_per_hour.0 * Decimal::from(ms) / Decimal::from(3_600_000)
    }

    pub fn stop_billing(&mut self, at: Millis) {
        if let Some(since) = self.billing_since.take() {
            self.billed_ms += (at - since).max(0);
        }
    }

    pub fn to_wire(&self) -> Cluster {
        let running = self.status == ClusterStatus::Running;
        let node_status = match &self.status {
            ClusterStatus::Ordered => "provisioning",
            other => other.as_str(),
        };
        Cluster {
            id: self.id.clone(),
            hostname: self.hostname.clone(),
            description: self.description.clone(),
            status: self.status.clone(),
            created_at: iso8601(self.created_at),
            location: self.location.clone(),
            cluster_type: self.cluster_type.clone(),
            node_count: self.node_count,
            worker_nodes: self
                .nodes
                .iter()
                .map(|n| ClusterWorkerNode {
                    id: n.id.clone(),
                    status: node_status.to_owned(),
                    hostname: n.hostname.clone(),
                    private_ip: running.then(|| n.private_ip.clone()),
                    public_ip: None,
                })
                .collect(),
            ssh_key_ids: self.ssh_key_ids.clone(),
            image: Some(self.image.clone()),
            startup_script_id: self.startup_script_id.clone(),
            ip: running.then(|| self.ip.clone()),
            price_per_hour: self.price_per_hour,
            contract: Some(self.contract.clone()),
            shared_volumes: vec![self.shared_volume.clone()],
            existing_volume_ids: self.existing_volume_ids.clone(),
            tags: self.tags.clone(),
        }
    }
}

#[derive(Debug)]
pub struct ClusterStore {
    records: Vec<ClusterRecord>,
    index: HashMap<String, usize>,
    changed: BTreeSet<usize>,
    next_due: Millis,
}

impl ClusterStore {
    pub fn load(store: &Store) -> Result<Self, EmulatorError> {
        let mut clusters = ClusterStore {
            records: Vec::new(),
            index: HashMap::new(),
            changed: BTreeSet::new(),
            next_due: Millis::MAX,
        };
        for record in load_all::<ClusterRecord>(store, Kind::Cluster)? {
            clusters
                .index
                .insert(record.id.clone(), clusters.records.len());
            clusters.records.push(record);
        }
        clusters.recompute_next_due();
        Ok(clusters)
    }

    /// Every cluster ever created, deleted ones included.
    pub fn all(&self) -> &[ClusterRecord] {
        &self.records
    }

    pub fn get(&self, idx: usize) -> &ClusterRecord {
        &self.records[idx]
    }

    /// A cluster to change; it is written through at the end of the request.
    pub fn get_mut(&mut self, idx: usize) -> &mut ClusterRecord {
        self.changed.insert(idx);
        &mut self.records[idx]
    }

    /// A cluster still in `GET /clusters`, or 404.
    pub fn listed_or_not_found(&self, id: &str) -> Result<usize, ApiError> {
        self.index
            .get(id)
            .copied()
            .filter(|&i| self.records[i].listed)
            .ok_or_else(|| ApiError::not_found(format!("Invalid cluster id {id:?}")))
    }

    pub fn insert(&mut self, record: ClusterRecord) -> usize {
        let idx = self.records.len();
        self.index.insert(record.id.clone(), idx);
        if let Some(t) = &record.next {
            self.next_due = self.next_due.min(t.at);
        }
        self.records.push(record);
        self.changed.insert(idx);
        idx
    }

    /// `GET /clusters[?status=]`.
    pub fn list(&self, status: Option<&ClusterStatus>) -> Vec<Cluster> {
        self.records
            .iter()
            .filter(|r| r.listed && status.is_none_or(|s| &r.status == s))
            .map(ClusterRecord::to_wire)
            .collect()
    }

    /// What every cluster has cost up to `now`.
    pub fn spent(&self, now: Millis) -> Decimal {
        schedule::spent(&self.records, now)
    }

    /// Applies every step due by `now`, in time order per cluster.
    pub fn settle(&mut self, now: Millis, provisioning: Millis) {
        if now < self.next_due {
            return;
        }
        let changed = &mut self.changed;
        schedule::settle(&mut self.records, now, provisioning, |idx| {
            changed.insert(idx);
        });
        self.recompute_next_due();
    }

    /// Schedules a step; `settle` picks it up when due.
    pub fn schedule(&mut self, idx: usize, t: Transition) {
        self.next_due = self.next_due.min(t.at);
        self.get_mut(idx).next = Some(t);
    }

    fn recompute_next_due(&mut self) {
        self.next_due = schedule::next_due(&self.records);
    }

    pub fn drain_writes(&mut self, out: &mut Vec<Write>) {
        for idx in std::mem::take(&mut self.changed) {
            let r = &self.records[idx];
            out.push(Write::Put {
                kind: Kind::Cluster,
                id: r.id.clone(),
                doc: to_doc(r),
            });
        }
    }
}

impl schedule::Scheduled for ClusterRecord {
    schedule::record_fields!();

    fn take_step(&mut self, step: Step, at: Millis) {
        match step {
            Step::Provisioning => self.status = ClusterStatus::Provisioning,
            Step::Running => {
                self.status = ClusterStatus::Running;
                self.billing_since.get_or_insert(at);
            }
            Step::NoCapacity => self.status = ClusterStatus::NoCapacity,
            // Clusters do not hibernate.
            Step::Hibernating => {}
            Step::Unlist => self.listed = false,
        }
    }
}
