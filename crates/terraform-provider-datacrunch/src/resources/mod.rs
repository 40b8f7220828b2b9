//! Managed resources. Each depends on [`crate::state`] for the configured client and
//! caches, and on the shared pieces here: tags, validators and create-once.

pub mod cluster;
mod create_once;
pub mod instance;
mod moved;
pub mod ssh_key;
pub mod startup_script;
mod tags;
mod validators;
pub mod volume;
pub mod volume_attachment;

use std::sync::Arc;
use tfplugin::schema::{IdentityAttribute, IdentitySchema};
use tfplugin::{Resource, Type};

/// The identity of every resource type: its API id, which never changes.
pub fn id_identity() -> Option<IdentitySchema> {
    Some(
        IdentitySchema::new().attribute(
            IdentityAttribute::required("id", Type::String)
                .description("The object's id in the DataCrunch API."),
        ),
    )
}

/// Every resource type the provider offers.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(cluster::ClusterResource),
        Arc::new(instance::InstanceResource),
        Arc::new(ssh_key::SshKeyResource),
        Arc::new(startup_script::StartupScriptResource),
        Arc::new(volume::VolumeResource),
        Arc::new(volume_attachment::VolumeAttachmentResource),
    ]
}
