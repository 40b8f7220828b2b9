//! Walking a value alongside its block schema, visiting every attribute at
//! its exact path (list elements by index, map elements by key; set elements
//! have no addressable path in the protocol, so they report the set itself).
//! Used for config validation and by the planner for nested attributes.

use super::{AttributeType, Block, NestedBlock, Nesting};
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::schema::Attribute;
use crate::value::Value;

/// What the walker hands to its callback.
pub(crate) struct AttrVisit<'a> {
    pub attr: &'a Attribute,
    pub value: &'a Value,
    pub path: AttributePath,
    /// True inside a set element, whose path cannot address it individually.
    pub in_set: bool,
}

/// Calls `f` for every attribute of `block` found in the object `value`,
/// recursing into nested attributes and nested blocks.
pub(crate) fn walk_attributes<'a>(
    block: &'a Block,
    value: &'a Value,
    path: &AttributePath,
    f: &mut dyn FnMut(AttrVisit<'a>),
) {
    walk_parts(block.attributes(), block.blocks(), value, path, false, f)
}

fn walk_parts<'a>(
    attributes: &'a [Attribute],
    blocks: &'a [NestedBlock],
    value: &'a Value,
    path: &AttributePath,
    in_set: bool,
    f: &mut dyn FnMut(AttrVisit<'a>),
) {
    let Some(obj) = value.as_map() else { return };
    for attr in attributes {
        let v = obj.get(&attr.name).unwrap_or(&Value::Null);
        let p = path.clone().attr(attr.name.clone());
        f(AttrVisit {
            attr,
            value: v,
            path: p.clone(),
            in_set,
        });
        if let AttributeType::Nested(nesting, attrs) = &attr.ty {
            let in_set = in_set || *nesting == Nesting::Set;
            for_each_element(*nesting, v, &p, &mut |ev, ep| {
                walk_parts(attrs, &[], ev, &ep, in_set, f)
            });
        }
    }
    for nb in blocks {
        let v = obj.get(&nb.name).unwrap_or(&Value::Null);
        let p = path.clone().attr(nb.name.clone());
        let in_set = in_set || nb.nesting == Nesting::Set;
        for_each_element(nb.nesting, v, &p, &mut |ev, ep| {
            walk_parts(nb.block.attributes(), nb.block.blocks(), ev, &ep, in_set, f)
        });
    }
}

fn for_each_element<'a>(
    nesting: Nesting,
    v: &'a Value,
    p: &AttributePath,
    f: &mut dyn FnMut(&'a Value, AttributePath),
) {
    match (nesting, v.unwrap_dynamic()) {
        (Nesting::Single | Nesting::Group, o @ Value::Map(_)) => f(o, p.clone()),
        (Nesting::List, Value::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                f(item, p.clone().index(i as i64));
            }
        }
        (Nesting::Set, Value::List(items)) => {
            for item in items {
                f(item, p.clone());
            }
        }
        (Nesting::Map, Value::Map(m)) => {
            for (k, item) in m {
                f(item, p.clone().key(k.clone()));
            }
        }
        _ => {}
    }
}

/// Runs every attribute's validators on the known, non-null parts of
/// `config`; diagnostics carry the attribute's exact path.
pub(crate) fn validate_config(block: &Block, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    walk_attributes(block, config, &AttributePath::root(), &mut |v| {
        if v.value.is_null() || !v.value.is_wholly_known() {
            return;
        }
        for validator in &v.attr.validators {
            validator.validate(v.value, &v.path, &mut diags);
        }
    });
    diags
}

/// Errors for every write-only attribute `config` sets, for a Terraform that
/// did not announce write-only support (before 1.11): it would otherwise
/// reject the plan (which nulls them) with a confusing consistency error.
pub(crate) fn reject_write_only(block: &Block, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    walk_attributes(block, config, &AttributePath::root(), &mut |v| {
        if v.attr.write_only && !v.value.is_null() {
            diags.push(
                Diagnostic::error(
                    "Write-only attribute not supported by this Terraform",
                    format!(
                        "{} is write-only (never stored in state), which needs Terraform 1.11 or \
                         later. Upgrade Terraform or leave the attribute out.",
                        v.path
                    ),
                )
                .at(v.path),
            );
        }
    });
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{validators, Attribute, NestedBlock, Schema};

    #[test]
    fn validator_paths_reach_nested_elements() {
        let s = Schema::new()
            .attribute(Attribute::nested(
                "disks",
                Nesting::List,
                vec![Attribute::number("size").validator(validators::at_least(10))],
            ))
            .attribute(Attribute::nested(
                "labels",
                Nesting::Map,
                vec![Attribute::string("v").validator(validators::one_of(["a", "b"]))],
            ))
            .block(NestedBlock::new(
                "net",
                Nesting::List,
                Block::new()
                    .attribute(Attribute::string("ip").validator(validators::length_between(1, 3))),
            ));
        let cfg = Value::object([
            (
                "disks",
                Value::List(vec![
                    Value::object([("size", Value::number(20))]),
                    Value::object([("size", Value::number(5))]),
                ]),
            ),
            (
                "labels",
                Value::object([("env", Value::object([("v", Value::string("c"))]))]),
            ),
            (
                "net",
                Value::List(vec![Value::object([("ip", Value::string("toolong"))])]),
            ),
        ]);
        let d = validate_config(&s.block, &cfg);
        let paths: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(paths, ["disks[1].size", "labels[\"env\"].v", "net[0].ip"]);
    }

    #[test]
    fn write_only_values_are_refused_at_their_path() {
        let s = Schema::new()
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("password").optional().write_only())
            .attribute(Attribute::nested(
                "users",
                Nesting::List,
                vec![Attribute::string("secret").optional().write_only()],
            ));
        let cfg = Value::object([
            ("name", Value::string("n")),
            ("password", Value::Unknown),
            (
                "users",
                Value::List(vec![
                    Value::object([("secret", Value::Null)]),
                    Value::object([("secret", Value::string("s"))]),
                ]),
            ),
        ]);
        let d = reject_write_only(&s.block, &cfg);
        let paths: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(paths, ["password", "users[1].secret"]);
        assert!(d.has_errors());
        let unset = Value::object([("name", Value::string("n"))]);
        assert!(reject_write_only(&s.block, &unset).is_empty());
    }

    #[test]
    fn unknown_and_null_are_not_validated() {
        let s =
            Schema::new().attribute(Attribute::string("a").validator(validators::one_of(["x"])));
        assert!(validate_config(&s.block, &Value::object([("a", Value::Unknown)])).is_empty());
        assert!(validate_config(&s.block, &Value::object([("a", Value::Null)])).is_empty());
    }
}
