//! Reading a [`Value`] into any `Deserialize` type, so resources work with
//! their own structs. Null and unknown read as `None` for `Option` fields; a
//! [`super::Tf`] field tells them apart. Numbers read as any integer or float
//! type, as `String` (exact text) or as [`super::Number`]. Errors carry the
//! attribute path.

use std::collections::btree_map;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Deserializer;

use super::{Value, ValueError, NUMBER_TOKEN, TF_TOKEN};
use crate::path::AttributePath;

/// Reads `T` from `v`.
pub fn from_value<'a, T: serde::Deserialize<'a>>(v: &'a Value) -> Result<T, ValueError> {
    let root = AttributePath::root();
    T::deserialize(ValueDe {
        v,
        path: root.clone(),
    })
    .map_err(|e| e.or_path(&root))
}

struct ValueDe<'a> {
    v: &'a Value,
    path: AttributePath,
}

impl<'a> ValueDe<'a> {
    fn err(&self, msg: impl Into<String>) -> ValueError {
        ValueError::new(&self.path, msg)
    }
    fn inner(&self) -> &'a Value {
        self.v.unwrap_dynamic()
    }
}

impl<'de> Deserializer<'de> for ValueDe<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let path = self.path.clone();
        let r = match self.inner() {
            Value::Null => visitor.visit_unit(),
            Value::Unknown => {
                return Err(
                    self.err("value is not known yet (use Tf<T> or Option<T> for this field)")
                )
            }
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.to_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.to_u64() {
                    visitor.visit_u64(u)
                } else {
                    visitor.visit_f64(n.to_f64())
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) => visitor.visit_seq(SeqDe {
                iter: items.iter().enumerate(),
                path: path.clone(),
            }),
            Value::Map(m) => visitor.visit_map(MapDe {
                iter: m.iter(),
                pending: None,
                path: path.clone(),
            }),
            Value::Dynamic(..) => unreachable!("inner() removes dynamic wrappers"),
        };
        r.map_err(|e| e.or_path(&path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::Null | Value::Unknown => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match name {
            TF_TOKEN => match self.inner() {
                Value::Null => visitor.visit_none(),
                Value::Unknown => visitor.visit_unit(),
                _ => visitor.visit_some(self),
            },
            NUMBER_TOKEN => match self.inner() {
                Value::Number(n) => visitor.visit_string(n.to_plain_string()),
                Value::String(s) => visitor.visit_str(s),
                _ => Err(self.err("expected a number")),
            },
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            // Exact text of a number, e.g. a price read into a String field.
            Value::Number(n) => visitor.visit_string(n.to_plain_string()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::String(s) => visitor
                .visit_enum(s.as_str().into_deserializer())
                .map_err(|e: ValueError| e.or_path(&self.path)),
            _ => Err(self.err("expected a string naming one of the allowed values")),
        }
    }

    // A null collection reads as an empty one, so `Vec`/`BTreeMap` fields
    // (with or without `#[serde(default)]`) accept null.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::Null => visitor.visit_seq(SeqDe {
                iter: [].iter().enumerate(),
                path: self.path,
            }),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        static EMPTY: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
        match self.inner() {
            Value::Null => visitor.visit_map(MapDe {
                iter: EMPTY.iter(),
                pending: None,
                path: self.path,
            }),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct struct identifier
    }
}

struct SeqDe<'a> {
    iter: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    path: AttributePath,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'de> {
    type Error = ValueError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        match self.iter.next() {
            None => Ok(None),
            Some((i, v)) => {
                let path = self.path.clone().index(i as i64);
                seed.deserialize(ValueDe {
                    v,
                    path: path.clone(),
                })
                .map(Some)
                .map_err(|e| e.or_path(&path))
            }
        }
    }
}

struct MapDe<'a> {
    iter: btree_map::Iter<'a, String, Value>,
    pending: Option<(&'a String, &'a Value)>,
    path: AttributePath,
}

impl<'de> de::MapAccess<'de> for MapDe<'de> {
    type Error = ValueError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.pending = Some((k, v));
                seed.deserialize(k.as_str().into_deserializer()).map(Some)
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| <ValueError as de::Error>::custom("value requested before key"))?;
        // Object attributes and map keys look alike here; attribute steps
        // are what Terraform matches against configuration.
        let path = self.path.clone().attr(k.clone());
        seed.deserialize(ValueDe {
            v,
            path: path.clone(),
        })
        .map_err(|e| e.or_path(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Number, Tf};
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Small,
        Large,
    }

    #[derive(Deserialize, Debug)]
    struct Model {
        id: Tf<String>,
        name: String,
        count: Option<u32>,
        price: String,
        exact: Number,
        kind: Kind,
        tags: BTreeMap<String, String>,
        ports: Vec<i64>,
        gone: Option<String>,
    }

    fn sample() -> Value {
        Value::object([
            ("id", Value::Unknown),
            ("name", Value::string("a")),
            ("count", Value::Null),
            ("price", Value::Number("0.10".parse().unwrap())),
            (
                "exact",
                Value::Number("123456789012345678901234567890".parse().unwrap()),
            ),
            ("kind", Value::string("large")),
            ("tags", Value::object([("env", Value::string("prod"))])),
            (
                "ports",
                Value::List(vec![Value::number(22), Value::number(443)]),
            ),
            ("gone", Value::Unknown),
        ])
    }

    #[test]
    fn reads_a_model() {
        let v = sample();
        let m: Model = from_value(&v).unwrap();
        assert_eq!(m.id, Tf::Unknown);
        assert_eq!(m.name, "a");
        assert_eq!(m.count, None);
        assert_eq!(m.price, "0.1");
        assert_eq!(m.exact.to_string(), "123456789012345678901234567890");
        assert_eq!(m.kind, Kind::Large);
        assert_eq!(m.tags["env"], "prod");
        assert_eq!(m.ports, vec![22, 443]);
        assert_eq!(m.gone, None);
    }

    #[test]
    fn null_collections_read_as_empty() {
        #[derive(Deserialize)]
        struct C {
            list: Vec<String>,
            map: BTreeMap<String, i64>,
        }
        let v = Value::object([("list", Value::Null), ("map", Value::Null)]);
        let c: C = from_value(&v).unwrap();
        assert!(c.list.is_empty() && c.map.is_empty());
    }

    #[test]
    fn errors_name_the_attribute() {
        let mut v = sample();
        if let Value::Map(m) = &mut v {
            m.insert(
                "ports".into(),
                Value::List(vec![Value::number(1), Value::string("x")]),
            );
        }
        let e = from_value::<Model>(&v).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "ports[1]");
        let mut v = sample();
        if let Value::Map(m) = &mut v {
            m.insert("name".into(), Value::Unknown);
        }
        let e = from_value::<Model>(&v).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "name");
    }
}
