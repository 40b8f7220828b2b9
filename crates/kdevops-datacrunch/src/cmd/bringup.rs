//! `bringup`: make the configured nodes exist, whatever exists already.
//!
//! 1. Settings and the API (the emulator is started when it is the endpoint); an
//!    explicit instance type is checked against the live catalog first.
//! 2. The provider goes into the project mirror and `terraform init` runs if needed.
//! 3. One look at what exists ([`Fleet::survey`]), then reconcile with it
//!    ([`reconcile`]): healthy nodes in state keep their placement; what an
//!    interrupted run created but state lacks is adopted.
//! 4. The apply attempts with the capacity fallback ([`provision::converge`]), each a
//!    saved plan checked for nodes it would replace or destroy before it is applied.
//! 5. Every node answers SSH (on the emulator, once it has booted the node, on the
//!    port it reports); host keys go to the project's known_hosts.
//! 6. ssh config, inventory, and each node's address.
//!
//! In cluster mode, steps 3-4 are one cluster instead ([`cluster::converge`]), and its
//! workers are reached through its jump host.

use anyhow::{bail, Context, Result};

use crate::api::{self, Api};
use crate::cmd::Setup;
use crate::emulator::{self, sibling_binary};
use crate::fleet::{cluster, provision, reconcile, Fleet};
use crate::progress::Progress;
use crate::project::Project;
use crate::settings::SshKeyMode;
use crate::ssh_wait;
use crate::sshconfig::HostEntry;
use crate::sshkey;
use crate::terraform::Terraform;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BringupArgs {
    /// Rebuild these nodes (names, comma- or space-separated, or `all`; in cluster mode
    /// the cluster's hostname) with what .config says now, or let bringup destroy them
    /// when no longer configured; without it, bringup refuses a plan that would replace
    /// or destroy a node or the cluster.
    #[arg(long, value_name = "NODES")]
    replace: Option<String>,

    #[command(flatten)]
    ssh_timeout: SshTimeout,

    /// Move every node's expiry (tag kdevops-expires-at) to now + this duration (`4h`);
    /// without it, running nodes keep their expiry.
    #[arg(long, value_name = "TTL")]
    pub extend: Option<String>,
}

/// How long to wait, after apply, for every node to answer SSH: one option for every
/// command that ends with the nodes up (`bringup`, `extend`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct SshTimeout {
    /// How long to wait, after apply, for every node to answer SSH.
    #[arg(
        long = "ssh-timeout",
        env = "KDEVOPS_SSH_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 600
    )]
    seconds: u64,
}

impl BringupArgs {
    /// `extend`: bringup that moves the expiry of this project's nodes.
    pub fn extend(ttl: String, ssh_timeout: SshTimeout) -> Self {
        Self {
            replace: None,
            ssh_timeout,
            extend: Some(ttl),
        }
    }
}

pub async fn run(project: &Project, args: BringupArgs) -> Result<()> {
    let mut progress = Progress::new();
    let ctx = Setup::load(project)?;
    let extend = match &args.extend {
        Some(text) => Some(crate::ttl::parse(text, "TTL (make extend TTL=...)")?),
        None => None,
    };
    // A broken ~/.ssh/config is refused before anything is created.
    ctx.check_access_files()?;
    let settings = &ctx.settings;
    // Before anything slow (starting the emulator, the first API round trip): the user
    // sees within a fraction of a second that bringup runs, also in a log or a pipe.
    let what = match &settings.cluster {
        Some(c) => format!("cluster {} ({})", c.hostname, c.cluster_type),
        None => format!("{} node(s)", settings.nodes.len()),
    };
    progress.line(format!(
        "bringup: {what} as configured in {}",
        project.config.display()
    ));
    let api = api::connect(project, settings).await?;
    progress.line(format!(
        "API {} ({})",
        api.server_url,
        if api.is_emulator {
            "local emulator: free, no real machines"
        } else {
            "billed by the hour"
        }
    ));
    let catalog = api
        .client
        .instance_types(None)
        .await
        .map_err(|e| api.explain(e))?;
    if settings.cluster.is_none() {
        provision::check_type(settings, &catalog, &api.server_url)?;
    }

    let binary = crate::terraform_binary::find(project)?;
    progress.line(binary.to_string());
    let tf = Terraform::prepare(
        project,
        binary.path,
        &sibling_binary("terraform-provider-datacrunch")?,
    )?
    .with_env(api.provider_env.clone())
    .run_by(if extend.is_some() {
        "extend"
    } else {
        "bringup"
    })
    .with_backend(ctx.backend.clone())?;
    if tf.init_if_needed()? {
        progress.line("terraform init: provider installed from the project mirror");
    } else {
        progress.line("terraform init: skipped (nothing changed)");
    }

    // Team state: what is read next must not be another checkout's apply half done.
    tf.wait_for_state_lock()?;
    let mut fleet = Fleet::survey(&api, &ctx.identity, Some(&tf)).await?;
    let clusters = cluster::in_state(&fleet.resources).map(|c| c.hostname);
    let replace = provision::nodes_to_replace(settings, &fleet, clusters, args.replace.as_deref())?;
    // A fresh key pair (GENKEY_OVERWRITE) only when nothing of this project exists.
    let (public_key, key_id) = ssh_key(&ctx, &api, &fleet)?;
    let mut vars = ctx.tfvars(&api, public_key, key_id, ctx.startup_script()?);
    let ssh_deadline = Instant::now() + Duration::from_secs(args.ssh_timeout.seconds);
    if let Some(wanted) = &settings.cluster {
        let goal = cluster::Goal {
            settings,
            cluster: wanted,
            replace: &replace,
            extend,
        };
        let hosts = cluster::converge(&goal, &api, &tf, &mut vars, &fleet, &mut progress).await?;
        return finish(&ctx, &api, hosts, &mut progress, ssh_deadline).await;
    }
    if reconcile::run(&tf, &api, settings, &mut vars, &fleet, &mut progress).await? {
        fleet.refresh_state(&tf)?;
    }
    let goal = provision::Goal {
        settings,
        catalog: &catalog,
        replace: &replace,
        extend,
    };
    provision::converge(&goal, &api, &tf, &mut vars, &mut fleet, &mut progress).await?;
    let hosts = instance_hosts(settings, &tf)?;
    finish(&ctx, &api, hosts, &mut progress, ssh_deadline).await
}

/// Every configured node at its address, from the module outputs.
fn instance_hosts(settings: &crate::settings::Settings, tf: &Terraform) -> Result<Vec<HostEntry>> {
    let outputs = tf.outputs()?;
    let ips = outputs
        .get("controller_ip_map")
        .and_then(|v| v.as_object())
        .context("terraform output controller_ip_map is missing")?;
    settings
        .nodes
        .iter()
        .map(|n| HostEntry::from_api(n, ips.get(n).and_then(|v| v.as_str())))
        .collect()
}

/// Waits until every node answers SSH and records its host keys, writes ssh config
/// and inventory, and prints the nodes.
async fn finish(
    ctx: &Setup,
    api: &Api,
    mut hosts: Vec<HostEntry>,
    progress: &mut Progress,
    ssh_deadline: Instant,
) -> Result<()> {
    let answers_ssh =
        !api.is_emulator || emulator_ports(api, &mut hosts, ssh_deadline, progress).await?;
    HostEntry::refresh_jumps(&mut hosts);
    if answers_ssh {
        // Nodes behind a jump host have private addresses: only the emulator's (on
        // loopback) can be waited for from here; ssh reaches the others through it.
        let direct: Vec<HostEntry> = hosts
            .iter()
            .filter(|h| api.is_emulator || h.jump.is_none())
            .cloned()
            .collect();
        ssh_wait::wait_for_all(&direct, ssh_deadline, progress).await?;
        ssh_wait::record_host_keys(&direct, &ctx.known_hosts_file)?;
    }
    for written in ctx.write_access_files(&hosts)? {
        progress.line(format!("wrote {written}"));
    }
    progress.done();
    for h in &hosts {
        println!("{}\t{}", h.name, h.ip);
    }
    if !api.is_emulator {
        println!("These machines bill by the hour until deleted: `make status` shows the cost so far, `make destroy` deletes them.");
    }
    Ok(())
}

/// On the emulator, each node's sshd port, once the emulator has booted the node.
/// `false` when its instances are records only (nothing answers SSH): says why in one
/// line when the emulator could not boot sandboxes on this machine.
async fn emulator_ports(
    api: &Api,
    hosts: &mut [HostEntry],
    deadline: Instant,
    progress: &mut Progress,
) -> Result<bool> {
    loop {
        let board = emulator::nodes(&api.server_url).await?;
        if board.mode != "sandbox" {
            if let Some(why) = board.unavailable {
                progress.line(why);
            }
            return Ok(false);
        }
        let mut missing = Vec::new();
        for h in hosts.iter_mut() {
            match board.nodes.iter().find(|n| n.ip == h.ip) {
                Some(node) => h.port = node.port,
                None => missing.push(h.name.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            bail!(
                "the emulator has not booted {} in time: {}",
                missing.join(", "),
                api.restart_hint.clone().unwrap_or_default()
            );
        }
        progress.waiting(format!("the emulator boots {}", missing.join(", ")));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The public key to upload (UNIQUE) or the id of the existing key (MANUAL).
fn ssh_key(ctx: &Setup, api: &Api, fleet: &Fleet) -> Result<(String, String)> {
    match &ctx.settings.ssh_key {
        SshKeyMode::Unique => Ok((
            sshkey::ensure(&ctx.key_file, ctx.settings.genkey, fleet.is_empty())?,
            String::new(),
        )),
        SshKeyMode::Manual { name } => {
            let Some(key) = fleet.keys.iter().find(|k| k.name == *name) else {
                bail!(
                    "no SSH key named {name:?} in the account at {} (CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_NAME_CUSTOM): \
                     add it in the dashboard or choose the unique-key mode in `make menuconfig`",
                    api.server_url
                );
            };
            Ok((String::new(), key.id.clone()))
        }
    }
}
