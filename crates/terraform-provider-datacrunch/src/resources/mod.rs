//! Managed resources. Each depends on [`crate::state`] for the configured client and
//! caches, and on the shared pieces here: tags, validators and create-once.

pub mod cluster;
mod create_once;
pub mod instance;
pub mod ssh_key;
pub mod startup_script;
mod tags;
mod validators;
pub mod volume;

use std::sync::Arc;
use tfplugin::Resource;

/// Every resource type the provider offers.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(cluster::ClusterResource),
        Arc::new(instance::InstanceResource),
        Arc::new(ssh_key::SshKeyResource),
        Arc::new(startup_script::StartupScriptResource),
        Arc::new(volume::VolumeResource),
    ]
}
