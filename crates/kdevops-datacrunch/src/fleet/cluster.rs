//! Cluster mode (CONFIG_TERRAFORM_DATACRUNCH_CLUSTER=y): one `datacrunch_cluster`
//! instead of instances. Owns the checks before it is created (its type against the
//! live `/cluster-types`, with a "did you mean"; each node's share of its price for the
//! budget preflight), the apply, the hosts it is reached by (the jump host, and every worker
//! through it), and the clean-up of this project's clusters through the API.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use datacrunch_client::suggest::did_you_mean;
use datacrunch_models::{Cluster, ClusterType};
use serde::Deserialize;

use crate::api::Api;
use crate::budget::{Billed, NodeCost};
use crate::fleet::cleanup::{self, DELETE_TIMEOUT, POLL};
use crate::fleet::provision;
use crate::progress::Progress;
use crate::project::{Identity, PROJECT_TAG};
use crate::settings::{ClusterSettings, Settings};
use crate::sshconfig::HostEntry;
use crate::terraform::{self, Terraform};
use crate::tfvars::{ClusterVars, TfVars};
use crate::ttl::{self, EXPIRES_TAG};

/// The module's resource address of the cluster.
const CLUSTER_ADDRESS: &str = "datacrunch_cluster.kdevops[0]";

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

/// Creates (or keeps) the cluster: type check, budget preflight when it is new, then a
/// plan and its apply. Its expiry is decided as a node's ([`Billed::next_expiry`]:
/// `extend` moves it). Returns the jump host and every worker behind it.
pub async fn converge(
    settings: &Settings,
    cluster: &ClusterSettings,
    api: &Api,
    tf: &Terraform,
    vars: &mut TfVars,
    extend: Option<Duration>,
    progress: &mut Progress,
) -> Result<Vec<HostEntry>> {
    let types = api
        .client
        .cluster_types(None)
        .await
        .map_err(|e| api.explain(e))?;
    let cluster_type = check_type(cluster, &types, &api.server_url)?;
    let state = tf.state()?;
    let existing = state
        .iter()
        .find(|r| r.resource_type == "datacrunch_cluster");
    let exists = existing.is_some();
    let current = existing
        .and_then(|r| r.values["tags"][EXPIRES_TAG].as_str())
        .and_then(ttl::parse_expiry);
    let (expires_at, _) = Billed::next_expiry(api.now().await, extend, current, settings.ttl);
    if !exists {
        let costs = node_costs(cluster, cluster_type, settings.ttl);
        provision::preflight(settings, api, costs, progress).await?;
    }
    vars.datacrunch_cluster = Some(ClusterVars {
        hostname: cluster.hostname.clone(),
        cluster_type: cluster.cluster_type.clone(),
        image: cluster.image.clone(),
        location: settings.location.clone(),
        shared_volume_gb: cluster.shared_volume_gb,
        expires_at: ttl::format(expires_at),
    });
    progress.line(format!(
        "cluster {} expires {} (`make extend TTL=4h` moves it, `make reap` deletes it then)",
        cluster.hostname,
        ttl::format(expires_at)
    ));
    vars.write(&tf.tfvars_path())?;
    tf.plan(&[])?;
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
    if !report.succeeded {
        bail!(
            "terraform apply of the cluster failed: {}; `make destroy` deletes what exists",
            report.messages().join("; ")
        );
    }
    hosts(tf)
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

/// Deletes one cluster (its shared volume goes with it): done when deleted or already
/// gone; retried while the API refuses because it is still provisioning.
pub async fn delete(api: &Api, id: &str, deadline: Instant) -> Result<()> {
    loop {
        match api.client.delete_cluster(id).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_gone_on_delete() => return Ok(()),
            Err(e) if e.is_still_provisioning() && Instant::now() < deadline => {
                tokio::time::sleep(POLL).await
            }
            Err(e) => return Err(api.explain(e)),
        }
    }
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
        delete(api, &c.id, deadline).await?;
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
}
