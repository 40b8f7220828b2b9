//! Cluster mode (CONFIG_TERRAFORM_DATACRUNCH_CLUSTER=y): one `datacrunch_cluster`
//! instead of instances. Owns the checks before it is created (its type, image and
//! capacity against the live cluster catalog, with a "did you mean"; each node's share of
//! its price for the budget preflight), the plan check that keeps a running cluster from
//! being replaced or destroyed without REPLACE, the apply, the hosts it is reached by
//! (the jump host, and every worker through it), and the clean-up of this project's
//! clusters through the API.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use datacrunch_client::offer::{no_capacity_summary, Availability};
use datacrunch_client::suggest::did_you_mean;
use datacrunch_models::{Cluster, ClusterType, Image, LocationAvailability};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::api::Api;
use crate::budget::{Billed, NodeCost};
use crate::fleet::cleanup::{self, DELETE_TIMEOUT};
use crate::fleet::{cluster_adopt, plan_check, provision, Fleet, CLUSTER_ADDRESS};
use crate::progress::Progress;
use crate::project::{Identity, PROJECT_TAG};
use crate::settings::{ClusterSettings, Settings};
use crate::sshconfig::HostEntry;
use crate::terraform::{self, StateResource, Terraform};
use crate::tfvars::TfVars;
use crate::ttl::{self, EXPIRES_TAG};

/// The module's `cluster` output.
#[derive(Debug, Deserialize)]
struct ClusterOutput {
    hostname: String,
    ip: Option<String>,
    workers: Vec<WorkerOutput>,
}

#[derive(Debug, Deserialize)]
struct WorkerOutput {
    hostname: String,
    private_ip: Option<String>,
}

/// A cluster in Terraform's state, as far as bringup decides anything by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InState {
    pub hostname: String,
    cluster_type: String,
    image: String,
    location: String,
    /// A create that failed or was interrupted: the next apply replaces it.
    tainted: bool,
    /// Its `kdevops-expires-at` tag, when it has one.
    expires_at: Option<OffsetDateTime>,
}

impl InState {
    /// Whether it is what `.config` asks for (a location of AUTO matches any).
    fn matches(&self, wanted: &ClusterSettings, location: Option<&str>) -> bool {
        self.hostname == wanted.hostname
            && self.cluster_type == wanted.cluster_type
            && self.image == wanted.image
            && location.is_none_or(|l| l == self.location)
    }
}

/// The clusters in state.
pub fn in_state(resources: &[StateResource]) -> impl Iterator<Item = InState> + '_ {
    let text = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    resources
        .iter()
        .filter(|r| r.resource_type == "datacrunch_cluster")
        .map(move |r| InState {
            hostname: text(&r.values, "hostname"),
            cluster_type: text(&r.values, "cluster_type"),
            image: text(&r.values, "image"),
            location: text(&r.values, "location_code"),
            tainted: r.tainted,
            expires_at: r.values["tags"][EXPIRES_TAG]
                .as_str()
                .and_then(ttl::parse_expiry),
        })
}

/// The configured cluster type from the live catalog, or an error naming the setting,
/// the types there are and the closest one.
pub fn check_type<'a>(
    cluster: &ClusterSettings,
    types: &'a [ClusterType],
    url: &str,
) -> Result<&'a ClusterType> {
    if let Some(t) = types
        .iter()
        .find(|t| t.cluster_type == cluster.cluster_type)
    {
        return Ok(t);
    }
    let names: Vec<&str> = types.iter().map(|t| t.cluster_type.as_str()).collect();
    bail!(
        "CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE is {:?}, which is not a cluster type of {url} (GET /cluster-types has {}).{} \
         Change it in `make menuconfig`. Nothing was created",
        cluster.cluster_type,
        names.join(", "),
        did_you_mean(&cluster.cluster_type, &names)
    )
}

/// The configured image must be one the cluster type boots (`images`: GET
/// /images/cluster for that type), by image type or id.
fn check_image(cluster: &ClusterSettings, images: &[Image], url: &str) -> Result<()> {
    if images
        .iter()
        .any(|i| i.image_type == cluster.image || i.id == cluster.image)
    {
        return Ok(());
    }
    let names: Vec<&str> = images.iter().map(|i| i.image_type.as_str()).collect();
    bail!(
        "CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_IMAGE is {:?}, which is not an image of cluster type {} at {url} \
         (GET /images/cluster?instance_type={} has {}).{} Change it in `make menuconfig`. Nothing was created",
        cluster.image,
        cluster.cluster_type,
        cluster.cluster_type,
        names.join(", "),
        did_you_mean(&cluster.image, &names)
    )
}

/// The cluster type must have capacity in the configured location (any location with
/// AUTO); otherwise an error naming where it has some, if anywhere.
fn check_capacity(
    cluster_type: &str,
    location: Option<&str>,
    availability: &[LocationAvailability],
) -> Result<()> {
    // Clusters are not sold as spot: the answer is the on-demand inventory.
    let capacity = Availability::new().with(false, availability);
    let Err(with_capacity) = capacity.check_capacity(cluster_type, location, false) else {
        return Ok(());
    };
    let elsewhere = if with_capacity.is_empty() {
        "it has none in any location right now".to_owned()
    } else {
        format!("it has some in {}", with_capacity.join(", "))
    };
    bail!(
        "{} (CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE, CONFIG_TERRAFORM_DATACRUNCH_LOCATION): {elsewhere}. \
         Choose another cluster type or location in `make menuconfig`, or try later. Nothing was created",
        no_capacity_summary(cluster_type, location)
    )
}

/// What bringup asks of the cluster.
pub struct Goal<'a> {
    pub settings: &'a Settings,
    pub cluster: &'a ClusterSettings,
    /// REPLACE: the cluster is rebuilt (or let go) only when named here.
    pub replace: &'a BTreeSet<String>,
    /// `make extend TTL=...`: the new expiry counts from now; otherwise a running
    /// cluster keeps its own.
    pub extend: Option<Duration>,
}

/// Creates (or keeps) the cluster: catalog checks and budget preflight when a cluster is
/// to be made, then a plan, refused if it would replace or destroy what the user did
/// not name in REPLACE, and its apply. Its expiry is decided as a node's
/// ([`Billed::next_expiry`]: `extend` moves it). Returns the jump host and every worker
/// behind it.
pub async fn converge(
    goal: &Goal<'_>,
    api: &Api,
    tf: &Terraform,
    vars: &mut TfVars,
    fleet: &Fleet,
    progress: &mut Progress,
) -> Result<Vec<HostEntry>> {
    let Goal {
        settings,
        cluster,
        replace,
        ..
    } = *goal;
    let location = settings.location.as_deref();
    let types = api
        .client
        .cluster_types(None)
        .await
        .map_err(|e| api.explain(e))?;
    let cluster_type = check_type(cluster, &types, &api.server_url)?;
    // A cluster an interrupted bringup made but state lacks is imported first.
    let adopted;
    let resources = if cluster_adopt::run(
        api,
        tf,
        settings,
        cluster,
        vars,
        &fleet.resources,
        progress,
    )
    .await?
    {
        adopted = tf.state()?;
        &adopted
    } else {
        &fleet.resources
    };
    let current = in_state(resources).next();
    // A cluster is made when there is none, a failed one, or one REPLACE names; one
    // whose settings changed is made too once confirmed. Either way the catalog is
    // asked first, so a bad choice is named by its option before the plan.
    let rebuilt = current
        .as_ref()
        .is_none_or(|c| c.tainted || replace.contains(&c.hostname));
    if rebuilt
        || current
            .as_ref()
            .is_some_and(|c| !c.matches(cluster, location))
    {
        let images = api
            .client
            .cluster_images(Some(&cluster.cluster_type))
            .await
            .map_err(|e| api.explain(e))?;
        check_image(cluster, &images, &api.server_url)?;
        let availability = api
            .client
            .cluster_availability(None)
            .await
            .map_err(|e| api.explain(e))?;
        check_capacity(&cluster.cluster_type, location, &availability)?;
    }
    // A rebuilt cluster is a new machine: its expiry counts from now. Keeping the old
    // one's would tag it as already expired when the old one was, and reap deletes it.
    let current_expiry = current
        .as_ref()
        .filter(|_| !rebuilt)
        .and_then(|c| c.expires_at);
    let (expires_at, _) =
        Billed::next_expiry(api.now().await, goal.extend, current_expiry, settings.ttl);
    if rebuilt {
        let costs = node_costs(cluster, cluster_type, settings.ttl);
        provision::preflight(settings, api, costs, progress).await?;
    }
    vars.datacrunch_cluster = Some(cluster_adopt::cluster_vars(
        settings,
        cluster,
        ttl::format(expires_at),
    ));
    progress.line(format!(
        "cluster {} expires {} (`make extend TTL=4h` moves it, `make reap` deletes it then)",
        cluster.hostname,
        ttl::format(expires_at)
    ));
    vars.write(&tf.tfvars_path())?;
    // Named in REPLACE: rebuilt even when nothing about it changed.
    let forced: Vec<String> = current
        .iter()
        .filter(|c| replace.contains(&c.hostname))
        .map(|_| CLUSTER_ADDRESS.to_owned())
        .collect();
    plan_and_apply(tf, &forced, replace, fleet, cluster, progress)?;
    hosts(tf)
}

/// How many times a plan is made again when the team state changed under it.
const PLANS: u32 = 5;

/// Plans (forcing the replacement of `forced`), refuses what REPLACE did not confirm,
/// and applies, unless the plan changes nothing. A plan made stale by another checkout's
/// apply (seen only once the apply has the lock) is made again and checked again.
fn plan_and_apply(
    tf: &Terraform,
    forced: &[String],
    replace: &BTreeSet<String>,
    fleet: &Fleet,
    cluster: &ClusterSettings,
    progress: &mut Progress,
) -> Result<()> {
    for _ in 0..PLANS {
        let plan = tf.plan(forced)?;
        plan_check::check(&plan, replace, &fleet.state, |line| progress.line(line))?;
        // Nothing to change (the usual second bringup): an apply would only cost another
        // Terraform start and state read.
        if plan_check::changes_nothing(&plan) {
            tf.discard_plan()?;
            progress.line("ready (nothing to change)");
            return Ok(());
        }
        progress.waiting(format!(
            "terraform apply: cluster {} ({})",
            cluster.hostname, cluster.cluster_type
        ));
        let report = tf.apply(terraform::Apply::SavedPlan, |event| {
            if let Some(addr) = terraform::completed_address(event) {
                progress.line(format!("created {addr}"));
            }
        })?;
        progress.done();
        if report.plan_was_stale() {
            progress.line(
                "the team state changed since the plan (another checkout applied): planning again",
            );
            continue;
        }
        if !report.succeeded {
            // Not "make destroy": with team state that would delete a colleague's
            // machines too.
            bail!(
                "terraform apply of the cluster failed: {}; `make status` shows what exists, \
                 `make bringup` tries again",
                report.messages().join("; ")
            );
        }
        return Ok(());
    }
    bail!(
        "the team state changed under each of {PLANS} plans of the cluster (other checkouts keep \
         applying); nothing of this run was applied: run `make bringup` again"
    )
}

/// Each node of the cluster at its share of the cluster's price, for the configured TTL
/// (only a cluster not yet created is estimated).
fn node_costs(
    cluster: &ClusterSettings,
    cluster_type: &ClusterType,
    ttl: std::time::Duration,
) -> Vec<NodeCost> {
    let count = cluster_type.node_count.max(1);
    let share = cluster_type.price_per_hour.to_f64() / f64::from(count);
    (1..=count)
        .map(|n| NodeCost {
            node: format!("{}-{n}", cluster.hostname),
            instance_type: cluster_type.node_type.clone(),
            price_per_hour: share,
            new: true,
            billed: Billed::Ttl(ttl),
        })
        .collect()
}

/// The jump host (named as the cluster) and every worker, reached through it, from the
/// module's `cluster` output.
fn hosts(tf: &Terraform) -> Result<Vec<HostEntry>> {
    let outputs = tf.outputs()?;
    let output = outputs
        .get("cluster")
        .filter(|v| !v.is_null())
        .with_context(|| {
            format!("terraform output `cluster` is missing after the apply of {CLUSTER_ADDRESS}")
        })?;
    let cluster: ClusterOutput = serde_json::from_value(output.clone())
        .context("terraform output `cluster` does not have the module's shape")?;
    let jump = HostEntry::from_api(&cluster.hostname, cluster.ip.as_deref())?;
    let mut hosts = vec![jump.clone()];
    for w in &cluster.workers {
        hosts.push(HostEntry::from_api(&w.hostname, w.private_ip.as_deref())?.through(&jump));
    }
    Ok(hosts)
}

/// Whether `cluster` carries this project's mark.
pub fn is_ours(cluster: &Cluster, identity: &Identity) -> bool {
    cluster
        .tags
        .iter()
        .any(|t| t.key == PROJECT_TAG && t.value.as_deref() == Some(identity.id.as_str()))
}

/// This project's clusters that the API lists and that are not gone.
pub async fn live_clusters(api: &Api, identity: &Identity) -> Result<Vec<Cluster>> {
    let all = api
        .client
        .clusters(None)
        .await
        .map_err(|e| api.explain(e))?;
    Ok(all
        .into_iter()
        .filter(|c| !c.status.is_gone() && is_ours(c, identity))
        .collect())
}

/// Deletes every live cluster of this project (its shared volume goes with it) and
/// waits until the API lists none.
pub async fn sweep(api: &Api, identity: &Identity, progress: &Progress) -> Result<()> {
    let deadline = Instant::now() + DELETE_TIMEOUT;
    for c in live_clusters(api, identity).await? {
        progress.line(format!(
            "deleting leftover cluster {} ({}, {})",
            c.hostname, c.id, c.status
        ));
        cleanup::delete_cluster(api, &c.id, deadline).await?;
    }
    cleanup::wait_until_none("clusters", deadline, || async {
        let remaining = live_clusters(api, identity).await?;
        Ok(remaining
            .iter()
            .map(|c| format!("{} ({}, {})", c.hostname, c.id, c.status))
            .collect())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_cluster_type_names_the_setting_and_the_closest_type() {
        let types: Vec<ClusterType> = ["16H200", "32H200", "16B300"]
            .iter()
            .map(|t| {
                serde_json::from_value(serde_json::json!({
                    "cluster_type": t, "price_per_hour": "41.44", "node_count": 2,
                }))
                .unwrap()
            })
            .collect();
        let mut wanted = ClusterSettings {
            hostname: "c".into(),
            cluster_type: "16H20".into(),
            image: "i".into(),
            shared_volume_gb: 1,
        };
        let err = check_type(&wanted, &types, "http://x/v1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE"),
            "{err}"
        );
        assert!(err.contains("Did you mean \"16H200\"?"), "{err}");
        assert!(err.contains("16H200, 32H200, 16B300"), "{err}");
        wanted.cluster_type = "32H200".into();
        assert_eq!(
            check_type(&wanted, &types, "u").unwrap().cluster_type,
            "32H200"
        );
    }

    #[test]
    fn an_image_the_type_does_not_boot_names_the_setting_and_the_closest_image() {
        let images: Vec<Image> = [
            ("id-1", "ubuntu-22.04-cuda-12.4-cluster"),
            ("id-2", "ubuntu-24.04-cuda-12.8-open-cluster"),
        ]
        .iter()
        .map(|(id, t)| {
            serde_json::from_value(serde_json::json!({"id": id, "image_type": t})).unwrap()
        })
        .collect();
        let mut wanted = ClusterSettings {
            hostname: "c".into(),
            cluster_type: "16H200".into(),
            image: "ubuntu-22.04-cuda-12.4-clustr".into(),
            shared_volume_gb: 1,
        };
        let err = check_image(&wanted, &images, "http://x/v1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_IMAGE"),
            "{err}"
        );
        assert!(
            err.contains("Did you mean \"ubuntu-22.04-cuda-12.4-cluster\"?"),
            "{err}"
        );
        assert!(err.contains("Nothing was created"), "{err}");
        for ok in ["ubuntu-24.04-cuda-12.8-open-cluster", "id-1"] {
            wanted.image = ok.into();
            assert!(check_image(&wanted, &images, "u").is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_type_without_capacity_where_asked_says_where_it_has_some() {
        let availability: Vec<LocationAvailability> = serde_json::from_value(serde_json::json!([
            {"location_code": "FIN-01", "availabilities": ["32H200"]},
            {"location_code": "FIN-03", "availabilities": ["16H200", "32H200"]},
        ]))
        .unwrap();
        assert!(check_capacity("16H200", Some("FIN-03"), &availability).is_ok());
        assert!(check_capacity("16H200", None, &availability).is_ok());
        let err = check_capacity("16H200", Some("FIN-01"), &availability)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("No capacity for 16H200 in FIN-01"), "{err}");
        assert!(err.contains("it has some in FIN-03"), "{err}");
        assert!(
            err.contains("CONFIG_TERRAFORM_DATACRUNCH_LOCATION"),
            "{err}"
        );
        let err = check_capacity("16B300", None, &availability)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("No capacity for 16B300 in any location"),
            "{err}"
        );
        assert!(err.contains("none in any location right now"), "{err}");
    }
}
