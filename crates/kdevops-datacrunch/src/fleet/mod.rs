//! The fleet: this project's instances as the API lists them and as Terraform's state
//! records them, and every decision about them. The commands in `cmd/` are thin entry
//! points over this module.
//!
//! * [`Fleet`] (here): one look at what exists, taken once per command: the state's
//!   resources and nodes, and every live instance of the account split into ours (our
//!   project mark) and foreign (anyone else's);
//! * [`placement`], [`fallback`]: which node goes where, and what a failed apply means;
//! * [`reconcile`]: what to keep, adopt or delete before applying;
//! * [`provision`]: the apply attempts with the capacity fallback;
//! * [`plan_check`]: what a plan would replace or destroy, refused unless confirmed;
//! * [`cleanup`]: deleting instances through the API and proving they are gone;
//! * [`cluster`]: cluster mode, one cluster instead of instances; [`cluster_adopt`]:
//!   the cluster an interrupted bringup made, imported before planning.

pub mod cleanup;
pub mod cluster;
pub mod cluster_adopt;
pub mod fallback;
pub mod placement;
pub mod plan_check;
pub mod provision;
pub mod reconcile;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use datacrunch_client::Dated;
use datacrunch_models::{Instance, SshKey};

use crate::api::Api;
use crate::project::{Identity, LEGACY_MARKER_PREFIX, PROJECT_TAG};
use crate::terraform::{StateResource, Terraform};
use fallback::NodeState;

/// The module's resource address of the cluster (cluster mode).
pub const CLUSTER_ADDRESS: &str = "datacrunch_cluster.kdevops[0]";

/// Everything that exists, as seen at one moment.
pub struct Fleet {
    /// The resources in Terraform's state.
    pub resources: Vec<StateResource>,
    /// The nodes in state, by name.
    pub state: BTreeMap<String, NodeState>,
    /// Live instances carrying this project's mark.
    pub ours: Vec<Instance>,
    /// Live instances of anyone else (another project, another tool, by hand).
    pub foreign: Vec<Instance>,
    /// The account's SSH keys.
    pub keys: Vec<SshKey>,
}

impl Fleet {
    /// Reads state (when a Terraform runner is given) and lists the account once.
    pub async fn survey(api: &Api, identity: &Identity, tf: Option<&Terraform>) -> Result<Self> {
        let resources = match tf {
            Some(tf) => tf.state()?,
            None => Vec::new(),
        };
        let (ours, foreign) = live_instances(api, identity).await?;
        let keys = api.client.ssh_keys().await.map_err(|e| api.explain(e))?;
        Ok(Self {
            state: fallback::nodes_in_state(&resources),
            resources,
            ours,
            foreign,
            keys,
        })
    }

    /// Reads state again after Terraform changed it.
    pub fn refresh_state(&mut self, tf: &Terraform) -> Result<()> {
        self.resources = tf.state()?;
        self.state = fallback::nodes_in_state(&self.resources);
        Ok(())
    }

    /// Our live instances that state does not know: left by an interrupted run or a
    /// lost state, possibly billing.
    pub fn strays(&self) -> Vec<&Instance> {
        let known: BTreeSet<&str> = self.state.values().map(|s| s.id.as_str()).collect();
        self.ours
            .iter()
            .filter(|i| !known.contains(i.id.as_str()))
            .collect()
    }

    /// Nothing of this project exists: no state, no live instance.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.ours.is_empty()
    }
}

/// Whether `instance` carries this project's mark: the [`PROJECT_TAG`] tag with our id,
/// or, made by an earlier version (no tag at all), the legacy marker of this tree's
/// current path in its description.
pub fn is_ours(instance: &Instance, identity: &Identity) -> bool {
    let tag = instance.tags.iter().find(|t| t.key == PROJECT_TAG);
    match tag {
        Some(t) => t.value.as_deref() == Some(identity.id.as_str()),
        None => legacy_marker(instance) == Some(identity.legacy_marker.as_str()),
    }
}

/// The path-derived marker an earlier version put in the description of an untagged
/// instance, `[kdevops:<8 hex digits>]`, if any.
pub fn legacy_marker(instance: &Instance) -> Option<&str> {
    if instance.tags.iter().any(|t| t.key == PROJECT_TAG) {
        return None;
    }
    let text = &instance.description;
    let start = text.find(LEGACY_MARKER_PREFIX)?;
    let marker = text[start..].get(..LEGACY_MARKER_PREFIX.len() + 9)?;
    let hash = marker
        .strip_prefix(LEGACY_MARKER_PREFIX)?
        .strip_suffix(']')?;
    hash.chars()
        .all(|c| c.is_ascii_hexdigit())
        .then_some(marker)
}

/// Every live (not gone) instance of the account, split into ours and foreign.
pub async fn live_instances(
    api: &Api,
    identity: &Identity,
) -> Result<(Vec<Instance>, Vec<Instance>)> {
    Ok(live_instances_dated(api, identity).await?.value)
}

/// [`live_instances`] with the API's clock at the time of the listing.
pub async fn live_instances_dated(
    api: &Api,
    identity: &Identity,
) -> Result<Dated<(Vec<Instance>, Vec<Instance>)>> {
    let all = api
        .client
        .instances_dated(None)
        .await
        .map_err(|e| api.explain(e))?;
    Ok(Dated {
        value: all
            .value
            .into_iter()
            .filter(|i| !i.status.is_gone())
            .partition(|i| is_ours(i, identity)),
        server_time: all.server_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(description: &str, tag: Option<&str>) -> Instance {
        let tags: Vec<serde_json::Value> = tag
            .map(|v| serde_json::json!({"key": PROJECT_TAG, "value": v}))
            .into_iter()
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": "i", "hostname": "n", "status": "running",
            "description": description, "tags": tags,
        }))
        .unwrap()
    }

    #[test]
    fn an_untagged_instance_with_this_paths_legacy_marker_is_ours() {
        let me = Identity {
            id: "me".into(),
            change: None,
            legacy_marker: "[kdevops:abcd1234]".into(),
        };
        let mine = instance("kdevops node n [kdevops:abcd1234]", None);
        let other_path = instance("kdevops node n [kdevops:deadbeef]", None);
        assert!(is_ours(&mine, &me));
        assert_eq!(legacy_marker(&other_path), Some("[kdevops:deadbeef]"));
        assert!(!is_ours(&other_path, &me));
        // A tag decides when there is one: another project's tag is not ours whatever
        // the description says, and a tagged instance has no legacy marker.
        let tagged = instance("kdevops node n [kdevops:abcd1234]", Some("other"));
        assert!(!is_ours(&tagged, &me));
        assert_eq!(legacy_marker(&tagged), None);
        assert!(is_ours(&instance("", Some("me")), &me));
        for not_a_marker in ["kdevops node n", "[kdevops:abcd]", "[kdevops:zzzzzzzz]"] {
            assert_eq!(legacy_marker(&instance(not_a_marker, None)), None);
        }
    }
}
