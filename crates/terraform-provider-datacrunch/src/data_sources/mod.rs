//! Data sources: the catalog (instance types, images, locations), live availability,
//! the offer picker and the cluster catalog. All read through the provider's shared
//! client; the instance catalog ones share the per-process catalog cache with
//! plan-time validation.

mod availability;
mod catalog;
mod cluster;
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
        Arc::new(cluster::ClusterTypes),
        Arc::new(cluster::ClusterAvailability),
        Arc::new(cluster::ClusterImages),
    ]
}
