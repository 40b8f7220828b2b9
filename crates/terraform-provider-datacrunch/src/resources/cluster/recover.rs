//! Never a second billed cluster for one configuration. `POST /clusters` takes no tags,
//! so the create token (see [`config_token`]) rides in the description, the one
//! free-text field the create sets at once: a create whose answer was lost, or an apply
//! killed while the cluster came up (before Terraform could save it, and possibly
//! before its tags were set), leaves a cluster that the next create finds by hostname
//! and token and takes over instead of creating another. The token is hidden from the
//! state's `description`.

use super::model::ClusterModel;
use crate::resources::create_once::config_token;
use datacrunch_client::Client;
use datacrunch_models::Cluster;

/// The token of "the cluster this configuration asked for": every argument that forces
/// a replacement is in it, so a replacement never takes the cluster it replaces for a
/// leftover. Tags are not: they change in place (the expiry on every extend).
pub fn create_token(m: &ClusterModel) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let sorted = |v: &Option<Vec<String>>| {
        let mut v = v.clone().unwrap_or_default();
        v.sort();
        v.join(",")
    };
    let shared_volume = m
        .shared_volume
        .as_ref()
        .map(|v| format!("{:?}/{:?}", v.name, v.size))
        .unwrap_or_default();
    config_token(&[
        text(&m.hostname),
        text(&m.description),
        text(&m.cluster_type),
        text(&m.image),
        text(&m.location_code),
        text(&m.startup_script_id),
        text(&m.contract),
        shared_volume,
        sorted(&m.ssh_key_ids),
        sorted(&m.existing_volume_ids),
    ])
}

/// Whether `cluster` was made by a create that sent `description` (token included).
fn made_by(cluster: &Cluster, hostname: &str, description: &str) -> bool {
    cluster.hostname.eq_ignore_ascii_case(hostname) && cluster.description == description
}

/// The live cluster an earlier, interrupted create of this very configuration left
/// behind (same hostname, same description with its token), if any. A failed one is
/// deleted rather than taken over: left alone it could bill unseen.
pub async fn find_leftover(
    client: &Client,
    hostname: &str,
    description: &str,
) -> Result<Option<Cluster>, datacrunch_client::Error> {
    let mut found = client.find_clusters_by_hostname(hostname).await?;
    found.retain(|c| !c.status.is_gone() && made_by(c, hostname, description));
    found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    let mut adopt = None;
    for c in found {
        if c.status.is_failed() {
            tracing::warn!(id = %c.id, status = %c.status, "deleting a failed cluster an interrupted create left");
            if let Err(e) = client.delete_cluster(&c.id).await {
                tracing::warn!(id = %c.id, error = %e, "could not delete the failed leftover");
            }
        } else if adopt.is_none() {
            adopt = Some(c);
        }
    }
    Ok(adopt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_follows_what_forces_replacement_not_the_tags() {
        let base = ClusterModel {
            hostname: Some("gpu".into()),
            cluster_type: Some("16H200".into()),
            image: Some("img".into()),
            ..Default::default()
        };
        let mut tagged = base.clone();
        tagged.tags = Some([("kdevops-expires-at".to_owned(), "x".to_owned())].into());
        assert_eq!(create_token(&tagged), create_token(&base));
        let mut other = base.clone();
        other.image = Some("img2".into());
        assert_ne!(create_token(&other), create_token(&base));
    }
}
