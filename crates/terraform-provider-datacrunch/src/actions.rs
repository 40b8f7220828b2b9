//! Actions (Terraform 1.14+): `datacrunch_instance_power` starts or shuts down an
//! instance and waits for the status that follows, reporting progress. Hibernate is not
//! offered: on DataCrunch it deletes the instance, which belongs to destroy.
//!
//! A shut-down instance keeps billing until it is deleted; the progress says so with
//! the hourly price, so nobody mistakes "off" for "free".

use crate::diagnostics::api_error;
use crate::state::ProviderState;
use datacrunch_client::WaitError;
use datacrunch_models::{Instance, InstanceAction, InstanceActionRequest, InstanceStatus};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tfplugin::action::{Action, Progress};
use tfplugin::schema::validators;
use tfplugin::{
    async_trait, Attribute, AttributePath, Context, Diagnostic, Diagnostics, Schema, Value,
};
use tokio::time::Instant;

/// Every action type.
pub fn all() -> Vec<Arc<dyn Action>> {
    vec![Arc::new(InstancePower)]
}

/// How long a power change may take when Terraform sets no deadline.
const POWER_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The power actions offered, as the API spells them.
const POWER_ACTIONS: [&str; 3] = ["start", "shutdown", "force_shutdown"];

struct InstancePower;

#[derive(Deserialize)]
struct PowerConfig {
    instance_id: Option<String>,
    action: Option<String>,
}

/// The API action and the status it ends in.
fn power_action(name: &str) -> Option<(InstanceAction, InstanceStatus)> {
    match name {
        "start" => Some((InstanceAction::Start, InstanceStatus::Running)),
        "shutdown" => Some((InstanceAction::Shutdown, InstanceStatus::Offline)),
        "force_shutdown" => Some((InstanceAction::ForceShutdown, InstanceStatus::Offline)),
        _ => None,
    }
}

fn known<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, Diagnostics> {
    v.as_deref().ok_or_else(|| {
        Diagnostic::error("Missing value", format!("`{name}` must be set."))
            .at(AttributePath::new(name))
            .into()
    })
}

#[async_trait]
impl Action for InstancePower {
    fn type_name(&self) -> String {
        "datacrunch_instance_power".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Starts or shuts down an instance and waits until it is `running` or \
                 `offline`. A shut-down instance **still bills** until it is deleted: \
                 power off saves nothing on DataCrunch, only `destroy` does.",
            )
            .attribute(
                Attribute::string("instance_id")
                    .required()
                    .description("The instance, e.g. `datacrunch_instance.n.id`."),
            )
            .attribute(
                Attribute::string("action")
                    .required()
                    .validator(validators::one_of(POWER_ACTIONS))
                    .description(
                        "`start`, `shutdown` or `force_shutdown`. (`hibernate` is not \
                         offered: it deletes the instance.)",
                    ),
            )
    }

    /// At plan time: the instance must exist (when its id is known already).
    async fn plan(&self, ctx: &Context, config: &Value) -> Result<(), Diagnostics> {
        let Some(id) = config.get("instance_id").and_then(Value::as_str) else {
            return Ok(());
        };
        let st = ProviderState::of(ctx)?;
        st.client
            .instance(id)
            .await
            .map_err(|e| api_error(format!("Checking instance_id {id}"), &e))?;
        Ok(())
    }

    async fn invoke(
        &self,
        ctx: &Context,
        config: &Value,
        progress: &Progress,
    ) -> Result<(), Diagnostics> {
        let c: PowerConfig = config.decode()?;
        let id = known(&c.instance_id, "instance_id")?;
        let name = known(&c.action, "action")?;
        let (action, target) = power_action(name).ok_or_else(|| {
            Diagnostic::error(
                "Invalid action",
                format!("{name:?}: expected one of {POWER_ACTIONS:?}"),
            )
            .at(AttributePath::new("action"))
        })?;
        let st = ProviderState::of(ctx)?;
        progress.report(format!("{name} instance {id}")).await;
        let reached = set_power(ctx, &st, id, action, &target).await?;
        let mut message = format!("instance {id} is {}", reached.status);
        if target == InstanceStatus::Offline {
            message.push_str(&format!(
                "; it still bills {} per hour until it is deleted",
                reached.price_per_hour
            ));
        }
        progress.report(message).await;
        Ok(())
    }
}

/// Asks for `action` on instance `id` and waits (until the operation's deadline, or
/// [`POWER_TIMEOUT`]) until it is `target`; returns the instance as it then is. The
/// instance directory forgets its snapshot once the request is accepted and again when
/// the wait ends (however it ends), so no later read in this process sees the old status.
pub(crate) async fn set_power(
    ctx: &Context,
    st: &ProviderState,
    id: &str,
    action: InstanceAction,
    target: &InstanceStatus,
) -> Result<Instance, Diagnostics> {
    request_power(ctx, st, id, action).await?;
    await_power(ctx, st, id, target).await
}

/// The first half of [`set_power`]: asks for `action` on instance `id`, giving up when
/// the operation is cancelled or out of time. `Ok` means the API accepted it.
pub(crate) async fn request_power(
    ctx: &Context,
    st: &ProviderState,
    id: &str,
    action: InstanceAction,
) -> Result<(), Diagnostics> {
    ctx.run(send_power(st, id, action)).await
}

/// Asks for `action` on instance `id` whatever the state of the operation: for a
/// request whose outcome must be known (it is accepted or refused, never abandoned
/// half-way), one call bounded by the client's own timeouts.
pub(crate) async fn send_power(
    st: &ProviderState,
    id: &str,
    action: InstanceAction,
) -> Result<(), Diagnostics> {
    let request = InstanceActionRequest {
        action,
        id: vec![id.to_owned()],
        volume_ids: None,
        delete_permanently: None,
    };
    st.client
        .instance_action(&request)
        .await
        .map_err(|e| api_error(format!("{} of instance {id}", request.action), &e))?;
    st.instances.forget().await;
    Ok(())
}

/// The second half of [`set_power`]: waits until instance `id` is `target`.
pub(crate) async fn await_power(
    ctx: &Context,
    st: &ProviderState,
    id: &str,
    target: &InstanceStatus,
) -> Result<Instance, Diagnostics> {
    let deadline = ctx
        .deadline()
        .unwrap_or_else(|| Instant::now() + POWER_TIMEOUT);
    let reached = st
        .client
        .wait_for_instance(
            id,
            |i| i.status == *target,
            deadline,
            ctx.cancellation_token(),
        )
        .await;
    st.instances.forget().await;
    reached.map_err(|e| wait_error(id, target, e))
}

fn wait_error(id: &str, target: &InstanceStatus, e: WaitError) -> Diagnostics {
    Diagnostic::error(
        format!("Instance {id} did not become {target}"),
        e.to_string(),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::instances::{Lookup, READ_MAX_AGE};
    use crate::testing::{provider_state, running_instance};
    use test_support::datacrunch::{api, emulator};

    async fn directory_status(st: &ProviderState, id: &str) -> InstanceStatus {
        match st.instances.lookup(id, READ_MAX_AGE).await.unwrap() {
            Lookup::Found(i) => i.status,
            Lookup::Gone => panic!("instance {id} gone"),
        }
    }

    /// A read before the action takes a snapshot; a read right after it (well within
    /// the snapshot's age) must see the new status, not the snapshot's.
    #[tokio::test]
    async fn a_power_change_leaves_no_stale_status_in_the_instance_directory() {
        let emu = emulator();
        let client = api(&emu);
        let id = running_instance(&client, "power-cache").await;
        let st = provider_state(client);
        let ctx = Context::for_tests(Some(st.clone()));
        assert_eq!(directory_status(&st, &id).await, InstanceStatus::Running);

        let (action, target) = power_action("shutdown").unwrap();
        set_power(&ctx, &st, &id, action, &target).await.unwrap();
        assert_eq!(directory_status(&st, &id).await, InstanceStatus::Offline);

        let (action, target) = power_action("start").unwrap();
        set_power(&ctx, &st, &id, action, &target).await.unwrap();
        assert_eq!(directory_status(&st, &id).await, InstanceStatus::Running);
    }
}
