//! The reusable `timeouts` attribute (`timeouts = { create = "30m" }`) and
//! Go-style duration parsing. The server reads the attribute from the
//! planned or prior state and turns it into the operation's deadline.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{validators, Attribute, Block, NestedBlock, Nesting};
use crate::diag::{AttributePath, Diagnostic};
use crate::value::Value;

/// Name of the attribute, fixed so the server can find it.
pub const ATTRIBUTE: &str = "timeouts";

/// A resource operation that can have a timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// Model field type for the attribute: `timeouts: Option<Timeouts>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<String>,
}

fn duration_attributes(ops: &[Operation]) -> Vec<Attribute> {
    ops.iter()
        .map(|op| {
            Attribute::string(op.name())
                .optional()
                .description(format!(
                    "How long to wait for {} to finish, as a duration such as `30s`, `10m` or `1h30m`.",
                    op.name()
                ))
                .validator(validators::duration())
        })
        .collect()
}

/// The optional `timeouts = { create = "30m" }` nested attribute with one
/// duration string per operation in `ops`.
pub fn attribute(ops: &[Operation]) -> Attribute {
    Attribute::nested(ATTRIBUTE, Nesting::Single, duration_attributes(ops))
        .optional()
        .description("Per-operation timeouts.")
}

/// The same as a block, `timeouts { create = "30m" }`, the syntax most
/// established providers use. The server reads either form.
pub fn block(ops: &[Operation]) -> NestedBlock {
    let block = duration_attributes(ops)
        .into_iter()
        .fold(Block::new(), Block::attribute)
        .description("Per-operation timeouts.");
    NestedBlock::new(ATTRIBUTE, Nesting::Single, block)
}

/// The timeout configured for `op` in a resource object, if any.
/// An unparsable value gives an error diagnostic at its path.
pub fn configured(object: &Value, op: Operation) -> Result<Option<Duration>, Diagnostic> {
    let Some(s) = object
        .get(ATTRIBUTE)
        .and_then(|t| t.get(op.name()))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    parse_duration(s).map(Some).map_err(|e| {
        Diagnostic::error("Invalid timeout", e).at(AttributePath::new(ATTRIBUTE).attr(op.name()))
    })
}

/// Parses Go's `time.ParseDuration` syntax: a sequence of decimal numbers
/// with units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (e.g. `1h30m`, `1.5s`).
/// Negative durations are rejected: a timeout cannot be negative.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = |why: &str| {
        format!("{s:?} is not a valid duration ({why}); use a form such as \"30s\", \"10m\" or \"1h30m\"")
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("missing unit"))?;
        if num_len == 0 {
            return Err(bad("expected a number"));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad("bad number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad("unknown unit")),
        };
        total += n * secs;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "10", "m", "10x", "-5m", "1h 30m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configured_reads_and_reports_path() {
        let obj = Value::object([(
            "timeouts",
            Value::object([
                ("create", Value::string("2m")),
                ("delete", Value::string("eh")),
            ]),
        )]);
        assert_eq!(
            configured(&obj, Operation::Create).unwrap(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(configured(&obj, Operation::Read).unwrap(), None);
        let d = configured(&obj, Operation::Delete).unwrap_err();
        assert_eq!(d.path.unwrap().to_string(), "timeouts.delete");
    }

    #[test]
    fn attribute_and_block_have_the_same_value_type() {
        let ops = [Operation::Create, Operation::Delete];
        assert_eq!(attribute(&ops).value_type(), block(&ops).value_type());
        assert_eq!(
            block(&ops).value_type().to_json().to_string(),
            r#"["object",{"create":"string","delete":"string"}]"#
        );
    }
}
