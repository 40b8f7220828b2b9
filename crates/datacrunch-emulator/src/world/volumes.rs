//! The volume store: every volume ever created (deleted ones stay, with status
//! `deleted`), indexed by id, with the set changed since the last write-through.

use super::persist::{load_all, to_doc};
use super::records::VolumeRecord;
use crate::catalog::Catalog;
use crate::error::{ApiError, EmulatorError};
use crate::store::{Kind, Store, Write};
use datacrunch_models::{Volume, VolumeStatus};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
pub struct VolumeStore {
    records: Vec<VolumeRecord>,
    index: HashMap<String, usize>,
    changed: BTreeSet<usize>,
}

impl VolumeStore {
    pub fn load(store: &Store) -> Result<Self, EmulatorError> {
        let mut volumes = VolumeStore::default();
        for record in load_all::<VolumeRecord>(store, Kind::Volume)? {
            volumes
                .index
                .insert(record.id.clone(), volumes.records.len());
            volumes.records.push(record);
        }
        Ok(volumes)
    }

    /// Every volume ever created, deleted ones included.
    pub fn all(&self) -> &[VolumeRecord] {
        &self.records
    }

    pub fn get(&self, idx: usize) -> &VolumeRecord {
        &self.records[idx]
    }

    /// A volume to change; it is written through at the end of the request.
    pub fn get_mut(&mut self, idx: usize) -> &mut VolumeRecord {
        self.changed.insert(idx);
        &mut self.records[idx]
    }

    /// Any volume, deleted ones included.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// A volume not deleted, or 404.
    pub fn live(&self, id: &str) -> Result<usize, ApiError> {
        self.find(id)
            .filter(|&v| !self.records[v].is_deleted())
            .ok_or_else(|| ApiError::not_found("Invalid volume id"))
    }

    /// Stores a new volume; returns its index.
    pub fn insert(&mut self, record: VolumeRecord) -> usize {
        let idx = self.records.len();
        self.index.insert(record.id.clone(), idx);
        self.records.push(record);
        self.changed.insert(idx);
        idx
    }

    /// `GET /volumes[?status=]`: every volume not deleted (or those with the status).
    pub fn list(&self, status: Option<&VolumeStatus>, catalog: &Catalog) -> Vec<Volume> {
        self.wire(
            |v| match status {
                Some(s) => &v.status == s,
                None => !v.is_deleted(),
            },
            catalog,
        )
    }

    /// `GET /volumes/trash`: deleted, not permanently.
    pub fn trash(&self, catalog: &Catalog) -> Vec<Volume> {
        self.wire(|v| v.is_deleted() && !v.permanently_deleted, catalog)
    }

    fn wire(&self, keep: impl Fn(&VolumeRecord) -> bool, catalog: &Catalog) -> Vec<Volume> {
        self.records
            .iter()
            .filter(|v| keep(v))
            .map(|v| v.to_wire(catalog))
            .collect()
    }

    pub fn drain_writes(&mut self, out: &mut Vec<Write>) {
        for idx in std::mem::take(&mut self.changed) {
            let r = &self.records[idx];
            out.push(Write::Put {
                kind: Kind::Volume,
                id: r.id.clone(),
                doc: to_doc(r),
            });
        }
    }
}
