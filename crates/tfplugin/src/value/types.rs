//! Terraform types and their compact JSON form (`"string"`,
//! `["list","string"]`, `["object",{"a":"number"}]`), which is how schemas
//! describe attribute types and how dynamic values carry their type.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value as Json};

/// A Terraform (cty) type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Number,
    Bool,
    /// "any": the value carries its own type.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

/// A type expression that is not valid JSON of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid type expression {0}")]
pub struct TypeError(pub String);

impl Type {
    pub fn list(elem: Type) -> Self {
        Type::List(Box::new(elem))
    }
    pub fn set(elem: Type) -> Self {
        Type::Set(Box::new(elem))
    }
    pub fn map(elem: Type) -> Self {
        Type::Map(Box::new(elem))
    }
    /// An object type from `(name, type)` pairs.
    pub fn object<I, S>(attrs: I) -> Self
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The compact JSON form used on the wire.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Object(attrs) => {
                let m: serde_json::Map<String, Json> = attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect();
                json!(["object", m])
            }
            Type::Tuple(elems) => {
                json!(["tuple", elems.iter().map(Type::to_json).collect::<Vec<_>>()])
            }
        }
    }

    /// The JSON form as bytes, as the schema `type` field wants it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses the compact JSON form. A third element of `object` (optional
    /// attribute names, used only in type constraints) is accepted and ignored.
    pub fn from_json(j: &Json) -> Result<Type, TypeError> {
        let bad = || TypeError(j.to_string());
        match j {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(a) if a.len() >= 2 => {
                let kind = a[0].as_str().ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(&a[1])?)),
                    "set" => Ok(Type::set(Type::from_json(&a[1])?)),
                    "map" => Ok(Type::map(Type::from_json(&a[1])?)),
                    "object" => {
                        let attrs = a[1].as_object().ok_or_else(bad)?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), Type::from_json(v)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = a[1].as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// Parses the JSON form from bytes.
    pub fn from_json_bytes(b: &[u8]) -> Result<Type, TypeError> {
        let j: Json =
            serde_json::from_slice(b).map_err(|_| TypeError(String::from_utf8_lossy(b).into()))?;
        Type::from_json(&j)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms() {
        assert_eq!(Type::String.to_json_bytes(), br#""string""#);
        assert_eq!(
            Type::list(Type::String).to_json().to_string(),
            r#"["list","string"]"#
        );
        let obj = Type::object([("b", Type::Number), ("a", Type::set(Type::Bool))]);
        assert_eq!(
            obj.to_json().to_string(),
            r#"["object",{"a":["set","bool"],"b":"number"}]"#
        );
        let tup = Type::Tuple(vec![Type::String, Type::map(Type::Dynamic)]);
        assert_eq!(
            tup.to_json().to_string(),
            r#"["tuple",["string",["map","dynamic"]]]"#
        );
        for t in [obj, tup, Type::Dynamic] {
            assert_eq!(Type::from_json_bytes(&t.to_json_bytes()).unwrap(), t);
        }
    }

    #[test]
    fn rejects_garbage_and_accepts_optional_attrs() {
        assert!(Type::from_json_bytes(b"\"strin\"").is_err());
        assert!(Type::from_json_bytes(b"[\"list\"]").is_err());
        let t = Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#).unwrap();
        assert_eq!(t, Type::object([("a", Type::String)]));
    }
}
