//! When to retry, and how long to wait in between: pure functions plus the injectable
//! sleep and jitter the transport uses, so the policy is unit-testable without a clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How hard the client retries requests that are safe to repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts at most).
    pub max_retries: u32,
    /// The backoff cap before jitter for the first retry; doubled for each further one.
    pub base_backoff: Duration,
    /// The largest backoff cap (before jitter).
    pub max_backoff: Duration,
    /// No retry starts after this much time has passed since the first attempt; a wait
    /// (including a `Retry-After`) that would end past it is not taken.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            budget: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }
}

/// The wait before retry number `retry` (0 for the first retry) with "full jitter": a
/// uniformly random point in `[0, min(max_backoff, base_backoff * 2^retry)]`. `unit` is
/// the random draw in `[0, 1]`; values outside are clamped.
pub fn backoff_delay(policy: &RetryPolicy, retry: u32, unit: f64) -> Duration {
    let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
    let cap = policy
        .base_backoff
        .checked_mul(factor)
        .unwrap_or(policy.max_backoff)
        .min(policy.max_backoff);
    let unit = if unit.is_nan() {
        0.0
    } else {
        unit.clamp(0.0, 1.0)
    };
    cap.mul_f64(unit)
}

/// The wait before the next retry: the server's `Retry-After` when it gave one (honoured
/// as is: waiting less would just earn another 429), full-jitter backoff otherwise.
pub fn retry_delay(
    policy: &RetryPolicy,
    retry: u32,
    unit: f64,
    retry_after: Option<Duration>,
) -> Duration {
    retry_after.unwrap_or_else(|| backoff_delay(policy, retry, unit))
}

/// HTTP statuses worth repeating a request for, when repeating it is harmless: rate
/// limiting and transient server errors. 503 is among them: the service and the proxies
/// in front of it answer 503 for overload and maintenance too; only a 503 whose body says
/// "no capacity" is a definite refusal (see `Error::is_no_capacity`).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// How many times a request is repeated when nothing accepts the connection at all (the
/// endpoint is down or the URL is wrong), whatever the policy allows: a dead endpoint
/// does not come back within a retry policy's minutes, and the user should hear about it.
pub(crate) const UNREACHABLE_RETRIES: u32 = 3;

/// The longest wait between attempts to reach an endpoint that refused the connection,
/// so giving up on it takes seconds.
pub(crate) const UNREACHABLE_MAX_WAIT: Duration = Duration::from_secs(2);

/// Parses `Retry-After`: delay-seconds (`"3"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, giving the time from `now` until then, zero when it
/// has passed). `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An HTTP date in the IMF-fixdate form every current server sends (RFC 9110 §5.6.7).
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    const IMF_FIXDATE: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, IMF_FIXDATE).ok()?;
    Some(at.assume_utc().into())
}

/// A future the transport awaits between attempts.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the client waits between attempts. Injectable so tests can record the waits a
/// policy asks for instead of spending them.
pub type SleepFn = Arc<dyn Fn(Duration) -> SleepFuture + Send + Sync>;

/// The random draw in `[0, 1]` for full jitter. Injectable for deterministic tests.
pub type JitterFn = Arc<dyn Fn() -> f64 + Send + Sync>;

pub(crate) fn tokio_sleep() -> SleepFn {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

pub(crate) fn random_jitter() -> JitterFn {
    Arc::new(fastrand::f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 10,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            budget: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        let full: Vec<u128> = (0..8)
            .map(|r| backoff_delay(&p, r, 1.0).as_millis())
            .collect();
        assert_eq!(full, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    }

    #[test]
    fn backoff_is_full_jitter() {
        let p = policy();
        assert_eq!(backoff_delay(&p, 3, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(&p, 3, 0.5), Duration::from_millis(400));
        // Out-of-range draws are clamped, never panics or overflows.
        assert_eq!(backoff_delay(&p, 3, 7.0), Duration::from_millis(800));
        assert_eq!(backoff_delay(&p, 3, -1.0), Duration::ZERO);
        assert_eq!(backoff_delay(&p, 3, f64::NAN), Duration::ZERO);
        assert_eq!(backoff_delay(&p, u32::MAX, 1.0), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_wins_over_backoff() {
        let p = policy();
        assert_eq!(
            retry_delay(&p, 0, 1.0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(retry_delay(&p, 1, 1.0, None), Duration::from_millis(200));
    }

    #[test]
    fn retry_after_parsing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 07:26:40 GMT
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        // A date already past means "now".
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("2015-10-21T07:28:00Z", now), None);
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 402, 403, 404, 409, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn backoff_stays_within_its_caps(
            base_ms in 0u64..10_000,
            max_ms in 0u64..100_000,
            retry in 0u32..64,
            unit in proptest::num::f64::ANY,
        ) {
            let p = RetryPolicy {
                max_retries: 10,
                base_backoff: Duration::from_millis(base_ms),
                max_backoff: Duration::from_millis(max_ms),
                budget: Duration::from_secs(60),
            };
            let d = backoff_delay(&p, retry, unit);
            proptest::prop_assert!(d <= p.max_backoff);
            let uncapped = p.base_backoff.checked_mul(2u32.saturating_pow(retry)).unwrap_or(Duration::MAX);
            proptest::prop_assert!(d <= uncapped);
        }
    }
}
