//! `destroy`: `terraform destroy`, then proof through the API that no instance of this
//! project remains (found by the project marker in the description, so it works even
//! with lost state; leftovers are deleted and reported), then the ssh config, inventory,
//! state and, for the emulator, the emulator itself.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::api::{self, Api};
use crate::cmd::{self, base_tfvars, load_settings, project_instances};
use crate::emulator::{self, sibling_binary};
use crate::fallback;
use crate::placement::Placement;
use crate::progress::Progress;
use crate::project::Project;
use crate::settings::{Endpoint, SshKeyMode};
use crate::terraform::{self, Terraform};

/// How long deleted instances may take to leave the API's list.
const DELETE_TIMEOUT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(2);

pub async fn run(project: &Project) -> Result<()> {
    let mut progress = Progress::new();
    let settings = load_settings(project)?;
    if settings.endpoint == Endpoint::Emulator
        && emulator::find(project)?.is_none()
        && !project.terraform_dir().join("terraform.tfstate").is_file()
    {
        cmd::remove_access_files(project, &settings)?;
        println!("Nothing to destroy: the local emulator is not running and there is no state.");
        return Ok(());
    }
    let api = api::connect(project, &settings).await?;
    let tf = Terraform::prepare(
        project,
        terraform::find_binary(project)?,
        &sibling_binary("terraform-provider-datacrunch")?,
    )?
    .with_env(api.provider_env.clone());
    let mut terraform_error = None;
    if tf.has_state() {
        tf.init_if_needed()?;
        let resources = tf.state()?;
        let nodes = fallback::nodes_in_state(&resources);
        if !resources.is_empty() {
            // The inputs must name the current endpoint (the emulator's port changes
            // across restarts), the nodes and key in state, whatever .config says now.
            let public_key = resources
                .iter()
                .find(|r| r.resource_type == "datacrunch_ssh_key")
                .and_then(|r| r.values["public_key"].as_str())
                .unwrap_or_default()
                .to_owned();
            let key_id = if public_key.is_empty() {
                "unused".to_owned()
            } else {
                String::new()
            };
            let mut vars = base_tfvars(project, &settings, &api, public_key, key_id);
            let mut placements = cmd::placements_of(&nodes);
            if placements.is_empty() {
                // Only the key is left; the module still wants one node entry.
                placements.insert(
                    settings.nodes[0].clone(),
                    Placement {
                        instance_type: "-".into(),
                        location: "-".into(),
                    },
                );
            }
            vars.set_nodes(&placements);
            vars.write(&tf.tfvars_path())?;
            progress.waiting("terraform destroy");
            let report = tf.apply(true, |event| {
                if event["type"] == "apply_complete" {
                    if let Some(addr) = event
                        .pointer("/hook/resource/addr")
                        .and_then(|v| v.as_str())
                    {
                        progress.line(format!("destroyed {addr}"));
                    }
                }
            })?;
            progress.done();
            if !report.succeeded {
                let mut all: Vec<String> = report.general_errors.clone();
                all.extend(
                    report
                        .errors
                        .into_iter()
                        .map(|(a, e)| format!("{a}: {}", e.join("; "))),
                );
                progress.line(format!(
                    "terraform destroy failed ({}); deleting through the API",
                    all.join("; ")
                ));
                terraform_error = Some(all.join("; "));
            }
        }
    }

    sweep(&api, project, settings.keep_volumes, &progress).await?;
    if let SshKeyMode::Unique { name } = &settings.ssh_key {
        let keys = api.client.ssh_keys().await.map_err(|e| api.explain(e))?;
        for key in keys.iter().filter(|k| &k.name == name) {
            progress.line(format!("deleting leftover SSH key {name} ({})", key.id));
            api.client
                .delete_ssh_key(&key.id)
                .await
                .map_err(|e| api.explain(e))?;
        }
    }
    progress.line("verified: no instance of this project remains");
    cmd::remove_access_files(project, &settings)?;
    tf.forget()?;
    if api.is_emulator && emulator::stop(project)? {
        progress.line("stopped the local emulator");
    }
    if let Some(e) = terraform_error {
        progress.line(format!(
            "note: terraform destroy had failed, the API clean-up finished the job ({e})"
        ));
    }
    Ok(())
}

/// Deletes every live instance carrying the project marker and waits until the API no
/// longer lists any.
async fn sweep(
    api: &Api,
    project: &Project,
    keep_volumes: bool,
    progress: &Progress,
) -> Result<()> {
    let deadline = Instant::now() + DELETE_TIMEOUT;
    let leftovers = project_instances(api, project).await?;
    for inst in &leftovers {
        progress.line(format!(
            "deleting leftover instance {} ({}, {})",
            inst.hostname, inst.id, inst.status
        ));
        delete_instance(api, &inst.id, keep_volumes).await?;
    }
    loop {
        let remaining = project_instances(api, project).await?;
        if remaining.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let names: Vec<String> = remaining
                .iter()
                .map(|i| format!("{} ({}, {})", i.hostname, i.id, i.status))
                .collect();
            bail!(
                "instances still exist after {DELETE_TIMEOUT:?}: {}; they may still bill: check the dashboard and run `make destroy` again",
                names.join(", ")
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Deletes one instance: done when deleted, already gone or already discontinued;
/// retried while the API refuses because it is still provisioning.
pub async fn delete_instance(api: &Api, id: &str, keep_volumes: bool) -> Result<()> {
    let request = datacrunch_models::InstanceActionRequest {
        action: datacrunch_models::InstanceAction::Delete,
        id: vec![id.to_owned()],
        // [] keeps every volume; absent deletes the OS volume.
        volume_ids: keep_volumes.then(Vec::new),
        delete_permanently: None,
    };
    let deadline = Instant::now() + DELETE_TIMEOUT;
    loop {
        match api.client.instance_action(&request).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() || e.is_already_discontinued() => return Ok(()),
            Err(e) if e.is_still_provisioning() && Instant::now() < deadline => {
                tokio::time::sleep(POLL).await
            }
            Err(e) => return Err(api.explain(e)),
        }
    }
}
