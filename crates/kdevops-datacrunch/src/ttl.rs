//! How long nodes live: the TTL as written in `.config` or on the command line
//! (`30s`, `20m`, `8h`, `2d`), and the expiry each node carries as the instance tag
//! [`EXPIRES_TAG`] (RFC 3339, UTC), which `reap` reads from any checkout.

use std::time::Duration;

use anyhow::{bail, Result};
use datacrunch_models::Instance;
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

/// The expiry an instance carries, if it carries a readable one.
pub fn expires_at(instance: &Instance) -> Option<OffsetDateTime> {
    instance
        .tags
        .iter()
        .find(|t| t.key == EXPIRES_TAG)
        .and_then(|t| t.value.as_deref())
        .and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok())
}

/// Hours since an instance was created, by `now` (0 when the API's time is unreadable).
pub fn hours_running(instance: &Instance, now: OffsetDateTime) -> f64 {
    OffsetDateTime::parse(&instance.created_at, &Rfc3339)
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
