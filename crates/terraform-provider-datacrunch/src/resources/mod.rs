//! Managed resources.

pub mod common;
pub mod instance;
pub mod ssh_key;
pub mod startup_script;
pub mod volume;

use std::sync::Arc;
use tfplugin::Resource;

/// Every resource type the provider offers.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(instance::InstanceResource),
        Arc::new(ssh_key::SshKeyResource),
        Arc::new(startup_script::StartupScriptResource),
        Arc::new(volume::VolumeResource),
    ]
}
