//! # tfplugin — Terraform plugin protocol 6 in Rust
//!
//! Everything a Terraform provider binary needs below its resources: the
//! go-plugin handshake, AutoMTLS, the gRPC services, the value encodings,
//! schemas with validators and plan modifiers, a generic planner that obeys
//! Terraform's plan-validity rules, hclog-style logging and `--debug`
//! reattach. It knows nothing of any particular cloud.
//!
//! ## Layout
//! - [`diag`]: `Diagnostics`, `Diagnostic`, `AttributePath` (defined in `path`, which
//!   values use too).
//! - [`duration`]: Go-style duration strings (`"1h30m"`), parsed and formatted.
//! - [`value`]: `Value`, `Type`, `Number`, `Tf<T>`; msgpack/JSON codecs; serde mapping.
//! - [`schema`]: the schema builder, [`schema::validators`], [`schema::timeouts`].
//! - [`context`]: per-call `Context` (provider data, cancellation, deadline).
//! - `traits`: [`Provider`], [`Resource`], [`DataSource`], [`PlanChange`], [`MoveSource`].
//! - [`list`], [`action`], [`function`]: list resources (`terraform query`),
//!   actions and provider-defined functions; [`schema::identity`]: resource identity.
//! - `plan`: the generic PlanResourceChange logic and apply-result checks.
//! - `server`: handshake, TLS, gRPC services; [`serve`] ties it all together.
//! - `log`: hclog JSON on stderr and the panic hook.
//!
//! ## How to write a resource
//!
//! A resource is a struct implementing [`Resource`]. Its model is a plain
//! serde struct with one field per attribute: `Option<T>` for optional
//! values (null and unknown both read as `None`), [`Tf<T>`] where the
//! difference between null, unknown and known matters (computed values),
//! [`Number`] or `String` for exact numbers such as prices. Read it with
//! [`Value::decode`], write it back with [`Value::encode`]; the server shapes
//! it to the schema (missing optional fields become null). Errors are
//! [`Diagnostics`]; decode errors and [`Diagnostic::at`] carry the attribute
//! path, so Terraform points at the offending line.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use serde::{Deserialize, Serialize};
//! use tfplugin::schema::{timeouts, validators, Attribute, Schema};
//! use tfplugin::schema::timeouts::{Operation, TimeoutDefaults};
//! use tfplugin::{async_trait, Context, Diagnostic, Diagnostics, Number, PlanChange, ProviderData,
//!     Resource, AttributePath, Tf, Value};
//!
//! /// The provider's shared state, made once by `configure`.
//! struct Client { token: String }
//!
//! #[derive(Serialize, Deserialize)]
//! struct InstanceModel {
//!     id: Tf<String>,                       // computed: unknown until created
//!     name: String,                         // required
//!     size: Option<String>,                 // optional with a default
//!     price: Tf<Number>,                    // computed, exact decimal
//!     timeouts: Option<timeouts::Timeouts>, // the reusable timeouts attribute
//! }
//!
//! struct Instance;
//!
//! /// Which operations `timeouts` covers, with their defaults.
//! const TIMEOUTS: TimeoutDefaults = TimeoutDefaults(&[(Operation::Create, Duration::from_secs(600))]);
//!
//! #[async_trait]
//! impl Resource for Instance {
//!     fn type_name(&self) -> String { "cloud_instance".into() }
//!
//!     fn schema(&self) -> Schema {
//!         Schema::new()
//!             .description("A virtual machine.")
//!             .attribute(Attribute::string("id").computed().use_state_for_unknown())
//!             .attribute(Attribute::string("name").required().requires_replace()
//!                 .validator(validators::regex("^[a-z][a-z0-9-]*$", "must be a lowercase name")))
//!             .attribute(Attribute::string("size").default("small")
//!                 .validator(validators::one_of(["small", "large"])))
//!             .attribute(Attribute::number("price").computed())
//!             .attribute(TIMEOUTS.attribute())
//!     }
//!
//!     fn default_timeout(&self, op: Operation) -> Option<Duration> { TIMEOUTS.get(op) }
//!
//!     // Optional: fill computed values at plan time (e.g. from a live catalog).
//!     async fn modify_plan(&self, _ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
//!         if plan.planned.get("size").and_then(Value::as_str) == Some("large") {
//!             plan.set(&AttributePath::new("price"), Value::Number("1.50".parse().unwrap()))?;
//!         }
//!         Ok(())
//!     }
//!
//!     async fn create(&self, ctx: &Context, planned: &Value, _config: &Value)
//!         -> Result<Value, Diagnostics> {
//!         let client = ctx.provider_data::<Client>()?;
//!         let mut m: InstanceModel = planned.decode()?;
//!         // ctx.run races the call with Ctrl-C (StopProvider) and the create timeout.
//!         let id = ctx.run(async { Ok(format!("i-{}-{}", m.name, client.token.len())) }).await?;
//!         m.id = Tf::Known(id);
//!         if m.price.is_unknown() {
//!             m.price = Tf::Known("0.10".parse().unwrap());
//!         }
//!         Ok(Value::encode(&m)?)
//!     }
//!
//!     async fn read(&self, _ctx: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
//!         // Ok(None) when the object is gone: Terraform plans to create it again.
//!         Ok(Some(state.clone()))
//!     }
//!
//!     async fn update(&self, _ctx: &Context, _prior: &Value, planned: &Value, _config: &Value)
//!         -> Result<Value, Diagnostics> {
//!         Ok(planned.clone())
//!     }
//!
//!     async fn delete(&self, _ctx: &Context, _prior: &Value) -> Result<(), Diagnostics> {
//!         Ok(()) // treat "already gone" as success
//!     }
//!     // import(id) defaults to setting `id`; upgrade(version, json) to refusing old versions.
//! }
//!
//! struct Cloud;
//!
//! #[async_trait]
//! impl tfplugin::Provider for Cloud {
//!     fn address(&self) -> String { "registry.terraform.io/acme/cloud".into() }
//!     fn schema(&self) -> Schema {
//!         Schema::new().attribute(Attribute::string("token").optional().sensitive())
//!     }
//!     async fn configure(&self, _ctx: &Context, config: &Value) -> Result<ProviderData, Diagnostics> {
//!         let token = config.get("token").and_then(Value::as_str)
//!             .map(str::to_string)
//!             .or_else(|| std::env::var("CLOUD_TOKEN").ok())
//!             .ok_or_else(|| Diagnostic::error("Missing token", "Set `token` or CLOUD_TOKEN.")
//!                 .at(AttributePath::new("token")))?;
//!         Ok(Arc::new(Client { token }))
//!     }
//!     fn resources(&self) -> Vec<Arc<dyn Resource>> { vec![Arc::new(Instance)] }
//! }
//!
//! // The provider binary's whole main: cookie check, handshake, AutoMTLS,
//! // logging, panic hook and `--debug` are all inside `serve`.
//! fn main() { tfplugin::serve(Cloud) }
//! ```
//!
//! Data sources implement [`DataSource`] (`schema`, `validate`, `read`).
//! `crates/tfplugin/testbed/` is a complete provider using every attribute
//! kind; its end-to-end tests run real Terraform (see `test-support`).
//!
//! ## What the planner does for you
//!
//! For PlanResourceChange, starting from Terraform's proposed new state:
//! - write-only attributes are planned null;
//! - a computed attribute the configuration leaves null gets its `default`
//!   if any; otherwise on create it is unknown ("known after apply"), on
//!   update it keeps its prior value (even null);
//! - on an update that changes anything configured, computed attributes the
//!   configuration leaves null become unknown, unless they have a default or
//!   `use_state_for_unknown()`;
//! - `requires_replace()` / `RequiresReplaceIf` mark paths whose
//!   *configured* value changes (a recomputed computed value never forces
//!   replacement);
//! - then [`Resource::modify_plan`] may set computed values, add
//!   requires-replace paths or reject the plan;
//! - finally the plan is checked against Terraform's validity rules, and
//!   after apply every known planned value must come back unchanged. A
//!   violation becomes an error diagnostic naming the attribute instead of
//!   Terraform's "Provider produced inconsistent result".
//!
//! Destroy plans are null and never reach the hook.
//!
//! ## Failures, cancellation and known limits
//!
//! - A failed create records nothing and a failed update or delete keeps
//!   the prior state, unless the error carries the object's current state
//!   ([`Diagnostics::with_state`]): then that is recorded (unknowns and
//!   write-only values nulled), and after a failed create Terraform marks
//!   it tainted, so a machine that exists but never became ready is
//!   replaced or destroyed later instead of being forgotten.
//! - StopProvider (Ctrl-C) cancels the [`Context`]s of the operations in
//!   flight; later calls get fresh ones.
//! - Each call runs on a thread of its own, apart from the server's: one
//!   call that blocks cannot stall StopProvider or the other calls, but it
//!   holds its thread while it blocks, so prefer async I/O.
//! - Resources cannot set private state; Terraform's is passed through.
//! - Set elements have no path in the protocol, so a validator or planner
//!   diagnostic inside a set points at the whole set, and plan modifiers
//!   (`requires_replace`) on attributes inside a set are not evaluated: put
//!   `requires_replace` on the set attribute itself.
//! - State stored under the current schema version loses attributes the
//!   schema no longer declares; anything else that changed needs a version
//!   bump and [`Resource::upgrade`].
//!
//! ## Testing providers
//!
//! The `test-support` crate finds real Terraform binaries and builds
//! throwaway workspaces with a filesystem mirror holding your provider;
//! `tests/terraform_e2e.rs` here shows the pattern.
#![deny(clippy::print_stdout)]

pub mod action;
pub mod context;
pub mod diag;
pub mod duration;
pub mod function;
pub mod list;
pub mod log;
mod path;
mod plan;
pub mod schema;
mod server;
mod traits;
pub mod value;

pub mod proto;

pub use async_trait::async_trait;
pub use context::{Context, ProviderData};
pub use diag::{AttributePath, Diagnostic, Diagnostics, Severity};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use server::{
    handshake, serve, serve_with, tls, ProviderService, ServeOptions, MAX_MESSAGE_SIZE,
};
pub use traits::{DataSource, MoveSource, PlanChange, Provider, Resource};
pub use value::{Number, Tf, Type, Value, ValueError};
