//! How long nodes live: the TTL as written in `.config` or on the command line
//! (`30s`, `20m`, `8h`, `2d`), and the expiry each node (instance or cluster) carries
//! as the tag [`EXPIRES_TAG`] (RFC 3339, UTC), which `reap` reads from any checkout.

use std::time::Duration;

use anyhow::{bail, Result};
use datacrunch_models::{Cluster, Instance, Tag};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Tag key holding a node's expiry, beside the project's identity tag.
pub const EXPIRES_TAG: &str = "kdevops-expires-at";

/// Parses `30s`, `20m`, `8h` or `2d` (a positive whole number and one unit). `what`
/// names where the value came from, for the error.
pub fn parse(text: &str, what: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && seconds > 0 && n <= 366 * 86_400 / seconds => {
            Ok(Duration::from_secs(n * seconds))
        }
        _ => bail!(
            "{what} is {text:?}: expected a duration such as \"30s\", \"20m\", \"8h\" or \"2d\" (at most a year)"
        ),
    }
}

/// `d` as the shortest exact text: `8h`, `90m`, `45s`.
pub fn show(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A span of time for people: `3h 20m`, `45s`.
pub fn human(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (h, m) = (s / 3600, (s % 3600) / 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h {m:02}m"),
    }
}

/// The tag value for an expiry at `at` (whole seconds, UTC).
pub fn format(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// What bills by the hour and carries the kdevops tags: an instance or a cluster.
pub trait Expiring {
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn status_text(&self) -> String;
    fn price_per_hour(&self) -> f64;
    fn tags(&self) -> &[Tag];
    /// When it was created (RFC 3339, as the API writes it).
    fn created_at(&self) -> &str;
}

/// [`Expiring`] for the API's instance and cluster, which name these fields alike.
macro_rules! expiring {
    ($t:ty) => {
        impl Expiring for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.hostname
            }
            fn status_text(&self) -> String {
                self.status.to_string()
            }
            fn price_per_hour(&self) -> f64 {
                self.price_per_hour.to_f64()
            }
            fn tags(&self) -> &[Tag] {
                &self.tags
            }
            fn created_at(&self) -> &str {
                &self.created_at
            }
        }
    };
}
expiring!(Instance);
expiring!(Cluster);

/// The value of the tag `key`, if it is there with a value.
pub fn tag<'a>(item: &'a (impl Expiring + ?Sized), key: &str) -> Option<&'a str> {
    item.tags()
        .iter()
        .find(|t| t.key == key)
        .and_then(|t| t.value.as_deref())
}

/// The expiry an instance or cluster carries, if it carries a readable one.
pub fn expires_at(item: &(impl Expiring + ?Sized)) -> Option<OffsetDateTime> {
    tag(item, EXPIRES_TAG).and_then(parse_expiry)
}

/// An expiry tag's value; `None` when it is not RFC 3339.
pub fn parse_expiry(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value, &Rfc3339).ok()
}

/// Hours since an instance or cluster was created, by `now`.
pub fn hours_running(item: &(impl Expiring + ?Sized), now: OffsetDateTime) -> f64 {
    hours_since(item.created_at(), now)
}

/// Hours from `created_at` (RFC 3339) to `now`; 0 when unreadable or in the future.
pub fn hours_since(created_at: &str, now: OffsetDateTime) -> f64 {
    OffsetDateTime::parse(created_at, &Rfc3339)
        .map(|t| ((now - t).as_seconds_f64() / 3600.0).max(0.0))
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_one_unit_and_errors_name_the_source() {
        assert_eq!(parse("30s", "x").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("20m", "x").unwrap(), Duration::from_secs(1200));
        assert_eq!(parse(" 8h ", "x").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse("2d", "x").unwrap(), Duration::from_secs(2 * 86_400));
        for bad in ["", "8", "h", "0h", "-1h", "1.5h", "8 h", "8hours", "400d"] {
            let err = parse(bad, "CONFIG_TERRAFORM_DATACRUNCH_TTL").unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("CONFIG_TERRAFORM_DATACRUNCH_TTL is"),
                "{bad}: {err}"
            );
        }
        assert_eq!(show(Duration::from_secs(8 * 3600)), "8h");
        assert_eq!(show(Duration::from_secs(90 * 60)), "90m");
        assert_eq!(human(3 * 3600 + 20 * 60), "3h 20m");
        assert_eq!(human(-45), "45s");
    }

    #[test]
    fn an_expiry_round_trips_through_the_tag() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let tag = format(now + Duration::from_secs(3600));
        assert_eq!(tag, "2023-11-14T23:13:20Z");
        let inst: Instance = serde_json::from_value(serde_json::json!({
            "id": "i", "hostname": "n", "status": "running",
            "tags": [{"key": EXPIRES_TAG, "value": tag}],
        }))
        .unwrap();
        assert_eq!(expires_at(&inst), Some(now + Duration::from_secs(3600)));
    }
}
