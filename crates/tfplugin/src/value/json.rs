//! Terraform's JSON value encoding, used for stored state handed to
//! UpgradeResourceState. JSON has no unknowns; dynamic values are
//! `{"value": ..., "type": ...}`. serde_json's `arbitrary_precision` keeps
//! number text exact.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{Type, Value, ValueError};
use crate::path::AttributePath;

pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let root = AttributePath::root();
    let j: Json = serde_json::from_slice(bytes)
        .map_err(|e| ValueError::new(&root, format!("malformed JSON: {e}")))?;
    from_json(&j, ty, &root)
}

pub(super) fn from_json(j: &Json, ty: &Type, path: &AttributePath) -> Result<Value, ValueError> {
    let err = || ValueError::new(path, format!("expected {ty}, got {j}"));
    Ok(match (j, ty) {
        (Json::Null, _) => Value::Null,
        (Json::Object(o), Type::Dynamic) => {
            let t = o.get("type").ok_or_else(err)?;
            let t = Type::from_json(t).map_err(|e| ValueError::new(path, e.to_string()))?;
            let v = from_json(o.get("value").unwrap_or(&Json::Null), &t, path)?;
            Value::Dynamic(Box::new(t), Box::new(v))
        }
        (_, Type::Dynamic) => return Err(err()),
        (Json::Bool(b), Type::Bool) => Value::Bool(*b),
        (Json::String(s), Type::String) => Value::String(s.clone()),
        (Json::Number(n), Type::Number) => Value::Number(
            n.to_string()
                .parse()
                .map_err(|e: super::ParseNumberError| ValueError::new(path, e.to_string()))?,
        ),
        // cty accepts numbers and bools written as strings in state.
        (Json::String(s), Type::Number) => Value::Number(
            s.parse()
                .map_err(|e: super::ParseNumberError| ValueError::new(path, e.to_string()))?,
        ),
        (Json::Array(a), Type::List(e) | Type::Set(e)) => Value::List(
            a.iter()
                .enumerate()
                .map(|(i, v)| from_json(v, e, &path.clone().index(i as i64)))
                .collect::<Result<_, _>>()?,
        ),
        (Json::Array(a), Type::Tuple(ts)) if a.len() == ts.len() => Value::List(
            a.iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (v, t))| from_json(v, t, &path.clone().index(i as i64)))
                .collect::<Result<_, _>>()?,
        ),
        (Json::Object(o), Type::Map(e)) => Value::Map(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), from_json(v, e, &path.clone().key(k.clone()))?)))
                .collect::<Result<_, ValueError>>()?,
        ),
        (Json::Object(o), Type::Object(attrs)) => {
            let mut out = BTreeMap::new();
            for (k, v) in o {
                let p = path.clone().attr(k.clone());
                let t = attrs
                    .get(k)
                    .ok_or_else(|| ValueError::new(&p, "unsupported attribute"))?;
                out.insert(k.clone(), from_json(v, t, &p)?);
            }
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Value::Map(out)
        }
        _ => return Err(err()),
    })
}

/// Removes object attributes that `ty` does not declare, at any depth,
/// returning their paths. Used for state stored under the current schema
/// version: an attribute the provider has since dropped from the schema is
/// forgotten (as terraform-plugin-framework does) instead of making every
/// plan fail on state the user cannot fix.
pub(crate) fn drop_undeclared(j: &mut Json, ty: &Type, path: &AttributePath) -> Vec<AttributePath> {
    let mut dropped = Vec::new();
    match (j, ty) {
        (Json::Object(o), Type::Object(attrs)) => {
            o.retain(|k, _| {
                let keep = attrs.contains_key(k);
                if !keep {
                    dropped.push(path.clone().attr(k.clone()));
                }
                keep
            });
            for (k, v) in o.iter_mut() {
                if let Some(t) = attrs.get(k) {
                    dropped.extend(drop_undeclared(v, t, &path.clone().attr(k.clone())));
                }
            }
        }
        (Json::Object(o), Type::Map(e)) => {
            for (k, v) in o.iter_mut() {
                dropped.extend(drop_undeclared(v, e, &path.clone().key(k.clone())));
            }
        }
        (Json::Array(a), Type::List(e) | Type::Set(e)) => {
            for (i, v) in a.iter_mut().enumerate() {
                dropped.extend(drop_undeclared(v, e, &path.clone().index(i as i64)));
            }
        }
        (Json::Array(a), Type::Tuple(ts)) => {
            for (i, (v, t)) in a.iter_mut().zip(ts).enumerate() {
                dropped.extend(drop_undeclared(v, t, &path.clone().index(i as i64)));
            }
        }
        _ => {}
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_json_with_big_numbers_and_dynamic() {
        let ty = Type::object([
            ("price", Type::Number),
            ("big", Type::Number),
            ("any", Type::Dynamic),
            ("ids", Type::set(Type::String)),
        ]);
        let j = br#"{"price":0.1,"big":123456789012345678901234567890,"any":{"value":["a"],"type":["list","string"]},"ids":["x"]}"#;
        let v = Value::from_json(j, &ty).unwrap();
        assert_eq!(
            v.get("price").unwrap().as_number().unwrap().to_string(),
            "0.1"
        );
        assert_eq!(
            v.get("big").unwrap().as_number().unwrap().to_string(),
            "123456789012345678901234567890"
        );
        assert_eq!(
            v.get("any").unwrap(),
            &Value::Dynamic(
                Box::new(Type::list(Type::String)),
                Box::new(Value::List(vec!["a".into()]))
            )
        );
    }

    #[test]
    fn undeclared_attributes_are_dropped_at_any_depth() {
        let ty = Type::object([
            ("a", Type::String),
            ("disks", Type::list(Type::object([("size", Type::Number)]))),
            ("tags", Type::map(Type::String)),
        ]);
        let mut j: Json = serde_json::from_str(
            r#"{"a":"x","gone":1,"disks":[{"size":1,"kind":"ssd"}],"tags":{"gone":"kept: a map key"}}"#,
        )
        .unwrap();
        let dropped = drop_undeclared(&mut j, &ty, &AttributePath::root());
        let names: Vec<String> = dropped.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["gone", "disks[0].kind"]);
        let v = from_json(&j, &ty, &AttributePath::root()).unwrap();
        assert_eq!(
            v.get("tags").unwrap().get("gone"),
            Some(&Value::string("kept: a map key"))
        );
    }

    #[test]
    fn old_attribute_is_an_error_with_path() {
        let ty = Type::object([("a", Type::String)]);
        let e = Value::from_json(br#"{"a":"x","gone":1}"#, &ty).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "gone");
    }
}
