//! Data sources: the catalog (instance types, images, locations), live availability,
//! the offer picker, the cluster catalog, the account's instances and volumes, and
//! money (balance, price history, long-term periods). All read through the provider's
//! shared client; the instance catalog ones share the per-process catalog cache with
//! plan-time validation.

mod availability;
mod catalog;
mod cluster;
mod computed;
mod fleet;
mod offer;
mod pricing;

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
        Arc::new(fleet::Instances),
        Arc::new(fleet::Volumes),
        Arc::new(pricing::Balance),
        Arc::new(pricing::PriceHistory),
        Arc::new(pricing::LongTermPeriods),
    ]
}
