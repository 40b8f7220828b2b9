//! Configuration generated from a state, for `terraform query
//! -generate-config-out` and `terraform plan -generate-config-out`: every
//! value the user can set is written as the object has it, so planning the
//! generated configuration after the import changes nothing; values only the
//! provider computes, and write-only values (which are never in state), are
//! left out (null).

use super::{Attribute, AttributeType, Block, Nesting};
use crate::value::Value;

/// Whether a configuration may set the attribute.
fn configurable(a: &Attribute) -> bool {
    a.required || a.optional || !a.computed
}

/// The configuration that reproduces `state` under `block`.
pub fn config_from_state(block: &Block, state: &Value) -> Value {
    let Value::Map(fields) = state else {
        return state.clone();
    };
    let mut out = fields.clone();
    for a in block.attributes() {
        let Some(slot) = out.get_mut(&a.name) else {
            continue;
        };
        if !configurable(a) || a.write_only {
            *slot = Value::Null;
        } else if let AttributeType::Nested(nesting, inner) = &a.ty {
            let inner = Block {
                attributes: inner.clone(),
                ..Block::default()
            };
            *slot = map_elements(*nesting, slot, &inner);
        }
    }
    for b in block.blocks() {
        if let Some(slot) = out.get_mut(&b.name) {
            *slot = map_elements(b.nesting, slot, &b.block);
        }
    }
    Value::Map(out)
}

fn map_elements(nesting: Nesting, v: &Value, block: &Block) -> Value {
    match (nesting, v) {
        (Nesting::Single | Nesting::Group, o @ Value::Map(_)) => config_from_state(block, o),
        (Nesting::List | Nesting::Set, Value::List(items)) => {
            Value::List(items.iter().map(|e| config_from_state(block, e)).collect())
        }
        (Nesting::Map, Value::Map(m)) => Value::Map(
            m.iter()
                .map(|(k, e)| (k.clone(), config_from_state(block, e)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{NestedBlock, Schema};

    #[test]
    fn computed_only_and_write_only_values_are_left_out_at_any_depth() {
        let s = Schema::new()
            .attribute(Attribute::string("id").computed())
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("size").default("small"))
            .attribute(Attribute::string("token").optional().write_only())
            .attribute(Attribute::nested(
                "disks",
                Nesting::List,
                vec![
                    Attribute::number("gb").required(),
                    Attribute::string("serial").computed(),
                ],
            ))
            .block(NestedBlock::new(
                "rule",
                Nesting::List,
                Block::new()
                    .attribute(Attribute::number("port").required())
                    .attribute(Attribute::string("rule_id").computed()),
            ));
        let state = Value::object([
            ("id", Value::string("x")),
            ("name", "n".into()),
            ("size", "large".into()),
            ("token", Value::Null),
            (
                "disks",
                Value::List(vec![Value::object([
                    ("gb", Value::number(10)),
                    ("serial", "s".into()),
                ])]),
            ),
            (
                "rule",
                Value::List(vec![Value::object([
                    ("port", Value::number(80)),
                    ("rule_id", "r".into()),
                ])]),
            ),
        ]);
        let config = config_from_state(&s.block, &state);
        let expected = Value::object([
            ("id", Value::Null),
            ("name", "n".into()),
            ("size", "large".into()),
            ("token", Value::Null),
            (
                "disks",
                Value::List(vec![Value::object([
                    ("gb", Value::number(10)),
                    ("serial", Value::Null),
                ])]),
            ),
            (
                "rule",
                Value::List(vec![Value::object([
                    ("port", Value::number(80)),
                    ("rule_id", Value::Null),
                ])]),
            ),
        ]);
        assert_eq!(config, expected);
    }
}
