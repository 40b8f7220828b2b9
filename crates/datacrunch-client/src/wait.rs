//! Waiting for an instance to reach a state: polls fast at first (deploys often move on
//! within a second), then backs off to a cap so long waits stay well within any rate
//! limit; stops early on failed statuses, on cancellation and at the deadline.

use crate::client::Client;
use crate::error::Error;
use datacrunch_models::{Instance, InstanceStatus};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How [`Client::wait_for_instance`] paces its polls.
#[derive(Clone, Debug, PartialEq)]
pub struct PollPolicy {
    /// The wait before the second poll.
    pub initial: Duration,
    /// Each wait is the previous one times this (at least 1).
    pub factor: f64,
    /// The longest wait between polls.
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(250),
            factor: 1.5,
            max: Duration::from_secs(5),
        }
    }
}

impl PollPolicy {
    /// The wait after `previous` (pure, for tests).
    pub fn next_interval(&self, previous: Duration) -> Duration {
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        // `Duration::mul_f64` panics when the product does not fit; a policy with a huge
        // `max` must saturate at it instead.
        Duration::try_from_secs_f64(previous.as_secs_f64() * factor.min(1e6))
            .unwrap_or(self.max)
            .min(self.max)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_by_the_factor_to_the_cap() {
        let p = PollPolicy::default();
        let mut d = p.initial;
        let mut seen = vec![d.as_millis()];
        for _ in 0..10 {
            d = p.next_interval(d);
            seen.push(d.as_millis());
        }
        assert_eq!(seen[..5], [250, 375, 562, 843, 1265]);
        assert_eq!(*seen.last().unwrap(), 5000);
    }

    #[test]
    fn odd_factors_never_shrink_or_panic() {
        for factor in [0.0, -2.0, f64::NAN, f64::INFINITY, 1e300] {
            let p = PollPolicy {
                factor,
                ..PollPolicy::default()
            };
            let d = p.next_interval(Duration::from_secs(1));
            assert!(d >= Duration::from_secs(1) && d <= p.max, "{factor}: {d:?}");
        }
        // An unbounded cap: the product outgrows Duration and saturates at the cap.
        let p = PollPolicy {
            factor: 1e6,
            max: Duration::MAX,
            ..PollPolicy::default()
        };
        let mut d = Duration::from_secs(1_000_000_000);
        for _ in 0..3 {
            d = p.next_interval(d);
        }
        assert_eq!(d, Duration::MAX);
    }
}
