//! One module per subcommand (thin entry points over [`crate::fleet`]), plus the
//! pieces several of them share: loading settings, the Terraform inputs, and the files
//! written for ssh and Ansible.

pub mod adopt;
pub mod bringup;
pub mod catalog;
pub mod credentials;
pub mod destroy;
pub mod extend;
pub mod power;
pub mod reap;
pub mod select_tier;
pub mod status;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::api::Api;
use crate::atomic_write;
use crate::backend::Backend;
use crate::kconfig::{self, KconfigValues};
use crate::project::{topdir_hash, Identity, IdentityChange, Project};
use crate::settings::{Settings, SshKeyMode};
use crate::sshconfig::{self, HostEntry, HostOptions};
use crate::tfvars::TfVars;

/// Reads and checks `.config`.
pub fn load_settings(project: &Project) -> Result<Settings> {
    let values = KconfigValues::load(&project.config)?;
    check_symbol_names(project, &values)?;
    Settings::from_kconfig(&values)
}

/// Fails on a symbol in `.config` that is a near miss of one the tree's Kconfig
/// defines: a misspelt option would otherwise be dropped without a word (a price cap
/// that does not apply). Other unknown symbols (from another Kconfig tree) only get a
/// warning. Without a `Kconfig` at the top of the tree there is nothing to compare with.
fn check_symbol_names(project: &Project, values: &KconfigValues) -> Result<()> {
    let kconfig = project.topdir.join("Kconfig");
    if !kconfig.is_file() {
        return Ok(());
    }
    let defined = kconfig::defined_symbols(&kconfig)
        .with_context(|| format!("cannot read the Kconfig tree at {}", kconfig.display()))?;
    for unknown in values.unknown_symbols(&defined) {
        if unknown.meant.is_some() {
            bail!(
                "{}: {unknown} Correct the name, or run `make olddefconfig` to drop it",
                project.config.display()
            );
        }
        eprintln!("warning: {}: {unknown}", project.config.display());
    }
    Ok(())
}

/// What every command about nodes starts from: the project, its settings, its
/// identity and the per-project names derived from the identity (never from the path
/// or from `.config`, so a moved tree keeps them and a copied `.config` does not carry
/// another project's).
pub struct Setup {
    pub project: Project,
    pub settings: Settings,
    pub identity: Identity,
    /// The SSH key's name in the account.
    pub key_name: String,
    /// The private key file (its public half is `<file>.pub`).
    pub key_file: PathBuf,
    /// The per-project ssh config file, when ssh config updates are enabled.
    pub ssh_config_file: Option<PathBuf>,
    /// The per-project known_hosts file bringup records the nodes' host keys in.
    pub known_hosts_file: PathBuf,
    /// Where Terraform's state is: this checkout's file or the team's database.
    pub backend: Backend,
}

impl Setup {
    /// Settings and identity (made on first use); says so when the tree was moved or
    /// copied.
    pub fn load(project: &Project) -> Result<Self> {
        let settings = load_settings(project)?;
        let backend = Backend::from_settings(&settings)?;
        // A team shares one identity, derived from its database: the same project tag and
        // key name from every checkout.
        let identity = match backend.team_id() {
            Some(id) => Identity {
                id,
                change: None,
                legacy_marker: project.legacy_marker(),
            },
            None => project.identity()?,
        };
        if let Some(note) = identity.note() {
            eprintln!("note: {note}");
        }
        let key_name = match &settings.ssh_key {
            SshKeyMode::Unique => identity.key_name(),
            SshKeyMode::Manual { name } => name.clone(),
        };
        let key_file = project.expand(
            &settings
                .ssh_key_file
                .clone()
                .unwrap_or_else(|| identity.default_key_file()),
        );
        let ssh_config_file = settings
            .ssh_config
            .as_ref()
            .map(|ssh| project.expand(&format!("{}{}", ssh.prefix, identity.short())));
        let known_hosts_file =
            project.expand(&format!("~/.ssh/known_hosts_kdevops_{}", identity.short()));
        Ok(Self {
            project: project.clone(),
            settings,
            identity,
            key_name,
            key_file,
            ssh_config_file,
            known_hosts_file,
            backend,
        })
    }

    /// The text of CONFIG_TERRAFORM_DATACRUNCH_STARTUP_SCRIPT_FILE, empty when none is
    /// configured.
    pub fn startup_script(&self) -> Result<String> {
        let Some(file) = &self.settings.startup_script_file else {
            return Ok(String::new());
        };
        let path = self.project.expand(file);
        let script = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read the startup script {} (CONFIG_TERRAFORM_DATACRUNCH_STARTUP_SCRIPT_FILE)",
                path.display()
            )
        })?;
        if script.trim().is_empty() {
            bail!(
                "the startup script {} (CONFIG_TERRAFORM_DATACRUNCH_STARTUP_SCRIPT_FILE) is empty: \
                 write the script or set the option to an empty path",
                path.display()
            );
        }
        Ok(script)
    }

    /// The module inputs other than the node placements.
    pub fn tfvars(
        &self,
        api: &Api,
        public_key: String,
        key_id: String,
        startup_script: String,
    ) -> TfVars {
        let settings = &self.settings;
        TfVars {
            datacrunch_server_url: api.server_url.clone(),
            datacrunch_credentials_file: api.credentials_file.display().to_string(),
            datacrunch_credentials_profile: api.profile.clone(),
            datacrunch_nodes: BTreeMap::new(),
            datacrunch_image: settings.image.clone(),
            datacrunch_is_spot: settings.spot,
            datacrunch_keep_volumes: settings.keep_volumes,
            datacrunch_ssh_key_name: self.key_name.clone(),
            datacrunch_ssh_key_id: key_id,
            datacrunch_ssh_public_key: public_key,
            datacrunch_project_id: self.identity.id.clone(),
            ssh_config_user: settings.ssh_user.clone(),
            datacrunch_startup_script: startup_script,
            datacrunch_cluster: None,
        }
    }

    /// Writes the ssh config (if enabled) and the inventory for `hosts`.
    pub fn write_access_files(&self, hosts: &[HostEntry]) -> Result<Vec<String>> {
        let (project, settings) = (&self.project, &self.settings);
        let mut written = Vec::new();
        let identity_file = self.key_file.display().to_string();
        let known_hosts = self.known_hosts_file.display().to_string();
        let strict = settings.ssh_config.as_ref().is_some_and(|ssh| ssh.strict);
        if let (Some(ssh), Some(file)) = (&settings.ssh_config, &self.ssh_config_file) {
            self.remove_legacy_ssh_config()?;
            let options = HostOptions {
                user: settings.ssh_user.clone(),
                identity_file: identity_file.clone(),
                strict: ssh.strict,
                known_hosts: known_hosts.clone(),
            };
            sshconfig::install(
                &project.expand(&ssh.main),
                file,
                &ssh.prefix,
                hosts,
                &options,
            )?;
            written.push(file.display().to_string());
        }
        let inventory = project.expand(&settings.hosts_file);
        atomic_write::write_generated(
            &inventory,
            &sshconfig::render_inventory(
                hosts,
                &settings.ssh_user,
                &identity_file,
                (!strict).then_some(known_hosts.as_str()),
            ),
        )?;
        written.push(inventory.display().to_string());
        Ok(written)
    }

    /// Fails when [`Setup::write_access_files`] would refuse the user's ssh config.
    pub fn check_access_files(&self) -> Result<()> {
        match &self.settings.ssh_config {
            Some(ssh) => sshconfig::check_main(&self.project.expand(&ssh.main)),
            None => Ok(()),
        }
    }

    /// Removes what [`Setup::write_access_files`] wrote, and the project's known_hosts.
    pub fn remove_access_files(&self) -> Result<()> {
        let (project, settings) = (&self.project, &self.settings);
        if let (Some(ssh), Some(file)) = (&settings.ssh_config, &self.ssh_config_file) {
            self.remove_legacy_ssh_config()?;
            sshconfig::uninstall(
                &project.expand(&ssh.main),
                file,
                &project.expand(&ssh.prefix),
            )?;
        }
        for file in [
            project.expand(&settings.hosts_file),
            self.known_hosts_file.clone(),
        ] {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot remove {}", file.display()))
                    )
                }
            }
        }
        Ok(())
    }

    /// Earlier versions named the ssh config file by a hash of the tree's path (of the
    /// path it was at before a move, too): this tree's leftovers of those go.
    fn remove_legacy_ssh_config(&self) -> Result<()> {
        let Some(ssh) = &self.settings.ssh_config else {
            return Ok(());
        };
        let mut paths = vec![self.project.topdir.clone()];
        if let Some(IdentityChange::Moved(from)) = &self.identity.change {
            paths.push(from.clone());
        }
        for path in paths {
            let legacy = self
                .project
                .expand(&format!("{}{}", ssh.prefix, topdir_hash(&path)));
            if Some(&legacy) != self.ssh_config_file.as_ref() && legacy.exists() {
                sshconfig::uninstall(
                    &self.project.expand(&ssh.main),
                    &legacy,
                    &self.project.expand(&ssh.prefix),
                )?;
            }
        }
        Ok(())
    }
}

/// `show-config`: the typed settings plus the per-project names, as JSON.
pub fn show_config(project: &Project) -> Result<()> {
    let ctx = Setup::load(project)?;
    let json = serde_json::json!({
        "settings": ctx.settings,
        "project_id": ctx.identity.id,
        "ssh_key_name": ctx.key_name,
        "ssh_key_file": ctx.key_file,
        "ssh_config_file": ctx.ssh_config_file,
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}
