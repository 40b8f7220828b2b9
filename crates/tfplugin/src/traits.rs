//! The traits provider authors implement. All are object-safe (through
//! `async_trait`) so a provider is a list of `Arc<dyn Resource>`; every
//! method receives a [`Context`] and returns `Result<_, Diagnostics>`.
//! Values come as [`Value`]s; map them to your own serde structs with
//! [`Value::decode`] and back with [`Value::encode`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::action::Action;
use crate::context::{Context, ProviderData};
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::function::Function;
use crate::list::ListResource;
use crate::schema::timeouts::Operation;
use crate::schema::{IdentitySchema, Schema};
use crate::value::Value;

/// A provider: its own configuration plus the resources and data sources it offers.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The source address users write in `required_providers`, e.g.
    /// `registry.terraform.io/acme/cloud`; used by `--debug` reattach output.
    fn address(&self) -> String;

    /// The schema of the `provider "..." {}` block.
    fn schema(&self) -> Schema;

    /// Extra checks on the provider configuration beyond the schema's validators.
    async fn validate(&self, _ctx: &Context, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Builds the shared state (typically an API client) from the
    /// configuration, which may contain unknown values.
    async fn configure(&self, ctx: &Context, config: &Value) -> Result<ProviderData, Diagnostics>;

    /// The managed resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;

    /// The data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }

    /// The list resource types (`list` blocks of `terraform query`, 1.14+);
    /// each lists objects of the managed resource type of the same name,
    /// which must have an identity.
    fn list_resources(&self) -> Vec<Arc<dyn ListResource>> {
        Vec::new()
    }

    /// The action types (`action` blocks, 1.14+).
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }

    /// The provider-defined functions (`provider::NAME::FUNCTION`, 1.8+).
    fn functions(&self) -> Vec<Arc<dyn Function>> {
        Vec::new()
    }
}

/// A resource state stored by another resource type, possibly of another
/// provider, that a `moved` block asks to move into one of ours.
#[derive(Debug, Clone)]
pub struct MoveSource {
    /// The source provider's address, e.g. `registry.terraform.io/acme/old`.
    pub provider_address: String,
    pub type_name: String,
    pub schema_version: i64,
    /// The stored state as JSON, in the source's schema.
    pub state: serde_json::Value,
}

/// A plan under construction, handed to [`Resource::modify_plan`] after the
/// generic planner did its work (unknowns, defaults, modifiers).
pub struct PlanChange {
    /// Prior state; `None` when the resource is being created.
    pub prior: Option<Value>,
    /// The configuration (may contain unknowns).
    pub config: Value,
    /// The planned new state; edit computed attributes here.
    pub planned: Value,
    /// Attributes whose change forces replacement; add to it as needed.
    pub requires_replace: Vec<AttributePath>,
}

impl PlanChange {
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }

    /// Sets the planned value at `path` (e.g. a computed price from a catalog).
    pub fn set(&mut self, path: &AttributePath, v: Value) -> Result<(), Diagnostics> {
        match self.planned.at_mut(path) {
            Some(slot) => {
                *slot = v;
                Ok(())
            }
            None => Err(Diagnostic::error(
                "Provider bug: no such attribute in plan",
                format!("cannot set {path}"),
            )
            .into()),
        }
    }

    /// Marks `path` as forcing replacement (ignored on create).
    pub fn require_replace(&mut self, path: AttributePath) {
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// The full type name, e.g. `cloud_instance`.
    fn type_name(&self) -> String;

    fn schema(&self) -> Schema;

    /// Extra configuration checks beyond the schema's validators. Values may be unknown.
    async fn validate(&self, _ctx: &Context, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Optional plan hook: adjust computed values, add requires-replace
    /// paths or reject the plan (e.g. after checking a live catalog).
    /// Not called for destroy: see [`Resource::plan_destroy`].
    async fn modify_plan(&self, _ctx: &Context, _plan: &mut PlanChange) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Optional destroy-plan hook: `prior` is the state about to be destroyed. An
    /// error refuses the plan, so a destroy the provider cannot carry out is refused
    /// before anything is destroyed rather than half-way through an apply. (Terraform
    /// says nothing else about the destroy, e.g. whether it is `terraform destroy`.)
    async fn plan_destroy(&self, _ctx: &Context, _prior: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Creates the object. `planned` has unknowns where values are only
    /// known after apply; return the complete new state, without unknowns.
    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics>;

    /// Reads the object's current state; `Ok(None)` when it no longer exists.
    async fn read(&self, ctx: &Context, state: &Value) -> Result<Option<Value>, Diagnostics>;

    /// Updates the object in place (only called when no attribute requires replacement).
    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics>;

    /// Deletes the object. Treat "already gone" as success.
    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics>;

    /// Starts an import from a user-given ID. The default puts the ID in the
    /// `id` attribute; `read` then fills in the rest.
    async fn import(&self, _ctx: &Context, id: &str) -> Result<Value, Diagnostics> {
        if self.schema().block.get("id").is_none() {
            return Err(Diagnostic::error(
                "Import not supported",
                format!("{} cannot be imported.", self.type_name()),
            )
            .into());
        }
        Ok(Value::object([("id", Value::string(id))]))
    }

    /// Converts state stored under an older schema `version` (as JSON) to
    /// JSON matching the current schema. The default accepts only the
    /// current version.
    async fn upgrade(
        &self,
        _ctx: &Context,
        version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "{} state version {version} cannot be upgraded to version {}.",
                self.type_name(),
                self.schema().version
            ),
        )
        .into())
    }

    /// Timeout used when the configuration does not set one in `timeouts`.
    fn default_timeout(&self, _op: Operation) -> Option<Duration> {
        None
    }

    /// The identity schema (Terraform 1.12+); `None` for no identity.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of an object given its state; the default picks the
    /// identity attributes from the state attributes of the same names.
    fn identity(&self, identity: &IdentitySchema, state: &Value) -> Value {
        identity.from_state(state)
    }

    /// Starts an import from an identity (`import { identity = {...} }`);
    /// the default sets the state attributes of the same names, and `read`
    /// then fills in the rest.
    async fn import_identity(
        &self,
        _ctx: &Context,
        identity: &IdentitySchema,
        value: &Value,
    ) -> Result<Value, Diagnostics> {
        Ok(identity.to_state(value))
    }

    /// Converts an identity stored under an older identity schema `version`
    /// (as JSON) to JSON matching the current one. The default accepts only
    /// the current version.
    async fn upgrade_identity(
        &self,
        _ctx: &Context,
        version: i64,
        _identity: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::error(
            "Unsupported identity version",
            format!(
                "{} identity version {version} cannot be upgraded.",
                self.type_name()
            ),
        )
        .into())
    }

    /// The configuration that reproduces `state` (for `-generate-config-out`);
    /// the default keeps every configurable value and drops the rest (see
    /// [`crate::schema::config_from_state`]).
    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics> {
        Ok(crate::schema::config_from_state(
            &self.schema().block,
            state,
        ))
    }

    /// Converts a state from another resource type (a `moved` block across
    /// types or providers) into this type's state; `read` runs on it next.
    /// The default refuses every source.
    async fn move_state(&self, _ctx: &Context, source: &MoveSource) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Unsupported move",
            format!(
                "{} cannot be moved from {} ({}).",
                self.type_name(),
                source.type_name,
                source.provider_address
            ),
        )
        .into())
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// The full type name, e.g. `cloud_images`.
    fn type_name(&self) -> String;

    fn schema(&self) -> Schema;

    /// Extra configuration checks beyond the schema's validators.
    async fn validate(&self, _ctx: &Context, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Reads the data. Return the configuration with computed attributes filled in.
    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics>;
}
