//! msgpack, Terraform's main value encoding (object-wire-format.md).
//! Unknown is any extension value; we write cty's own form, fixext1 code 0
//! payload 0 (`d4 00 00`), and read code 12 (refined unknown) and any other
//! code as plain unknown, dropping refinements we would not honour anyway.
//! Dynamic values travel as `[type JSON as bin, value]`.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use super::{Number, Type, Value, ValueError};
use crate::path::AttributePath;

pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let root = AttributePath::root();
    let mut rd = bytes;
    let mp = rmpv::decode::read_value(&mut rd)
        .map_err(|e| ValueError::new(&root, format!("malformed msgpack: {e}")))?;
    from_mp(mp, ty, &root)
}

fn from_mp(mp: Mp, ty: &Type, path: &AttributePath) -> Result<Value, ValueError> {
    let err = |what: &str| ValueError::new(path, format!("expected {ty}, got {what}"));
    match (mp, ty) {
        (Mp::Nil, _) => Ok(Value::Null),
        (Mp::Ext(..), _) => Ok(Value::Unknown),
        (Mp::Array(mut pair), Type::Dynamic) if pair.len() == 2 => {
            let inner = pair.pop().unwrap_or(Mp::Nil);
            let ty_bytes = match pair.pop() {
                Some(Mp::Binary(b)) => b,
                Some(Mp::String(s)) => s.into_bytes(),
                _ => return Err(err("a malformed dynamic value")),
            };
            let inner_ty = Type::from_json_bytes(&ty_bytes)
                .map_err(|e| ValueError::new(path, e.to_string()))?;
            let v = from_mp(inner, &inner_ty, path)?;
            Ok(Value::Dynamic(Box::new(inner_ty), Box::new(v)))
        }
        (_, Type::Dynamic) => Err(err("a dynamic value without its type")),
        (Mp::Boolean(b), Type::Bool) => Ok(Value::Bool(b)),
        (Mp::String(s), Type::String) => s
            .into_str()
            .map(Value::String)
            .ok_or_else(|| err("invalid UTF-8")),
        (Mp::Integer(i), Type::Number) => Ok(Value::Number(if let Some(v) = i.as_i64() {
            v.into()
        } else if let Some(v) = i.as_u64() {
            v.into()
        } else {
            return Err(err("an out-of-range integer"));
        })),
        (Mp::F64(f), Type::Number) => Number::try_from(f)
            .map(Value::Number)
            .map_err(|e| ValueError::new(path, e.to_string())),
        (Mp::F32(f), Type::Number) => Number::try_from(f as f64)
            .map(Value::Number)
            .map_err(|e| ValueError::new(path, e.to_string())),
        (Mp::String(s), Type::Number) => {
            let s = s.into_str().ok_or_else(|| err("invalid UTF-8"))?;
            s.parse()
                .map(Value::Number)
                .map_err(|e: super::ParseNumberError| ValueError::new(path, e.to_string()))
        }
        (Mp::Array(items), Type::List(e) | Type::Set(e)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| from_mp(v, e, &path.clone().index(i as i64)))
            .collect::<Result<_, _>>()
            .map(Value::List),
        (Mp::Array(items), Type::Tuple(types)) => {
            if items.len() != types.len() {
                return Err(err("a tuple of the wrong length"));
            }
            items
                .into_iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| from_mp(v, t, &path.clone().index(i as i64)))
                .collect::<Result<_, _>>()
                .map(Value::List)
        }
        (Mp::Map(entries), Type::Map(e)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let k = key(k, path)?;
                let p = path.clone().key(k.clone());
                out.insert(k, from_mp(v, e, &p)?);
            }
            Ok(Value::Map(out))
        }
        (Mp::Map(entries), Type::Object(attrs)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let k = key(k, path)?;
                let p = path.clone().attr(k.clone());
                let t = attrs
                    .get(&k)
                    .ok_or_else(|| ValueError::new(&p, "unsupported attribute"))?;
                out.insert(k, from_mp(v, t, &p)?);
            }
            // Absent attributes are null; Terraform sends complete objects anyway.
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Map(out))
        }
        (other, _) => Err(err(kind(&other))),
    }
}

fn key(k: Mp, path: &AttributePath) -> Result<String, ValueError> {
    match k {
        Mp::String(s) => s
            .into_str()
            .ok_or_else(|| ValueError::new(path, "map key is not UTF-8")),
        _ => Err(ValueError::new(path, "map key is not a string")),
    }
}

fn kind(v: &Mp) -> &'static str {
    match v {
        Mp::Nil => "null",
        Mp::Boolean(_) => "a bool",
        Mp::Integer(_) | Mp::F32(_) | Mp::F64(_) => "a number",
        Mp::String(_) => "a string",
        Mp::Binary(_) => "binary data",
        Mp::Array(_) => "an array",
        Mp::Map(_) => "a map",
        Mp::Ext(..) => "an extension",
    }
}

pub(super) fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::with_capacity(64);
    write(&mut out, v, ty, &AttributePath::root())?;
    Ok(out)
}

/// Writes to a Vec, which cannot fail; the `expect`s below document that.
fn write(out: &mut Vec<u8>, v: &Value, ty: &Type, path: &AttributePath) -> Result<(), ValueError> {
    use rmp::encode as enc;
    const VEC_WRITE: &str = "writing to a Vec cannot fail";
    let mismatch = || ValueError::new(path, format!("value {v:?} does not fit type {ty}"));
    match (v, ty) {
        (Value::Unknown, _) => {
            enc::write_ext_meta(out, 1, 0).expect(VEC_WRITE);
            out.push(0);
        }
        (Value::Null, _) => enc::write_nil(out).expect(VEC_WRITE),
        (_, Type::Dynamic) => {
            let (inner_ty, inner) = match v {
                Value::Dynamic(t, inner) => ((**t).clone(), inner.as_ref()),
                other => (infer_type(other), other),
            };
            enc::write_array_len(out, 2).expect(VEC_WRITE);
            enc::write_bin(out, &inner_ty.to_json_bytes()).expect(VEC_WRITE);
            write(out, inner, &inner_ty, path)?;
        }
        (Value::Dynamic(_, inner), _) => write(out, inner, ty, path)?,
        (Value::Bool(b), Type::Bool) => enc::write_bool(out, *b).expect(VEC_WRITE),
        (Value::String(s), Type::String) => enc::write_str(out, s).expect(VEC_WRITE),
        (Value::Number(n), Type::Number) => {
            // cty's rule: integers that fit are ints; anything else goes as
            // its exact decimal string, which cty parses back losslessly.
            if let Some(i) = n.to_i64() {
                enc::write_sint(out, i).expect(VEC_WRITE);
            } else if let Some(u) = n.to_u64() {
                enc::write_uint(out, u).expect(VEC_WRITE);
            } else {
                enc::write_str(out, &n.to_string()).expect(VEC_WRITE);
            }
        }
        (Value::List(items), Type::List(e) | Type::Set(e)) => {
            enc::write_array_len(out, items.len() as u32).expect(VEC_WRITE);
            for (i, item) in items.iter().enumerate() {
                write(out, item, e, &path.clone().index(i as i64))?;
            }
        }
        (Value::List(items), Type::Tuple(types)) if items.len() == types.len() => {
            enc::write_array_len(out, items.len() as u32).expect(VEC_WRITE);
            for (i, (item, t)) in items.iter().zip(types).enumerate() {
                write(out, item, t, &path.clone().index(i as i64))?;
            }
        }
        (Value::Map(m), Type::Map(e)) => {
            enc::write_map_len(out, m.len() as u32).expect(VEC_WRITE);
            for (k, item) in m {
                enc::write_str(out, k).expect(VEC_WRITE);
                write(out, item, e, &path.clone().key(k.clone()))?;
            }
        }
        (Value::Map(m), Type::Object(attrs)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(ValueError::new(
                    &path.clone().attr(extra.clone()),
                    "unsupported attribute",
                ));
            }
            enc::write_map_len(out, attrs.len() as u32).expect(VEC_WRITE);
            for (name, t) in attrs {
                enc::write_str(out, name).expect(VEC_WRITE);
                let item = m.get(name).unwrap_or(&Value::Null);
                write(out, item, t, &path.clone().attr(name.clone()))?;
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// The type a value without schema information most naturally has; used
/// only for values written into `dynamic` attributes by providers.
pub(super) fn infer_type(v: &Value) -> Type {
    match v {
        Value::Null | Value::Unknown => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(l) => Type::Tuple(l.iter().map(infer_type).collect()),
        Value::Map(m) => Type::Object(m.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect()),
        Value::Dynamic(t, _) => (**t).clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj_ty() -> Type {
        Type::object([
            ("id", Type::String),
            ("n", Type::Number),
            ("tags", Type::map(Type::String)),
        ])
    }

    #[test]
    fn unknown_is_written_as_fixext1_code_0() {
        assert_eq!(
            Value::Unknown.to_msgpack(&Type::String).unwrap(),
            vec![0xd4, 0, 0]
        );
        let v = Value::object([("id", Value::Unknown)]);
        let bytes = v.to_msgpack(&Type::object([("id", Type::String)])).unwrap();
        // fixmap(1) "id" d4 00 00
        assert_eq!(bytes, vec![0x81, 0xa2, b'i', b'd', 0xd4, 0x00, 0x00]);
    }

    #[test]
    fn any_extension_reads_as_unknown() {
        assert_eq!(
            Value::from_msgpack(&[0xd4, 0, 0], &Type::String).unwrap(),
            Value::Unknown
        );
        // Refined unknown: ext 12 carrying {1: false} (definitely not null).
        let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2];
        assert_eq!(
            Value::from_msgpack(&refined, &Type::String).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            Value::from_msgpack(&[0xc0], &Type::Number).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn numbers_exact_in_all_three_encodings() {
        let ty = Type::Number;
        // positive fixint, int64, float64 and a string holding a big number.
        assert_eq!(Value::from_msgpack(&[0x05], &ty).unwrap(), Value::number(5));
        let f = [0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]; // 0.1
        assert_eq!(
            Value::from_msgpack(&f, &ty).unwrap(),
            Value::Number("0.1".parse().unwrap())
        );
        let big = "123456789012345678901234567890.5";
        let mut s = vec![0xd9, big.len() as u8];
        s.extend_from_slice(big.as_bytes());
        let v = Value::from_msgpack(&s, &ty).unwrap();
        assert_eq!(v, Value::Number(big.parse().unwrap()));
        // Written back as the same string, and small ints as ints.
        assert_eq!(v.to_msgpack(&ty).unwrap(), s);
        assert_eq!(Value::number(-1).to_msgpack(&ty).unwrap(), vec![0xff]);
        assert_eq!(Value::number(u64::MAX).to_msgpack(&ty).unwrap()[0], 0xcf);
    }

    #[test]
    fn dynamic_roundtrip_keeps_the_type() {
        let ty = Type::Dynamic;
        let inner_ty = Type::list(Type::String);
        let v = Value::Dynamic(
            Box::new(inner_ty.clone()),
            Box::new(Value::List(vec!["a".into()])),
        );
        let bytes = v.to_msgpack(&ty).unwrap();
        let mut expect = vec![0x92, 0xc4, 19];
        expect.extend_from_slice(br#"["list","string"]"#);
        // ↑ 17 bytes of JSON; fix the length byte accordingly.
        expect[2] = 17;
        expect.extend_from_slice(&[0x91, 0xa1, b'a']);
        assert_eq!(bytes, expect);
        assert_eq!(Value::from_msgpack(&bytes, &ty).unwrap(), v);
        // A plain value in a dynamic slot gets an inferred type.
        let b = Value::Bool(true).to_msgpack(&ty).unwrap();
        assert_eq!(b, [&[0x92, 0xc4, 6][..], b"\"bool\"", &[0xc3]].concat());
    }

    #[test]
    fn objects_fill_missing_and_reject_extra() {
        let ty = obj_ty();
        let v = Value::object([("id", Value::string("x"))]);
        let back = Value::from_msgpack(&v.to_msgpack(&ty).unwrap(), &ty).unwrap();
        assert_eq!(back.get("n"), Some(&Value::Null));
        assert_eq!(back.get("id"), Some(&Value::string("x")));
        let bad = Value::object([("nope", Value::Null)]);
        let e = bad.to_msgpack(&ty).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "nope");
    }

    #[test]
    fn type_mismatch_names_the_path() {
        let ty = obj_ty();
        let v = Value::object([("tags", Value::object([("env", Value::Bool(true))]))]);
        let e = v.to_msgpack(&ty).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "tags[\"env\"]");
    }
}
