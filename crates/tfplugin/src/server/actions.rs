//! Actions and provider-defined functions on the wire: validate, plan and
//! invoke (streaming progress, then a completion carrying the
//! diagnostics); function signatures and calls.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::convert;
use super::grpc::{ActionEntry, ProviderService};
use super::query::EventStream;
use crate::action::Progress;
use crate::diag::{Diagnostic, Diagnostics};
use crate::function::{Function, FunctionError};
use crate::proto::tfplugin6 as pb;
use crate::value::Value;

use pb::invoke_action::event::{Completed, Type as EventType};

const PROGRESS_BUFFER: usize = 16;

fn completed(d: Diagnostics) -> pb::invoke_action::Event {
    pb::invoke_action::Event {
        r#type: Some(EventType::Completed(Completed {
            diagnostics: convert::diagnostics(d),
        })),
    }
}

impl ProviderService {
    fn action_entry(&self, name: &str) -> Result<&ActionEntry, Diagnostics> {
        self.actions
            .get(name)
            .ok_or_else(|| super::grpc::unknown_type("action", name))
    }

    pub(super) async fn validate_action(
        &self,
        r: pb::validate_action_config::Request,
    ) -> Diagnostics {
        let entry = match self.action_entry(&r.type_name) {
            Ok(e) => e,
            Err(d) => return d,
        };
        let imp = entry.imp.clone();
        self.validate_with(&entry.schema, &r.config, async |ctx, v| {
            imp.validate(ctx, v).await
        })
        .await
    }

    pub(super) async fn check_action_plan(&self, r: pb::plan_action::Request) -> Diagnostics {
        tracing::debug!(tf_rpc = "PlanAction", tf_action_type = %r.action_type);
        let entry = match self.action_entry(&r.action_type) {
            Ok(e) => e,
            Err(d) => return d,
        };
        let config = match convert::decode(&r.config, &entry.schema.value_type()) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let ctx = self.context(None);
        let mut diags = match entry.imp.plan(&ctx, &config).await {
            Ok(()) => Diagnostics::new(),
            Err(d) => d,
        };
        diags.extend(ctx.take_warnings());
        diags
    }

    /// Runs an action on its own task: progress events as it reports them,
    /// then one completion event.
    pub(super) fn spawn_action(
        &self,
        r: pb::invoke_action::Request,
    ) -> EventStream<pb::invoke_action::Event> {
        tracing::debug!(tf_rpc = "InvokeAction", tf_action_type = %r.action_type);
        let (events, rx) = mpsc::channel(PROGRESS_BUFFER);
        let setup = self.action_entry(&r.action_type).and_then(|e| {
            let config = convert::decode(&r.config, &e.schema.value_type())?;
            if !config.is_wholly_known() {
                return Err(Diagnostic::error(
                    "Action configuration is not known",
                    format!(
                        "{} can only run once every value of its configuration is known.",
                        r.action_type
                    ),
                )
                .into());
            }
            Ok((e.imp.clone(), config))
        });
        let (imp, config) = match setup {
            Ok(x) => x,
            Err(d) => {
                let _ = events.try_send(Ok(completed(d)));
                return Box::pin(ReceiverStream::new(rx));
            }
        };
        let ctx = self.context(None);
        tokio::spawn(async move {
            let (progress_tx, mut progress_rx) = mpsc::channel(PROGRESS_BUFFER);
            let run = async move {
                let progress = Progress { tx: progress_tx };
                let result = imp.invoke(&ctx, &config, &progress).await;
                drop(progress);
                (result, ctx.take_warnings())
            };
            let forward = async {
                while let Some(message) = progress_rx.recv().await {
                    let event = pb::invoke_action::Event {
                        r#type: Some(EventType::Progress(pb::invoke_action::event::Progress {
                            message,
                        })),
                    };
                    let _ = events.send(Ok(event)).await;
                }
            };
            let ((result, mut diags), ()) = tokio::join!(run, forward);
            if let Err(d) = result {
                diags.extend(d);
            }
            let _ = events.send(Ok(completed(diags))).await;
        });
        Box::pin(ReceiverStream::new(rx))
    }

    pub(super) fn function_signatures(&self) -> std::collections::HashMap<String, pb::Function> {
        self.functions
            .iter()
            .map(|(name, f)| (name.clone(), convert::function(&f.signature())))
            .collect()
    }

    pub(super) fn run_function(
        &self,
        r: pb::call_function::Request,
    ) -> Result<pb::DynamicValue, FunctionError> {
        tracing::debug!(tf_rpc = "CallFunction", name = %r.name);
        let f = self.functions.get(&r.name).ok_or_else(|| {
            FunctionError::new(format!("This provider has no function named {:?}.", r.name))
        })?;
        let args = decode_arguments(f.as_ref(), &r.arguments)?;
        let result = f.call(&args)?;
        let ty = f.signature().returns;
        convert::encode(&result, &ty).map_err(|d| {
            FunctionError::new(
                d.into_iter()
                    .map(|d| format!("{}: {}", d.summary, d.detail))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

fn decode_arguments(
    f: &dyn Function,
    raw: &[pb::DynamicValue],
) -> Result<Vec<Value>, FunctionError> {
    let params = f.signature().parameters;
    if raw.len() != params.len() {
        return Err(FunctionError::new(format!(
            "{} takes {} arguments, got {}.",
            f.name(),
            params.len(),
            raw.len()
        )));
    }
    params
        .iter()
        .zip(raw)
        .enumerate()
        .map(|(i, (p, dv))| {
            convert::decode(&Some(dv.clone()), &p.ty).map_err(|d| {
                let text = d
                    .into_iter()
                    .map(|d| d.detail)
                    .collect::<Vec<_>>()
                    .join("; ");
                FunctionError::argument(i, format!("{}: {text}", p.name))
            })
        })
        .collect()
}
