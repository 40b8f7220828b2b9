//! Waiting for an instance to reach a state ([`Client::wait_for_instance`], and why a
//! wait ended: [`WaitError`]): polls at the pace of the client's
//! [`PollPolicy`](crate::PollPolicy), stops early on failed statuses, on cancellation
//! and at the deadline. Sits above the client: it only makes ordinary `GET` calls.

use crate::client::Client;
use crate::error::Error;
use datacrunch_models::{Instance, InstanceStatus};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Why [`Client::wait_for_instance`] stopped without the instance reaching its target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The instance reached a status it will not leave by itself (`error`,
    /// `no_capacity`, ...; see [`InstanceStatus::is_failed`]).
    #[error("instance {} is {status}", instance.id)]
    Failed {
        status: InstanceStatus,
        instance: Box<Instance>,
    },
    /// The deadline passed; `last_status` is what the last successful poll saw.
    #[error("timed out waiting for instance {id} (last status: {})", last_status.as_ref().map_or("never seen".to_owned(), |s| s.to_string()))]
    Timeout {
        id: String,
        last_status: Option<InstanceStatus>,
    },
    /// The cancellation token fired.
    #[error("stopped waiting for instance {id}: cancelled")]
    Cancelled { id: String },
    /// The instance no longer exists (the service answers not found).
    #[error("instance {id} no longer exists")]
    Gone { id: String },
    /// A poll failed with an error that waiting longer will not fix.
    #[error("waiting for instance {id}: {source}")]
    Client {
        id: String,
        #[source]
        source: Error,
    },
}

impl Client {
    /// Polls `GET /instances/{id}` until `target` holds for the instance, and returns it.
    ///
    /// `target` is checked first, so a caller waiting for a failed or gone state gets it.
    /// Stops with [`WaitError::Failed`] on a failed status, [`WaitError::Gone`] when the
    /// instance is not found, [`WaitError::Cancelled`], or [`WaitError::Timeout`] at
    /// `deadline`. Transient errors (already retried by the transport) do not end the
    /// wait; other errors do.
    pub async fn wait_for_instance(
        &self,
        id: &str,
        target: impl Fn(&Instance) -> bool,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Result<Instance, WaitError> {
        let policy = &self.inner.poll;
        let mut interval = policy.initial;
        let mut last_status = None;
        loop {
            let poll = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(WaitError::Cancelled { id: id.to_owned() }),
                _ = tokio::time::sleep_until(deadline) => return Err(WaitError::Timeout { id: id.to_owned(), last_status }),
                r = self.instance(id) => r,
            };
            match poll {
                Ok(instance) if target(&instance) => return Ok(instance),
                Ok(instance) if instance.status.is_failed() => {
                    return Err(WaitError::Failed {
                        status: instance.status.clone(),
                        instance: Box::new(instance),
                    })
                }
                Ok(instance) => {
                    tracing::debug!(id, status = %instance.status, "waiting");
                    last_status = Some(instance.status);
                }
                Err(e) if e.is_not_found() => return Err(WaitError::Gone { id: id.to_owned() }),
                Err(e) if e.is_retryable() => {
                    tracing::debug!(id, error = %e, "poll failed; still waiting");
                }
                Err(source) => {
                    return Err(WaitError::Client {
                        id: id.to_owned(),
                        source,
                    })
                }
            }
            // A wake-up beyond what `Instant` can hold is past the deadline anyway.
            let wake = Instant::now().checked_add(interval).unwrap_or(deadline);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(WaitError::Cancelled { id: id.to_owned() }),
                _ = tokio::time::sleep_until(deadline), if wake >= deadline => {
                    return Err(WaitError::Timeout { id: id.to_owned(), last_status })
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            interval = policy.next_interval(interval);
        }
    }
}
