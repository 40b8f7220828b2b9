//! The virtual clock every lifecycle step and every bill is measured on: wall time plus
//! an offset that the admin API can advance, so tests skip minutes without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on the virtual clock.
pub type Millis = i64;

/// Wall clock plus an advanceable offset. The offset is persisted with the state so a
/// restarted emulator does not travel back in time.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn new(offset_ms: Millis) -> Clock {
        Clock {
            offset_ms: AtomicI64::new(offset_ms),
        }
    }

    pub fn now(&self) -> Millis {
        wall_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn offset(&self) -> Millis {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the clock forward; returns the new offset.
    pub fn advance(&self, by_ms: Millis) -> Millis {
        let by = by_ms.max(0);
        let previous = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(by))
            })
            .unwrap_or_default();
        previous.saturating_add(by)
    }

    pub fn set_offset(&self, offset_ms: Millis) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }
}

/// A duration in milliseconds, saturating instead of wrapping for absurd durations.
pub fn millis(d: std::time::Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

fn wall_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or_default()
}

/// ISO 8601 with milliseconds and a Z, as the API writes timestamps:
/// `2021-06-02T12:56:49.582Z`.
pub fn iso8601(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The HTTP `Date` form (IMF-fixdate): `Wed, 21 Oct 2015 07:28:00 GMT`.
pub fn http_date(ms: Millis) -> String {
    const IMF_FIXDATE: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(IMF_FIXDATE)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(1_445_412_480_000),
            "Wed, 21 Oct 2015 07:28:00 GMT"
        );
    }

    #[test]
    fn formats_like_the_api() {
        assert_eq!(iso8601(1_622_638_609_582), "2021-06-02T12:56:49.582Z");
    }

    #[test]
    fn advances() {
        let c = Clock::new(0);
        let before = c.now();
        c.advance(3_600_000);
        assert!(c.now() - before >= 3_600_000);
    }
}
