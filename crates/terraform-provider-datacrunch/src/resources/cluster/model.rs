//! The `datacrunch_cluster` state model, its mapping from the API's record, and the
//! create request it makes.

use crate::convert::price_number;
use datacrunch_models::{Cluster, Contract, CreateClusterRequest, SharedVolumeSpec, Tag};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tfplugin::schema::timeouts::Timeouts;
use tfplugin::Number;

/// `shared_volume { name, size }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SharedVolumeModel {
    pub name: Option<String>,
    pub size: Option<u32>,
}

/// One of `worker_nodes`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerModel {
    pub id: String,
    pub hostname: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub status: String,
}

/// One field per schema attribute. `Option` reads both null and unknown as `None`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClusterModel {
    pub id: Option<String>,
    pub cluster_type: Option<String>,
    pub image: Option<String>,
    pub hostname: Option<String>,
    pub description: Option<String>,
    pub location_code: Option<String>,
    pub location: Option<String>,
    pub ssh_key_ids: Option<Vec<String>>,
    pub startup_script_id: Option<String>,
    pub contract: Option<String>,
    pub shared_volume: Option<SharedVolumeModel>,
    pub existing_volume_ids: Option<Vec<String>>,
    pub tags: Option<BTreeMap<String, String>>,
    pub status: Option<String>,
    pub ip: Option<String>,
    pub price_per_hour: Option<Number>,
    pub created_at: Option<String>,
    pub worker_nodes: Option<Vec<WorkerModel>>,
    pub timeouts: Option<Timeouts>,
}

/// A list as the API reports it, or the prior value when both are empty (so that an
/// unset list in the configuration never reads back as `[]`, a change).
fn list_or_prior(api: &[String], prior: &Option<Vec<String>>) -> Option<Vec<String>> {
    if api.is_empty() && prior.as_ref().is_none_or(Vec::is_empty) {
        return prior.clone();
    }
    let mut sorted_api = api.to_vec();
    sorted_api.sort();
    if let Some(p) = prior {
        let mut sorted_prior = p.clone();
        sorted_prior.sort();
        if sorted_prior == sorted_api {
            // The API promises no order: the same set is no change.
            return Some(p.clone());
        }
    }
    Some(api.to_vec())
}

fn state_tags(
    api: &[Tag],
    prior: &Option<BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = api
        .iter()
        .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
        .collect();
    if map.is_empty() && prior.as_ref().is_none_or(BTreeMap::is_empty) {
        prior.clone()
    } else {
        Some(map)
    }
}

impl ClusterModel {
    /// The state after reading `api`, starting from `self` (prior or planned state):
    /// what the API reports wins, so drift shows in the next plan; the timeouts and an
    /// image named by id (the API reports the image type) are kept.
    pub fn refreshed(&self, api: &Cluster) -> ClusterModel {
        let image = match (&self.image, &api.image) {
            (Some(mine), Some(theirs))
                if mine != theirs && !crate::state::catalog::looks_like_uuid(mine) =>
            {
                Some(theirs.clone())
            }
            (None, theirs) => theirs.clone(),
            (mine, _) => mine.clone(),
        };
        ClusterModel {
            id: Some(api.id.clone()),
            cluster_type: Some(api.cluster_type.clone()),
            image,
            hostname: Some(api.hostname.clone()),
            description: Some(super::description::without_token(&api.description).to_owned()),
            location_code: Some(api.location.clone()),
            location: Some(api.location.clone()),
            ssh_key_ids: list_or_prior(&api.ssh_key_ids, &self.ssh_key_ids),
            startup_script_id: api.startup_script_id.clone(),
            contract: api
                .contract
                .as_ref()
                .map(|c| c.to_string())
                .or_else(|| self.contract.clone()),
            shared_volume: api
                .shared_volumes
                .first()
                .map(|v| SharedVolumeModel {
                    name: Some(v.name.clone()),
                    size: Some(v.size_in_gigabytes),
                })
                .or_else(|| self.shared_volume.clone()),
            existing_volume_ids: list_or_prior(&api.existing_volume_ids, &self.existing_volume_ids),
            tags: state_tags(&api.tags, &self.tags),
            status: Some(api.status.to_string()),
            ip: api.ip.clone(),
            price_per_hour: price_number(&api.price_per_hour),
            created_at: Some(api.created_at.clone()),
            worker_nodes: Some(
                api.worker_nodes
                    .iter()
                    .map(|w| WorkerModel {
                        id: w.id.clone(),
                        hostname: w.hostname.clone(),
                        private_ip: w.private_ip.clone(),
                        public_ip: w.public_ip.clone(),
                        status: w.status.clone(),
                    })
                    .collect(),
            ),
            timeouts: self.timeouts.clone(),
        }
    }

    /// The `POST /clusters` request this plan makes.
    pub fn create_request(&self) -> Option<CreateClusterRequest> {
        Some(CreateClusterRequest {
            hostname: self.hostname.clone()?,
            cluster_type: self.cluster_type.clone()?,
            image: self.image.clone()?,
            description: self.description.clone().unwrap_or_default(),
            ssh_key_ids: self.ssh_key_ids.clone().unwrap_or_default(),
            contract: self.contract.as_deref().map(Contract::parse),
            location_code: self.location_code.clone(),
            startup_script_id: self.startup_script_id.clone(),
            shared_volume: self.shared_volume.as_ref().and_then(|v| {
                Some(SharedVolumeSpec {
                    name: v.name.clone()?,
                    size: v.size?,
                })
            }),
            existing_volumes: self.existing_volume_ids.clone().unwrap_or_default(),
        })
    }
}
