//! The tfplugin6.Provider gRPC service: decodes requests, dispatches to the
//! author's [`Provider`], resources and data sources (in `ops`), encodes
//! responses. Every user-facing failure is returned as diagnostics with an
//! OK status; gRPC errors are reserved for transport problems.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert;
use crate::action::Action;
use crate::context::{Context, ProviderData};
use crate::diag::{Diagnostic, Diagnostics};
use crate::function::Function;
use crate::list::ListResource;
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as ProviderRpc;
use crate::schema::{reject_write_only, validate_config, IdentitySchema, Schema};
use crate::traits::{DataSource, Provider, Resource};

/// A resource with its schemas computed once.
#[derive(Clone)]
pub(super) struct ResourceEntry {
    pub imp: Arc<dyn Resource>,
    pub schema: Schema,
    pub identity: Option<IdentitySchema>,
}

/// A list resource with the schema of its `config` block computed once.
pub(super) struct ListEntry {
    pub imp: Arc<dyn ListResource>,
    pub schema: Schema,
}

/// An action with its schema computed once.
pub(super) struct ActionEntry {
    pub imp: Arc<dyn Action>,
    pub schema: Schema,
}

/// The gRPC service wrapping a [`Provider`]; public so tests can serve it
/// in-process on their own transport.
pub struct ProviderService {
    provider: Arc<dyn Provider>,
    pub(super) provider_schema: Schema,
    pub(super) resources: BTreeMap<String, ResourceEntry>,
    pub(super) data_sources: BTreeMap<String, (Arc<dyn DataSource>, Schema)>,
    pub(super) list_resources: BTreeMap<String, ListEntry>,
    pub(super) actions: BTreeMap<String, ActionEntry>,
    pub(super) functions: BTreeMap<String, Arc<dyn Function>>,
    data: RwLock<Option<ProviderData>>,
    tf_version: RwLock<String>,
    /// Cancelled by StopProvider, then replaced by a fresh one: operations
    /// in flight are cancelled, later calls run normally (as with
    /// terraform-plugin-go). Every operation's context holds a child of it.
    stop: Mutex<CancellationToken>,
    /// Cancelled by the first StopProvider and never renewed: Terraform is stopping.
    stop_requested: CancellationToken,
}

pub(super) fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: true,
        generate_resource_config: true,
    }
}

type RpcResult<T> = Result<Response<T>, Status>;

impl ProviderService {
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                let schema = r.schema();
                let identity = r.identity_schema();
                (
                    r.type_name(),
                    ResourceEntry {
                        imp: r,
                        schema,
                        identity,
                    },
                )
            })
            .collect();
        let list_resources = provider
            .list_resources()
            .into_iter()
            .map(|l| {
                let schema = l.schema();
                (l.type_name(), ListEntry { imp: l, schema })
            })
            .collect();
        let actions = provider
            .actions()
            .into_iter()
            .map(|a| {
                let schema = a.schema();
                (a.type_name(), ActionEntry { imp: a, schema })
            })
            .collect();
        let functions = provider
            .functions()
            .into_iter()
            .map(|f| (f.name(), f))
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                let s = d.schema();
                (d.type_name(), (d, s))
            })
            .collect();
        Self {
            provider_schema: provider.schema(),
            provider,
            resources,
            data_sources,
            list_resources,
            actions,
            functions,
            data: RwLock::new(None),
            tf_version: RwLock::new(String::new()),
            stop: Mutex::new(CancellationToken::new()),
            stop_requested: CancellationToken::new(),
        }
    }

    /// Cancels `token` when Terraform calls StopProvider (the signal handling of
    /// [`super::serve`] treats a SIGINT after that as a forced stop).
    pub(super) fn notify_stop(mut self, token: CancellationToken) -> Self {
        self.stop_requested = token;
        self
    }

    /// A context for one call, with an optional deadline.
    pub(super) fn context(&self, timeout: Option<std::time::Duration>) -> Context {
        let data = self.data.read().ok().and_then(|d| d.clone());
        let version = self
            .tf_version
            .read()
            .map(|v| v.clone())
            .unwrap_or_default();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let cancel = self.stop_token().child_token();
        Context::new(cancel, deadline, data, version)
    }

    /// The current stop token. A poisoned lock still holds a valid token.
    fn stop_token(&self) -> std::sync::MutexGuard<'_, CancellationToken> {
        self.stop.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn resource(&self, name: &str) -> Result<&ResourceEntry, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    fn data_source(&self, name: &str) -> Result<&(Arc<dyn DataSource>, Schema), Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }

    pub(super) async fn validate_with(
        &self,
        schema: &Schema,
        config: &Option<pb::DynamicValue>,
        custom: impl AsyncFnOnce(&Context, &crate::value::Value) -> Result<(), Diagnostics>,
    ) -> Diagnostics {
        let config = match convert::decode(config, &schema.value_type()) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let mut diags = validate_config(&schema.block, &config);
        let ctx = self.context(None);
        if let Err(d) = custom(&ctx, &config).await {
            diags.extend(d);
        }
        diags.extend(ctx.take_warnings());
        diags
    }
}

pub(super) fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {name:?}."),
    )
    .into()
}

#[tonic::async_trait]
impl ProviderRpc for ProviderService {
    async fn get_metadata(
        &self,
        _r: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        Ok(Response::new(self.metadata()))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        Ok(Response::new(self.provider_schemas()))
    }

    async fn get_resource_identity_schemas(
        &self,
        _r: Request<pb::get_resource_identity_schemas::Request>,
    ) -> RpcResult<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .resources
                .iter()
                .filter_map(|(k, e)| {
                    let s = e.identity.as_ref()?;
                    Some((k.clone(), convert::identity_schema(s)))
                })
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        r: Request<pb::upgrade_resource_identity::Request>,
    ) -> RpcResult<pb::upgrade_resource_identity::Response> {
        let (identity, diags) = split(self.upgrade_identity(r.into_inner()).await);
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: identity,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        let r = r.into_inner();
        let p = self.provider.clone();
        let diags = self
            .validate_with(&self.provider_schema, &r.config, async |ctx, v| {
                p.validate(ctx, v).await
            })
            .await;
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> RpcResult<pb::validate_resource_config::Response> {
        let r = r.into_inner();
        let diags = match self.resource(&r.type_name) {
            Err(d) => d,
            Ok(e) => {
                let imp = e.imp.clone();
                let write_only_allowed = r
                    .client_capabilities
                    .is_some_and(|c| c.write_only_attributes_allowed);
                self.validate_with(&e.schema, &r.config, async |ctx, v| {
                    if !write_only_allowed {
                        let refused = reject_write_only(&e.schema.block, v);
                        if !refused.is_empty() {
                            return Err(refused);
                        }
                    }
                    imp.validate(ctx, v).await
                })
                .await
            }
        };
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> RpcResult<pb::validate_data_resource_config::Response> {
        let r = r.into_inner();
        let diags = match self.data_source(&r.type_name) {
            Err(d) => d,
            Ok((imp, schema)) => {
                let imp = imp.clone();
                self.validate_with(schema, &r.config, async |ctx, v| imp.validate(ctx, v).await)
                    .await
            }
        };
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let (state, diags) = split(self.upgrade(r.into_inner()).await);
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: state,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let r = r.into_inner();
        if let Ok(mut v) = self.tf_version.write() {
            v.clone_from(&r.terraform_version);
        }
        tracing::debug!(terraform_version = %r.terraform_version, "ConfigureProvider");
        let mut diags = Diagnostics::new();
        match convert::decode(&r.config, &self.provider_schema.value_type()) {
            Err(d) => diags.extend(d),
            Ok(config) => {
                let ctx = self.context(None);
                match self.provider.configure(&ctx, &config).await {
                    Ok(data) => {
                        if let Ok(mut slot) = self.data.write() {
                            *slot = Some(data);
                        }
                    }
                    Err(d) => diags.extend(d),
                }
                diags.extend(ctx.take_warnings());
            }
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        r: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let r = r.into_inner();
        let private = r.private.clone();
        let (out, diags) = split(self.read(r).await);
        let (state, identity) = out.unzip();
        Ok(Response::new(pb::read_resource::Response {
            new_state: state,
            diagnostics: convert::diagnostics(diags),
            private,
            deferred: None,
            new_identity: identity.flatten(),
        }))
    }

    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let r = r.into_inner();
        let private = r.prior_private.clone();
        let (out, diags) = split(self.plan(r).await);
        let (planned, replace, identity) = match out {
            Some((p, r, i)) => (Some(p), r, i),
            None => (None, Vec::new(), None),
        };
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state: planned,
            requires_replace: replace.iter().map(convert::path).collect(),
            planned_private: private,
            diagnostics: convert::diagnostics(diags),
            legacy_type_system: false,
            deferred: None,
            planned_identity: identity,
        }))
    }

    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let r = r.into_inner();
        let private = r.planned_private.clone();
        let (new_state, new_identity, diags) = self.apply(r).await;
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics: convert::diagnostics(diags),
            legacy_type_system: false,
            new_identity,
        }))
    }

    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let r = r.into_inner();
        let (state, diags) = split(self.import(&r.type_name, &r.id, r.identity.as_ref()).await);
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: state
                .map(
                    |(s, identity)| pb::import_resource_state::ImportedResource {
                        type_name: r.type_name.clone(),
                        state: Some(s),
                        private: Vec::new(),
                        identity,
                    },
                )
                .into_iter()
                .collect(),
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let r = r.into_inner();
        let (state, diags) = split(self.read_data(&r.type_name, &r.config).await);
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        r: Request<pb::move_resource_state::Request>,
    ) -> RpcResult<pb::move_resource_state::Response> {
        let (out, diags) = split(self.move_state(r.into_inner()).await);
        let (state, identity) = out.unzip();
        Ok(Response::new(pb::move_resource_state::Response {
            target_state: state,
            diagnostics: convert::diagnostics(diags),
            target_private: Vec::new(),
            target_identity: identity.flatten(),
        }))
    }

    async fn generate_resource_config(
        &self,
        r: Request<pb::generate_resource_config::Request>,
    ) -> RpcResult<pb::generate_resource_config::Response> {
        let (config, diags) = match self.generate_config(r.into_inner()) {
            Ok(c) => (Some(c), Diagnostics::new()),
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::generate_resource_config::Response {
            config,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn list_resource(
        &self,
        r: Request<pb::list_resource::Request>,
    ) -> RpcResult<super::query::EventStream<pb::list_resource::Event>> {
        Ok(Response::new(self.list(r.into_inner())))
    }

    async fn validate_list_resource_config(
        &self,
        r: Request<pb::validate_list_resource_config::Request>,
    ) -> RpcResult<pb::validate_list_resource_config::Response> {
        let diags = self.validate_list(r.into_inner()).await;
        Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn get_functions(
        &self,
        _r: Request<pb::get_functions::Request>,
    ) -> RpcResult<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: self.function_signatures(),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        r: Request<pb::call_function::Request>,
    ) -> RpcResult<pb::call_function::Response> {
        let (result, error) = match self.run_function(r.into_inner()) {
            Ok(v) => (Some(v), None),
            Err(e) => (
                None,
                Some(pb::FunctionError {
                    text: e.text,
                    function_argument: e.argument.and_then(|i| i64::try_from(i).ok()),
                }),
            ),
        };
        Ok(Response::new(pb::call_function::Response { result, error }))
    }

    async fn validate_action_config(
        &self,
        r: Request<pb::validate_action_config::Request>,
    ) -> RpcResult<pb::validate_action_config::Response> {
        let diags = self.validate_action(r.into_inner()).await;
        Ok(Response::new(pb::validate_action_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn plan_action(
        &self,
        r: Request<pb::plan_action::Request>,
    ) -> RpcResult<pb::plan_action::Response> {
        let diags = self.check_action_plan(r.into_inner()).await;
        Ok(Response::new(pb::plan_action::Response {
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn invoke_action(
        &self,
        r: Request<pb::invoke_action::Request>,
    ) -> RpcResult<super::query::EventStream<pb::invoke_action::Event>> {
        Ok(Response::new(self.spawn_action(r.into_inner())))
    }

    async fn stop_provider(
        &self,
        _r: Request<pb::stop_provider::Request>,
    ) -> RpcResult<pb::stop_provider::Response> {
        tracing::info!("StopProvider: cancelling in-flight operations");
        let in_flight = std::mem::take(&mut *self.stop_token());
        in_flight.cancel();
        self.stop_requested.cancel();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

/// Splits an operation result into (value, diagnostics) for a response:
/// warnings travel with the value, errors replace it.
pub(super) fn split<T>(r: Result<(T, Diagnostics), Diagnostics>) -> (Option<T>, Diagnostics) {
    match r {
        Ok((v, d)) => (Some(v), d),
        Err(d) => (None, d),
    }
}

impl ProviderService {
    async fn read_data(
        &self,
        type_name: &str,
        config: &Option<pb::DynamicValue>,
    ) -> Result<(pb::DynamicValue, Diagnostics), Diagnostics> {
        let (imp, schema) = self.data_source(type_name)?;
        let ty = schema.value_type();
        let config = convert::decode(config, &ty)?;
        let ctx = self.context(None);
        let state = imp.read(&ctx, &config).await?.conform(&ty)?;
        let problems = crate::plan::check_data_source(&schema.block, &config, &state);
        if problems.has_errors() {
            return Err(problems);
        }
        if !state.is_wholly_known() {
            return Err(Diagnostic::error(
                "Provider bug: data source returned unknown values",
                format!("{type_name} must return a wholly known value."),
            )
            .into());
        }
        Ok((convert::encode(&state, &ty)?, ctx.take_warnings()))
    }
}
