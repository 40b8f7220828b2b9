//! `bringup`: make the configured nodes exist, whatever exists already.
//!
//! 1. Settings and the API (the emulator is started when it is the endpoint); an
//!    explicit instance type is checked against the live catalog first.
//! 2. The provider goes into the project mirror and `terraform init` runs if needed.
//! 3. Reconcile with what exists (defect 12 skipped apply whenever state was non-empty):
//!    healthy nodes in state keep their placement; what an interrupted run created but
//!    state lacks is adopted ([`adopt`]).
//! 4. Up to 5 attempts: place the nodes that need it (tier selection from live
//!    availability), write `terraform.tfvars.json`, `terraform apply -json`. A node that
//!    failed for lack of capacity has its type excluded and only it is placed again;
//!    any other failure stops with Terraform's diagnostic.
//! 5. ssh config, inventory, and each node's address.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use datacrunch_client::offer::{Availability, OfferQuery};
use datacrunch_models::{InstanceType, Price};

use crate::api::{self, Api};
use crate::cmd::{adopt, base_tfvars, load_settings, project_instances};
use crate::emulator::sibling_binary;
use crate::fallback::{self, Failure};
use crate::placement::{self, Placement};
use crate::progress::Progress;
use crate::project::Project;
use crate::settings::{Settings, SshKeyMode, TypeRequest};
use crate::sshconfig::HostEntry;
use crate::sshkey;
use crate::terraform::{self, Terraform};

/// Attempts before giving up on capacity, as kdevops did.
const MAX_ATTEMPTS: usize = 5;

pub async fn run(project: &Project) -> Result<()> {
    let mut progress = Progress::new();
    let settings = load_settings(project)?;
    let api = api::connect(project, &settings).await?;
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
    check_type(&settings, &catalog, &api.server_url)?;

    let tf = Terraform::prepare(
        project,
        terraform::find_binary(project)?,
        &sibling_binary("terraform-provider-datacrunch")?,
    )?
    .with_env(api.provider_env.clone());
    if tf.init_if_needed()? {
        progress.line("terraform init: provider installed from the project mirror");
    }

    let resources = tf.state()?;
    let mut state = fallback::nodes_in_state(&resources);
    let live = project_instances(&api, project).await?;
    // A fresh key pair (GENKEY_OVERWRITE) only when nothing of this project exists.
    let fresh_project = resources.is_empty() && live.is_empty();
    let (public_key, key_id) = ssh_key(project, &settings, &api, fresh_project).await?;
    let mut vars = base_tfvars(project, &settings, &api, public_key, key_id);

    if adopt::run(
        &tf, &api, &settings, &mut vars, &state, &resources, &live, &progress,
    )
    .await?
    {
        state = fallback::nodes_in_state(&tf.state()?);
    }

    let mut excluded: BTreeSet<String> = BTreeSet::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let keep = fallback::keep(&settings.nodes, &state);
        let placements = place(&settings, &api, &catalog, &keep, &excluded, &progress).await?;
        let wanted = placement::candidates(&settings.instance_type);
        for (node, p) in &placements {
            let kept = keep.contains_key(node);
            // A running node is never replaced to follow a changed .config (that would
            // throw away a billed, working machine); say so instead.
            let differs = if kept && !wanted.contains(&p.instance_type) {
                " (differs from .config: `make destroy` and `make bringup` to change it)"
            } else {
                ""
            };
            let verb = if kept { "keep" } else { "create" };
            progress.line(format!(
                "{node}: {verb} {} in {}{differs}",
                p.instance_type, p.location
            ));
        }
        vars.set_nodes(&placements);
        vars.write(&tf.tfvars_path())?;
        let report = apply(&tf, &mut progress, attempt)?;
        state = fallback::nodes_in_state(&tf.state()?);
        if report.succeeded && fallback::classify(&placements, &report, &state, |_| true).is_empty()
        {
            progress.line("ready");
            return finish(project, &settings, &api, &tf, &mut progress);
        }
        if !report.general_errors.is_empty() {
            bail!(
                "terraform apply failed: {}",
                report.general_errors.join("; ")
            );
        }
        let availability = availability(&api, settings.spot).await?;
        let failed = fallback::classify(&placements, &report, &state, |p| {
            availability.is_available(&p.instance_type, &p.location, settings.spot)
        });
        for (node, failure) in &failed {
            if let Failure::Other(why) = failure {
                bail!("{node} could not be created: {why}");
            }
        }
        let newly_excluded = fallback::excluded_after(&placements, &failed);
        for (node, p) in placements.iter().filter(|(n, _)| failed.contains_key(*n)) {
            progress.line(format!(
                "{node}: no capacity for {} in {}; excluding it and retrying this node only",
                p.instance_type, p.location
            ));
        }
        if matches!(settings.instance_type, TypeRequest::Explicit(_)) {
            bail!(
                "no capacity for {} (CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE): choose a tier wildcard such as H100_OR_LESS \
                 or another location in `make menuconfig`, or try later",
                newly_excluded.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        excluded.extend(newly_excluded);
    }
    bail!("gave up after {MAX_ATTEMPTS} attempts for lack of capacity; nodes created so far are kept (see `make status`; `make destroy` removes them)")
}

/// An explicit type must exist in the catalog (a wildcard's types are checked by the
/// offer selection) and respect the price cap.
fn check_type(settings: &Settings, catalog: &[InstanceType], url: &str) -> Result<()> {
    let TypeRequest::Explicit(name) = &settings.instance_type else {
        return Ok(());
    };
    let Some(record) = catalog.iter().find(|t| &t.instance_type == name) else {
        bail!(
            "unknown instance type {name:?} in .config (CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE): {url} does not offer it; \
             pick one in `make menuconfig` (see `kdevops-datacrunch catalog`)"
        );
    };
    let price = if settings.spot {
        record.spot_price.unwrap_or(record.price_per_hour)
    } else {
        record.price_per_hour
    };
    if let Some(cap) = settings.max_price_per_hour {
        if price.to_f64() > cap {
            bail!(
                "{name} costs {price}/h, above CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR ({cap}): raise the cap or pick a cheaper type"
            );
        }
    }
    Ok(())
}

/// Live availability for the pool in use.
async fn availability(api: &Api, spot: bool) -> Result<Availability> {
    let list = api
        .client
        .instance_availability(Some(spot), None)
        .await
        .map_err(|e| api.explain(e))?;
    Ok(Availability::new().with(spot, &list))
}

/// Placements for all nodes: kept ones as they are, new ones from the offer selection.
async fn place(
    settings: &Settings,
    api: &Api,
    catalog: &[InstanceType],
    keep: &BTreeMap<String, Placement>,
    excluded: &BTreeSet<String>,
    progress: &Progress,
) -> Result<BTreeMap<String, Placement>> {
    if settings.nodes.iter().all(|n| keep.contains_key(n)) {
        return placement::assign(&settings.nodes, keep, unreachable_choice);
    }
    let availability = availability(api, settings.spot).await?;
    let pool = if settings.spot { "spot" } else { "on-demand" };
    progress.line(format!("availability: {pool} capacity checked"));
    let query = OfferQuery {
        candidates: placement::candidates(&settings.instance_type),
        locations: settings.location.clone().into_iter().collect(),
        is_spot: settings.spot,
        max_price_per_hour: settings.max_price_per_hour.map(Price::from_f64),
        exclude: excluded.iter().cloned().collect(),
    };
    let selection = datacrunch_client::offer::select_offer(&query, &availability, catalog);
    for note in placement::skip_notes(&selection, pool) {
        progress.line(note);
    }
    placement::assign(&settings.nodes, keep, || match &selection.offer {
        Some(offer) => {
            progress.line(format!(
                "selected {} in {} at {} {}/h per node",
                offer.instance_type, offer.location, offer.price_per_hour, offer.currency
            ));
            Ok(Placement::from(offer))
        }
        None => {
            let place = settings
                .location
                .as_deref()
                .map(|l| format!(" in {l}"))
                .unwrap_or_default();
            Err(anyhow::anyhow!(
                "no {pool} capacity{place} for {} right now: choose another tier, location or the spot setting in `make menuconfig`, or try later",
                query.candidates.join(", ")
            ))
        }
    })
}

/// Never called: `place` only asks for a fresh choice when some node needs one.
fn unreachable_choice() -> Result<Placement> {
    bail!("internal error: a placement was requested although every node is kept")
}

/// Runs `terraform apply -json`, printing per-node progress.
fn apply(
    tf: &Terraform,
    progress: &mut Progress,
    attempt: usize,
) -> Result<terraform::ApplyReport> {
    progress.waiting(format!(
        "terraform apply (attempt {attempt}/{MAX_ATTEMPTS})"
    ));
    // Nodes Terraform is working on, for the spinner (creates run in parallel).
    let mut in_flight: BTreeSet<String> = BTreeSet::new();
    let report = tf.apply(false, |event| {
        let addr = event
            .pointer("/hook/resource/addr")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let node = event
            .pointer("/hook/resource/resource_key")
            .and_then(|v| v.as_str())
            .unwrap_or(addr);
        let action = event
            .pointer("/hook/action")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let is_instance = addr.starts_with("datacrunch_instance.");
        match event["type"].as_str() {
            Some("apply_start") if is_instance => {
                in_flight.insert(node.to_owned());
                progress.waiting(waiting_for(action, &in_flight));
            }
            Some("apply_complete") if is_instance => {
                in_flight.remove(node);
                progress.line(format!(
                    "{node}: {action} done ({})",
                    event
                        .pointer("/hook/id_value")
                        .and_then(|v| v.as_str())
                        .unwrap_or("-")
                ));
                progress.waiting(waiting_for(action, &in_flight));
            }
            Some("apply_errored") if is_instance => {
                in_flight.remove(node);
                progress.line(format!("{node}: {action} failed"));
            }
            // What Terraform is about to do to an existing node, and why.
            Some("planned_change") => {
                let change = &event["change"];
                let addr = change
                    .pointer("/resource/addr")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let node = change
                    .pointer("/resource/resource_key")
                    .and_then(|v| v.as_str())
                    .unwrap_or(addr);
                let action = change["action"].as_str().unwrap_or_default();
                if addr.starts_with("datacrunch_instance.")
                    && matches!(action, "replace" | "delete")
                {
                    let reason = change["reason"].as_str().unwrap_or("configuration changed");
                    progress.line(format!("{node}: will {action} ({reason})"));
                }
            }
            _ => {}
        }
    })?;
    progress.done();
    Ok(report)
}

/// The spinner text while Terraform works on `nodes`.
fn waiting_for(action: &str, nodes: &BTreeSet<String>) -> String {
    if nodes.is_empty() {
        "terraform: finishing".to_owned()
    } else {
        let names: Vec<&str> = nodes.iter().map(String::as_str).collect();
        format!("{action}: waiting for {}", names.join(", "))
    }
}

/// Writes ssh config and inventory from the module outputs, and prints the nodes.
fn finish(
    project: &Project,
    settings: &Settings,
    api: &Api,
    tf: &Terraform,
    progress: &mut Progress,
) -> Result<()> {
    let outputs = tf.outputs()?;
    let ips = outputs
        .get("controller_ip_map")
        .and_then(|v| v.as_object())
        .context("terraform output controller_ip_map is missing")?;
    let hosts: Vec<HostEntry> = settings
        .nodes
        .iter()
        .map(|n| HostEntry {
            name: n.clone(),
            ip: ips
                .get(n)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    if let Some(h) = hosts.iter().find(|h| h.ip.is_empty()) {
        bail!("{} has no IP address after apply", h.name);
    }
    for written in super::write_access_files(project, settings, &hosts)? {
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

/// The public key to upload (UNIQUE) or the id of the existing key (MANUAL).
async fn ssh_key(
    project: &Project,
    settings: &Settings,
    api: &Api,
    fresh_project: bool,
) -> Result<(String, String)> {
    let key_file = project.expand(&settings.ssh_key_file);
    match &settings.ssh_key {
        SshKeyMode::Unique { .. } => Ok((
            sshkey::ensure(&key_file, settings.genkey, fresh_project)?,
            String::new(),
        )),
        SshKeyMode::Manual { name } => {
            let keys = api.client.ssh_keys().await.map_err(|e| api.explain(e))?;
            let Some(key) = keys.iter().find(|k| &k.name == name) else {
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
