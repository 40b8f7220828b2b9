//! `power-off` / `power-on`: shut down or start this project's nodes (all, or one with
//! `--node`), and say what a node that is off still costs.
//!
//! With Terraform 1.14 or later this goes through the provider's action
//! `datacrunch_instance_power`, declared per node in `terraform/datacrunch/actions/`:
//! that file is copied into the module for the one `terraform apply -invoke=...` and
//! removed again, because older Terraform cannot parse an `action` block. Older
//! Terraform gets the same through the API client directly, and is told so.
//!
//! Power state is not configuration: `datacrunch_instance` reads `status` as a computed
//! attribute, and a refresh-only apply afterwards records it (the module's outputs show
//! it), so the next bringup plans no change for a node that is off.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use datacrunch_models::{Instance, InstanceAction, InstanceActionRequest, InstanceStatus};

use crate::api::{self, Api};
use crate::cmd::Setup;
use crate::emulator::sibling_binary;
use crate::fleet::fallback::nodes_in_state;
use crate::project::Project;
use crate::terraform::Terraform;
use crate::terraform_binary::{self, Version};

/// The first Terraform with actions (`terraform apply -invoke`) and `terraform query`.
pub(crate) const ACTIONS_SINCE: Version = Version(1, 14, 0);

/// How long a node may take to reach its new status.
const POWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

#[derive(Debug, Args)]
pub struct PowerArgs {
    /// Only this node (its name, e.g. `kdevops-0`); default: every node in state.
    #[arg(long)]
    node: Option<String>,
}

/// Which way to switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Off,
    On,
}

impl Power {
    /// The workflow command.
    fn command(self) -> &'static str {
        match self {
            Power::Off => "power-off",
            Power::On => "power-on",
        }
    }

    /// The action block's name in `actions/power.tf`.
    fn block(self) -> &'static str {
        match self {
            Power::Off => "off",
            Power::On => "on",
        }
    }

    fn api_action(self) -> InstanceAction {
        match self {
            Power::Off => InstanceAction::Shutdown,
            Power::On => InstanceAction::Start,
        }
    }

    fn target(self) -> InstanceStatus {
        match self {
            Power::Off => InstanceStatus::Offline,
            Power::On => InstanceStatus::Running,
        }
    }
}

/// Terraform set up for this project's module (installed provider, credentials,
/// backend, init), with its version: what `power-*` and `adopt` run before they can
/// read state or invoke anything. `command` names the workflow command to a checkout
/// that waits for the team state's lock meanwhile.
pub(crate) fn prepared_terraform(
    project: &Project,
    ctx: &Setup,
    api: &Api,
    command: &str,
) -> Result<(Terraform, Version)> {
    let chosen = terraform_binary::find(project)?;
    let tf = Terraform::prepare(
        project,
        chosen.path.clone(),
        &sibling_binary("terraform-provider-datacrunch")?,
    )?
    .with_env(api.provider_env.clone())
    .run_by(command)
    .with_backend(ctx.backend.clone())?;
    tf.init_if_needed()?;
    Ok((tf, chosen.version))
}

pub async fn run(project: &Project, args: PowerArgs, power: Power) -> Result<()> {
    let ctx = Setup::load(project)?;
    let api = api::connect(project, &ctx.settings).await?;
    let (tf, version) = prepared_terraform(project, &ctx, &api, power.command())?;
    let nodes = selected_nodes(&tf, args.node.as_deref())?;
    // A node that cannot be switched does not keep the others from it; what failed is
    // said at the end.
    let mut failed = Vec::new();
    if version >= ACTIONS_SINCE {
        let _file = ActionsFile::copy_into(project)?;
        // Terraform invokes one action per run.
        for (name, _) in &nodes {
            let action = format!(
                "action.datacrunch_instance_power.{}[\"{name}\"]",
                power.block()
            );
            if let Err(e) = tf.invoke(&action) {
                failed.push(format!("{name}: {e:#}"));
            }
        }
    } else {
        println!(
            "Terraform {} has no actions (they need {ACTIONS_SINCE} or later): \
             switching the nodes through the API directly.",
            version
        );
        for (name, id) in &nodes {
            if let Err(e) = switch_through_api(&api, id, power).await {
                failed.push(format!("{name}: {e:#}"));
            }
        }
    }
    // State holds each node's status (and the outputs show it): record the new one, so
    // the next bringup or plan shows no change. Also after a failure: the nodes that
    // did switch must not keep their old status in state.
    tf.refresh_only()?;
    for (name, id) in &nodes {
        let instance = api.client.instance(id).await.map_err(|e| api.explain(e))?;
        println!("{}", report_line(name, &instance));
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} nodes could not be switched: {}",
            failed.len(),
            nodes.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

/// What a node's new status means for the bill.
fn report_line(name: &str, instance: &Instance) -> String {
    let mut line = format!("{name} ({}) is {}", instance.id, instance.status);
    if instance.status == InstanceStatus::Offline {
        line.push_str(&format!(
            "; it still bills ${}/hour while off (DataCrunch bills a shut-down instance \
             until it is deleted; only `make destroy` stops that)",
            instance.price_per_hour
        ));
    }
    line
}

/// (node name, instance id) of every node in state, or of `only`.
fn selected_nodes(tf: &Terraform, only: Option<&str>) -> Result<Vec<(String, String)>> {
    let all: Vec<(String, String)> = nodes_in_state(&tf.state()?)
        .into_iter()
        .map(|(name, node)| (name, node.id))
        .collect();
    if all.is_empty() {
        bail!("No nodes in Terraform's state: run `make bringup` first.");
    }
    match only {
        None => Ok(all),
        Some(name) => match all.iter().find(|(n, _)| n == name) {
            Some(node) => Ok(vec![node.clone()]),
            None => bail!(
                "--node {name}: no such node; the nodes are {}",
                all.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

async fn switch_through_api(api: &Api, id: &str, power: Power) -> Result<()> {
    let request = InstanceActionRequest {
        action: power.api_action(),
        id: vec![id.to_owned()],
        volume_ids: None,
        delete_permanently: None,
    };
    api.client
        .instance_action(&request)
        .await
        .map_err(|e| api.explain(e))?;
    let target = power.target();
    api.client
        .wait_for_instance(
            id,
            |i| i.status == target,
            tokio::time::Instant::now() + POWER_TIMEOUT,
            &Default::default(),
        )
        .await
        .with_context(|| format!("instance {id} did not become {target}"))?;
    Ok(())
}

/// `actions/power.tf` copied into the module while it exists; removed on drop, so the
/// module stays readable by older Terraform whatever happens.
struct ActionsFile(PathBuf);

impl ActionsFile {
    fn copy_into(project: &Project) -> Result<Self> {
        let dir = project.terraform_dir();
        let source = dir.join("actions").join("power.tf");
        let target = dir.join("power_actions.tf");
        std::fs::copy(&source, &target).with_context(|| {
            format!(
                "cannot copy {} into the module (the workflow's power actions)",
                source.display()
            )
        })?;
        Ok(Self(target))
    }
}

impl Drop for ActionsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
