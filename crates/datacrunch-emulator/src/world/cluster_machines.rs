//! What a cluster is made of outside its own record: its shared volume and the
//! existing volumes it took, kept in the volume store (so `GET /volumes` lists them
//! and whatever counts volumes counts them), and its machines, the jump host and every
//! worker, as nodes the sandbox supervisor boots while the cluster runs.

use super::clusters::ClusterRecord;
use super::records::VolumeRecord;
use super::rules::new_id;
use super::World;
use crate::clock::Millis;
use crate::sandbox::{Desired, NodeSpec};
use datacrunch_models::{ClusterSharedVolume, ClusterStatus, VolumeStatus};
use std::net::Ipv4Addr;

/// The volume type of a cluster's shared `/home`: a shared filesystem.
const SHARED_VOLUME_TYPE: &str = "NVMe_Shared";
const SHARED_MOUNT_POINT: &str = "/home";

impl World {
    /// Creates the cluster's shared volume in the volume store, in use by the cluster
    /// (attached, to no instance).
    pub(super) fn create_shared_volume(
        &mut self,
        name: String,
        size: u32,
        location: &str,
        now: Millis,
    ) -> ClusterSharedVolume {
        let id = new_id();
        self.volumes.insert(VolumeRecord {
            id: id.clone(),
            name: name.clone(),
            size,
            volume_type: SHARED_VOLUME_TYPE.to_owned(),
            location: location.to_owned(),
            is_os_volume: false,
            created_at: now,
            status: VolumeStatus::Attached,
            instance_id: None,
            target: None,
            ssh_key_ids: Vec::new(),
            on_spot_discontinue: None,
            tags: Vec::new(),
            deleted_at: None,
            permanently_deleted: false,
        });
        ClusterSharedVolume {
            id,
            name,
            size_in_gigabytes: size,
            mount_point: Some(SHARED_MOUNT_POINT.to_owned()),
        }
    }

    /// A cluster going away takes its shared volume with it (permanently: it was made
    /// for the cluster and no other cluster can mount it, so it must not stay in the
    /// trash counting against the quota) and gives back the existing volumes it took,
    /// detached.
    pub(super) fn release_cluster_volumes(&mut self, idx: usize, now: Millis) {
        let r = self.clusters.get(idx);
        let shared = self.volumes.find(&r.shared_volume.id);
        let existing: Vec<usize> = r
            .existing_volume_ids
            .iter()
            .filter_map(|id| self.volumes.find(id))
            .collect();
        if let Some(vidx) = shared.filter(|&v| !self.volumes.get(v).is_deleted()) {
            self.trash_record(vidx, true, now);
        }
        for vidx in existing {
            if self.volumes.get(vidx).status == VolumeStatus::Attached {
                self.detach_record(vidx);
            }
        }
    }

    /// Adds every cluster's machines to `desired`: while the cluster runs, its jump
    /// host (named as the cluster, at the cluster's `ip`) and each worker (at its
    /// private address), with the cluster's keys and startup script; their disks stay
    /// until the cluster is deleted.
    pub(super) fn plan_cluster_nodes(&self, desired: &mut Desired) {
        for r in self.clusters.all().iter().filter(|r| r.listed) {
            if r.status == ClusterStatus::Discontinued {
                continue;
            }
            for (id, hostname, ip) in machines(r) {
                desired.live_disks.insert(id.to_owned());
                if r.status != ClusterStatus::Running {
                    continue;
                }
                // States of earlier versions gave workers 10.0.0.n, where no sandbox
                // can listen: those stay records.
                let Ok(ip) = ip.parse::<Ipv4Addr>() else {
                    continue;
                };
                if !ip.is_loopback() {
                    continue;
                }
                desired.running.push(NodeSpec {
                    instance_id: id.to_owned(),
                    disk_id: id.to_owned(),
                    hostname: hostname.to_owned(),
                    ip,
                    authorized_keys: self.authorized_keys(&r.ssh_key_ids),
                    startup_script: self.startup_script_text(r.startup_script_id.as_ref()),
                });
            }
        }
    }
}

/// (id, hostname, address) of the jump host, then of every worker.
fn machines(r: &ClusterRecord) -> impl Iterator<Item = (&str, &str, &str)> {
    std::iter::once((r.id.as_str(), r.hostname.as_str(), r.ip.as_str())).chain(
        r.nodes
            .iter()
            .map(|n| (n.id.as_str(), n.hostname.as_str(), n.private_ip.as_str())),
    )
}
