//! The endpoints, as methods on [`Client`](crate::Client), one module per API area, plus
//! `recover`: the create path that looks up what a lost attempt made before resending.

mod catalog;
mod clusters;
mod instances;
mod keys;
mod recover;
mod tags;
mod volumes;

pub use tags::TaggedKind;

use crate::error::{Error, Result};

/// Refuses an empty or blank id before it turns `GET /instances/{id}` into a list call.
fn require_id<'a>(field: &str, id: &'a str) -> Result<&'a str> {
    if id.trim().is_empty() {
        return Err(Error::InvalidInput(format!(
            "{field}: expected a non-empty id"
        )));
    }
    Ok(id)
}
