//! Data sources: the catalog (instance types, images, locations), live availability and
//! the offer picker. All read through the provider's shared client; the catalog ones
//! share the per-process catalog cache with plan-time validation.

mod availability;
mod catalog;
mod computed;
mod offer;

use std::sync::Arc;
use tfplugin::DataSource;

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
