//! The reusable `timeouts` attribute or block (`timeouts { create = "30m" }`) with a
//! typed default per operation. The server reads the value from the planned or prior
//! state and turns it into the operation's deadline; a value that does not parse, or
//! is zero, is an error at plan time naming its attribute (`timeouts.create`), never a
//! silent fallback.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{validators, Attribute, Block, NestedBlock, Nesting};
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::duration;
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
    pub const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
    ];

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

/// The operations a resource's `timeouts` covers, each with the timeout used when the
/// configuration sets none. One table gives both the schema (whose docs state each
/// default) and [`crate::Resource::default_timeout`] (via [`TimeoutDefaults::get`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutDefaults(pub &'static [(Operation, Duration)]);

impl TimeoutDefaults {
    /// The default of `op`, if it is covered.
    pub fn get(&self, op: Operation) -> Option<Duration> {
        self.0.iter().find(|(o, _)| *o == op).map(|(_, d)| *d)
    }

    fn attributes(&self) -> Vec<Attribute> {
        self.0
            .iter()
            .map(|(op, default)| {
                Attribute::string(op.name())
                    .optional()
                    .description(format!(
                        "How long {} may take, as a duration such as `30s`, `10m` or \
                         `1h30m`. Default `{}`.",
                        op.name(),
                        duration::format(*default)
                    ))
                    .validator(validators::positive_duration())
            })
            .collect()
    }

    /// The optional `timeouts = { create = "30m" }` nested attribute.
    pub fn attribute(&self) -> Attribute {
        Attribute::nested(ATTRIBUTE, Nesting::Single, self.attributes())
            .optional()
            .description("Per-operation timeouts.")
    }

    /// The same as a block, `timeouts { create = "30m" }`, the syntax most established
    /// providers use. The server reads either form.
    pub fn block(&self) -> NestedBlock {
        let block = self
            .attributes()
            .into_iter()
            .fold(Block::new(), Block::attribute)
            .description("Per-operation timeouts.");
        NestedBlock::new(ATTRIBUTE, Nesting::Single, block)
    }
}

/// The timeout configured for `op` in a resource object, if any. A value that does
/// not parse or is zero gives an error diagnostic at its path.
pub fn configured(object: &Value, op: Operation) -> Result<Option<Duration>, Diagnostic> {
    let Some(s) = object
        .get(ATTRIBUTE)
        .and_then(|t| t.get(op.name()))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let invalid = |e| {
        Diagnostic::error("Invalid timeout", e).at(AttributePath::new(ATTRIBUTE).attr(op.name()))
    };
    match duration::parse(s) {
        Ok(d) if d.is_zero() => Err(invalid(format!(
            "{s:?} would end the operation before it starts; give a duration above 0"
        ))),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(invalid(e)),
    }
}

/// Every error among the timeouts `object` configures, for the plan to refuse.
pub fn check(object: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for op in Operation::ALL {
        if let Err(d) = configured(object, op) {
            diags.push(d);
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: TimeoutDefaults = TimeoutDefaults(&[
        (Operation::Create, Duration::from_secs(1200)),
        (Operation::Delete, Duration::from_secs(600)),
    ]);

    #[test]
    fn configured_reads_and_reports_path() {
        let obj = Value::object([(
            "timeouts",
            Value::object([
                ("create", Value::string("2m")),
                ("delete", Value::string("eh")),
                ("update", Value::string("0")),
            ]),
        )]);
        assert_eq!(
            configured(&obj, Operation::Create).unwrap(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(configured(&obj, Operation::Read).unwrap(), None);
        let d = configured(&obj, Operation::Delete).unwrap_err();
        assert_eq!(d.path.unwrap().to_string(), "timeouts.delete");
        let zero = configured(&obj, Operation::Update).unwrap_err();
        assert_eq!(zero.path.unwrap().to_string(), "timeouts.update");
        let all: Vec<String> = check(&obj)
            .iter()
            .map(|d| d.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(all, ["timeouts.update", "timeouts.delete"]);
    }

    #[test]
    fn defaults_are_typed_and_documented() {
        assert_eq!(
            DEFAULTS.get(Operation::Create),
            Some(Duration::from_secs(1200))
        );
        assert_eq!(DEFAULTS.get(Operation::Update), None);
        let block = DEFAULTS.block();
        let create = block.block.get("create").unwrap();
        let text = create.description.as_deref().unwrap_or_default();
        assert!(text.contains("Default `20m`"), "{text}");
    }

    #[test]
    fn attribute_and_block_have_the_same_value_type() {
        assert_eq!(
            DEFAULTS.attribute().value_type(),
            DEFAULTS.block().value_type()
        );
        assert_eq!(
            DEFAULTS.block().value_type().to_json().to_string(),
            r#"["object",{"create":"string","delete":"string"}]"#
        );
    }
}
