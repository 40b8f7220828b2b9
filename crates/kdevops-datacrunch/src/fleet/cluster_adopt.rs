//! Cluster mode's part of [`super::reconcile`]: a bringup killed while its cluster came
//! up (Ctrl-C, a closed terminal, a killed Terraform during the create's wait of up to
//! an hour) leaves a billed cluster that Terraform's state does not know. Planning
//! without it would create a second one, so before the plan, when state holds no
//! cluster, the API's live cluster of this project with the configured hostname is
//! imported at the module's address, once it runs (one still provisioning is waited
//! for, as Terraform waits for the one it creates; one that fails on the way is deleted
//! and the cluster created again). A cluster the create left without its project tag
//! is not seen here: the provider's create finds it by its create token instead.

use std::time::Duration;

use anyhow::{bail, Result};
use datacrunch_models::{Cluster, ClusterStatus};
use tokio::time::Instant;

use super::cleanup::{DELETE_TIMEOUT, POLL};
use crate::api::Api;
use crate::progress::Progress;
use crate::project::PROJECT_TAG;
use crate::settings::{ClusterSettings, Settings};
use crate::terraform::{StateResource, Terraform};
use crate::tfvars::{ClusterVars, TfVars};
use crate::ttl::EXPIRES_TAG;

/// How long an adopted cluster may take to finish provisioning (the module's create
/// timeout).
const ADOPT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The module's variables for the configured cluster with this expiry.
pub fn cluster_vars(
    settings: &Settings,
    cluster: &ClusterSettings,
    expires_at: String,
) -> ClusterVars {
    ClusterVars {
        hostname: cluster.hostname.clone(),
        cluster_type: cluster.cluster_type.clone(),
        image: cluster.image.clone(),
        location: settings.location.clone(),
        shared_volume_gb: cluster.shared_volume_gb,
        expires_at,
    }
}

/// The cluster to adopt among `listed`: live, not failed, the configured hostname, this
/// project's mark (`project_id`); the oldest if an interrupted run made several.
fn stray<'a>(listed: &'a [Cluster], hostname: &str, project_id: &str) -> Option<&'a Cluster> {
    listed
        .iter()
        .filter(|c| !c.status.is_gone() && !c.status.is_failed() && c.hostname == hostname)
        .filter(|c| {
            c.tags
                .iter()
                .any(|t| t.key == PROJECT_TAG && t.value.as_deref() == Some(project_id))
        })
        .min_by(|a, b| a.created_at.cmp(&b.created_at))
}

/// Imports this project's cluster when state has none and the API lists one. Returns
/// whether state changed.
pub async fn run(
    api: &Api,
    tf: &Terraform,
    settings: &Settings,
    cluster: &ClusterSettings,
    vars: &mut TfVars,
    resources: &[StateResource],
    progress: &mut Progress,
) -> Result<bool> {
    if resources
        .iter()
        .any(|r| r.resource_type == "datacrunch_cluster")
    {
        return Ok(false);
    }
    let listed = api
        .client
        .clusters(None)
        .await
        .map_err(|e| api.explain(e))?;
    let Some(found) = stray(&listed, &cluster.hostname, &vars.datacrunch_project_id) else {
        return Ok(false);
    };
    let Some(ready) = wait_until_running(api, found, progress).await? else {
        return Ok(false);
    };
    // Import needs the configuration to name the cluster: tfvars first. The expiry
    // it carries is kept until the plan decides the next one.
    let expires_at = ready
        .tags
        .iter()
        .find(|t| t.key == EXPIRES_TAG)
        .and_then(|t| t.value.clone())
        .unwrap_or_default();
    vars.datacrunch_cluster = Some(cluster_vars(settings, cluster, expires_at));
    vars.write(&tf.tfvars_path())?;
    progress.line(format!(
        "adopting cluster {} ({}), created by an interrupted bringup",
        ready.hostname, ready.id
    ));
    tf.import(super::CLUSTER_ADDRESS, &ready.id)?;
    Ok(true)
}

/// The cluster once running; `None` (after deleting it) when it failed on the way, so
/// that it is created again.
async fn wait_until_running(
    api: &Api,
    found: &Cluster,
    progress: &mut Progress,
) -> Result<Option<Cluster>> {
    let running = |c: &Cluster| c.status == ClusterStatus::Running && c.ip.is_some();
    if running(found) {
        return Ok(Some(found.clone()));
    }
    progress.waiting(format!(
        "{}: waiting for cluster {} ({}) to finish provisioning",
        found.hostname, found.id, found.status
    ));
    let deadline = Instant::now() + ADOPT_TIMEOUT;
    let outcome = loop {
        match api.client.cluster(&found.id).await {
            Ok(c) if running(&c) => break Ok(c),
            Ok(c) if c.status.is_failed() => break Err(format!("status {}", c.status)),
            Err(e) if e.is_not_found() => break Err("it disappeared".to_owned()),
            Err(e) if !e.is_retryable() => {
                progress.done();
                return Err(api.explain(e));
            }
            _ if Instant::now() >= deadline => {
                progress.done();
                bail!(
                    "cluster {} ({}) left by an interrupted bringup did not run within {} min; \
                     `make destroy` deletes it",
                    found.hostname,
                    found.id,
                    ADOPT_TIMEOUT.as_secs() / 60
                );
            }
            _ => tokio::time::sleep(POLL).await,
        }
    };
    progress.done();
    match outcome {
        Ok(c) => Ok(Some(c)),
        Err(why) => {
            progress.line(format!(
                "{}: cluster {} left by an interrupted run did not come up ({why}); deleting it, \
                 the cluster is created again",
                found.hostname, found.id
            ));
            let delete_by = std::time::Instant::now() + DELETE_TIMEOUT;
            super::cleanup::delete_cluster(api, &found.id, delete_by).await?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(id: &str, hostname: &str, status: &str, project: Option<&str>, at: &str) -> Cluster {
        let tags: Vec<serde_json::Value> = project
            .map(|p| serde_json::json!({"key": PROJECT_TAG, "value": p}))
            .into_iter()
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": id, "hostname": hostname, "status": status, "tags": tags, "created_at": at,
        }))
        .unwrap()
    }

    #[test]
    fn only_a_live_cluster_of_this_project_with_the_configured_hostname_is_adopted() {
        let listed = [
            cluster(
                "other-project",
                "gpu",
                "running",
                Some("them"),
                "2026-01-01T00:00:00Z",
            ),
            cluster("untagged", "gpu", "running", None, "2026-01-01T00:00:00Z"),
            cluster(
                "other-name",
                "cpu",
                "running",
                Some("me"),
                "2026-01-01T00:00:00Z",
            ),
            cluster("failed", "gpu", "error", Some("me"), "2026-01-01T00:00:00Z"),
            cluster(
                "gone",
                "gpu",
                "discontinued",
                Some("me"),
                "2026-01-01T00:00:00Z",
            ),
            cluster(
                "newer",
                "gpu",
                "provisioning",
                Some("me"),
                "2026-01-02T00:00:00Z",
            ),
            cluster(
                "older",
                "gpu",
                "provisioning",
                Some("me"),
                "2026-01-01T00:00:00Z",
            ),
        ];
        assert_eq!(
            stray(&listed, "gpu", "me").map(|c| c.id.as_str()),
            Some("older")
        );
        assert!(stray(&listed[..5], "gpu", "me").is_none());
    }
}
