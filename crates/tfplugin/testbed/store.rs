//! A JSON file of objects keyed by id: the testbed's "remote API".

use std::collections::BTreeMap;
use std::path::PathBuf;

use tfplugin::{Diagnostic, Diagnostics};

pub struct Store {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

type Objects = BTreeMap<String, serde_json::Value>;

impl Store {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn load(&self) -> Result<Objects, Diagnostics> {
        match std::fs::read(&self.path) {
            Ok(b) if b.is_empty() => Ok(Objects::new()),
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Diagnostic::error("Corrupt store", e.to_string()).into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Objects::new()),
            Err(e) => Err(Diagnostic::error("Cannot read store", e.to_string()).into()),
        }
    }

    fn save(&self, objects: &Objects) -> Result<(), Diagnostics> {
        let text = serde_json::to_vec_pretty(objects).map_err(|e| {
            Diagnostics::from(Diagnostic::error("Cannot encode store", e.to_string()))
        })?;
        std::fs::write(&self.path, text)
            .map_err(|e| Diagnostic::error("Cannot write store", e.to_string()).into())
    }

    /// Drops a marker file next to the store so tests can see progress
    /// (e.g. that a slow create has started and Ctrl-C can be sent).
    pub fn mark(&self, what: &str) {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{what}"));
        let _ = std::fs::write(p, b"");
    }

    pub async fn get(&self, id: &str) -> Result<Option<serde_json::Value>, Diagnostics> {
        let _g = self.lock.lock().await;
        Ok(self.load()?.remove(id))
    }

    /// Every object, in id order.
    pub async fn all(&self) -> Result<Vec<serde_json::Value>, Diagnostics> {
        let _g = self.lock.lock().await;
        Ok(self.load()?.into_values().collect())
    }

    pub async fn put(&self, id: &str, v: serde_json::Value) -> Result<(), Diagnostics> {
        let _g = self.lock.lock().await;
        let mut all = self.load()?;
        all.insert(id.to_string(), v);
        self.save(&all)
    }

    pub async fn delete(&self, id: &str) -> Result<(), Diagnostics> {
        let _g = self.lock.lock().await;
        let mut all = self.load()?;
        all.remove(id);
        self.save(&all)
    }
}
