//! `destroy`: `terraform destroy`, then proof through the API that no instance of this
//! project remains, nor any cluster (found by the project's mark, so it works even with lost state;
//! leftovers are deleted and reported), then the ssh config, inventory, state and, for
//! the emulator, the emulator itself.

use anyhow::Result;

use crate::api;
use crate::cmd::Setup;
use crate::emulator::{self, sibling_binary};
use crate::fleet::{cleanup, cluster, fallback};
use crate::progress::Progress;
use crate::project::Project;
use crate::settings::{Endpoint, SshKeyMode};
use crate::terraform::{self, Terraform};

pub async fn run(project: &Project) -> Result<()> {
    let mut progress = Progress::new();
    let ctx = Setup::load(project)?;
    let settings = &ctx.settings;
    if settings.endpoint == Endpoint::Emulator
        && emulator::find(project)?.is_none()
        && !project.terraform_dir().join("terraform.tfstate").is_file()
        && !ctx.backend.is_remote()
    {
        ctx.remove_access_files()?;
        println!("Nothing to destroy: the local emulator is not running and there is no state.");
        return Ok(());
    }
    let api = api::connect(project, settings).await?;
    let tf = Terraform::prepare(
        project,
        crate::terraform_binary::find(project)?.path,
        &sibling_binary("terraform-provider-datacrunch")?,
    )?
    .with_env(api.provider_env.clone())
    .run_by("destroy")
    .with_backend(ctx.backend.clone())?;
    let mut terraform_error = None;
    if tf.has_state() {
        tf.init_if_needed()?;
        tf.wait_for_state_lock()?;
        let resources = tf.state()?;
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
            // Everything goes, the startup script too: no need to read its file.
            let mut vars = ctx.tfvars(&api, public_key, key_id, String::new());
            // Only the nodes in state: with none left (only the key), an empty map.
            vars.set_nodes(&fallback::placements_of(&fallback::nodes_in_state(
                &resources,
            )));
            vars.write(&tf.tfvars_path())?;
            progress.waiting("terraform destroy");
            let report = tf.apply(terraform::Apply::Destroy, |event| {
                if let Some(addr) = terraform::completed_address(event) {
                    progress.line(format!("destroyed {addr}"));
                }
            })?;
            progress.done();
            if !report.succeeded {
                let all = report.messages();
                progress.line(format!(
                    "terraform destroy failed ({}); deleting through the API",
                    all.join("; ")
                ));
                terraform_error = Some(all.join("; "));
            }
        }
    }

    cleanup::sweep(&api, &ctx.identity, settings.keep_volumes, &progress).await?;
    cluster::sweep(&api, &ctx.identity, &progress).await?;
    if settings.ssh_key == SshKeyMode::Unique {
        cleanup::delete_keys_named(&api, &ctx.key_name, &progress).await?;
    }
    progress.line("verified: no instance of this project remains");
    ctx.remove_access_files()?;
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
