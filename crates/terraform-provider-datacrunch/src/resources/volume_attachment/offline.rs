//! The API's rule for attachments: a volume is attached to or detached from an instance
//! only while the instance is shut down (`offline`). Here: the plan-time refusal when it
//! is not and `allow_power_cycle` is off, and the apply-time dance when it is on (shut
//! down, change, start again, say so).

use crate::actions::set_power;
use crate::diagnostics::api_error;
use crate::state::ProviderState;
use datacrunch_client::Client;
use datacrunch_models::{Instance, InstanceAction, InstanceStatus};
use std::future::Future;
use std::time::Duration;
use tfplugin::{AttributePath, Context, Diagnostic, Diagnostics};
use tokio::time::Instant;

/// How long to wait for a new instance to finish provisioning before attaching, when
/// Terraform sets no deadline.
const PROVISIONING_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Why the plan (or a destroy) is refused: the instance is not shut down and the
/// configuration did not allow the provider to power-cycle it.
pub fn refusal(what: &str, instance: &str, status: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Instance {instance} must be shut down to {what} a volume"),
        format!(
            "Instance {instance} is {status}. The DataCrunch API attaches and detaches \
             volumes only while the instance is shut down (offline). Shut it down first \
             (the datacrunch_instance_power action), or set allow_power_cycle = true to let \
             the provider shut it down, {what} the volume and start it again."
        ),
    )
    .at(AttributePath::new("allow_power_cycle"))
    .into()
}

/// The instance once it has left `ordered`/`provisioning` (a new instance ends
/// `running`).
async fn settled(ctx: &Context, client: &Client, id: &str) -> Result<Instance, Diagnostics> {
    let deadline = ctx
        .deadline()
        .unwrap_or_else(|| Instant::now() + PROVISIONING_TIMEOUT);
    client
        .wait_for_instance(
            id,
            |i| {
                !matches!(
                    i.status,
                    InstanceStatus::Ordered | InstanceStatus::Provisioning
                )
            },
            deadline,
            ctx.cancellation_token(),
        )
        .await
        .map_err(|e| {
            Diagnostic::error(
                format!("Instance {id} did not finish provisioning"),
                e.to_string(),
            )
            .into()
        })
}

/// Runs `change` (an attach or a detach, `what` names it) with the instance shut down:
/// at once when it is `offline`; when it is `running` and `allow_power_cycle`, between a
/// shutdown and a start, with a warning saying so (the instance is started again even
/// when the change fails); otherwise refused.
pub async fn with_instance_offline<F, Fut>(
    ctx: &Context,
    st: &ProviderState,
    instance_id: &str,
    allow_power_cycle: bool,
    what: &str,
    change: F,
) -> Result<(), Diagnostics>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), Diagnostics>>,
{
    let client = &st.client;
    let instance = client
        .instance(instance_id)
        .await
        .map_err(|e| api_error(format!("Reading instance {instance_id}"), &e))?;
    let instance = match instance.status {
        InstanceStatus::Ordered | InstanceStatus::Provisioning => {
            settled(ctx, client, instance_id).await?
        }
        _ => instance,
    };
    match instance.status {
        InstanceStatus::Offline => change().await,
        InstanceStatus::Running if allow_power_cycle => {
            set_power(
                ctx,
                st,
                instance_id,
                InstanceAction::Shutdown,
                &InstanceStatus::Offline,
            )
            .await?;
            let changed = change().await;
            set_power(
                ctx,
                st,
                instance_id,
                InstanceAction::Start,
                &InstanceStatus::Running,
            )
            .await?;
            changed?;
            ctx.warn(
                format!("Instance {instance_id} was power-cycled"),
                format!(
                    "allow_power_cycle is set and the instance was running: it was shut down, \
                     the volume {what}ed, and the instance started again."
                ),
            );
            Ok(())
        }
        ref status => Err(refusal(what, instance_id, status.as_str())),
    }
}
