//! The durable store: SQLite (in memory by default, a file with `--state`), holding one
//! JSON document per resource in a `docs(kind, id, doc)` table plus a `meta(key, value)`
//! table for singletons (balance, clock offset, capacity, counters of ids and IPs).
//!
//! The store is the system of record. The world keeps a decoded copy in memory for
//! read speed and writes every change through here before answering the request, so a
//! killed emulator loses nothing it acknowledged.

use crate::error::EmulatorError;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The kinds of documents stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Instance,
    Volume,
    SshKey,
    Script,
    Cluster,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Volume => "volume",
            Kind::SshKey => "ssh_key",
            Kind::Script => "script",
            Kind::Cluster => "cluster",
        }
    }
}

/// One SQLite connection. Callers serialize access (the world lives behind a mutex).
pub struct Store {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// A write to apply in one transaction.
#[derive(Debug)]
pub enum Write {
    Put { kind: Kind, id: String, doc: String },
    Delete { kind: Kind, id: String },
    Meta { key: &'static str, value: String },
}

impl Store {
    /// Opens (creating if needed) a state file, or an in-memory database for `None`.
    pub fn open(path: Option<&Path>) -> Result<Store, EmulatorError> {
        let label = path.map_or(":memory:".to_owned(), |p| p.display().to_string());
        let err = |source| EmulatorError::Store {
            path: label.clone(),
            source,
        };
        let conn = match path {
            Some(p) => Connection::open(p),
            None => Connection::open_in_memory(),
        }
        .map_err(err)?;
        // WAL + NORMAL: durable against a killed process, fast enough for thousands of
        // writes a second.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS docs (
                 kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
                 PRIMARY KEY (kind, id));
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .map_err(err)?;
        Ok(Store { conn, path: label })
    }

    fn err(&self, source: rusqlite::Error) -> EmulatorError {
        EmulatorError::Store {
            path: self.path.clone(),
            source,
        }
    }

    /// Every document of a kind, as (id, JSON text), in insertion order.
    pub fn load(&self, kind: Kind) -> Result<Vec<(String, String)>, EmulatorError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, doc FROM docs WHERE kind = ?1 ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, EmulatorError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Applies writes atomically.
    pub fn apply(&mut self, writes: &[Write]) -> Result<(), EmulatorError> {
        if writes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |source| EmulatorError::Store {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        for w in writes {
            match w {
                Write::Put { kind, id, doc } => tx
                    .prepare_cached(
                        "INSERT INTO docs (kind, id, doc) VALUES (?1, ?2, ?3)
                         ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                    )
                    .and_then(|mut s| s.execute(params![kind.as_str(), id, doc])),
                Write::Delete { kind, id } => tx
                    .prepare_cached("DELETE FROM docs WHERE kind = ?1 AND id = ?2")
                    .and_then(|mut s| s.execute(params![kind.as_str(), id])),
                Write::Meta { key, value } => tx
                    .prepare_cached(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )
                    .and_then(|mut s| s.execute(params![key, value])),
            }
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Deletes everything (admin reset).
    pub fn clear(&mut self) -> Result<(), EmulatorError> {
        self.conn
            .execute_batch("DELETE FROM docs; DELETE FROM meta;")
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let mut s = Store::open(Some(&path)).unwrap();
            s.apply(&[
                Write::Put {
                    kind: Kind::SshKey,
                    id: "a".into(),
                    doc: "{\"x\":1}".into(),
                },
                Write::Put {
                    kind: Kind::SshKey,
                    id: "b".into(),
                    doc: "{}".into(),
                },
                Write::Meta {
                    key: "balance",
                    value: "12.5".into(),
                },
            ])
            .unwrap();
            s.apply(&[Write::Delete {
                kind: Kind::SshKey,
                id: "b".into(),
            }])
            .unwrap();
        }
        let s = Store::open(Some(&path)).unwrap();
        assert_eq!(
            s.load(Kind::SshKey).unwrap(),
            vec![("a".to_owned(), "{\"x\":1}".to_owned())]
        );
        assert_eq!(s.meta("balance").unwrap().as_deref(), Some("12.5"));
        assert_eq!(s.meta("nope").unwrap(), None);
    }
}
