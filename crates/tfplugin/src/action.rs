//! Actions (Terraform 1.14+ `action` blocks): operations with side effects
//! that are not a resource's lifecycle, run by `terraform apply
//! -invoke=action.TYPE.NAME` or by a resource's `lifecycle { action_trigger
//! { ... } }`. They are planned (validated, possibly with unknowns) and then
//! invoked, reporting progress as they go.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::context::Context;
use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::value::Value;

/// Sends progress messages to Terraform, which shows them as the action runs.
#[derive(Clone)]
pub struct Progress {
    pub(crate) tx: mpsc::Sender<String>,
}

impl Progress {
    /// Reports one step (ignored if Terraform already went away).
    pub async fn report(&self, message: impl Into<String>) {
        let _ = self.tx.send(message.into()).await;
    }
}

/// An action type.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    /// The full type name, e.g. `cloud_instance_reboot`.
    fn type_name(&self) -> String;

    /// The schema of the action's `config { }` block.
    fn schema(&self) -> Schema;

    /// Extra configuration checks beyond the schema's validators. Values may be unknown.
    async fn validate(&self, _ctx: &Context, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Plan-time checks (the provider is configured; values may be unknown).
    async fn plan(&self, _ctx: &Context, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Runs the action with a wholly known configuration.
    async fn invoke(
        &self,
        ctx: &Context,
        config: &Value,
        progress: &Progress,
    ) -> Result<(), Diagnostics>;
}
