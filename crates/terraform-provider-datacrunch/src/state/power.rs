//! One lock per instance for the volume attachment's power dance. The API attaches and
//! detaches only while an instance is shut down; two attachments of the same instance
//! applied in parallel would otherwise interleave (one starting the instance while the
//! other is still attaching). Whoever holds an instance's lock may rely on its power
//! state staying as it left it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct PowerLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

impl PowerLocks {
    /// Waits for and takes the lock of `instance_id`; it is released when the guard
    /// drops. Entries are kept for the life of the process: one per instance touched,
    /// which is bounded by the configuration.
    pub async fn lock(&self, instance_id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            // A poisoned map only means another call panicked while inserting; the map
            // itself is still whole.
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(instance_id.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_instance_is_locked_once_others_are_free() {
        let locks = PowerLocks::default();
        let held = locks.lock("a").await;
        let other = tokio::time::timeout(Duration::from_millis(50), locks.lock("b")).await;
        assert!(other.is_ok(), "another instance's lock is free");
        let same = tokio::time::timeout(Duration::from_millis(50), locks.lock("a")).await;
        assert!(same.is_err(), "the same instance's lock waits");
        drop(held);
        let again = tokio::time::timeout(Duration::from_millis(50), locks.lock("a")).await;
        assert!(again.is_ok(), "released when the guard drops");
    }
}
