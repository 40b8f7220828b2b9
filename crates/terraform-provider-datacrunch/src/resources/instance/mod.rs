//! `datacrunch_instance`: the resource at the centre of kdevops' HCL.
//!
//! - Create adopts an instance an interrupted earlier apply left behind for the same
//!   configuration (found by hostname and a create token derived from the
//!   configuration, stored as a tag), else deploys; a deploy whose answer was lost is
//!   looked up the same way before it is ever repeated. Then it waits for `running`
//!   with an IP, polling through the shared instance directory ([`crate::state::instances`]). A wait that ends in a failed
//!   status, a timeout or a cancellation returns its error together with the instance
//!   as last seen, so Terraform keeps it in state, tainted, and the next apply or
//!   destroy deletes it: never an orphaned, billed instance.
//! - Read goes through the instance directory too: refreshing 100 instances costs one list.
//! - Delete retries "still provisioning", treats gone as deleted and confirms.
//! - [`plan`] checks type, image and location against the live catalog at plan time.

mod lifecycle;
pub mod model;
mod plan;
mod schema;

use crate::diagnostics::api_error;
use crate::diagnostics::missing;
use crate::resources::tags::{api_tags, sync_tags};
use crate::state::instances;
use crate::state::ProviderState;
use datacrunch_client::{Client, TaggedKind};
use datacrunch_models::{DeployInstanceRequest, Instance, OsVolumeRequest, Tag};
use lifecycle::{Budget, LifecycleError, WaitFailure};
use model::{carries_create_token, InstanceModel, OsVolume, CREATE_TOKEN_TAG};
use std::time::Duration;
use tfplugin::schema::timeouts::Operation;
use tfplugin::{
    async_trait, Context, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Value,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub struct InstanceResource;

/// Deleting a failed leftover of a killed apply gets this long whatever is left of the
/// create's budget: no state knows that instance, so this is the one chance to stop it
/// billing.
const CLEANUP_BUDGET: Duration = Duration::from_secs(180);

fn default_timeout(op: Operation) -> Duration {
    schema::TIMEOUTS.get(op).unwrap_or(schema::READ_TIMEOUT)
}

fn budget<'a>(ctx: &'a Context, op: Operation, pacing: crate::state::Pacing) -> Budget<'a> {
    Budget {
        deadline: ctx
            .deadline()
            .unwrap_or_else(|| Instant::now() + default_timeout(op)),
        cancel: ctx.cancellation_token(),
        pacing,
    }
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, Diagnostics> {
    v.as_deref().ok_or_else(|| missing(name))
}

/// A token that identifies "the instance this configuration asked for": the same
/// configuration gives the same token, so a re-run after an interrupted apply finds the
/// instance instead of deploying a duplicate.
pub fn create_token(m: &InstanceModel) -> String {
    let sorted = |v: &Option<Vec<String>>| {
        let mut v = v.clone().unwrap_or_default();
        v.sort();
        v.join(",")
    };
    // Every argument that forces a replacement is in it, so a replacement (even with
    // create_before_destroy) never takes the instance it replaces for a leftover.
    let os_volume = m
        .os_volume
        .as_ref()
        .map(|v| format!("{:?}/{:?}/{:?}", v.name, v.size, v.on_spot_discontinue))
        .unwrap_or_default();
    let parts = [
        m.hostname.clone().unwrap_or_default(),
        m.description.clone().unwrap_or_default(),
        m.image.clone().unwrap_or_default(),
        m.instance_type.clone().unwrap_or_default(),
        m.location_code.clone().unwrap_or_default(),
        m.is_spot.unwrap_or(false).to_string(),
        m.startup_script_id.clone().unwrap_or_default(),
        m.contract.clone().unwrap_or_default(),
        m.pricing.clone().unwrap_or_default(),
        os_volume,
        sorted(&m.ssh_key_ids),
        sorted(&m.existing_volume_ids),
    ];
    crate::resources::create_once::config_token(&parts)
}

fn deploy_request(m: &InstanceModel, token: &str) -> Result<DeployInstanceRequest, Diagnostics> {
    let hostname = required(&m.hostname, "hostname")?.to_owned();
    let mut tags = api_tags(&m.tags);
    tags.push(Tag {
        key: CREATE_TOKEN_TAG.to_owned(),
        value: Some(token.to_owned()),
    });
    Ok(DeployInstanceRequest {
        instance_type: required(&m.instance_type, "instance_type")?.to_owned(),
        image: required(&m.image, "image")?.to_owned(),
        description: m.description.clone().unwrap_or_default(),
        ssh_key_ids: m.ssh_key_ids.clone().unwrap_or_default(),
        location_code: m.location_code.clone(),
        startup_script_id: m.startup_script_id.clone(),
        os_volume: m.os_volume.as_ref().and_then(|v| {
            v.size.map(|size| OsVolumeRequest {
                name: v.name.clone().unwrap_or_else(|| format!("{hostname}-os")),
                size,
                on_spot_discontinue: v.on_spot_discontinue.as_deref().map(Into::into),
            })
        }),
        volumes: Vec::new(),
        existing_volumes: m.existing_volume_ids.clone().unwrap_or_default(),
        is_spot: m.is_spot.unwrap_or(false),
        contract: m.contract.as_deref().map(Into::into),
        pricing: m.pricing.as_deref().map(Into::into),
        coupon: None,
        tags,
        hostname,
    })
}

/// The state after create or update: what the API reports, except that every value
/// the plan already knew is kept (Terraform requires it), with a warning if the API
/// disagrees about where the instance is.
fn settle(ctx: &Context, planned: &InstanceModel, api: &Instance) -> InstanceModel {
    let mut m = planned.refreshed(api);
    macro_rules! keep_planned {
        ($($field:ident),*) => {$( if planned.$field.is_some() { m.$field = planned.$field.clone(); } )*};
    }
    keep_planned!(
        hostname,
        description,
        image,
        instance_type,
        location_code,
        ssh_key_ids,
        startup_script_id,
        is_spot,
        contract,
        pricing,
        existing_volume_ids,
        tags,
        delete_os_volume_on_destroy,
        timeouts
    );
    if let (Some(asked), false) = (&planned.location_code, api.location.is_empty()) {
        if *asked != api.location {
            ctx.warn(
                "Instance placed elsewhere",
                format!(
                    "location_code is {asked} but the API reports the instance in {}; the \
                     next plan will show it.",
                    api.location
                ),
            );
        }
    }
    // The OS volume as requested, with the name the request used when none was given.
    m.os_volume = planned.os_volume.as_ref().map(|v| OsVolume {
        name: v
            .name
            .clone()
            .or_else(|| Some(format!("{}-os", api.hostname))),
        size: v.size,
        on_spot_discontinue: v.on_spot_discontinue.clone(),
    });
    m
}

/// An instance a previous, interrupted apply created for this very configuration.
/// Failed leftovers are deleted (they may bill) rather than adopted.
async fn find_leftover(
    ctx: &Context,
    st: &crate::state::ProviderState,
    hostname: &str,
    token: &str,
) -> Result<Option<String>, Diagnostics> {
    let listing = st
        .instances
        .listing(Duration::from_secs(60))
        .await
        .map_err(|e| api_error("Listing instances before create", &e))?;
    let mut adopt = None;
    for i in listing.values() {
        let ours = i.hostname.eq_ignore_ascii_case(hostname) && carries_create_token(i, token);
        if !ours || i.status.is_gone() {
            continue;
        }
        if i.status.is_failed() {
            cleanup(st, &i.id, true).await.ok();
        } else if adopt.is_none() {
            ctx.warn(
                "Adopted an instance from an interrupted apply",
                format!(
                    "Instance {} ({hostname}, status {}) was created for this configuration \
                     by an earlier apply that did not record it; it is used instead of \
                     deploying a second one.",
                    i.id, i.status
                ),
            );
            adopt = Some(i.id.clone());
        }
    }
    Ok(adopt)
}

/// Deletes a failed leftover of an interrupted apply, with its own budget.
async fn cleanup(
    st: &crate::state::ProviderState,
    id: &str,
    delete_os_volume: bool,
) -> Result<(), LifecycleError> {
    let cancel = CancellationToken::new();
    let budget = Budget {
        deadline: Instant::now() + CLEANUP_BUDGET,
        cancel: &cancel,
        pacing: st.pacing,
    };
    lifecycle::delete_and_confirm(&st.client, id, delete_os_volume, &budget)
        .await
        .map(drop)
}

/// The error of a create whose instance exists but did not become ready, with the
/// instance in the state it was last seen in: Terraform records it next to the error
/// and marks it tainted, so the next apply replaces it and a destroy deletes it.
/// Nothing is deleted here: a cancelled apply must return at once, and the user sees
/// (and pays for) nothing Terraform does not know about.
fn failed_create(
    ctx: &Context,
    planned: &InstanceModel,
    id: &str,
    failure: &WaitFailure,
) -> Diagnostics {
    let err = &failure.error;
    let why = match err {
        LifecycleError::Timeout { .. } => {
            " It may still come up; if provisioning is just slow, raise timeouts.create."
        }
        LifecycleError::Cancelled { .. } => " Terraform was interrupted.",
        LifecycleError::Unreachable { .. } => {
            " The deploy was accepted, so the instance exists and may be running."
        }
        _ => "",
    };
    let detail = format!(
        "{err}.{why}\n\nInstance {id} is kept in Terraform's state, marked tainted, so \
         nothing is left behind unknown: the next `terraform apply` deletes it and deploys \
         a replacement, and `terraform destroy` deletes it. Until then it may bill."
    );
    let diags: Diagnostics = Diagnostic::error("Instance did not become ready", detail).into();
    let mut state = match &failure.last_seen {
        Some(seen) => settle(ctx, planned, seen),
        None => planned.clone(),
    };
    state.id = Some(id.to_owned());
    match Value::encode(&state) {
        Ok(value) => diags.with_state(value),
        // Unreachable in practice (the model always encodes); the error still shows.
        Err(e) => {
            let mut d = diags;
            d.error("Provider bug: recording the failed instance", e.to_string());
            d
        }
    }
}

async fn read_instance(client: &Client, id: &str) -> Result<Instance, Diagnostics> {
    client
        .instance(id)
        .await
        .map_err(|e| api_error(format!("Reading instance {id}"), &e))
}

/// The state of an instance as `terraform query` lists it: what an import reads,
/// with the provider's own settings at their defaults.
pub(crate) fn listed_state(api: &Instance) -> Result<Value, Diagnostics> {
    let mut m = InstanceModel::default().refreshed(api);
    m.delete_os_volume_on_destroy = Some(true);
    Ok(Value::encode(&m)?)
}

#[async_trait]
impl Resource for InstanceResource {
    fn type_name(&self) -> String {
        "datacrunch_instance".into()
    }

    fn identity_schema(&self) -> Option<tfplugin::schema::IdentitySchema> {
        crate::resources::id_identity()
    }

    /// `moved` from the official provider's `verda_instance`.
    async fn move_state(
        &self,
        _ctx: &Context,
        source: &tfplugin::MoveSource,
    ) -> Result<Value, Diagnostics> {
        let mapping = crate::resources::moved::VerdaMapping {
            from_type: "verda_instance",
            attributes: &[
                ("id", "id"),
                ("hostname", "hostname"),
                ("description", "description"),
                ("image", "image"),
                ("instance_type", "instance_type"),
                ("location", "location_code"),
                ("ssh_key_ids", "ssh_key_ids"),
                ("startup_script_id", "startup_script_id"),
                ("is_spot", "is_spot"),
                ("contract", "contract"),
                ("pricing", "pricing"),
                ("existing_volumes", "existing_volume_ids"),
                ("os_volume", "os_volume"),
            ],
        };
        crate::resources::moved::from_verda(
            source,
            &mapping,
            &self.schema(),
            &[("delete_os_volume_on_destroy", serde_json::Value::Bool(true))],
        )
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn default_timeout(&self, op: Operation) -> Option<Duration> {
        Some(default_timeout(op))
    }

    async fn validate(&self, _ctx: &Context, config: &Value) -> Result<(), Diagnostics> {
        plan::check_spot_policy(config)
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
        let m: InstanceModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let token = create_token(&m);
        let request = deploy_request(&m, &token)?;
        let budget = budget(ctx, Operation::Create, st.pacing);
        let id = match find_leftover(ctx, &st, &request.hostname, &token).await? {
            Some(id) => id,
            None => {
                let (id, adopted) = lifecycle::deploy_or_adopt(&st.client, &request, &budget)
                    .await
                    .map_err(|e| deploy_error(&request, &e))?;
                if adopted {
                    ctx.warn(
                        "Recovered from a lost deploy answer",
                        format!("The deploy's answer was lost; instance {id} it created was found and used."),
                    );
                }
                id
            }
        };
        tracing::info!(id, hostname = %request.hostname, "instance deployed; waiting for running");
        match lifecycle::wait_running(&st.instances, &id, &budget).await {
            Ok(instance) => Ok(Value::encode(&settle(ctx, &m, &instance))?),
            Err(failure) if failure.is_gone() => Err(Diagnostic::error(
                "Instance did not become ready",
                format!("{}; nothing is left to bill.", failure.error),
            )
            .into()),
            Err(failure) => Err(failed_create(ctx, &m, &id, &failure)),
        }
    }

    async fn read(&self, ctx: &Context, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let prior: InstanceModel = state_value.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = required(&prior.id, "id")?;
        let found = st
            .instances
            .lookup(id, instances::READ_MAX_AGE)
            .await
            .map_err(|e| api_error(format!("Reading instance {id}"), &e))?;
        let instances::Lookup::Found(api) = found else {
            tracing::info!(id, "instance is gone; removing it from state");
            return Ok(None);
        };
        let mut m = prior.refreshed(&api);
        // Import: fill what only the OS volume knows, once.
        if prior.hostname.is_none() && prior.os_volume.is_none() {
            if let Some(vol_id) = &m.os_volume_id {
                if let Ok(v) = st.client.volume(vol_id).await {
                    m.os_volume = Some(OsVolume {
                        name: Some(v.name),
                        size: Some(v.size),
                        on_spot_discontinue: None,
                    });
                }
            }
        }
        Ok(Some(Value::encode(&m)?))
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        // Tags change through the tags endpoints; the provider's own settings
        // (delete_os_volume_on_destroy, timeouts) need no call; everything else the API
        // holds forces replacement.
        let before: InstanceModel = prior.decode()?;
        let m: InstanceModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = required(&m.id, "id")?;
        let (old, new) = (
            before.tags.clone().unwrap_or_default(),
            m.tags.clone().unwrap_or_default(),
        );
        if old != new {
            let work = sync_tags(&st.client, TaggedKind::Instance, id, &old, &new);
            ctx.run(async {
                work.await
                    .map_err(|e| api_error(format!("Updating the tags of instance {id}"), &e))
            })
            .await?;
        }
        let api = read_instance(&st.client, id).await?;
        Ok(Value::encode(&settle(ctx, &m, &api))?)
    }

    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let m: InstanceModel = prior.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = required(&m.id, "id")?;
        let budget = budget(ctx, Operation::Delete, st.pacing);
        let deleted = lifecycle::delete_and_confirm(
            &st.client,
            id,
            m.delete_os_volume_on_destroy.unwrap_or(true),
            &budget,
        )
        .await
        .map_err(|e| Diagnostic::error(format!("Deleting instance {id}"), e.to_string()))?;
        if let lifecycle::Deleted::Stuck(status) = deleted {
            ctx.warn(
                format!("Instance {id} was stuck in status \"{status}\""),
                "The API refused a normal delete, so the instance was removed with the \
                 API's delete_stuck action. It is gone and no longer bills.",
            );
        }
        Ok(())
    }
}

fn deploy_error(request: &DeployInstanceRequest, err: &datacrunch_client::Error) -> Diagnostics {
    let summary = if err.is_no_capacity() {
        datacrunch_client::offer::no_capacity_summary(
            &request.instance_type,
            request.location_code.as_deref(),
        )
    } else {
        format!("Deploying instance {}", request.hostname)
    };
    let mut d = api_error(summary, err);
    if err.is_no_capacity() {
        d.warning(
            "Nothing was created",
            "The API refused the deploy, so nothing bills. The data source \
             datacrunch_offer finds a type and location with capacity.",
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> InstanceModel {
        InstanceModel {
            hostname: Some("node-1".into()),
            description: Some("d".into()),
            image: Some("ubuntu-24.04".into()),
            instance_type: Some("1H100.80S.30V".into()),
            ssh_key_ids: Some(vec!["b".into(), "a".into()]),
            tags: Some([("team".to_owned(), "ml".to_owned())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn create_token_follows_what_forces_replacement_only() {
        let base = create_token(&model());
        assert_eq!(base.len(), 32);
        // Same configuration (keys in another order, other tags): same token.
        let mut same = model();
        same.ssh_key_ids = Some(vec!["a".into(), "b".into()]);
        same.tags = None;
        assert_eq!(create_token(&same), base);
        // Anything that forces a replacement gives another token.
        let mut bigger_disk = model();
        bigger_disk.os_volume = Some(OsVolume {
            size: Some(200),
            ..OsVolume::default()
        });
        let mut elsewhere = model();
        elsewhere.location_code = Some("FIN-02".into());
        let mut spot = model();
        spot.is_spot = Some(true);
        for other in [bigger_disk, elsewhere, spot] {
            assert_ne!(create_token(&other), base);
        }
    }

    #[test]
    fn deploy_request_carries_the_token_and_the_os_volume_name() {
        let mut m = model();
        m.os_volume = Some(OsVolume {
            size: Some(100),
            on_spot_discontinue: Some("move_to_trash".into()),
            ..OsVolume::default()
        });
        let r = deploy_request(&m, "tok").unwrap();
        assert!(r
            .tags
            .iter()
            .any(|t| t.key == CREATE_TOKEN_TAG && t.value.as_deref() == Some("tok")));
        assert!(r.tags.iter().any(|t| t.key == "team"));
        let os = r.os_volume.unwrap();
        assert_eq!((os.name.as_str(), os.size), ("node-1-os", 100));
        assert_eq!(
            os.on_spot_discontinue,
            Some(datacrunch_models::OnSpotDiscontinue::MoveToTrash)
        );
    }
}
