//! Before applying: what to keep, adopt or delete among what exists.
//!
//! A bringup killed between the API accepting a deploy (or a key upload) and Terraform
//! saving state leaves live resources that state does not know. Creating them again
//! would duplicate billed machines, so before applying: each configured node missing
//! from state whose instance the API lists (same hostname, this project's mark) is
//! imported, once it is running (an instance still provisioning is waited for, as
//! Terraform waits for the ones it creates; one that fails on the way is deleted and its
//! node created again); the project's SSH key (same name and public key) is imported
//! when state lacks it, so the imported instances' `ssh_key_ids` still match and
//! nothing is replaced; other instances of this project that no node claims are
//! deleted. Instances without our mark are never touched.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Result};
use datacrunch_models::{Instance, InstanceStatus};
use tokio_util::sync::CancellationToken;

use super::cleanup::delete_instance;
use super::fallback::{instance_address, placements_of};
use super::placement::Placement;
use super::Fleet;
use crate::api::Api;
use crate::progress::Progress;
use crate::project::PROJECT_TAG;
use crate::settings::{Settings, SshKeyMode};
use crate::terraform::Terraform;
use crate::tfvars::TfVars;

/// Terraform address of the uploaded key.
const KEY_ADDRESS: &str = "datacrunch_ssh_key.kdevops[0]";

/// How long an adopted instance may take to finish provisioning (the module's create
/// timeout).
const ADOPT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// What to do with this project's live instances that state does not know.
#[derive(Debug, PartialEq)]
pub struct Adoption<'a> {
    /// One per configured node missing from state: import it.
    pub import: Vec<&'a Instance>,
    /// Duplicates and strays from interrupted runs: delete them.
    pub delete: Vec<&'a Instance>,
}

/// What bringup does with `strays` (ours, not in state), given the configured nodes and
/// the node names in state. Failed instances are never adopted.
pub fn plan<'a>(
    nodes: &[String],
    in_state: &BTreeSet<String>,
    strays: &[&'a Instance],
) -> Adoption<'a> {
    let mut adoption = Adoption {
        import: Vec::new(),
        delete: Vec::new(),
    };
    for inst in strays.iter().copied() {
        let wanted = nodes.contains(&inst.hostname) && !in_state.contains(&inst.hostname);
        let already = adoption.import.iter().any(|i| i.hostname == inst.hostname);
        if wanted && !already && !inst.status.is_failed() {
            adoption.import.push(inst);
        } else {
            adoption.delete.push(inst);
        }
    }
    adoption
}

/// Adopts and cleans up; returns whether state changed (imports happened).
pub async fn run(
    tf: &Terraform,
    api: &Api,
    settings: &Settings,
    vars: &mut TfVars,
    fleet: &Fleet,
    progress: &mut Progress,
) -> Result<bool> {
    // An instance in state without any project mark was made by an earlier version
    // that marked instances differently: it is ours, and this apply tags it. One with
    // another project's mark means this state came from another tree.
    let claimed = |i: &Instance| i.tags.iter().any(|t| t.key == PROJECT_TAG);
    if let Some((node, inst)) = fleet.state.iter().find_map(|(node, s)| {
        fleet
            .foreign
            .iter()
            .find(|i| i.id == s.id && claimed(i))
            .map(|i| (node, i))
    }) {
        bail!(
            "{node} ({}) in this tree's Terraform state carries another project's mark: this state came from \
             another tree. Move {} aside and run `make bringup` again; the other project keeps its instance",
            inst.id,
            tf.state_path().display()
        );
    }
    let strays = fleet.strays();
    let in_state = fleet.state.keys().cloned().collect();
    let adoption = plan(&settings.nodes, &in_state, &strays);
    for inst in &adoption.delete {
        progress.line(format!(
            "deleting stray instance {} ({}, {}) left by an interrupted run",
            inst.hostname, inst.id, inst.status
        ));
        delete_instance(api, &inst.id, false).await?;
    }
    let mut import = Vec::new();
    for inst in adoption.import {
        if let Some(ready) = wait_until_running(api, inst, settings.keep_volumes, progress).await? {
            import.push(ready);
        }
    }
    let key = key_to_import(settings, vars, fleet);
    if import.is_empty() && key.is_none() {
        return Ok(false);
    }
    // Import needs the configuration to name the node: write tfvars for it first.
    let mut placements = placements_of(&fleet.state);
    for inst in &import {
        placements.insert(
            inst.hostname.clone(),
            Placement {
                instance_type: inst.instance_type.clone(),
                location: inst.location.clone(),
            },
        );
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
    for inst in &import {
        progress.line(format!(
            "adopting {} ({}), created by an interrupted bringup",
            inst.hostname, inst.id
        ));
        tf.import(&instance_address(&inst.hostname), &inst.id)?;
    }
    Ok(true)
}

/// An instance to adopt, once running; `None` (after deleting it) when it failed on the
/// way, so that its node is created again.
async fn wait_until_running(
    api: &Api,
    inst: &Instance,
    keep_volumes: bool,
    progress: &mut Progress,
) -> Result<Option<Instance>> {
    if inst.status == InstanceStatus::Running {
        return Ok(Some(inst.clone()));
    }
    progress.waiting(format!(
        "{}: waiting for {} ({}) to finish provisioning",
        inst.hostname, inst.id, inst.status
    ));
    let deadline = tokio::time::Instant::now() + ADOPT_TIMEOUT;
    let waited = api
        .client
        .wait_for_instance(
            &inst.id,
            |i| i.status == InstanceStatus::Running && i.ip.is_some(),
            deadline,
            &CancellationToken::new(),
        )
        .await;
    progress.done();
    match waited {
        Ok(ready) => Ok(Some(ready)),
        Err(why) => {
            progress.line(format!(
                "{}: {} left by an interrupted run did not come up ({why}); deleting it, the node is created again",
                inst.hostname, inst.id
            ));
            delete_instance(api, &inst.id, keep_volumes).await?;
            Ok(None)
        }
    }
}

/// In UNIQUE mode with no key in state: the id of the account's key with our name and
/// our public key, if any.
fn key_to_import(settings: &Settings, vars: &TfVars, fleet: &Fleet) -> Option<String> {
    if settings.ssh_key != SshKeyMode::Unique {
        return None;
    }
    let name = &vars.datacrunch_ssh_key_name;
    if fleet
        .resources
        .iter()
        .any(|r| r.resource_type == "datacrunch_ssh_key")
    {
        return None;
    }
    fleet
        .keys
        .iter()
        .find(|k| &k.name == name && k.key.trim() == vars.datacrunch_ssh_public_key.trim())
        .map(|k| k.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, hostname: &str, status: InstanceStatus) -> Instance {
        serde_json::from_value(serde_json::json!({
            "id": id, "hostname": hostname, "status": status.as_str(),
        }))
        .unwrap()
    }

    #[test]
    fn one_instance_per_missing_node_is_adopted_the_rest_deleted() {
        let nodes = ["n-0", "n-1"].map(String::from).to_vec();
        let a = instance("a", "n-0", InstanceStatus::Provisioning);
        let b = instance("b", "n-0", InstanceStatus::Running);
        let c = instance("c", "old-node", InstanceStatus::Running);
        let d = instance("d", "n-1", InstanceStatus::NoCapacity);
        let strays = [&a, &b, &c, &d];
        let adoption = plan(&nodes, &BTreeSet::new(), &strays);
        let ids = |v: &[&Instance]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        // A provisioning instance is adopted (and waited for), a failed one never.
        assert_eq!(ids(&adoption.import), ["a"]);
        assert_eq!(ids(&adoption.delete), ["b", "c", "d"]);
    }
}
