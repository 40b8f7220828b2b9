//! Running Terraform (the binary is chosen by [`crate::terraform_binary`]): installing our provider where `init` finds it offline,
//! and reading what happened from machine-readable output only (`apply -json`,
//! `show -json`, `output -json`), never from human text.
//!
//! The provider goes into a project-local filesystem mirror,
//! `.local/terraform/plugins/registry.terraform.io/linux-kdevops/datacrunch/<ver>/<os_arch>/`,
//! named by a project CLI config passed as `TF_CLI_CONFIG_FILE`: one-step `init`, no
//! `dev_overrides`, no hidden files, a real lock file. A rebuilt binary no
//! longer matches the lock file's checksum, so when the installed binary changes the
//! lock file and the cached copy are removed and `init` runs again; otherwise `init`
//! runs only when one of its inputs changed ([`init`]).
//!
//! Every Terraform command runs in a process group of its own, registered with
//! [`interrupt`]: Ctrl-C reaches Terraform once, forwarded, never twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::backend::Backend;
use crate::interrupt::{self, AfterStop, Interrupted};
use crate::owner_only::OwnerOnly;
use crate::project::Project;
use crate::state_lock;

mod apply;
mod init;

/// The provider's registry address.
const PROVIDER_NAMESPACE: &str = "linux-kdevops";
const PROVIDER_TYPE: &str = "datacrunch";

/// A Terraform (or OpenTofu) binary bound to the module's working directory.
pub struct Terraform {
    binary: PathBuf,
    workdir: PathBuf,
    cli_config: PathBuf,
    /// The provider's copy in the project mirror.
    installed_provider: PathBuf,
    /// Where bringup saves the plan it checks and then applies.
    plan_file: PathBuf,
    /// Variables set for every command after the `DATACRUNCH_*`/`VERDA_*` ones are
    /// removed: the credential environment the workflow resolved with.
    env: Vec<(String, String)>,
    backend: Backend,
    /// How long a command waits for the state lock another checkout holds (team state).
    lock_timeout: Duration,
    /// How Terraform's database sessions name this run ([`state_lock::application_name`]).
    application_name: String,
}

mod team_state;

use team_state::lock_busy;

/// One resource instance from `terraform show -json`.
#[derive(Debug, Clone)]
pub struct StateResource {
    pub resource_type: String,
    /// The `for_each` key (node name) or `count` index as text.
    pub index: Option<String>,
    pub tainted: bool,
    pub values: Value,
}

/// What [`Terraform::apply`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// The plan [`Terraform::plan`] saved (and the caller checked).
    SavedPlan,
    /// Destroy everything in state.
    Destroy,
}

/// What `apply -json` reported, per resource address.
#[derive(Debug, Default, Clone)]
pub struct ApplyReport {
    pub succeeded: bool,
    /// Address → error diagnostics (summary and detail) for that resource.
    pub errors: BTreeMap<String, Vec<String>>,
    /// Errors not tied to a resource (configuration, provider configuration).
    pub general_errors: Vec<String>,
}

impl ApplyReport {
    /// Terraform refused the saved plan because the state changed since it was made
    /// (another checkout of the team applied meanwhile, perhaps while this run waited for
    /// the lock): nothing was applied, and a new plan must be made and checked.
    pub fn plan_was_stale(&self) -> bool {
        self.general_errors
            .iter()
            .any(|e| e.contains("Saved plan is stale"))
    }

    /// Every error: the general ones, then each resource's as `address: detail; ...`.
    pub fn messages(&self) -> Vec<String> {
        let mut all = self.general_errors.clone();
        all.extend(
            self.errors
                .iter()
                .map(|(a, e)| format!("{a}: {}", e.join("; "))),
        );
        all
    }
}

/// The resource address an `apply -json` event reports done, if it is such an event.
pub fn completed_address(event: &Value) -> Option<&str> {
    (event["type"] == "apply_complete")
        .then(|| event.pointer("/hook/resource/addr")?.as_str())
        .flatten()
}

fn os_arch() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

impl Terraform {
    /// Installs `provider_binary` into the project mirror, writes the CLI config, and
    /// returns a runner for the module directory.
    pub fn prepare(project: &Project, binary: PathBuf, provider_binary: &Path) -> Result<Self> {
        let workdir = project.terraform_dir();
        if !workdir.join("main.tf").is_file() {
            bail!(
                "{} has no main.tf: --topdir must be a kdevops tree with terraform/datacrunch/",
                workdir.display()
            );
        }
        let local = project.terraform_local_dir();
        let mirror = local.join("plugins");
        let version = env!("CARGO_PKG_VERSION");
        let dir = mirror
            .join("registry.terraform.io")
            .join(PROVIDER_NAMESPACE)
            .join(PROVIDER_TYPE)
            .join(version)
            .join(os_arch());
        let installed = dir.join(format!("terraform-provider-{PROVIDER_TYPE}_v{version}"));
        if !init::same_contents(provider_binary, &installed)? {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            // Copy, not link: a later rebuild must not change the binary behind the lock.
            let tmp = installed.with_extension("new");
            std::fs::copy(provider_binary, &tmp)
                .with_context(|| format!("cannot install the provider into {}", dir.display()))?;
            std::fs::rename(&tmp, &installed)?;
            // The lock records the old checksum; init would refuse the new binary.
            for stale in [
                workdir.join(".terraform.lock.hcl"),
                workdir.join(".terraform/providers"),
            ] {
                remove_any(&stale)?;
            }
        }
        let cli_config = local.join("terraform.tfrc");
        let text = format!(
            "# Written by kdevops-datacrunch: our provider comes from the project mirror only.\n\
             provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}\"]\n  }}\n}}\n",
            mirror.display()
        );
        crate::atomic_write::write(&cli_config, &text)?;
        Ok(Self {
            binary,
            workdir,
            plan_file: local.join("bringup.tfplan"),
            cli_config,
            installed_provider: installed,
            env: Vec::new(),
            backend: Backend::Local,
            lock_timeout: Duration::ZERO,
            application_name: state_lock::application_name(""),
        })
    }

    /// Hands these variables to Terraform (and so to the provider), so the provider
    /// resolves credentials from the same environment the workflow did.
    pub fn with_env(mut self, env: Vec<(String, String)>) -> Self {
        self.env = env;
        self
    }

    /// Keeps the state in `backend`: writes or removes the generated backend block.
    /// The lock wait comes from [`state_lock::timeout`].
    pub fn with_backend(mut self, backend: Backend) -> Result<Self> {
        if backend.is_remote() {
            self.lock_timeout = state_lock::timeout()?;
        }
        backend.write_block(&self.workdir)?;
        self.backend = backend;
        Ok(self)
    }

    /// Names the workflow command (`bringup`) in the database sessions of its Terraform
    /// runs, so that a checkout waiting for the lock can say who holds it.
    pub fn run_by(mut self, command: &str) -> Self {
        self.application_name = state_lock::application_name(command);
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg(format!("-chdir={}", self.workdir.display()))
            .args(args)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .stdin(Stdio::null());
        // An unrelated shell setting must not send real credentials to the emulator (a
        // bearer token would win over the module's credentials file): only what
        // `with_env` names gets through.
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("DATACRUNCH_") || key_text.starts_with("VERDA_") {
                cmd.env_remove(&key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.envs(self.backend.env());
        if self.backend.is_remote() {
            cmd.env("PGAPPNAME", &self.application_name);
        }
        cmd
    }

    /// Runs a command that should succeed; on failure returns its stderr. Like every
    /// Terraform run, in a process group of its own with signals forwarded
    /// ([`interrupt::spawn`]).
    fn run_quiet(&self, args: &[&str], after_stop: AfterStop) -> Result<String> {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (child, group) = interrupt::spawn(&mut cmd, after_stop)?;
        let out = child
            .wait_with_output()
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        drop(group);
        if after_stop == AfterStop::Refuse && interrupt::requested().is_some() {
            return Err(Interrupted.into());
        }
        if !out.status.success() {
            bail!(
                "terraform {} failed:\n{}",
                args.first().copied().unwrap_or(""),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `terraform init`, only when the provider is not installed yet, its installed
    /// copy no longer resolves (`init` links it to the project mirror by absolute path,
    /// so after the tree is moved the link points into the old location), or an input
    /// of the last `init` changed since (see [`init`]). Returns whether it ran.
    pub fn init_if_needed(&self) -> Result<bool> {
        let providers = self.workdir.join(".terraform/providers");
        let installed = providers
            .join("registry.terraform.io")
            .join(PROVIDER_NAMESPACE)
            .join(PROVIDER_TYPE)
            .join(env!("CARGO_PKG_VERSION"))
            .join(os_arch());
        let inputs = init::Inputs {
            terraform: &self.binary,
            workdir: &self.workdir,
            cli_config: &self.cli_config,
            installed_provider: &self.installed_provider,
        };
        let record = self.cli_config.with_file_name("backend");
        let recorded = std::fs::read_to_string(&record).unwrap_or_else(|_| "local\n".to_owned());
        let switched = recorded != self.backend.record();
        // `exists` follows the link: false for one into a directory that moved away.
        if !switched
            && installed.exists()
            && self.workdir.join(".terraform.lock.hcl").is_file()
            && init::recorded(&self.workdir) == Some(inputs.fingerprint()?)
        {
            return Ok(false);
        }
        // An init interrupted half way must not look like a finished one next time.
        remove_any(&self.workdir.join(init::STAMP))?;
        remove_any(&providers)?;
        let mut args = vec!["init", "-input=false", "-no-color"];
        if switched {
            // The state moves along: a local state into the database, or back.
            let local_state = self.workdir.join("terraform.tfstate").is_file();
            args.push(if local_state || recorded.starts_with("pg") {
                "-migrate-state"
            } else {
                "-reconfigure"
            });
            args.push("-force-copy");
            eprintln!(
                "Terraform state backend changed ({} -> {}): terraform init {}",
                recorded.trim(),
                self.backend.record().trim(),
                args[3]
            );
        }
        self.init_with_retry(&args)?;
        // After init: it writes the lock file, one of the inputs.
        init::record(&self.workdir, &inputs.fingerprint()?)?;
        crate::atomic_write::write(&record, &self.backend.record())?;
        if switched && self.backend.is_remote() {
            // The database holds the state now; a stale local copy must not be read.
            for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
                let path = self.workdir.join(name);
                if path.exists() {
                    std::fs::rename(&path, self.workdir.join(format!("{name}.migrated")))?;
                }
            }
        }
        Ok(true)
    }

    /// Whether there may be state: a local state file, or always for the team state.
    pub fn has_state(&self) -> bool {
        self.backend.is_remote() || self.workdir.join("terraform.tfstate").is_file()
    }

    /// The resources in state (`show -json`), empty without state.
    pub fn state(&self) -> Result<Vec<StateResource>> {
        if !self.has_state() {
            return Ok(Vec::new());
        }
        let json: Value =
            serde_json::from_str(&self.run_quiet(&["show", "-json", "-no-color"], AfterStop::Run)?)
                .context("terraform show -json printed something that is not JSON")?;
        let resources = json
            .pointer("/values/root_module/resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(resources
            .into_iter()
            .map(|r| StateResource {
                resource_type: r["type"].as_str().unwrap_or_default().to_owned(),
                index: match &r["index"] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                },
                tainted: r["tainted"].as_bool().unwrap_or(false),
                values: r["values"].clone(),
            })
            .collect())
    }

    /// `terraform import ADDRESS ID` (adopting an instance created by an interrupted run).
    pub fn import(&self, address: &str, id: &str) -> Result<()> {
        let state_files = OwnerOnly::prepare(&self.state_files())?;
        self.locking(|lock| {
            let mut args = vec!["import", "-input=false", "-no-color"];
            args.extend(lock);
            args.extend([address, id]);
            lock_busy(self.run_quiet(&args, AfterStop::Refuse))
        })?;
        state_files.finish()
    }

    /// `terraform plan -out` into the plan file, then that plan as `show -json` prints
    /// it. `replace` names resource addresses to replace although unchanged
    /// (`-replace`). [`Apply::SavedPlan`] applies exactly this plan.
    pub fn plan(&self, replace: &[String]) -> Result<Value> {
        let out = format!("-out={}", self.plan_file.display());
        let replace: Vec<String> = replace.iter().map(|a| format!("-replace={a}")).collect();
        // The plan holds a snapshot of the state: private like it.
        let plan_file = OwnerOnly::prepare(std::slice::from_ref(&self.plan_file))?;
        self.locking(|lock| {
            let mut args = vec!["plan", "-input=false", "-no-color", out.as_str()];
            args.extend(lock);
            args.extend(replace.iter().map(String::as_str));
            lock_busy(self.run_quiet(&args, AfterStop::Refuse))
        })?;
        plan_file.finish()?;
        let plan = self.plan_file.display().to_string();
        serde_json::from_str(
            &self.run_quiet(&["show", "-json", "-no-color", &plan], AfterStop::Refuse)?,
        )
        .context("terraform show -json of the saved plan printed something that is not JSON")
    }

    /// Removes the saved plan without applying it (it changes nothing): a later apply
    /// must come from a new, checked plan.
    pub fn discard_plan(&self) -> Result<()> {
        remove_any(&self.plan_file)
    }

    /// `terraform apply -invoke=ACTION` (Terraform 1.14+; one action per run);
    /// returns Terraform's output (the action's progress lines).
    pub fn invoke(&self, action: &str) -> Result<String> {
        self.apply_approved(&[&format!("-invoke={action}")])
    }

    /// `terraform query -json` over the module's `*.tfquery.hcl` (Terraform 1.14+).
    pub fn query_json(&self) -> Result<String> {
        self.run_quiet(&["query", "-json", "-no-color"], AfterStop::Refuse)
    }

    /// `terraform apply -refresh-only`: state (and outputs) take what the API says now,
    /// e.g. a node's status after a power change, so the next plan shows no change.
    pub fn refresh_only(&self) -> Result<String> {
        self.apply_approved(&["-refresh-only"])
    }

    fn apply_approved(&self, extra: &[&str]) -> Result<String> {
        let state_files = OwnerOnly::prepare(&self.state_files())?;
        let output = self.locking(|lock| {
            let mut args = vec!["apply", "-auto-approve", "-input=false", "-no-color"];
            args.extend(lock);
            args.extend_from_slice(extra);
            lock_busy(self.run_quiet(&args, AfterStop::Refuse))
        })?;
        state_files.finish()?;
        Ok(output)
    }

    /// `terraform output -json` as name → value.
    pub fn outputs(&self) -> Result<BTreeMap<String, Value>> {
        let json: Value = serde_json::from_str(
            &self.run_quiet(&["output", "-json", "-no-color"], AfterStop::Refuse)?,
        )
        .context("terraform output -json printed something that is not JSON")?;
        Ok(json
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v["value"].clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The files Terraform writes instance details into ([`OwnerOnly`] around each
    /// run that may write them).
    fn state_files(&self) -> Vec<PathBuf> {
        ["terraform.tfstate", "terraform.tfstate.backup"]
            .map(|name| self.workdir.join(name))
            .to_vec()
    }

    /// Removes the state, lock and tfvars once everything is destroyed.
    pub fn forget(&self) -> Result<()> {
        for name in [
            "terraform.tfstate",
            "terraform.tfstate.backup",
            "terraform.tfvars.json",
        ] {
            remove_any(&self.workdir.join(name))?;
        }
        Ok(())
    }

    pub fn state_path(&self) -> PathBuf {
        self.workdir.join("terraform.tfstate")
    }

    pub fn tfvars_path(&self) -> PathBuf {
        self.workdir.join("terraform.tfvars.json")
    }
}

fn remove_any(path: &Path) -> Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_directory_name() {
        let name = os_arch();
        assert!(name.contains('_') && !name.contains("x86_64"), "{name}");
    }
}
