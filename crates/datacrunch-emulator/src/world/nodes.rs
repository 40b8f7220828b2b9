//! What the emulated machines should be: the [`Desired`] nodes the sandbox supervisor
//! makes real, read from the instances (and clusters), keys, scripts and volumes.

use super::World;
use crate::sandbox::{Desired, NodeSpec};
use datacrunch_models::InstanceStatus;

impl World {
    /// Every `running` instance as a node, and every disk that still belongs to
    /// something: an OS volume not deleted, or an instance without one still listed.
    pub fn node_plan(&self) -> Desired {
        let mut desired = Desired::default();
        for r in self.instances.all().iter().filter(|r| r.listed) {
            let disk_id = r.os_volume_id.clone().unwrap_or_else(|| r.id.clone());
            if r.status != InstanceStatus::Discontinued && r.os_volume_id.is_none() {
                desired.live_disks.insert(disk_id.clone());
            }
            if r.status != InstanceStatus::Running {
                continue;
            }
            let Ok(ip) = r.ip.parse() else { continue };
            desired.running.push(NodeSpec {
                instance_id: r.id.clone(),
                disk_id,
                hostname: r.hostname.clone(),
                ip,
                authorized_keys: self.authorized_keys(&r.ssh_key_ids),
                startup_script: self.startup_script_text(r.startup_script_id.as_ref()),
            });
        }
        for v in self.volumes.all() {
            if v.is_os_volume && !v.is_deleted() {
                desired.live_disks.insert(v.id.clone());
            }
        }
        self.plan_cluster_nodes(&mut desired);
        desired
    }

    /// The public keys of `ssh_key_ids` that exist: a node's `authorized_keys`.
    pub(super) fn authorized_keys(&self, ssh_key_ids: &[String]) -> Vec<String> {
        ssh_key_ids
            .iter()
            .filter_map(|k| self.ssh_keys.find(k).ok())
            .map(|k| k.key)
            .collect()
    }

    /// The text of a startup script, if it exists.
    pub(super) fn startup_script_text(&self, id: Option<&String>) -> Option<String> {
        id.and_then(|s| self.scripts.find(s).ok()).map(|s| s.script)
    }
}
