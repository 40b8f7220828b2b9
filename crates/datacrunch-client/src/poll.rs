//! How waits pace their polls ([`PollPolicy`]): plain configuration data with the pure
//! interval arithmetic, so the client's configuration can hold it without knowing how
//! waiting works.

use std::time::Duration;

/// How [`Client::wait_for_instance`](crate::Client::wait_for_instance) paces its polls:
/// fast at first (deploys often move on within a second), then backing off to a cap so
/// long waits stay well within any rate limit.
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
