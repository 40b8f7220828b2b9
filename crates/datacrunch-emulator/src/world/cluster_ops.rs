//! The cluster endpoints: `POST /clusters` (validated like an instance deploy: type,
//! location, hostname, cluster image, keys, script, volumes, funds, capacity for every
//! node), `PUT /clusters` (discontinue), and cluster availability. A cluster's nodes
//! take on-demand slots of their instance type, so clusters and instances compete for
//! the same capacity.

use super::clusters::{ClusterRecord, NodeRecord};
use super::records::{Step, Transition};
use super::rules::{
    check_id_count, check_len, check_name, check_size, new_id, DEFAULT_LOCATION,
    MAX_DESCRIPTION_LEN,
};
use super::World;
use crate::clock::{millis, Millis};
use crate::cluster_catalog::{ClusterCatalog, ClusterTypeEntry};
use crate::error::ApiError;
use datacrunch_models::{
    messages, validate, Cluster, ClusterAction, ClusterActionRequest, ClusterStatus, Contract,
    CreateClusterRequest, LocationAvailability, VolumeStatus,
};

/// The shared volume's size when the request names none, as the SDK sends (30 TB).
const DEFAULT_SHARED_VOLUME_GB: u32 = 30_000;

/// The result of one item of `PUT /clusters`.
pub type ClusterActionItem = (String, Result<(), ApiError>);

impl World {
    /// `GET /clusters[?status=]`.
    pub fn clusters(&self, status: Option<&ClusterStatus>) -> Vec<Cluster> {
        self.clusters.list(status)
    }

    /// `GET /clusters/{id}`.
    pub fn cluster(&self, id: &str) -> Result<Cluster, ApiError> {
        let idx = self.clusters.listed_or_not_found(id)?;
        Ok(self.clusters.get(idx).to_wire())
    }

    /// Admin: every cluster ever created, with history fields.
    pub fn cluster_history(&self, now: Millis) -> Vec<serde_json::Value> {
        self.clusters
            .all()
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r.to_wire()).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("listed".into(), r.listed.into());
                    o.insert("cost".into(), r.cost(now).round_dp(6).to_string().into());
                    o.insert("holds_capacity".into(), r.holds_capacity.into());
                }
                v
            })
            .collect()
    }

    /// `POST /clusters`: validates like the real service, then takes a slot per node.
    pub fn create_cluster(
        &mut self,
        req: CreateClusterRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        check_len("description", &req.description, MAX_DESCRIPTION_LEN)?;
        check_id_count("ssh_key_ids", req.ssh_key_ids.len())?;
        check_id_count("existing_volumes", req.existing_volumes.len())?;
        let catalog = self.catalog.clone();
        let entry = catalog
            .clusters
            .cluster_type(&req.cluster_type)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid cluster_type {:?}: not a type of GET /cluster-types",
                    req.cluster_type
                ))
            })?;
        let location = cluster_location(entry, &req)?;
        validate::hostname(&req.hostname)
            .map_err(|e| ApiError::invalid(format!("Invalid hostname {:?}: {e}", req.hostname)))?;
        let image = cluster_image(&catalog.clusters, entry, &req.image)?;
        self.check_references(&req.ssh_key_ids, req.startup_script_id.as_ref())?;
        let existing = self.check_existing_volumes(&req.existing_volumes, &location)?;
        let (shared_name, shared_size) = shared_volume_spec(&req)?;
        let price = entry.wire.price_per_hour;
        if self.balance(now) < price.0 {
            return Err(ApiError::insufficient_funds(messages::NOT_ENOUGH_BALANCE));
        }
        let nodes = entry.wire.node_count;
        // A node type in "late no_capacity" mode makes the cluster accepted and then
        // end in `no_capacity`, holding nothing, as a deploy of that type would.
        let late = self.capacity.is_late(&entry.wire.node_type, &location);
        let slot = super::Slot {
            instance_type: entry.wire.node_type.clone(),
            location: location.clone(),
            is_spot: false,
        };
        if !late && self.capacity.free(&slot) < nodes {
            return Err(ApiError::unavailable(messages::NOT_ENOUGH_RESOURCES));
        }
        // The shared volume counts against the storage quota like any other volume.
        self.check_quota("the cluster's shared volume", u64::from(shared_size))?;
        // Every check passed: from here on the cluster and its volumes exist.
        let shared_volume = self.create_shared_volume(shared_name, shared_size, &location, now);
        for &vidx in &existing {
            self.volumes.get_mut(vidx).status = VolumeStatus::Attached;
        }
        let record = ClusterRecord {
            id: new_id(),
            cluster_type: req.cluster_type,
            node_type: entry.wire.node_type.clone(),
            node_count: nodes,
            image,
            // Every node gets an address of its own: on the emulator it is where the
            // node's sandbox listens, reached through the jump host like a real one.
            nodes: (1..=nodes)
                .map(|n| NodeRecord {
                    id: new_id(),
                    hostname: format!("{}-{n}", req.hostname),
                    private_ip: self.instances.alloc_ip(),
                })
                .collect(),
            hostname: req.hostname,
            description: req.description,
            location,
            contract: req.contract.unwrap_or(Contract::PayAsYouGo),
            ssh_key_ids: req.ssh_key_ids,
            startup_script_id: req.startup_script_id,
            shared_volume,
            existing_volume_ids: req.existing_volumes,
            price_per_hour: price,
            ip: self.instances.alloc_ip(),
            tags: Vec::new(),
            created_at: now,
            status: ClusterStatus::Ordered,
            next: Some(Transition {
                step: match late {
                    true => Step::NoCapacity,
                    false => Step::Provisioning,
                },
                at: now.saturating_add(millis(self.config.timing.ordered)),
            }),
            billed_ms: 0,
            billing_since: None,
            holds_capacity: !late,
            deleted_at: None,
            listed: true,
        };
        if !late {
            for _ in 0..nodes {
                self.capacity.take(slot.clone());
            }
        }
        let id = record.id.clone();
        self.clusters.insert(record);
        Ok(id)
    }

    /// `PUT /clusters`: one outcome per item, in order.
    pub fn cluster_action(
        &mut self,
        req: &ClusterActionRequest,
        now: Millis,
    ) -> Result<Vec<ClusterActionItem>, ApiError> {
        if req.actions.is_empty() {
            return Err(ApiError::invalid("actions must name at least one cluster"));
        }
        check_id_count("actions", req.actions.len())?;
        Ok(req
            .actions
            .iter()
            .map(|a| (a.id.clone(), self.act_on_cluster(&a.id, &a.action, now)))
            .collect())
    }

    fn act_on_cluster(
        &mut self,
        id: &str,
        action: &ClusterAction,
        now: Millis,
    ) -> Result<(), ApiError> {
        if !action.is_known() {
            let known: Vec<&str> = ClusterAction::KNOWN.iter().map(|a| a.as_str()).collect();
            return Err(ApiError::invalid(format!(
                "Invalid action {:?}: expected one of {}",
                action.as_str(),
                known.join(", ")
            )));
        }
        let idx = self.clusters.listed_or_not_found(id)?;
        let status = self.clusters.get(idx).status.clone();
        // As for instances: a delete the state does not allow is 403 forbidden_action.
        if status.is_pending() || status.is_gone() {
            return Err(ApiError::forbidden(format!(
                "Can't discontinue a {status} cluster"
            )));
        }
        let visible = millis(self.config.timing.discontinued_visible);
        let slot = self.clusters.get(idx).slot();
        if std::mem::take(&mut self.clusters.get_mut(idx).holds_capacity) {
            for _ in 0..self.clusters.get(idx).node_count {
                self.capacity.give_back(&slot);
            }
        }
        self.release_cluster_volumes(idx, now);
        let r = self.clusters.get_mut(idx);
        r.stop_billing(now);
        r.status = ClusterStatus::Discontinued;
        r.deleted_at = Some(now);
        self.clusters.schedule(
            idx,
            Transition {
                step: Step::Unlist,
                at: now.saturating_add(visible),
            },
        );
        Ok(())
    }

    /// `GET /cluster-availability`: per location, the cluster types with a free slot
    /// for every node.
    pub fn cluster_availability(&self, location: Option<&str>) -> Vec<LocationAvailability> {
        self.catalog
            .locations
            .iter()
            .filter(|l| location.is_none_or(|want| want == l.code))
            .map(|l| LocationAvailability {
                location_code: l.code.clone(),
                availabilities: self
                    .catalog
                    .clusters
                    .types
                    .iter()
                    .filter(|t| self.cluster_fits(t, &l.code))
                    .map(|t| t.wire.cluster_type.clone())
                    .collect(),
            })
            .collect()
    }

    /// `GET /cluster-availability/{type}`.
    pub fn is_cluster_available(&self, entry: &ClusterTypeEntry, location: Option<&str>) -> bool {
        self.catalog
            .locations
            .iter()
            .filter(|l| location.is_none_or(|want| want == l.code))
            .any(|l| self.cluster_fits(entry, &l.code))
    }

    fn cluster_fits(&self, entry: &ClusterTypeEntry, location: &str) -> bool {
        entry.locations.iter().any(|l| l == location)
            && self.capacity.free(&super::Slot {
                instance_type: entry.wire.node_type.clone(),
                location: location.to_owned(),
                is_spot: false,
            }) >= entry.wire.node_count
    }
}

/// The requested location (the default when none is named), where the type is offered.
fn cluster_location(
    entry: &ClusterTypeEntry,
    req: &CreateClusterRequest,
) -> Result<String, ApiError> {
    let location = req
        .location_code
        .clone()
        .unwrap_or_else(|| DEFAULT_LOCATION.to_owned());
    if !entry.locations.contains(&location) {
        return Err(ApiError::invalid(format!(
            "Invalid location_code {location:?}: cluster type {:?} is offered in {}",
            entry.wire.cluster_type,
            entry.locations.join(", ")
        )));
    }
    Ok(location)
}

/// The `image_type` of a cluster image named by type or id, supported by the nodes.
fn cluster_image(
    clusters: &ClusterCatalog,
    entry: &ClusterTypeEntry,
    image: &str,
) -> Result<String, ApiError> {
    let found = clusters.image(image).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid image {image:?}: not an image_type or id of GET /images/cluster"
        ))
    })?;
    if !ClusterCatalog::image_supported(entry, &found.image_type) {
        return Err(ApiError::invalid(messages::OS_NOT_VALID_FOR_TYPE));
    }
    Ok(found.image_type.clone())
}

/// The name and size of the shared volume asked for, or of the default one the SDK
/// would ask for.
fn shared_volume_spec(req: &CreateClusterRequest) -> Result<(String, u32), ApiError> {
    let (name, size) = match &req.shared_volume {
        Some(v) => (v.name.clone(), v.size),
        None => (
            format!("{}-shared-volume", req.hostname),
            DEFAULT_SHARED_VOLUME_GB,
        ),
    };
    check_name("shared_volume.name", &name)?;
    check_size("shared_volume.size", size)?;
    Ok((name, size))
}
