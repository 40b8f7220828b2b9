//! `datacrunch_volume_attachment`: one volume attached to one instance. The API attaches
//! and detaches only while the instance is shut down, so a plan that would attach to a
//! running instance is refused unless `allow_power_cycle = true` lets the provider shut
//! it down, attach and start it again ([`offline`]); a destroy whose detach would need
//! the same is refused at plan time too. Terraform does not tell a destroy plan whether
//! the instance goes as well, so `terraform destroy` of both is treated alike: with
//! `allow_power_cycle` it detaches by a power cycle (the instance is then deleted),
//! without it the plan is refused and says how to proceed. Create keeps the planned ids
//! and waits until the volume shows the attach. Read drops the attachment from state
//! when the volume was detached (or deleted) out of band, so the next plan re-creates it.
//! Import by `volume_id/instance_id` or by identity.

mod offline;
#[cfg(test)]
mod tests;

use crate::diagnostics::{api_error, found_or_gone, missing};
use crate::resources::volume::{is_live, read_until};
use crate::state::ProviderState;
use datacrunch_client::Client;
use datacrunch_models::{Instance, InstanceStatus, Volume, VolumeAction, VolumeActionRequest};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tfplugin::schema::{IdentityAttribute, IdentitySchema};
use tfplugin::{
    async_trait, Attribute, AttributePath, Context, Diagnostic, Diagnostics, PlanChange, Resource,
    Schema, Type, Value,
};
use tokio::time::Instant;

pub struct VolumeAttachmentResource;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct AttachmentModel {
    id: Option<String>,
    volume_id: Option<String>,
    instance_id: Option<String>,
    allow_power_cycle: Option<bool>,
    target: Option<String>,
}

impl AttachmentModel {
    fn ids(&self) -> Result<(&str, &str), Diagnostics> {
        Ok((
            self.volume_id
                .as_deref()
                .ok_or_else(|| missing("volume_id"))?,
            self.instance_id
                .as_deref()
                .ok_or_else(|| missing("instance_id"))?,
        ))
    }

    /// The state for this attachment (the ids as planned or as in the prior state) on
    /// device `target`.
    fn attached(&self, target: Option<String>) -> Result<Self, Diagnostics> {
        let (volume_id, instance_id) = self.ids()?;
        Ok(Self {
            id: Some(format!("{volume_id}/{instance_id}")),
            volume_id: Some(volume_id.to_owned()),
            instance_id: Some(instance_id.to_owned()),
            allow_power_cycle: Some(self.allow_power_cycle.unwrap_or(false)),
            target,
        })
    }
}

/// How long a volume may take to show an accepted attach when Terraform sets no
/// deadline.
const SHOWN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The volume once it shows itself attached to `instance_id`. The API may attach
/// after answering; the state written before then would lack the target device (and
/// the next read would drop the attachment). Waits until the operation's deadline, or
/// [`SHOWN_TIMEOUT`].
async fn shown_attached(
    ctx: &Context,
    client: &Client,
    volume_id: &str,
    instance_id: &str,
) -> Result<Volume, Diagnostics> {
    let until = ctx
        .deadline()
        .unwrap_or_else(|| Instant::now() + SHOWN_TIMEOUT);
    let shows = |v: &Volume| v.instance_id.as_deref() == Some(instance_id);
    let waited = tokio::time::timeout_at(until, read_until(ctx, client, volume_id, shows))
        .await
        .unwrap_or_else(|_| Err(Diagnostics::new()));
    waited.map_err(|cause| {
        let mut d = Diagnostics::from(Diagnostic::error(
            format!("Volume {volume_id} does not show the attachment yet"),
            format!(
                "The API accepted attaching volume {volume_id} to instance {instance_id}, \
                 but the volume did not show it in time. The attachment is kept in the state \
                 as tainted; once the volume shows it, `terraform untaint` keeps it as is."
            ),
        ));
        d.extend(cause);
        d
    })
}

async fn volume_action(
    client: &Client,
    action: VolumeAction,
    volume_id: &str,
    instance_id: &str,
) -> Result<(), Diagnostics> {
    let request = VolumeActionRequest {
        action,
        id: vec![volume_id.to_owned()],
        instance_id: Some(instance_id.to_owned()),
        name: None,
        size: None,
        is_permanent: None,
        volume_type: None,
    };
    client.volume_action(&request).await.map(drop).map_err(|e| {
        api_error(
            format!(
                "{} of volume {volume_id} to instance {instance_id}",
                request.action
            ),
            &e,
        )
    })
}

/// Plan-time checks of a new attachment: the volume exists, is not attached elsewhere
/// and is where the instance is; the instance is shut down unless `allow_power_cycle`.
async fn check_new(st: &ProviderState, planned: &Value) -> Result<(), Diagnostics> {
    let allow = planned.get("allow_power_cycle").and_then(Value::as_bool);
    let volume_id = planned.get("volume_id").and_then(Value::as_str);
    let instance_id = planned.get("instance_id").and_then(Value::as_str);
    let volume = match volume_id {
        Some(id) => {
            let found = found_or_gone(st.client.volume(id).await, || {
                format!("Reading volume {id}")
            })?;
            match found.filter(is_live) {
                Some(v) => Some(v),
                None => {
                    return Err(Diagnostic::error(
                        "No such volume",
                        format!("volume_id {id:?} names no volume (or one that was deleted)."),
                    )
                    .at(AttributePath::new("volume_id"))
                    .into())
                }
            }
        }
        None => None,
    };
    let Some(instance_id) = instance_id else {
        // Known only at apply: an instance created in this same apply, which will be
        // running by then.
        return match allow {
            Some(false) => Err(offline::refusal(
                "attach",
                "(known after apply)",
                "being created and will be running when the volume is attached",
            )),
            _ => Ok(()),
        };
    };
    let instance = found_or_gone(st.client.instance(instance_id).await, || {
        format!("Reading instance {instance_id}")
    })?
    .filter(|i| !i.status.is_gone())
    .ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error(
                "No such instance",
                format!("instance_id {instance_id:?} names no instance (or a deleted one)."),
            )
            .at(AttributePath::new("instance_id")),
        )
    })?;
    if let Some(v) = &volume {
        if let Some(other) = v.instance_id.as_deref().filter(|o| *o != instance_id) {
            return Err(Diagnostic::error(
                "Volume attached elsewhere",
                format!(
                    "Volume {} is attached to instance {other}; a volume is attached to one \
                     instance at a time. Detach it there first.",
                    v.id
                ),
            )
            .at(AttributePath::new("volume_id"))
            .into());
        }
        if v.location != instance.location {
            return Err(Diagnostic::error(
                "Volume and instance in different locations",
                format!(
                    "Volume {} is in {}, instance {instance_id} in {}; a volume attaches only \
                     to an instance in its own location.",
                    v.id, v.location, instance.location
                ),
            )
            .at(AttributePath::new("volume_id"))
            .into());
        }
    }
    if instance.status != InstanceStatus::Offline && allow == Some(false) {
        return Err(offline::refusal(
            "attach",
            instance_id,
            instance.status.as_str(),
        ));
    }
    Ok(())
}

/// The instance, while the volume is still attached to it and neither is deleted: a
/// detach is needed only then (an instance being deleted lets its volumes go by
/// itself).
async fn attached_instance(
    st: &ProviderState,
    volume_id: &str,
    instance_id: &str,
) -> Result<Option<Instance>, Diagnostics> {
    let found = found_or_gone(st.client.volume(volume_id).await, || {
        format!("Reading volume {volume_id}")
    })?;
    if !found.is_some_and(|v| is_live(&v) && v.instance_id.as_deref() == Some(instance_id)) {
        return Ok(None);
    }
    let instance = found_or_gone(st.client.instance(instance_id).await, || {
        format!("Reading instance {instance_id}")
    })?;
    Ok(instance.filter(|i| !i.status.is_gone()))
}

#[async_trait]
impl Resource for VolumeAttachmentResource {
    fn type_name(&self) -> String {
        "datacrunch_volume_attachment".into()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(
            IdentitySchema::new()
                .attribute(
                    IdentityAttribute::required("volume_id", Type::String)
                        .description("The volume's id."),
                )
                .attribute(
                    IdentityAttribute::required("instance_id", Type::String)
                        .description("The instance's id."),
                ),
        )
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Attaches a volume to an instance. The API attaches and detaches only while the \
                 instance is shut down (`offline`): a plan that would attach to (or a destroy \
                 that would detach from) a running instance is refused, unless \
                 `allow_power_cycle = true` lets the provider shut the instance down, make \
                 the change and start it again (it says so in a warning). A destroy is \
                 checked with the `allow_power_cycle` in the state, also when the instance \
                 is destroyed in the same run (Terraform does not tell the provider so): set \
                 it and apply before destroying. A volume detached out of band is attached again by the next apply. Manage an attachment either \
                 here or through `datacrunch_volume.instance_id`, not both.",
            )
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("`<volume_id>/<instance_id>`."),
            )
            .attribute(
                Attribute::string("volume_id")
                    .required()
                    .requires_replace()
                    .description("The volume to attach."),
            )
            .attribute(
                Attribute::string("instance_id")
                    .required()
                    .requires_replace()
                    .description("The instance to attach it to (in the volume's location)."),
            )
            .attribute(
                Attribute::bool("allow_power_cycle")
                    .default(false)
                    .description(
                    "Let the provider shut a running instance down to attach or detach, and start \
                 it again after. Off by default: a running instance is never restarted \
                 unasked.",
                ),
            )
            .attribute(
                Attribute::string("target")
                    .computed()
                    .use_state_for_unknown()
                    .description("The device the volume is on in the instance, e.g. `vdb`."),
            )
    }

    async fn modify_plan(&self, ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
        // Without a configured provider (e.g. `terraform validate`) there is no API.
        let Ok(st) = ctx.provider_data::<ProviderState>() else {
            return Ok(());
        };
        if plan.is_create() && !plan.planned.is_null() {
            check_new(&st, &plan.planned).await?;
        }
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let m: AttachmentModel = planned.decode()?;
        let (volume_id, instance_id) = m.ids()?;
        let st = ProviderState::of(ctx)?;
        let allow = m.allow_power_cycle.unwrap_or(false);
        offline::with_instance_offline(ctx, &st, instance_id, allow, "attach", || {
            volume_action(&st.client, VolumeAction::Attach, volume_id, instance_id)
        })
        .await?;
        match shown_attached(ctx, &st.client, volume_id, instance_id).await {
            Ok(volume) => Ok(Value::encode(&m.attached(volume.target)?)?),
            // Attached, not yet shown: Terraform keeps what exists (as tainted).
            Err(e) => Err(e.with_state(Value::encode(&m.attached(None)?)?)),
        }
    }

    async fn read(&self, ctx: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let prior: AttachmentModel = state.decode()?;
        let (volume_id, instance_id) = prior.ids()?;
        let st = ProviderState::of(ctx)?;
        let found = found_or_gone(st.client.volume(volume_id).await, || {
            format!("Reading volume {volume_id}")
        })?;
        let attached = found
            .filter(is_live)
            .filter(|v| v.instance_id.as_deref() == Some(instance_id));
        match attached {
            Some(v) => Ok(Some(Value::encode(&prior.attached(v.target)?)?)),
            None => {
                tracing::info!(volume_id, instance_id, "volume no longer attached");
                Ok(None)
            }
        }
    }

    async fn update(
        &self,
        _ctx: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        // Only allow_power_cycle changes in place, and it is the provider's own setting.
        Ok(planned.clone())
    }

    /// A detach the API cannot make (the instance runs, allow_power_cycle is off) is
    /// refused here rather than half-way through the apply. Terraform does not say
    /// whether the instance is being destroyed in the same apply, so a `terraform
    /// destroy` of both is refused the same way; the refusal says what to do.
    async fn plan_destroy(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let Ok(st) = ctx.provider_data::<ProviderState>() else {
            return Ok(());
        };
        let m: AttachmentModel = prior.decode()?;
        if m.allow_power_cycle == Some(true) {
            return Ok(());
        }
        let (volume_id, instance_id) = m.ids()?;
        match attached_instance(&st, volume_id, instance_id).await? {
            Some(i) if i.status != InstanceStatus::Offline => {
                Err(offline::refusal("detach", instance_id, i.status.as_str()))
            }
            _ => Ok(()),
        }
    }

    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let m: AttachmentModel = prior.decode()?;
        let (volume_id, instance_id) = m.ids()?;
        let st = ProviderState::of(ctx)?;
        if attached_instance(&st, volume_id, instance_id)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let allow = m.allow_power_cycle.unwrap_or(false);
        offline::with_instance_offline(ctx, &st, instance_id, allow, "detach", || {
            volume_action(&st.client, VolumeAction::Detach, volume_id, instance_id)
        })
        .await
    }

    async fn import(&self, _ctx: &Context, id: &str) -> Result<Value, Diagnostics> {
        let parts = id
            .split_once('/')
            .filter(|(v, i)| !v.is_empty() && !i.is_empty());
        let Some((volume_id, instance_id)) = parts else {
            return Err(Diagnostic::error(
                "Invalid import id",
                format!("{id:?}: expected `<volume_id>/<instance_id>`."),
            )
            .into());
        };
        Ok(Value::encode(&AttachmentModel {
            id: Some(id.to_owned()),
            volume_id: Some(volume_id.to_owned()),
            instance_id: Some(instance_id.to_owned()),
            allow_power_cycle: None,
            target: None,
        })?)
    }
}
