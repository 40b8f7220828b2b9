//! Writing any `Serialize` type into a [`Value`]: structs and maps become
//! maps, sequences lists, `None` null, unit enum variants strings, and the
//! marker types [`super::Tf`] / [`super::Number`] their unknown / exact forms.
//! The result is then shaped to the schema type by `conform`.

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use super::{Number, Value, ValueError, NUMBER_TOKEN, UNKNOWN_TOKEN};
use crate::path::AttributePath;

/// Writes `v` as a value.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, ValueError> {
    v.serialize(ValueSer)
}

fn err(msg: impl Into<String>) -> ValueError {
    ValueError::new(&AttributePath::root(), msg)
}

struct ValueSer;

macro_rules! ser_num {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<Value, ValueError> {
            Ok(Value::Number(v.into()))
        }
    )*};
}

impl ser::Serializer for ValueSer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSer<SeqSer>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = VariantSer<MapSer>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    ser_num!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128);
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        self.serialize_f64(v as f64)
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Number::try_from(v)
            .map(Value::Number)
            .map_err(|e| err(e.to_string()))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, ValueError> {
        Err(err(
            "Terraform values cannot hold raw bytes; use a (base64) string",
        ))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, ValueError> {
        Ok(if name == UNKNOWN_TOKEN {
            Value::Unknown
        } else {
            Value::Null
        })
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        let inner = v.serialize(ValueSer)?;
        match (name, inner) {
            (NUMBER_TOKEN, Value::String(s)) => s
                .parse()
                .map(Value::Number)
                .map_err(|e: super::ParseNumberError| err(e.to_string())),
            (_, inner) => Ok(inner),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        Ok(Value::object([(variant, v.serialize(ValueSer)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, ValueError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSer<SeqSer>, ValueError> {
        Ok(VariantSer(variant, SeqSer(Vec::with_capacity(len))))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, ValueError> {
        Ok(MapSer::default())
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<MapSer, ValueError> {
        Ok(MapSer {
            json_number: name == SERDE_JSON_NUMBER,
            ..MapSer::default()
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantSer<MapSer>, ValueError> {
        Ok(VariantSer(variant, MapSer::default()))
    }
}

struct SeqSer(Vec<Value>);

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.0.push(v.serialize(ValueSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

/// How serde_json (with `arbitrary_precision`, on in this workspace)
/// serialises its numbers: a one-field struct holding the exact text.
const SERDE_JSON_NUMBER: &str = "$serde_json::private::Number";

#[derive(Default)]
struct MapSer {
    map: BTreeMap<String, Value>,
    key: Option<String>,
    json_number: bool,
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        self.key = Some(match k.serialize(ValueSer)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(err(format!("map keys must be strings, got {other:?}"))),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| err("map value without a key"))?;
        let path = AttributePath::root().key(k.clone());
        self.map
            .insert(k, v.serialize(ValueSer).map_err(|e| e.or_path(&path))?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Map(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        let path = AttributePath::new(k);
        self.map.insert(
            k.to_string(),
            v.serialize(ValueSer).map_err(|e| e.or_path(&path))?,
        );
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        if self.json_number {
            if let Some(Value::String(s)) = self.map.values().next() {
                return s
                    .parse()
                    .map(Value::Number)
                    .map_err(|e: super::ParseNumberError| err(e.to_string()));
            }
        }
        Ok(Value::Map(self.map))
    }
}

/// Externally tagged enum variants: `{variant: contents}`.
struct VariantSer<S>(&'static str, S);

impl ser::SerializeTupleVariant for VariantSer<SeqSer> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(&mut self.1, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::object([(self.0, ser::SerializeSeq::end(self.1)?)]))
    }
}

impl ser::SerializeStructVariant for VariantSer<MapSer> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        ser::SerializeStruct::serialize_field(&mut self.1, k, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::object([(
            self.0,
            ser::SerializeStruct::end(self.1)?,
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_value, Tf, Type};
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Model {
        id: Tf<String>,
        price: Number,
        price_text: String,
        count: Option<u32>,
        tags: BTreeMap<String, String>,
    }

    #[test]
    fn model_roundtrip_through_msgpack() {
        let m = Model {
            id: Tf::Unknown,
            price: "0.1".parse().unwrap(),
            price_text: "2.50".into(),
            count: None,
            tags: [("a".to_string(), "b".to_string())].into(),
        };
        let ty = Type::object([
            ("id", Type::String),
            ("price", Type::Number),
            ("price_text", Type::Number),
            ("count", Type::Number),
            ("tags", Type::map(Type::String)),
            ("unused", Type::Bool),
        ]);
        let v = to_value(&m).unwrap().conform(&ty).unwrap();
        assert_eq!(v.get("id"), Some(&Value::Unknown));
        assert_eq!(v.get("unused"), Some(&Value::Null));
        let bytes = v.to_msgpack(&ty).unwrap();
        let back = Value::from_msgpack(&bytes, &ty).unwrap();
        let m2: Model = from_value(&back).unwrap();
        assert_eq!(m2.price_text, "2.5");
        assert_eq!(
            Model {
                price_text: "2.50".into(),
                ..m2
            },
            m
        );
    }
}
