//! Coalesced instance reads.
//!
//! `terraform plan` refreshes every instance with its own ReadResource call, up to ten at
//! a time; a fleet of 100 nodes would cost 100 `GET /instances/{id}`. Instead, reads in
//! one provider process share snapshots of `GET /instances` (the whole account's list in
//! one call): the first read takes a snapshot, every read within `max_age` of it is
//! answered from it, and concurrent reads wait for the one list call in flight rather
//! than starting their own. An id missing from the list (deleted, or created after the
//! snapshot) falls back to one `GET /instances/{id}`, which tells "gone" from "new".
//!
//! The create waiter uses the same snapshots, so ten instances provisioning together poll
//! with one list call per interval instead of ten gets. Failures are shared the same
//! way: callers that queued behind a list call that failed get its error instead of
//! each repeating it, so when the API is down ten waiters learn it in the time of one
//! call (with the client's retries) rather than ten in a row.

use datacrunch_client::{Client, Error};
use datacrunch_models::Instance;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long a snapshot answers plain reads. A refresh of many instances finishes well
/// within it; a later command starts a new process and so a new snapshot.
pub const READ_MAX_AGE: Duration = Duration::from_secs(5);

struct Snapshot {
    taken: Instant,
    by_id: Arc<HashMap<String, Instance>>,
}

/// The outcome of the newest list call.
#[derive(Default)]
struct Latest {
    snapshot: Option<Snapshot>,
    /// When the newest failed call ended, and its error.
    failure: Option<(Instant, Arc<Error>)>,
}

/// The per-process instance directory.
pub struct InstanceDirectory {
    client: Client,
    latest: Mutex<Latest>,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// The instance exists (in any status other than gone).
    Found(Box<Instance>),
    /// Not found, or discontinued/deleting: it no longer bills and will not come back.
    Gone,
}

impl InstanceDirectory {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            latest: Mutex::new(Latest::default()),
        }
    }

    /// The API address the directory reads from, for messages.
    pub fn base_url(&self) -> &str {
        self.client.base_url()
    }

    /// The instance `id` as seen by a snapshot no older than `max_age` (one list call
    /// shared by concurrent callers), or by a direct get when the list lacks it.
    pub async fn lookup(&self, id: &str, max_age: Duration) -> Result<Lookup, Arc<Error>> {
        let listed = self.listing(max_age).await?;
        let instance = match listed.get(id) {
            Some(i) => i.clone(),
            None => match self.client.instance(id).await {
                Ok(i) => i,
                Err(e) if e.is_not_found() => return Ok(Lookup::Gone),
                Err(e) => return Err(Arc::new(e)),
            },
        };
        Ok(if instance.status.is_gone() {
            Lookup::Gone
        } else {
            Lookup::Found(Box::new(instance))
        })
    }

    /// Drops the snapshot, so that the next read lists afresh: called after this
    /// process changed an instance (a power action), whose snapshot entry would
    /// otherwise show the old status for up to `max_age`.
    pub async fn forget(&self) {
        self.latest.lock().await.snapshot = None;
    }

    /// The newest listing if younger than `max_age`, else a new one. The lock is held
    /// across the call so that concurrent callers share it (single flight); a caller
    /// that waited for a call that failed gets that call's error.
    pub async fn listing(
        &self,
        max_age: Duration,
    ) -> Result<Arc<HashMap<String, Instance>>, Arc<Error>> {
        let asked = Instant::now();
        let mut latest = self.latest.lock().await;
        if let Some(s) = latest
            .snapshot
            .as_ref()
            .filter(|s| s.taken.elapsed() <= max_age)
        {
            return Ok(s.by_id.clone());
        }
        if let Some((_, error)) = latest.failure.as_ref().filter(|(at, _)| *at >= asked) {
            return Err(error.clone());
        }
        let taken = Instant::now();
        match self.client.instances(None).await {
            Ok(list) => {
                let by_id: Arc<HashMap<String, Instance>> =
                    Arc::new(list.into_iter().map(|i| (i.id.clone(), i)).collect());
                latest.snapshot = Some(Snapshot {
                    taken,
                    by_id: by_id.clone(),
                });
                latest.failure = None;
                Ok(by_id)
            }
            Err(e) => {
                let error = Arc::new(e);
                latest.failure = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }
}
