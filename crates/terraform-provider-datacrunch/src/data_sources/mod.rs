//! Data sources: the catalog (instance types, images, locations), live availability and
//! the offer picker. All read through the provider's shared client; the catalog ones
//! share the per-process catalog cache with plan-time validation.

mod availability;
mod catalog;
mod offer;

use std::sync::Arc;
use tfplugin::{Attribute, DataSource, Nesting};

/// Every data source type the provider offers.
pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(catalog::InstanceTypes),
        Arc::new(catalog::Images),
        Arc::new(catalog::Locations),
        Arc::new(availability::InstanceAvailability),
        Arc::new(offer::Offer),
    ]
}

/// A computed list of objects whose fields are all computed.
fn computed_list(name: &str, description: &str, fields: Vec<Attribute>) -> Attribute {
    Attribute::nested(
        name,
        Nesting::List,
        fields.into_iter().map(Attribute::computed).collect(),
    )
    .computed()
    .description(description)
}
