//! Data sources.

use std::sync::Arc;
use tfplugin::DataSource;

/// Every data source type the provider offers.
pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![]
}
