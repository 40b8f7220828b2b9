//! Conversions between this crate's types and the generated protocol types:
//! schemas, diagnostics, attribute paths and DynamicValues.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::path::{AttributePath, PathStep};
use crate::proto::tfplugin6 as pb;
use crate::schema::{
    Attribute, AttributeType, Block, IdentitySchema, NestedBlock, Nesting, Schema,
};
use crate::value::{Type, Value, ValueError};

pub(super) fn schema(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block(&s.block, s.version)),
    }
}

fn description(d: &Option<String>) -> (String, i32) {
    (
        d.clone().unwrap_or_default(),
        pb::StringKind::Markdown as i32,
    )
}

fn block(b: &Block, version: i64) -> pb::schema::Block {
    let (description, description_kind) = description(&b.description);
    pb::schema::Block {
        version,
        attributes: b.attributes().iter().map(attribute).collect(),
        block_types: b.blocks().iter().map(nested_block).collect(),
        description,
        description_kind,
        deprecated: b.deprecation.is_some(),
        deprecation_message: b.deprecation.clone().unwrap_or_default(),
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    let (required, optional, computed) = a.flags();
    let (description, description_kind) = description(&a.description);
    let (ty, nested_type) = match &a.ty {
        AttributeType::Plain(t) => (t.to_json_bytes(), None),
        AttributeType::Nested(nesting, attrs) => {
            let n = match nesting {
                Nesting::List => pb::schema::object::NestingMode::List,
                Nesting::Set => pb::schema::object::NestingMode::Set,
                Nesting::Map => pb::schema::object::NestingMode::Map,
                Nesting::Single | Nesting::Group => pb::schema::object::NestingMode::Single,
            };
            (
                Vec::new(),
                Some(pb::schema::Object {
                    attributes: attrs.iter().map(attribute).collect(),
                    nesting: n as i32,
                }),
            )
        }
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description,
        required,
        optional,
        computed,
        sensitive: a.sensitive,
        description_kind,
        deprecated: a.deprecation.is_some(),
        write_only: a.write_only,
        deprecation_message: a.deprecation.clone().unwrap_or_default(),
    }
}

fn nested_block(nb: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as M;
    let nesting = match nb.nesting {
        Nesting::Single => M::Single,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
        Nesting::Group => M::Group,
    };
    pb::schema::NestedBlock {
        type_name: nb.name.clone(),
        block: Some(block(&nb.block, 0)),
        nesting: nesting as i32,
        min_items: nb.min_items,
        max_items: nb.max_items,
    }
}

/// A function's signature as Terraform reads it.
pub(super) fn function(sig: &crate::function::Signature) -> pb::Function {
    pb::Function {
        parameters: sig
            .parameters
            .iter()
            .map(|p| {
                let (description, description_kind) = description(&p.description);
                pb::function::Parameter {
                    name: p.name.clone(),
                    r#type: p.ty.to_json_bytes(),
                    allow_null_value: p.allow_null,
                    allow_unknown_values: false,
                    description,
                    description_kind,
                }
            })
            .collect(),
        variadic_parameter: None,
        r#return: Some(pb::function::Return {
            r#type: sig.returns.to_json_bytes(),
        }),
        summary: sig.summary.clone(),
        description: sig.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecation_message: String::new(),
    }
}

pub(super) fn path(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .steps()
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub(super) fn diagnostics(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: crate::diag::shield_from_colour_markup(d.summary),
        detail: crate::diag::shield_from_colour_markup(d.detail),
        attribute: d.path.as_ref().filter(|p| !p.is_root()).map(path),
    }
}

/// Decodes a DynamicValue: msgpack when present, else JSON; absent is null.
pub(super) fn decode(dv: &Option<pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let r = if !dv.msgpack.is_empty() {
        Value::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        Value::from_json(&dv.json, ty)
    } else {
        Ok(Value::Null)
    };
    r.map_err(|e| wire_error("Terraform sent a value this provider cannot read", e))
}

/// Encodes a value as msgpack (always msgpack, as Terraform prefers).
pub(super) fn encode(v: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    let msgpack = v
        .to_msgpack(ty)
        .map_err(|e| wire_error("Provider bug: the value does not match the schema", e))?;
    Ok(pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

fn wire_error(summary: &str, e: ValueError) -> Diagnostics {
    Diagnostic::error(summary, e.to_string()).into()
}

/// The wire form of a resource's identity schema.
pub(super) fn identity_schema(s: &IdentitySchema) -> pb::ResourceIdentitySchema {
    pb::ResourceIdentitySchema {
        version: s.version,
        identity_attributes: s
            .attributes
            .iter()
            .map(|a| pb::resource_identity_schema::IdentityAttribute {
                name: a.name.clone(),
                r#type: a.ty.to_json_bytes(),
                required_for_import: a.required_for_import,
                optional_for_import: a.optional_for_import,
                description: a.description.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validators;

    #[test]
    fn schema_to_proto_flags_and_types() {
        let s = Schema::new()
            .version(2)
            .description("d")
            .attribute(Attribute::string("name").required())
            .attribute(
                Attribute::string("size")
                    .default("small")
                    .validator(validators::one_of(["small"])),
            )
            .attribute(
                Attribute::string("secret")
                    .optional()
                    .sensitive()
                    .write_only(),
            )
            .attribute(Attribute::nested(
                "disks",
                Nesting::Set,
                vec![Attribute::number("gb").required()],
            ))
            .attribute(Attribute::string("old").optional().deprecated("use name"));
        let p = schema(&s);
        let b = p.block.unwrap();
        assert_eq!(b.version, 2);
        assert_eq!(b.description_kind, pb::StringKind::Markdown as i32);
        let names: Vec<_> = b.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["name", "size", "secret", "disks", "old"]);
        assert!(b.attributes[0].required && !b.attributes[0].optional);
        assert!(b.attributes[1].optional && b.attributes[1].computed);
        assert!(b.attributes[2].sensitive && b.attributes[2].write_only);
        assert_eq!(b.attributes[0].r#type, br#""string""#);
        let nt = b.attributes[3].nested_type.as_ref().unwrap();
        assert_eq!(nt.nesting, pb::schema::object::NestingMode::Set as i32);
        assert!(b.attributes[3].r#type.is_empty());
        assert!(b.attributes[4].deprecated);
        assert_eq!(b.attributes[4].deprecation_message, "use name");
    }

    #[test]
    fn diagnostic_paths() {
        let d = Diagnostic::error("s", "d").at(AttributePath::new("a").index(1).key("k"));
        let p = diagnostics(d.into()).remove(0).attribute.unwrap();
        use pb::attribute_path::step::Selector;
        let sel: Vec<_> = p.steps.into_iter().map(|s| s.selector.unwrap()).collect();
        assert_eq!(
            sel,
            [
                Selector::AttributeName("a".into()),
                Selector::ElementKeyInt(1),
                Selector::ElementKeyString("k".into())
            ]
        );
    }
}
