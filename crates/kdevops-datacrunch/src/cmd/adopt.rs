//! Adopting what an interrupted bringup created but Terraform never recorded.
//!
//! A bringup killed between the API accepting a deploy (or a key upload) and Terraform
//! saving state leaves live resources that state does not know. Creating them again
//! would duplicate billed machines, so before applying: each configured node missing
//! from state whose instance the API lists (same hostname, this project's marker) is
//! imported; the project's SSH key (same name and public key) is imported when state
//! lacks it, so the imported instances' `ssh_key_ids` still match and nothing is
//! replaced; other instances of this project that no node claims are deleted.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use datacrunch_models::Instance;

use crate::api::Api;
use crate::fallback::{instance_address, NodeState};
use crate::placement::Placement;
use crate::progress::Progress;
use crate::settings::{Settings, SshKeyMode};
use crate::terraform::{StateResource, Terraform};
use crate::tfvars::TfVars;

/// Terraform address of the uploaded key.
const KEY_ADDRESS: &str = "datacrunch_ssh_key.kdevops[0]";

/// What to do with this project's live instances that state does not know.
struct Adoption<'a> {
    /// One per configured node missing from state: import it.
    import: Vec<&'a Instance>,
    /// Duplicates and strays from interrupted runs: delete them.
    delete: Vec<&'a Instance>,
}

fn plan<'a>(
    nodes: &[String],
    state: &BTreeMap<String, NodeState>,
    live: &'a [Instance],
) -> Adoption<'a> {
    let in_state: BTreeSet<&str> = state.values().map(|s| s.id.as_str()).collect();
    let mut adoption = Adoption {
        import: Vec::new(),
        delete: Vec::new(),
    };
    for inst in live.iter().filter(|i| !in_state.contains(i.id.as_str())) {
        let wanted = nodes.contains(&inst.hostname) && !state.contains_key(&inst.hostname);
        let already = adoption.import.iter().any(|i| i.hostname == inst.hostname);
        if wanted && !already {
            adoption.import.push(inst);
        } else {
            adoption.delete.push(inst);
        }
    }
    adoption
}

/// Adopts and cleans up; returns whether state changed (imports happened).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    tf: &Terraform,
    api: &Api,
    settings: &Settings,
    vars: &mut TfVars,
    state: &BTreeMap<String, NodeState>,
    resources: &[StateResource],
    live: &[Instance],
    progress: &Progress,
) -> Result<bool> {
    let adoption = plan(&settings.nodes, state, live);
    for inst in &adoption.delete {
        progress.line(format!(
            "deleting stray instance {} ({}) left by an interrupted run",
            inst.hostname, inst.id
        ));
        super::destroy::delete_instance(api, &inst.id, false).await?;
    }
    let key = key_to_import(api, settings, vars, resources).await?;
    if adoption.import.is_empty() && key.is_none() {
        return Ok(false);
    }
    // Import needs the configuration to name the node: write tfvars for it first.
    let mut placements: BTreeMap<String, Placement> = state
        .iter()
        .map(|(n, s)| (n.clone(), s.placement.clone()))
        .collect();
    for inst in &adoption.import {
        placements.insert(
            inst.hostname.clone(),
            Placement {
                instance_type: inst.instance_type.clone(),
                location: inst.location.clone(),
            },
        );
    }
    if placements.is_empty() {
        // Only the key to adopt: the module still wants one node entry to validate.
        if let Some(first) = settings.nodes.first() {
            placements.insert(
                first.clone(),
                Placement {
                    instance_type: "-".into(),
                    location: "-".into(),
                },
            );
        }
    }
    vars.set_nodes(&placements);
    vars.write(&tf.tfvars_path())?;
    if let Some(id) = key {
        progress.line(format!(
            "adopting SSH key {} ({id}), uploaded by an interrupted bringup",
            vars.datacrunch_ssh_key_name
        ));
        tf.import(KEY_ADDRESS, &id)?;
    }
    for inst in &adoption.import {
        progress.line(format!(
            "adopting {} ({}), created by an interrupted bringup",
            inst.hostname, inst.id
        ));
        tf.import(&instance_address(&inst.hostname), &inst.id)?;
    }
    Ok(true)
}

/// In UNIQUE mode with no key in state: the id of the account's key with our name and
/// our public key, if any.
async fn key_to_import(
    api: &Api,
    settings: &Settings,
    vars: &TfVars,
    resources: &[StateResource],
) -> Result<Option<String>> {
    let SshKeyMode::Unique { name } = &settings.ssh_key else {
        return Ok(None);
    };
    if resources
        .iter()
        .any(|r| r.resource_type == "datacrunch_ssh_key")
    {
        return Ok(None);
    }
    let keys = api.client.ssh_keys().await.map_err(|e| api.explain(e))?;
    Ok(keys
        .into_iter()
        .find(|k| &k.name == name && k.key.trim() == vars.datacrunch_ssh_public_key.trim())
        .map(|k| k.id))
}
