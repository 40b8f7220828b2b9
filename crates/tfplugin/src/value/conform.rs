//! Shapes a value built from a Rust model into exactly the schema's type, so
//! models can use natural Rust types (a `String` price for a number attribute,
//! a struct without the optional attributes it does not care about).

use std::collections::BTreeMap;

use super::{Type, Value, ValueError};
use crate::path::AttributePath;

pub(super) fn conform(v: Value, ty: &Type, path: &AttributePath) -> Result<Value, ValueError> {
    let mismatch = |v: &Value| ValueError::new(path, format!("expected {ty}, got {v:?}"));
    Ok(match (v, ty) {
        (v @ (Value::Null | Value::Unknown), _) => v,
        (v, Type::Dynamic) => v,
        (Value::Dynamic(_, inner), _) => conform(*inner, ty, path)?,
        (v @ Value::String(_), Type::String) => v,
        (Value::Number(n), Type::String) => Value::String(n.to_string()),
        (Value::Bool(b), Type::String) => Value::String(b.to_string()),
        (v @ Value::Number(_), Type::Number) => v,
        (Value::String(s), Type::Number) => Value::Number(
            s.parse()
                .map_err(|e: super::ParseNumberError| ValueError::new(path, e.to_string()))?,
        ),
        (v @ Value::Bool(_), Type::Bool) => v,
        (Value::String(s), Type::Bool) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (Value::List(items), Type::List(e)) => Value::List(elements(items, e, path)?),
        (Value::List(items), Type::Set(e)) => {
            let mut out: Vec<Value> = Vec::new();
            for v in elements(items, e, path)? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Value::List(out)
        }
        (Value::List(items), Type::Tuple(ts)) if items.len() == ts.len() => Value::List(
            items
                .into_iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (v, t))| conform(v, t, &path.clone().index(i as i64)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Map(m), Type::Map(e)) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    let p = path.clone().key(k.clone());
                    Ok((k, conform(v, e, &p)?))
                })
                .collect::<Result<_, ValueError>>()?,
        ),
        (Value::Map(mut m), Type::Object(attrs)) => {
            let mut out = BTreeMap::new();
            for (name, t) in attrs {
                let v = m.remove(name).unwrap_or(Value::Null);
                let p = path.clone().attr(name.clone());
                out.insert(name.clone(), conform(v, t, &p)?);
            }
            if let Some(extra) = m.keys().next() {
                return Err(ValueError::new(
                    &path.clone().attr(extra.clone()),
                    "the model has a field the schema does not declare",
                ));
            }
            Value::Map(out)
        }
        (v, _) => return Err(mismatch(&v)),
    })
}

/// Gives dynamic values in `v` the concrete type they have in `reference`
/// (the planned or prior value at the same place) when `v` lost it — a model
/// holding a `serde_json::Value` writes `{...}` back without knowing whether
/// Terraform had a map or an object. Without this, Terraform would see the
/// type change and reject the result.
pub(super) fn adopt_dynamic_types(v: &mut Value, reference: &Value) {
    match (reference, &mut *v) {
        (Value::Dynamic(..), Value::Dynamic(..)) => {}
        (Value::Dynamic(t, _), plain) if !plain.is_null() && !plain.is_unknown() => {
            if let Ok(c) = conform(plain.clone(), t, &AttributePath::root()) {
                *plain = Value::Dynamic(t.clone(), Box::new(c));
            }
        }
        (Value::Map(r), Value::Map(m)) => {
            for (k, item) in m.iter_mut() {
                if let Some(ri) = r.get(k) {
                    adopt_dynamic_types(item, ri);
                }
            }
        }
        (Value::List(r), Value::List(l)) if r.len() == l.len() => {
            for (item, ri) in l.iter_mut().zip(r) {
                adopt_dynamic_types(item, ri);
            }
        }
        _ => {}
    }
}

fn elements(items: Vec<Value>, e: &Type, path: &AttributePath) -> Result<Vec<Value>, ValueError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| conform(v, e, &path.clone().index(i as i64)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_values_get_their_reference_type_back() {
        let map_ty = Type::map(Type::String);
        let reference = Value::object([(
            "meta",
            Value::Dynamic(
                Box::new(map_ty.clone()),
                Box::new(Value::object([("a", "x".into())])),
            ),
        )]);
        let mut written = Value::object([("meta", Value::object([("a", "y".into())]))]);
        adopt_dynamic_types(&mut written, &reference);
        let meta = written.get("meta").unwrap();
        assert!(matches!(meta, Value::Dynamic(t, _) if **t == map_ty));
        // Encoded with the map type, not an inferred object type.
        let bytes = written
            .to_msgpack(&Type::object([("meta", Type::Dynamic)]))
            .unwrap();
        assert!(bytes.windows(6).any(|w| w == b"[\"map\""));
    }

    #[test]
    fn converts_fills_and_rejects() {
        let ty = Type::object([
            ("price", Type::Number),
            ("name", Type::String),
            ("flag", Type::Bool),
            ("ids", Type::set(Type::String)),
        ]);
        let v = Value::object([
            ("price", Value::string("1.10")),
            ("ids", Value::List(vec!["a".into(), "a".into(), "b".into()])),
        ]);
        let c = v.conform(&ty).unwrap();
        assert_eq!(
            c.get("price").unwrap().as_number().unwrap().to_string(),
            "1.1"
        );
        assert_eq!(c.get("name"), Some(&Value::Null));
        assert_eq!(c.get("ids").unwrap().as_list().unwrap().len(), 2);
        let e = Value::object([("price", Value::string("cheap"))])
            .conform(&ty)
            .unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "price");
        let e = Value::object([("extra", Value::Null)])
            .conform(&ty)
            .unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "extra");
    }
}
