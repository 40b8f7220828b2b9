//! Wire models of the DataCrunch (Verda) public API v1.
//!
//! This crate is the one vocabulary the API client and the emulator share. It owns the
//! JSON shapes and nothing else: no HTTP, no Terraform, no clock.
//!
//! Decoding is deliberately tolerant because the real service is inconsistent: prices arrive as JSON strings in `/instance-types`
//! and as numbers elsewhere ([`Price`]), statuses and locations are open sets kept as
//! strings when unknown ([`InstanceStatus::Other`]), `availabilities` was once spelled
//! `availabilites`, and most fields may be absent or `null`. Encoding is canonical: what
//! the real service sends today, so the emulator built on these types looks like it.

mod catalog;
mod cluster;
mod error;
mod instance;
mod price;
mod pricing;
mod resources;
mod secret;
mod status;
pub mod validate;

pub use catalog::*;
pub use cluster::*;
pub use error::*;
pub use instance::*;
pub use price::Price;
pub use pricing::*;
pub use resources::*;
pub use secret::{Secret, REDACTED};
pub use status::*;
