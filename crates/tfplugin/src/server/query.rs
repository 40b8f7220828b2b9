//! `terraform query` on the wire: list resources streaming what they find
//! (identity, display name and, when asked, the whole state), and
//! configuration generated from a state for `-generate-config-out`.

use std::pin::Pin;
use std::sync::atomic::AtomicUsize;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

use super::convert;
use super::grpc::{ListEntry, ProviderService, ResourceEntry};
use crate::diag::{Diagnostic, Diagnostics};
use crate::list::{ListItem, ListRequest, ListSink};
use crate::proto::tfplugin6 as pb;
use crate::value::Value;

pub(super) type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Events buffered between the list resource and Terraform.
const LIST_BUFFER: usize = 16;

/// The `limit` of a `list` block when Terraform sends none.
const DEFAULT_LIMIT: usize = 100;

fn diagnostics_event(d: Diagnostics) -> pb::list_resource::Event {
    pb::list_resource::Event {
        diagnostic: convert::diagnostics(d),
        ..Default::default()
    }
}

/// One found object as an event: its identity always, its state if asked.
fn item_event(
    resource: &ResourceEntry,
    item: ListItem,
    include_resource: bool,
) -> Result<pb::list_resource::Event, Diagnostics> {
    let ty = resource.schema.value_type();
    let state = item.state.conform(&ty)?;
    let Some(schema) = &resource.identity else {
        return Err(Diagnostic::error(
            "Provider bug: listed resource type has no identity",
            format!(
                "{} must have an identity schema to be listed.",
                resource.imp.type_name()
            ),
        )
        .into());
    };
    let id_ty = schema.value_type();
    let identity = resource.imp.identity(schema, &state).conform(&id_ty)?;
    Ok(pb::list_resource::Event {
        identity: Some(pb::ResourceIdentityData {
            identity_data: Some(convert::encode(&identity, &id_ty)?),
        }),
        display_name: item.display_name,
        resource_object: if include_resource {
            Some(convert::encode(&state, &ty)?)
        } else {
            None
        },
        diagnostic: Vec::new(),
    })
}

impl ProviderService {
    pub(super) fn list_entry(&self, name: &str) -> Result<&ListEntry, Diagnostics> {
        self.list_resources
            .get(name)
            .ok_or_else(|| super::grpc::unknown_type("list resource", name))
    }

    /// Runs a list resource on its own task, streaming one event per object.
    pub(super) fn list(
        &self,
        r: pb::list_resource::Request,
    ) -> EventStream<pb::list_resource::Event> {
        tracing::debug!(tf_rpc = "ListResource", tf_resource_type = %r.type_name, limit = r.limit);
        let (events, rx) = mpsc::channel(LIST_BUFFER);
        let setup = self.list_entry(&r.type_name).and_then(|l| {
            let resource = self.resource(&r.type_name)?;
            let config = convert::decode(&r.config, &l.schema.value_type())?;
            Ok((l.imp.clone(), resource.clone(), config))
        });
        let (imp, resource, config) = match setup {
            Ok(x) => x,
            Err(d) => {
                // The channel has room for this one event.
                let _ = events.try_send(Ok(diagnostics_event(d)));
                return Box::pin(ReceiverStream::new(rx));
            }
        };
        let request = ListRequest {
            config,
            include_resource: r.include_resource_object,
            limit: usize::try_from(r.limit)
                .ok()
                .filter(|l| *l > 0)
                .unwrap_or(DEFAULT_LIMIT),
        };
        let ctx = self.context(None);
        tokio::spawn(async move {
            let (items_tx, mut items) = mpsc::channel(LIST_BUFFER);
            let sink = ListSink {
                tx: items_tx,
                remaining: AtomicUsize::new(request.limit),
            };
            let include = request.include_resource;
            let produce = async move {
                let result = imp.list(&ctx, &request, &sink).await;
                drop(sink);
                (result, ctx.take_warnings())
            };
            let forward = async {
                while let Some(item) = items.recv().await {
                    let event =
                        item_event(&resource, item, include).unwrap_or_else(diagnostics_event);
                    if events.send(Ok(event)).await.is_err() {
                        break;
                    }
                }
            };
            let ((result, mut diags), ()) = tokio::join!(produce, forward);
            if let Err(d) = result {
                diags.extend(d);
            }
            if !diags.is_empty() {
                let _ = events.send(Ok(diagnostics_event(diags))).await;
            }
        });
        Box::pin(ReceiverStream::new(rx))
    }

    pub(super) async fn validate_list(
        &self,
        r: pb::validate_list_resource_config::Request,
    ) -> Diagnostics {
        let entry = match self.list_entry(&r.type_name) {
            Ok(e) => e,
            Err(d) => return d,
        };
        let imp = entry.imp.clone();
        self.validate_with(&entry.schema, &r.config, async |ctx, v| {
            imp.validate(ctx, v).await
        })
        .await
    }

    pub(super) fn generate_config(
        &self,
        r: pb::generate_resource_config::Request,
    ) -> Result<pb::DynamicValue, Diagnostics> {
        tracing::debug!(tf_rpc = "GenerateResourceConfig", tf_resource_type = %r.type_name);
        let entry = self.resource(&r.type_name)?;
        let ty = entry.schema.value_type();
        let state = convert::decode(&r.state, &ty)?;
        if state.is_null() {
            return convert::encode(&Value::Null, &ty);
        }
        let config = entry.imp.generate_config(&state)?.conform(&ty)?;
        convert::encode(&config, &ty)
    }
}
