//! The apply attempts of a bringup, with the capacity fallback.
//!
//! Up to [`MAX_ATTEMPTS`]: place the nodes that need it (kept nodes stay where they
//! are; new ones get an offer from live availability), write `terraform.tfvars.json`,
//! `terraform plan`, checked ([`super::plan_check`]), `terraform apply -json` of that
//! plan. A node that failed for lack of capacity is placed again, alone: with a tier
//! wildcard its type is excluded (the next tier), with an explicit type the (type,
//! location) pair is (the next location .config allows). Any other failure stops with
//! Terraform's diagnostic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{bail, Result};
use datacrunch_client::offer::{Availability, OfferQuery};
use datacrunch_client::suggest::did_you_mean;
use datacrunch_models::{InstanceType, Price};

use super::fallback::{self, Failure};
use super::placement::{self, Placement};
use super::plan_check;
use super::Fleet;
use crate::api::Api;
use crate::budget::{self, Billed, Estimate, NodeCost};
use crate::progress::Progress;
use crate::settings::{Settings, TypeRequest};
use crate::terraform::{self, Terraform};
use crate::tfvars::TfVars;
use crate::ttl;

/// Attempts before giving up on capacity, as kdevops did.
pub const MAX_ATTEMPTS: usize = 5;

/// Applies until every configured node is healthy, or fails saying why.
/// What bringup asks for: the settings, the live catalog, and the nodes to rebuild.
pub struct Goal<'a> {
    pub settings: &'a Settings,
    pub catalog: &'a [InstanceType],
    pub replace: &'a BTreeSet<String>,
    /// `extend`: every node's expiry moves to now + this; otherwise a running node keeps
    /// its expiry and a new one gets now + the configured TTL.
    pub extend: Option<Duration>,
}

pub async fn converge(
    goal: &Goal<'_>,
    api: &Api,
    tf: &Terraform,
    vars: &mut TfVars,
    fleet: &mut Fleet,
    progress: &mut Progress,
) -> Result<()> {
    let Goal {
        settings,
        catalog,
        replace,
        extend,
    } = *goal;
    let mut excluded = Exclusions::default();
    for attempt in 1..=MAX_ATTEMPTS {
        let mut keep = fallback::keep(&settings.nodes, &fleet.state);
        if attempt == 1 {
            keep.retain(|node, _| !replace.contains(node));
        }
        let team = settings.state_pg.is_some();
        if team {
            use_team_key(vars, fleet, progress);
        }
        let seen = state_ids(fleet);
        let placements = place(settings, api, catalog, &keep, &excluded, progress).await?;
        let wanted = placement::candidates(&settings.instance_type);
        vars.set_nodes(&placements);
        let now = api.now().await;
        let mut expiries = BTreeMap::new();
        for node in placements.keys() {
            let running = keep
                .contains_key(node)
                .then(|| fleet.state.get(node))
                .flatten()
                .and_then(|s| fleet.ours.iter().find(|i| i.id == s.id))
                .and_then(ttl::expires_at);
            let (at, billed) = Billed::next_expiry(now, extend, running, settings.ttl);
            vars.set_expiry(node, ttl::format(at));
            expiries.insert(node.clone(), billed);
        }
        let costs = node_costs(settings, catalog, &placements, &keep, fleet, &expiries);
        if attempt == 1 {
            for note in budget::over_cap_notes(&costs, settings.max_price_per_hour) {
                progress.line(note);
            }
        }
        if costs.iter().any(|c| c.new) {
            preflight(settings, api, costs, progress).await?;
        }
        for (node, p) in &placements {
            let kept = keep.contains_key(node);
            // Type, location and image are creation-time choices: a running node is
            // never replaced to follow a changed .config (that would throw away a
            // billed, working machine) unless named in REPLACE; say so instead.
            let differs = if kept && !wanted.contains(&p.instance_type) {
                " (differs from .config: `make bringup REPLACE={node}` or `make destroy` then `make bringup` to change it)"
            } else {
                ""
            };
            let verb = if kept { "keep" } else { "create" };
            progress.line(format!(
                "{node}: {verb} {} in {}{differs}",
                p.instance_type, p.location
            ));
            let old_image = fleet.state.get(node).map(|s| s.image.as_str());
            if let (true, Some(old)) = (kept, old_image.filter(|o| !o.is_empty())) {
                vars.keep_image(node, old);
                if old != settings.image {
                    progress.line(format!(
                        "{node} keeps image {old}; new nodes get {}; `make bringup REPLACE={node}` (or `make destroy` then `make bringup`) to rebuild",
                        settings.image
                    ));
                }
            }
        }
        vars.write(&tf.tfvars_path())?;
        // Named nodes are rebuilt even when nothing about them changed.
        let forced: Vec<String> = if attempt == 1 {
            replace
                .iter()
                .filter(|n| fleet.state.contains_key(*n) && settings.nodes.contains(*n))
                .map(|n| fallback::instance_address(n))
                .collect()
        } else {
            Vec::new()
        };
        // What is checked is what runs: the saved plan, read back, then applied as is.
        let plan = tf.plan(&forced)?;
        if team {
            // The plan may have waited for another checkout's apply: what it planned
            // against is then not what this run placed the nodes for.
            fleet.refresh_state(tf)?;
            if state_ids(fleet) != seen {
                progress.line("the team state changed while planning (another checkout applied): planning again");
                continue;
            }
        }
        plan_check::check(&plan, replace, &fleet.state, |line| progress.line(line))?;
        // A no-op bringup: the apply would only cost another Terraform start and state
        // read, and the state read before the plan is still current (no drift).
        let nothing_failed = || {
            let report = terraform::ApplyReport::default();
            fallback::classify(&placements, &report, &fleet.state, |_| true).is_empty()
        };
        if plan_check::changes_nothing(&plan) && nothing_failed() {
            tf.discard_plan()?;
            progress.line("ready (nothing to change)");
            return Ok(());
        }
        let report = apply(tf, progress, attempt)?;
        fleet.refresh_state(tf)?;
        if report.succeeded
            && fallback::classify(&placements, &report, &fleet.state, |_| true).is_empty()
        {
            progress.line("ready");
            return Ok(());
        }
        // Another checkout of the team applied since this plan was made: plan again.
        if report.plan_was_stale() {
            progress.line(
                "the team state changed since the plan (another checkout applied): planning again",
            );
            continue;
        }
        if !report.general_errors.is_empty() {
            bail!(
                "terraform apply failed: {}",
                report.general_errors.join("; ")
            );
        }
        let availability = availability(api, settings.spot, &BTreeSet::new()).await?;
        let failed = fallback::classify(&placements, &report, &fleet.state, |p| {
            availability.is_available(&p.instance_type, &p.location, settings.spot)
        });
        for (node, failure) in &failed {
            if let Failure::Other(why) = failure {
                bail!("{node} could not be created: {why}");
            }
        }
        // A tier wildcard moves on to the next type; an explicit type, the one the
        // user chose, moves on to the next location .config allows.
        let explicit = matches!(settings.instance_type, TypeRequest::Explicit(_));
        for (node, p) in placements.iter().filter(|(n, _)| failed.contains_key(*n)) {
            let next = if explicit {
                "trying this node in another location"
            } else {
                "excluding it and retrying this node only"
            };
            progress.line(format!(
                "{node}: no capacity for {} in {}; {next}",
                p.instance_type, p.location
            ));
        }
        if explicit {
            excluded.places.extend(
                placements
                    .iter()
                    .filter(|(n, _)| failed.get(*n) == Some(&Failure::Capacity))
                    .map(|(_, p)| p.clone()),
            );
        } else {
            excluded
                .types
                .extend(fallback::excluded_after(&placements, &failed));
        }
    }
    bail!("gave up after {MAX_ATTEMPTS} attempts for lack of capacity; nodes created so far are kept (see `make status`; `make destroy` removes them)")
}

/// The resources in state, by address and id: what a team member's apply changes.
fn state_ids(fleet: &Fleet) -> BTreeSet<(String, Option<String>, String)> {
    fleet
        .resources
        .iter()
        .map(|r| {
            let id = r.values["id"].as_str().unwrap_or_default().to_owned();
            (r.resource_type.clone(), r.index.clone(), id)
        })
        .collect()
}

/// Team state: the key another checkout uploaded stays the team's key. Uploading this
/// checkout's public key instead would replace the key, and with it every instance.
fn use_team_key(vars: &mut TfVars, fleet: &Fleet, progress: &mut Progress) {
    let in_state = fleet
        .resources
        .iter()
        .find(|r| r.resource_type == "datacrunch_ssh_key")
        .and_then(|r| r.values["public_key"].as_str());
    if let Some(team_key) = in_state.filter(|k| {
        !vars.datacrunch_ssh_public_key.is_empty() && *k != vars.datacrunch_ssh_public_key
    }) {
        progress.line(format!(
            "the team's SSH key {} was uploaded from another checkout and is kept; to log in to the nodes from here, \
             use that checkout's private key (copy it to this checkout's key file)",
            vars.datacrunch_ssh_key_name
        ));
        vars.datacrunch_ssh_public_key = team_key.to_owned();
    }
}

/// What each placed node costs per hour: a running node what the API bills it, a new one
/// the catalog price of its placement (spot or on-demand).
fn node_costs(
    settings: &Settings,
    catalog: &[InstanceType],
    placements: &BTreeMap<String, Placement>,
    keep: &BTreeMap<String, Placement>,
    fleet: &Fleet,
    billed: &BTreeMap<String, Billed>,
) -> Vec<NodeCost> {
    placements
        .iter()
        .map(|(node, p)| {
            let running = keep
                .contains_key(node)
                .then(|| fleet.state.get(node))
                .flatten()
                .and_then(|s| fleet.ours.iter().find(|i| i.id == s.id));
            let listed = || {
                catalog
                    .iter()
                    .find(|t| t.instance_type == p.instance_type)
                    .map(|t| match settings.spot {
                        true => t.spot_price.unwrap_or(t.price_per_hour),
                        false => t.price_per_hour,
                    })
                    .map_or(0.0, |price| price.to_f64())
            };
            NodeCost {
                node: node.clone(),
                instance_type: p.instance_type.clone(),
                price_per_hour: running.map_or_else(listed, |i| i.price_per_hour.to_f64()),
                new: running.is_none(),
                billed: billed
                    .get(node)
                    .copied()
                    .unwrap_or(Billed::Ttl(settings.ttl)),
            }
        })
        .collect()
}

/// Before creating nodes: the fleet until its expiry against the budget and the balance.
pub async fn preflight(
    settings: &Settings,
    api: &Api,
    nodes: Vec<NodeCost>,
    progress: &mut Progress,
) -> Result<()> {
    let balance = api
        .client
        .balance()
        .await
        .map_err(|e| api.explain(e))?
        .amount
        .to_f64();
    let estimate = Estimate { nodes };
    progress.line(format!(
        "cost until expiry: {}; balance {balance:.2} USD",
        estimate.describe()
    ));
    budget::check(&estimate, settings.budget_usd, Some(balance))
}

/// The nodes named by REPLACE (`--replace`): node names (or the cluster's hostname)
/// separated by commas or spaces, or `all`. A configured node or cluster is rebuilt; one
/// in state that is no longer configured may be destroyed (the confirmation the plan
/// check asks for). Each must be one or the other. `clusters`: the hostnames of the
/// clusters in state.
pub fn nodes_to_replace(
    settings: &Settings,
    fleet: &Fleet,
    clusters: impl IntoIterator<Item = String>,
    replace: Option<&str>,
) -> Result<BTreeSet<String>> {
    let names: Vec<&str> = replace
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .collect();
    // In cluster mode the configured "node" is the cluster; the node names of .config
    // do not apply.
    let configured = match &settings.cluster {
        Some(c) => vec![c.hostname.clone()],
        None => settings.nodes.clone(),
    };
    let known: BTreeSet<String> = configured
        .into_iter()
        .chain(fleet.state.keys().cloned())
        .chain(clusters)
        .collect();
    if names.contains(&"all") {
        return Ok(known);
    }
    for name in &names {
        if !known.contains(*name) {
            bail!(
                "REPLACE names {name:?}, which is neither a configured node nor one in Terraform state: expected `all` or some of {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(names.into_iter().map(str::to_owned).collect())
}

/// An explicit type must exist in the catalog (a wildcard's types are checked by the
/// offer selection) and respect the price cap.
pub fn check_type(settings: &Settings, catalog: &[InstanceType], url: &str) -> Result<()> {
    let TypeRequest::Explicit(name) = &settings.instance_type else {
        return Ok(());
    };
    let Some(record) = catalog.iter().find(|t| &t.instance_type == name) else {
        let names: Vec<&str> = catalog.iter().map(|t| t.instance_type.as_str()).collect();
        bail!(
            "unknown instance type {name:?} in .config (CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE): {url} does not offer it; \
             pick one in `make menuconfig` (see `kdevops-datacrunch catalog`).{}",
            did_you_mean(name, &names)
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

/// What earlier attempts of this bringup ran out of capacity on.
#[derive(Debug, Default)]
struct Exclusions {
    /// Types of a tier wildcard: the next tier is tried.
    types: BTreeSet<String>,
    /// (type, location) pairs of an explicit type: the next allowed location is tried.
    places: BTreeSet<Placement>,
}

/// Live availability for the pool in use, without the `excluded` places.
async fn availability(
    api: &Api,
    spot: bool,
    excluded: &BTreeSet<Placement>,
) -> Result<Availability> {
    let mut list = api
        .client
        .instance_availability(Some(spot), None)
        .await
        .map_err(|e| api.explain(e))?;
    for location in &mut list {
        location.availabilities.retain(|t| {
            !excluded.contains(&Placement {
                instance_type: t.clone(),
                location: location.location_code.clone(),
            })
        });
    }
    Ok(Availability::new().with(spot, &list))
}

/// Placements for all nodes: kept ones as they are, new ones from the offer selection.
async fn place(
    settings: &Settings,
    api: &Api,
    catalog: &[InstanceType],
    keep: &BTreeMap<String, Placement>,
    excluded: &Exclusions,
    progress: &Progress,
) -> Result<BTreeMap<String, Placement>> {
    if settings.nodes.iter().all(|n| keep.contains_key(n)) {
        return placement::assign(&settings.nodes, keep, unreachable_choice);
    }
    let availability = availability(api, settings.spot, &excluded.places).await?;
    let pool = if settings.spot { "spot" } else { "on-demand" };
    progress.line(format!("availability: {pool} capacity checked"));
    let query = OfferQuery {
        candidates: placement::candidates(&settings.instance_type),
        locations: settings.location.clone().into_iter().collect(),
        is_spot: settings.spot,
        max_price_per_hour: settings.max_price_per_hour.map(Price::from_f64),
        exclude: excluded.types.iter().cloned().collect(),
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
            let mut place = settings
                .location
                .as_deref()
                .map(|l| format!(" in {l}"))
                .unwrap_or_default();
            if !excluded.places.is_empty() {
                let tried: Vec<String> = excluded
                    .places
                    .iter()
                    .map(|p| format!("{} in {}", p.instance_type, p.location))
                    .collect();
                place = format!(
                    "{place} (none left in the locations .config allows after {} ran out)",
                    tried.join(", ")
                );
            }
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

/// Runs `terraform apply -json` of the checked plan, printing per-node progress.
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
    let report = tf.apply(terraform::Apply::SavedPlan, |event| {
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
