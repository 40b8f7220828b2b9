//! List resources (Terraform 1.14+ `terraform query`): a `list` block's
//! configuration filters the remote objects of a managed resource type, and
//! each object found streams back to Terraform as it is found, with its
//! identity (so the user can import it) and, when asked, its whole state
//! (so Terraform can generate configuration for it).

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::context::Context;
use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::value::Value;

/// What a `list` block asks for.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// The `config { }` block, per the list resource's schema.
    pub config: Value,
    /// Whether Terraform wants whole states (`include_resource = true`, and
    /// always for `-generate-config-out`).
    pub include_resource: bool,
    /// At most this many objects (Terraform's `limit`, 100 unless set).
    pub limit: usize,
}

/// One object found.
#[derive(Debug, Clone)]
pub struct ListItem {
    /// A human-readable name for `terraform query` output.
    pub display_name: String,
    /// The object's state under the managed resource's schema, as `read`
    /// would return it; its identity is derived from it.
    pub state: Value,
}

/// Where a list resource sends what it finds. Items go to Terraform as they
/// are sent; the sink stops accepting at the request's limit.
pub struct ListSink {
    pub(crate) tx: mpsc::Sender<ListItem>,
    pub(crate) remaining: std::sync::atomic::AtomicUsize,
}

impl ListSink {
    /// Sends one item. Returns false when no more are wanted (the limit was
    /// reached or Terraform went away): stop listing then.
    pub async fn send(&self, item: ListItem) -> bool {
        use std::sync::atomic::Ordering;
        let left = self.remaining.load(Ordering::SeqCst);
        if left == 0 {
            return false;
        }
        if self.tx.send(item).await.is_err() {
            return false;
        }
        self.remaining.store(left - 1, Ordering::SeqCst);
        left > 1
    }
}

/// A list resource type: named like the managed resource type it lists.
#[async_trait]
pub trait ListResource: Send + Sync + 'static {
    /// The type name, the same as the managed resource type's.
    fn type_name(&self) -> String;

    /// The schema of the `config { }` block (the filters).
    fn schema(&self) -> Schema;

    /// Extra checks of the `config { }` block beyond the schema's validators.
    async fn validate(&self, _ctx: &Context, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Finds the objects matching `request` and sends each to `sink`.
    async fn list(
        &self,
        ctx: &Context,
        request: &ListRequest,
        sink: &ListSink,
    ) -> Result<(), Diagnostics>;
}
