//! SSH keys and startup scripts: whole documents with an id, kept in insertion order,
//! and their create/find/delete rules.

use super::persist::{load_all, to_doc};
use super::rules::{check_name, new_id, non_empty};
use crate::clock::{iso8601, Millis};
use crate::error::{ApiError, EmulatorError};
use crate::store::{Kind, Store, Write};
use datacrunch_models::{
    validate, CreateSshKeyRequest, CreateStartupScriptRequest, SshKey, StartupScript,
};

/// A document stored as a whole under its id.
pub trait Document: serde::Serialize + serde::de::DeserializeOwned + Clone {
    const KIND: Kind;
    /// The message of the 404 for an id that does not exist.
    const MISSING: &'static str;
    fn id(&self) -> &str;
}

impl Document for SshKey {
    const KIND: Kind = Kind::SshKey;
    const MISSING: &'static str = "Invalid ssh-key ID";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Document for StartupScript {
    const KIND: Kind = Kind::Script;
    const MISSING: &'static str = "Invalid startup script ID";
    fn id(&self) -> &str {
        &self.id
    }
}

/// Every document of one kind, plus the writes not yet stored.
#[derive(Debug)]
pub struct DocStore<T> {
    docs: Vec<T>,
    writes: Vec<Write>,
}

impl<T: Document> DocStore<T> {
    pub fn load(store: &Store) -> Result<Self, EmulatorError> {
        Ok(DocStore {
            docs: load_all(store, T::KIND)?,
            writes: Vec::new(),
        })
    }

    pub fn all(&self) -> &[T] {
        &self.docs
    }

    pub fn contains(&self, id: &str) -> bool {
        self.docs.iter().any(|d| d.id() == id)
    }

    pub fn find(&self, id: &str) -> Result<T, ApiError> {
        self.docs
            .iter()
            .find(|d| d.id() == id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(T::MISSING))
    }

    /// Stores a new document; returns its id.
    fn insert(&mut self, doc: T) -> String {
        let id = doc.id().to_owned();
        self.writes.push(Write::Put {
            kind: T::KIND,
            id: id.clone(),
            doc: to_doc(&doc),
        });
        self.docs.push(doc);
        id
    }

    /// Removes the documents with these ids; ids that do not exist are not an error
    /// (the real service answers none for them either).
    pub fn delete(&mut self, ids: &[String]) {
        self.docs.retain(|d| !ids.iter().any(|id| id == d.id()));
        self.writes.extend(ids.iter().map(|id| Write::Delete {
            kind: T::KIND,
            id: id.clone(),
        }));
    }

    pub fn drain_writes(&mut self, out: &mut Vec<Write>) {
        out.append(&mut self.writes);
    }
}

impl DocStore<SshKey> {
    /// `POST /sshkeys`.
    pub fn create(&mut self, req: CreateSshKeyRequest, now: Millis) -> Result<String, ApiError> {
        check_name("name", &req.name)?;
        validate::ssh_public_key(&req.key).map_err(|e| ApiError::invalid(format!("key {e}")))?;
        Ok(self.insert(SshKey {
            id: new_id(),
            name: req.name,
            key: req.key.trim().to_owned(),
            fingerprint: None,
            created_at: Some(iso8601(now)),
        }))
    }
}

impl DocStore<StartupScript> {
    /// `POST /scripts`.
    pub fn create(
        &mut self,
        req: CreateStartupScriptRequest,
        now: Millis,
    ) -> Result<String, ApiError> {
        check_name("name", &req.name)?;
        non_empty("script", &req.script)?;
        Ok(self.insert(StartupScript {
            id: new_id(),
            name: req.name,
            script: req.script,
            created_at: Some(iso8601(now)),
        }))
    }
}
