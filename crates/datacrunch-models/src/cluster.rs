//! Clusters: several GPU nodes of one type behind a jump host, sharing a `/home` volume.
//! The cluster record, its worker nodes, the create and action requests, and the
//! `/cluster-types` catalog record.

use crate::instance::{null_as_default, one_or_many};
use crate::{ClusterAction, ClusterStatus, Contract, CpuSpec, GpuSpec, Price, SizeSpec, Tag};
use serde::{Deserialize, Deserializer, Serialize};

/// One record of `GET /cluster-types`. Prices are JSON strings, as on `/instance-types`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterType {
    #[serde(default)]
    pub id: String,
    pub cluster_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub manufacturer: String,
    /// One line per node, e.g. "8x H200 SXM5 141GB".
    #[serde(default, deserialize_with = "null_as_default")]
    pub node_details: Vec<String>,
    /// How many nodes a cluster of this type has.
    #[serde(default)]
    pub node_count: u32,
    /// The instance type of every node.
    #[serde(default)]
    pub node_type: String,
    #[serde(default)]
    pub cpu: CpuSpec,
    #[serde(default)]
    pub gpu: GpuSpec,
    #[serde(default)]
    pub gpu_memory: SizeSpec,
    #[serde(default)]
    pub memory: SizeSpec,
    #[serde(default)]
    pub storage: SizeSpec,
    /// For the whole cluster, every node included.
    #[serde(serialize_with = "Price::as_string")]
    pub price_per_hour: Price,
    #[serde(default = "usd")]
    pub currency: String,
    #[serde(default)]
    pub supported_os: Vec<String>,
}

fn usd() -> String {
    "usd".to_owned()
}

/// A worker node of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterWorkerNode {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub hostname: String,
    /// On the cluster's private network; reached through the jump host.
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
}

/// A shared volume of a cluster (the one a create makes is mounted as `/home`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSharedVolume {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(alias = "size")]
    pub size_in_gigabytes: u32,
    #[serde(default)]
    pub mount_point: Option<String>,
}

/// A cluster as `GET /clusters` and `GET /clusters/{id}` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub description: String,
    pub status: ClusterStatus,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub cluster_type: String,
    #[serde(default)]
    pub node_count: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub worker_nodes: Vec<ClusterWorkerNode>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ssh_key_ids: Vec<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub startup_script_id: Option<String>,
    /// The jump host's public address; `null` until the cluster runs.
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub price_per_hour: Price,
    #[serde(default)]
    pub contract: Option<Contract>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub shared_volumes: Vec<ClusterSharedVolume>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub existing_volume_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,
}

/// The shared volume a create asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedVolumeSpec {
    pub name: String,
    /// In GB.
    pub size: u32,
}

/// `POST /clusters`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateClusterRequest {
    pub hostname: String,
    pub cluster_type: String,
    pub image: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ssh_key_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_script_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_volume: Option<SharedVolumeSpec>,
    #[serde(
        default,
        alias = "existing_volume_ids",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub existing_volumes: Vec<String>,
}

/// The answer to `POST /clusters`: JSON `{"id"}`, unlike every other create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedCluster {
    pub id: String,
}

/// One action of `PUT /clusters`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterActionItem {
    pub id: String,
    pub action: ClusterAction,
}

/// `PUT /clusters`: `{"actions": [{"id", "action"}]}` as the API documents it. The
/// Python SDK sends `{"id": [...], "action"}` instead; both read the same.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterActionRequest {
    pub actions: Vec<ClusterActionItem>,
}

impl<'de> Deserialize<'de> for ClusterActionRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct IdsAndAction {
            #[serde(deserialize_with = "one_or_many")]
            id: Vec<String>,
            action: ClusterAction,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Actions { actions: Vec<ClusterActionItem> },
            IdsAndAction(IdsAndAction),
        }
        Ok(match Shape::deserialize(d)? {
            Shape::Actions { actions } => ClusterActionRequest { actions },
            Shape::IdsAndAction(a) => ClusterActionRequest {
                actions: a
                    .id
                    .into_iter()
                    .map(|id| ClusterActionItem {
                        id,
                        action: a.action.clone(),
                    })
                    .collect(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_request_reads_both_shapes() {
        let documented: ClusterActionRequest =
            serde_json::from_str(r#"{"actions":[{"id":"a","action":"discontinue"}]}"#).unwrap();
        let sdk: ClusterActionRequest =
            serde_json::from_str(r#"{"id":["a"],"action":"discontinue"}"#).unwrap();
        assert_eq!(documented, sdk);
        assert_eq!(sdk.actions[0].action, ClusterAction::Discontinue);
        let json = serde_json::to_value(&sdk).unwrap();
        assert_eq!(json["actions"][0]["id"], "a");
    }

    #[test]
    fn cluster_reads_sdk_shape_with_nulls() {
        let c: Cluster = serde_json::from_str(
            r#"{"id":"c1","status":"creating","worker_nodes":null,"ssh_key_ids":null,
                "ip":null,"location":"FIN-03","cluster_type":"16H200","node_count":2}"#,
        )
        .unwrap();
        assert_eq!(c.status, ClusterStatus::Provisioning);
        assert!(c.worker_nodes.is_empty());
    }
}
