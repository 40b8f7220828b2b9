//! One module per subcommand (thin entry points over [`crate::fleet`]), plus the
//! pieces several of them share: loading settings, the Terraform inputs, and the files
//! written for ssh and Ansible.

pub mod bringup;
pub mod catalog;
pub mod credentials;
pub mod destroy;
pub mod select_tier;
pub mod status;

use std::collections::BTreeMap;

use anyhow::Result;

use crate::api::Api;
use crate::kconfig::KconfigValues;
use crate::project::Project;
use crate::settings::{Settings, SshKeyMode};
use crate::sshconfig::{self, HostEntry, HostOptions};
use crate::tfvars::TfVars;

/// Reads and checks `.config`.
pub fn load_settings(project: &Project) -> Result<Settings> {
    Settings::from_kconfig(&KconfigValues::load(&project.config)?)
}

/// `show-config`: the typed settings plus the per-project names, as JSON.
pub fn show_config(project: &Project) -> Result<()> {
    let settings = load_settings(project)?;
    let json = serde_json::json!({
        "settings": settings,
        "project_hash": project.hash(),
        "project_marker": project.marker(),
        "ssh_key_file": project.expand(&settings.ssh_key_file),
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// The module inputs other than the node placements.
pub fn project_tfvars(
    project: &Project,
    settings: &Settings,
    api: &Api,
    public_key: String,
    key_id: String,
) -> TfVars {
    let key_name = match &settings.ssh_key {
        SshKeyMode::Unique { name } | SshKeyMode::Manual { name } => name.clone(),
    };
    TfVars {
        datacrunch_server_url: api.server_url.clone(),
        datacrunch_credentials_file: api.credentials_file.display().to_string(),
        datacrunch_credentials_profile: api.profile.clone(),
        datacrunch_nodes: BTreeMap::new(),
        datacrunch_image: settings.image.clone(),
        datacrunch_is_spot: settings.spot,
        datacrunch_keep_volumes: settings.keep_volumes,
        datacrunch_ssh_key_name: key_name,
        datacrunch_ssh_key_id: key_id,
        datacrunch_ssh_public_key: public_key,
        datacrunch_project_marker: project.marker(),
        ssh_config_user: settings.ssh_user.clone(),
    }
}

/// Writes the ssh config (if enabled) and the inventory for `hosts`.
pub fn write_access_files(
    project: &Project,
    settings: &Settings,
    hosts: &[HostEntry],
) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let identity = project.expand(&settings.ssh_key_file).display().to_string();
    if let Some(ssh) = &settings.ssh_config {
        let main = project.expand(&ssh.main);
        let file = project.expand(&format!("{}{}", ssh.prefix, project.hash()));
        let options = HostOptions {
            user: settings.ssh_user.clone(),
            port: 22,
            identity_file: identity.clone(),
            strict: ssh.strict,
        };
        sshconfig::install(&main, &file, &ssh.prefix, hosts, &options)?;
        written.push(file.display().to_string());
    }
    let inventory = project.expand(&settings.hosts_file);
    sshconfig::write_private(
        &inventory,
        &sshconfig::render_inventory(hosts, &settings.ssh_user, &identity),
    )?;
    written.push(inventory.display().to_string());
    Ok(written)
}

/// Removes what [`write_access_files`] wrote.
pub fn remove_access_files(project: &Project, settings: &Settings) -> Result<()> {
    if let Some(ssh) = &settings.ssh_config {
        let main = project.expand(&ssh.main);
        let file = project.expand(&format!("{}{}", ssh.prefix, project.hash()));
        sshconfig::uninstall(&main, &file, &project.expand(&ssh.prefix))?;
    }
    match std::fs::remove_file(project.expand(&settings.hosts_file)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
