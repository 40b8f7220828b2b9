//! # tfplugin — Terraform plugin protocol 6 in Rust
//!
//! Everything a Terraform provider binary needs below its resources: the
//! go-plugin handshake, AutoMTLS, the gRPC services, the value encodings,
//! schemas with validators and plan modifiers, a generic planner that obeys
//! Terraform's plan-validity rules, hclog-style logging and `--debug`
//! reattach. It knows nothing of any particular cloud.
//!
//! ## Layout
//! - [`diag`]: `Diagnostics`, `Diagnostic`, `AttributePath`.
//! - [`value`]: `Value`, `Type`, `Number`, `Tf<T>`; msgpack/JSON codecs; serde mapping.
//! - [`schema`]: the schema builder, [`schema::validators`], [`schema::timeouts`].
//! - [`context`]: per-call `Context` (provider data, cancellation, deadline).
//! - `traits`: [`Provider`], [`Resource`], [`DataSource`], [`PlanChange`].
//! - `plan`: the generic PlanResourceChange logic and apply-result checks.
//! - `server`: handshake, TLS, gRPC services; [`serve`] ties it all together.
//! - `log`: hclog JSON on stderr and the panic hook.
//!
//! ## How to write a resource
//!
//! ```ignore
//! use std::sync::Arc;
//! use serde::{Deserialize, Serialize};
//! use tfplugin::schema::{timeouts, validators, Attribute, Schema};
//! use tfplugin::{async_trait, Context, Diagnostics, Resource, Tf, Value};
//!
//! // The model: one field per attribute. `Tf<T>` for computed values that
//! // are unknown while planning; `Option<T>` for optional ones.
//! #[derive(Serialize, Deserialize)]
//! struct InstanceModel {
//!     id: Tf<String>,
//!     name: String,
//!     size: Option<String>,
//!     price: Tf<tfplugin::Number>,
//!     timeouts: Option<timeouts::Timeouts>,
//! }
//!
//! struct Instance;
//!
//! #[async_trait]
//! impl Resource for Instance {
//!     fn type_name(&self) -> String { "cloud_instance".into() }
//!
//!     fn schema(&self) -> Schema {
//!         Schema::new()
//!             .description("A virtual machine.")
//!             .attribute(Attribute::string("id").computed().use_state_for_unknown())
//!             .attribute(Attribute::string("name").required().requires_replace())
//!             .attribute(Attribute::string("size").default("small")
//!                 .validator(validators::one_of(["small", "large"])))
//!             .attribute(Attribute::number("price").computed())
//!             .attribute(timeouts::attribute(&[timeouts::Operation::Create]))
//!     }
//!
//!     async fn create(&self, ctx: &Context, planned: &Value, _config: &Value)
//!         -> Result<Value, Diagnostics> {
//!         let mut m: InstanceModel = planned.decode()?;
//!         let client = ctx.provider_data::<MyClient>()?;
//!         // ctx.run races the future with Ctrl-C (StopProvider) and the timeout.
//!         let created = ctx.run(async { client.create(&m.name).await }).await?;
//!         m.id = Tf::Known(created.id);
//!         m.price = Tf::Known(created.price);
//!         Ok(Value::encode(&m)?)
//!     }
//!
//!     async fn read(&self, ctx: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
//!         // Return Ok(None) when the object is gone: Terraform plans a re-create.
//!         # todo!()
//!     }
//!     // update, delete likewise; import and upgrade have defaults.
//!     # async fn update(&self, _: &Context, _: &Value, _: &Value, _: &Value) -> Result<Value, Diagnostics> { todo!() }
//!     # async fn delete(&self, _: &Context, _: &Value) -> Result<(), Diagnostics> { todo!() }
//! }
//! ```
//!
//! The provider lists its resources and data sources, and `main` is:
//!
//! ```ignore
//! fn main() { tfplugin::serve(MyProvider::default()) }
//! ```
//!
//! The generic planner marks computed attributes unknown on create, applies
//! defaults and plan modifiers, computes `requires_replace`, calls
//! [`Resource::modify_plan`], then checks the plan (and later the applied
//! state) against Terraform's rules, so a resource bug becomes a clear
//! diagnostic naming the attribute instead of "Provider produced
//! inconsistent result".
#![deny(clippy::print_stdout)]

pub mod context;
pub mod diag;
pub mod log;
mod plan;
pub mod schema;
mod server;
mod traits;
pub mod value;

/// Generated protocol types (project-written `.proto` files under `proto/`).
pub mod proto {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

pub use async_trait::async_trait;
pub use context::{Context, ProviderData};
pub use diag::{AttributePath, Diagnostic, Diagnostics, Severity};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use server::{
    handshake, serve, serve_with, tls, ProviderService, ServeOptions, MAX_MESSAGE_SIZE,
};
pub use traits::{DataSource, PlanChange, Provider, Resource};
pub use value::{Number, Tf, Type, Value, ValueError};
