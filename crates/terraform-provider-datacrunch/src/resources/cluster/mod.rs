//! `datacrunch_cluster`: create (taking over the cluster an interrupted create of the
//! same configuration left, see [`recover`]; waiting until `running`, deleting a cluster
//! that failed on the way), read (a deleted cluster is gone, so Terraform re-creates it),
//! tags in place, delete (confirmed), import by id, `moved` from the official provider's
//! `verda_cluster`, and plan-time checks of type, image and location against the live
//! cluster catalog.

mod description;
mod model;
mod plan;
mod recover;
mod schema;

use crate::diagnostics::{api_error, found_or_gone, missing};
use crate::resources::create_once::find_or_create;
use crate::resources::tags::sync_tags;
use crate::state::ProviderState;
use datacrunch_client::{Client, TaggedKind};
use datacrunch_models::{Cluster, ClusterStatus, CreateClusterRequest};
use model::ClusterModel;
use std::collections::BTreeMap;
use std::time::Duration;
use tfplugin::schema::timeouts::Operation;
use tfplugin::{async_trait, Context, Diagnostic, Diagnostics, PlanChange, Resource, Value};

pub struct ClusterResource;

/// Polls `GET /clusters/{id}` until `done` holds or the status says it never will;
/// sleeps through the context (so a cancel or the operation's deadline ends it).
async fn poll_until(
    ctx: &Context,
    client: &Client,
    id: &str,
    done: impl Fn(&Cluster) -> bool,
) -> Result<Cluster, Diagnostics> {
    let mut wait = Duration::from_millis(200);
    loop {
        match client.cluster(id).await {
            Ok(c) if done(&c) => return Ok(c),
            Ok(c) if c.status.is_failed() => {
                return Err(Diagnostic::error(
                    format!("Cluster {id} did not start"),
                    format!("The API reports status \"{}\".", c.status),
                )
                .into())
            }
            Ok(c) => tracing::debug!(id, status = %c.status, "waiting for the cluster"),
            Err(e) if e.is_retryable() => tracing::debug!(id, error = %e, "poll failed"),
            Err(e) => return Err(api_error(format!("Reading cluster {id}"), &e)),
        }
        ctx.sleep(wait).await?;
        wait = (wait * 2).min(Duration::from_secs(15));
    }
}

/// Deletes a cluster and waits until the API no longer lists it as live. "Already
/// gone" (404, or a refusal while it reads as deleted) counts as done. A cluster still
/// being created refuses deletes, so the delete is retried until it is accepted.
async fn delete_and_confirm(ctx: &Context, client: &Client, id: &str) -> Result<(), Diagnostics> {
    let mut wait = Duration::from_millis(200);
    loop {
        let refusal = match client.delete_cluster(id).await {
            Ok(()) => break,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.is_forbidden_action() => e,
            Err(e) => return Err(api_error(format!("Deleting cluster {id}"), &e)),
        };
        match client.cluster(id).await {
            Err(e) if e.is_not_found() => return Ok(()),
            Ok(c) if c.status.is_gone() => return Ok(()),
            Ok(c) if c.status.is_pending() => {
                tracing::debug!(id, status = %c.status, "cluster not yet deletable; retrying")
            }
            _ => return Err(api_error(format!("Deleting cluster {id}"), &refusal)),
        }
        ctx.sleep(wait).await?;
        wait = (wait * 2).min(Duration::from_secs(15));
    }
    match client.cluster(id).await {
        Ok(c) if !c.status.is_gone() => Err(Diagnostic::error(
            format!("Cluster {id} was not deleted"),
            format!(
                "The API accepted the delete but still reports \"{}\".",
                c.status
            ),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Why a create ended without a running cluster, after deleting the cluster if it
/// failed: the error, with the state to record when the cluster still exists.
async fn failed_create(
    ctx: &Context,
    st: &ProviderState,
    planned: &ClusterModel,
    id: &str,
    error: Diagnostics,
) -> Diagnostics {
    let seen = st.client.cluster(id).await;
    match seen {
        Ok(c) if c.status.is_failed() && !c.status.is_gone() => {
            // A failed cluster is deleted now: left out of state it would bill unseen.
            let mut diags = error;
            match delete_and_confirm(ctx, &st.client, id).await {
                Ok(()) => diags.push(Diagnostic::warning(
                    format!("Deleted the failed cluster {id}"),
                    "Nothing of this create is left running or billed.",
                )),
                Err(e) => {
                    // Could not delete it: keep it in state so that destroy does.
                    diags.extend(e);
                    if let Ok(v) = Value::encode(&planned.refreshed(&c)) {
                        return diags.with_state(v);
                    }
                }
            }
            diags
        }
        Ok(c) if c.status.is_gone() => error,
        Err(e) if e.is_not_found() => error,
        // Still on its way (timeout, interrupt) or unknown: keep it in state, tainted.
        other => {
            let keep = match other {
                Ok(c) => planned.refreshed(&c),
                Err(_) => ClusterModel {
                    id: Some(id.to_owned()),
                    ..planned.clone()
                },
            };
            match Value::encode(&keep) {
                Ok(v) => error.with_state(v),
                Err(_) => error,
            }
        }
    }
}

/// Takes over the cluster an interrupted create of `request` left (returned with its
/// id), else creates one; a create whose answer was lost is looked up the same way
/// before it is sent again.
async fn create_or_adopt(
    client: &Client,
    request: &CreateClusterRequest,
) -> Result<(String, Option<Cluster>), datacrunch_client::Error> {
    if let Some(c) = recover::find_leftover(client, &request.hostname, &request.description).await?
    {
        return Ok((c.id.clone(), Some(c)));
    }
    let find = || async {
        let found = recover::find_leftover(client, &request.hostname, &request.description);
        Ok(found.await?.map(|c| c.id))
    };
    let (id, adopted) = find_or_create(|| client.create_cluster(request), find).await?;
    if !adopted {
        return Ok((id, None));
    }
    Ok((id.clone(), Some(client.cluster(&id).await?)))
}

#[async_trait]
impl Resource for ClusterResource {
    fn type_name(&self) -> String {
        "datacrunch_cluster".into()
    }

    fn schema(&self) -> tfplugin::Schema {
        schema::schema()
    }

    /// `moved` from the official provider's `verda_cluster`.
    async fn move_state(
        &self,
        _ctx: &Context,
        source: &tfplugin::MoveSource,
    ) -> Result<Value, Diagnostics> {
        let mapping = crate::resources::moved::VerdaMapping {
            from_type: "verda_cluster",
            attributes: &[
                ("id", "id"),
                ("cluster_type", "cluster_type"),
                ("image", "image"),
                ("hostname", "hostname"),
                ("description", "description"),
                ("location", "location_code"),
                ("contract", "contract"),
                ("ssh_key_ids", "ssh_key_ids"),
                ("startup_script_id", "startup_script_id"),
                ("shared_volume", "shared_volume"),
            ],
        };
        // Their `existing_volumes` is a list of `{id}` objects; ours a list of ids.
        let existing: Option<Vec<serde_json::Value>> = source
            .state
            .get("existing_volumes")
            .and_then(serde_json::Value::as_array)
            .map(|volumes| volumes.iter().map(|v| v["id"].clone()).collect());
        let fixed: Vec<(&str, serde_json::Value)> = existing
            .map(|ids| ("existing_volume_ids", serde_json::Value::Array(ids)))
            .into_iter()
            .collect();
        crate::resources::moved::from_verda(source, &mapping, &self.schema(), &fixed)
    }

    fn default_timeout(&self, op: Operation) -> Option<Duration> {
        Some(schema::TIMEOUTS.get(op).unwrap_or(schema::READ_TIMEOUT))
    }

    async fn modify_plan(&self, ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
        plan::check(ctx, plan).await
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let m: ClusterModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let mut request = m
            .create_request()
            .ok_or_else(|| missing("cluster arguments"))?;
        request.description =
            description::with_token(&request.description, &recover::create_token(&m));
        let (id, adopted) = create_or_adopt(&st.client, &request)
            .await
            .map_err(|e| api_error(format!("Creating cluster {:?}", request.hostname), &e))?;
        // A cluster taken over may carry its tags already, or none (its create was
        // killed before they were set): either way they become the planned ones.
        let current = match adopted {
            Some(c) => {
                ctx.warn(
                    "Adopted a cluster from an interrupted create",
                    format!(
                        "Cluster {id} ({}, status {}) was created for this configuration by an \
                         earlier create whose answer or apply was lost; it is used instead of \
                         creating a second one.",
                        c.hostname, c.status
                    ),
                );
                c.tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
                    .collect()
            }
            None => BTreeMap::new(),
        };
        let tags = m.tags.clone().unwrap_or_default();
        if tags != current {
            let tagged = sync_tags(&st.client, TaggedKind::Cluster, &id, &current, &tags).await;
            if let Err(e) = tagged {
                let error = api_error(format!("Tagging cluster {id}"), &e);
                return Err(failed_create(ctx, &st, &m, &id, error).await);
            }
        }
        let running = poll_until(ctx, &st.client, &id, |c| {
            c.status == ClusterStatus::Running && c.ip.is_some()
        })
        .await;
        match running {
            Ok(c) => {
                let mut state = m.refreshed(&c);
                state.tags = m.tags.clone();
                Ok(Value::encode(&state)?)
            }
            Err(error) => Err(failed_create(ctx, &st, &m, &id, error).await),
        }
    }

    async fn read(&self, ctx: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let prior: ClusterModel = state.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = prior.id.clone().ok_or_else(|| missing("id"))?;
        let found = found_or_gone(st.client.cluster(&id).await, || {
            format!("Reading cluster {id}")
        })?;
        // A deleted cluster stays listed for a while as `discontinued`: for Terraform
        // it is gone, and the next apply creates it again.
        found
            .filter(|c| !c.status.is_gone())
            .map(|c| Value::encode(&prior.refreshed(&c)))
            .transpose()
            .map_err(Into::into)
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let old: ClusterModel = prior.decode()?;
        let new: ClusterModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = new.id.clone().ok_or_else(|| missing("id"))?;
        let (before, after) = (
            old.tags.clone().unwrap_or_default(),
            new.tags.clone().unwrap_or_default(),
        );
        if before != after {
            sync_tags(&st.client, TaggedKind::Cluster, &id, &before, &after)
                .await
                .map_err(|e| api_error(format!("Updating the tags of cluster {id}"), &e))?;
        }
        let c = st
            .client
            .cluster(&id)
            .await
            .map_err(|e| api_error(format!("Reading cluster {id}"), &e))?;
        let mut state = new.refreshed(&c);
        state.tags = new.tags.clone();
        state.timeouts = new.timeouts.clone();
        Ok(Value::encode(&state)?)
    }

    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let m: ClusterModel = prior.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = m.id.clone().ok_or_else(|| missing("id"))?;
        delete_and_confirm(ctx, &st.client, &id).await
    }
}
