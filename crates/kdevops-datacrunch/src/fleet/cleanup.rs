//! Deleting through the API: one instance or one cluster (retried while the API says it is still
//! provisioning), every instance of this project with proof that none is left, and the
//! project's uploaded SSH key. Only what carries this project's mark is ever deleted.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::live_instances;
use crate::api::Api;
use crate::progress::Progress;
use crate::project::Identity;

/// How long deleted instances may take to leave the API's list.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(300);
pub const POLL: Duration = Duration::from_secs(2);

/// Deletes one instance (its OS volume for good unless `keep_volumes`, as the provider's
/// destroy does): done when deleted, already gone or already discontinued; retried
/// while the API refuses because it is still provisioning.
pub async fn delete_instance(api: &Api, id: &str, keep_volumes: bool) -> Result<()> {
    let request = datacrunch_models::InstanceActionRequest::delete(id, !keep_volumes);
    let deadline = Instant::now() + DELETE_TIMEOUT;
    loop {
        match api.client.instance_action(&request).await {
            Ok(_) => return Ok(()),
            // 404, or 403 forbidden_action "already discontinued": the goal is reached.
            Err(e) if e.is_gone_on_delete() => return Ok(()),
            Err(e) if e.is_still_provisioning() && Instant::now() < deadline => {
                tokio::time::sleep(POLL).await
            }
            Err(e) => return Err(api.explain(e)),
        }
    }
}

/// Deletes one cluster (its shared volume goes with it): done when deleted or already
/// gone; retried while the API refuses because it is still provisioning.
pub async fn delete_cluster(api: &Api, id: &str, deadline: Instant) -> Result<()> {
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

/// Deletes every live instance carrying this project's mark and waits until the API no
/// longer lists any.
pub async fn sweep(
    api: &Api,
    identity: &Identity,
    keep_volumes: bool,
    progress: &Progress,
) -> Result<()> {
    let deadline = Instant::now() + DELETE_TIMEOUT;
    let (leftovers, _) = live_instances(api, identity).await?;
    for inst in &leftovers {
        progress.line(format!(
            "deleting leftover instance {} ({}, {})",
            inst.hostname, inst.id, inst.status
        ));
        delete_instance(api, &inst.id, keep_volumes).await?;
    }
    wait_until_none("instances", deadline, || async {
        let (remaining, _) = live_instances(api, identity).await?;
        Ok(remaining
            .iter()
            .map(|i| format!("{} ({}, {})", i.hostname, i.id, i.status))
            .collect())
    })
    .await
}

/// Polls `remaining` (what is still listed, described) until it is empty; after
/// `deadline`, fails naming what is left of `what`.
pub async fn wait_until_none<F, Fut>(what: &str, deadline: Instant, mut remaining: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>>>,
{
    loop {
        let left = remaining().await?;
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{what} still exist after {DELETE_TIMEOUT:?}: {}; they may still bill: check the dashboard and run `make destroy` again",
                left.join(", ")
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Deletes the account's SSH keys named `name` (the project's uploaded key).
pub async fn delete_keys_named(api: &Api, name: &str, progress: &Progress) -> Result<()> {
    let keys = api.client.ssh_keys().await.map_err(|e| api.explain(e))?;
    for key in keys.iter().filter(|k| k.name == name) {
        progress.line(format!("deleting leftover SSH key {name} ({})", key.id));
        api.client
            .delete_ssh_key(&key.id)
            .await
            .map_err(|e| api.explain(e))?;
    }
    Ok(())
}
