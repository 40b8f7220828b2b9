//! Managed resources.

pub mod common;
pub mod instance;
pub mod ssh_key;

use std::sync::Arc;
use tfplugin::Resource;

/// Every resource type the provider offers.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(instance::InstanceResource),
        Arc::new(ssh_key::SshKeyResource),
    ]
}
