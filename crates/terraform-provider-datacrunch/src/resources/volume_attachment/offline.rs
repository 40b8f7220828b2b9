//! The API's rule for attachments: a volume is attached to or detached from an instance
//! only while the instance is shut down (`offline`). Here: the plan-time refusal when it
//! is not and `allow_power_cycle` is off, and the apply-time dance when it is on (shut
//! down, change, start again, say so).

use crate::actions::{await_power, send_power};
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
    // A destroy plans from the state alone, and Terraform does not tell the provider
    // whether the instance is going too.
    let destroy_hint = if what == "detach" {
        " A destroy uses the allow_power_cycle in the state: apply that change before \
         destroying. This holds when the instance is destroyed in the same run too."
    } else {
        ""
    };
    Diagnostic::error(
        format!("Instance {instance} must be shut down to {what} a volume"),
        format!(
            "Instance {instance} is {status}. The DataCrunch API attaches and detaches \
             volumes only while the instance is shut down (offline). Shut it down first \
             (the datacrunch_instance_power action), or set allow_power_cycle = true to let \
             the provider shut it down, {what} the volume and start it again.{destroy_hint}"
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
/// shutdown and a start, with a warning saying so; otherwise refused. The instance's
/// power lock is held throughout, the plain change of an offline instance included, so
/// that a power cycle of another attachment of the same instance cannot start it
/// underneath.
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
    let _power = ctx
        .run(async { Ok(st.power.lock(instance_id).await) })
        .await?;
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
            power_cycle(ctx, st, instance_id, change).await?;
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

/// Shuts the instance down, runs `change`, starts it again. Once the API has accepted
/// the shutdown the instance is started again whatever follows: the wait for `offline`
/// failing, timing out or being cancelled, or the change failing. Every error is
/// reported, not only the last.
async fn power_cycle<F, Fut>(
    ctx: &Context,
    st: &ProviderState,
    instance_id: &str,
    change: F,
) -> Result<(), Diagnostics>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), Diagnostics>>,
{
    // The shutdown request is not abandoned half-way (whether it was accepted decides
    // whether to start again), so a cancelled operation stops before it.
    ctx.check()?;
    send_power(st, instance_id, InstanceAction::Shutdown).await?;
    let mut errors = Diagnostics::new();
    match await_power(ctx, st, instance_id, &InstanceStatus::Offline).await {
        Ok(_) => {
            if let Err(e) = change().await {
                errors.extend(e);
            }
        }
        Err(e) => errors.extend(e),
    }
    if let Err(e) = start_again(ctx, st, instance_id).await {
        errors.extend(e);
    }
    errors.into_result()
}

/// Starts the instance after a power cycle. The request is sent even when the
/// operation was cancelled or ran out of time (an instance left off unasked is the
/// worse outcome); waiting for `running` is then skipped, with a warning.
async fn start_again(
    ctx: &Context,
    st: &ProviderState,
    instance_id: &str,
) -> Result<(), Diagnostics> {
    send_power(st, instance_id, InstanceAction::Start)
        .await
        .map_err(|mut e| {
            e.error(
                format!("Instance {instance_id} may still be shut down"),
                "allow_power_cycle shut it down to change a volume attachment and starting \
                 it again failed. Start it with the datacrunch_instance_power action or the \
                 DataCrunch console.",
            );
            e
        })?;
    if ctx.check().is_err() {
        ctx.warn(
            format!("Instance {instance_id} was asked to start; not waited for"),
            "The operation was cancelled or ran out of time after the instance was shut \
             down: the start was requested but not seen through. Check that it is running.",
        );
        return Ok(());
    }
    await_power(ctx, st, instance_id, &InstanceStatus::Running)
        .await
        .map(drop)
}
