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
//! * [`cleanup`]: deleting instances through the API and proving they are gone.

pub mod cleanup;
pub mod fallback;
pub mod placement;
pub mod plan_check;
pub mod provision;
pub mod reconcile;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use datacrunch_models::{Instance, SshKey};

use crate::api::Api;
use crate::project::{Identity, PROJECT_TAG};
use crate::terraform::{StateResource, Terraform};
use fallback::NodeState;

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

/// Whether `instance` carries this project's mark: the [`PROJECT_TAG`] tag with our id.
pub fn is_ours(instance: &Instance, identity: &Identity) -> bool {
    instance
        .tags
        .iter()
        .any(|t| t.key == PROJECT_TAG && t.value.as_deref() == Some(identity.id.as_str()))
}

/// Every live (not gone) instance of the account, split into ours and foreign.
pub async fn live_instances(
    api: &Api,
    identity: &Identity,
) -> Result<(Vec<Instance>, Vec<Instance>)> {
    let all = api
        .client
        .instances(None)
        .await
        .map_err(|e| api.explain(e))?;
    Ok(all
        .into_iter()
        .filter(|i| !i.status.is_gone())
        .partition(|i| is_ours(i, identity)))
}
