//! [`Tf<T>`]: a model field that may be null or unknown, for values a
//! resource reads during planning (where computed attributes are unknown)
//! or writes back (where it wants to leave something unknown).
//! Plain `Option<T>` fields also work: they read both null and unknown as `None`.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use super::{TF_TOKEN, UNKNOWN_TOKEN};

/// A value that is null, unknown, or known.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Tf<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Tf<T> {
    pub fn is_null(&self) -> bool {
        matches!(self, Tf::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Tf::Unknown)
    }
    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }
    /// The known value, if any, by value.
    pub fn into_known(self) -> Option<T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Tf<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Tf::Null, Tf::Known)
    }
}

impl<T: Serialize> Serialize for Tf<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tf::Null => s.serialize_none(),
            Tf::Unknown => s.serialize_unit_struct(UNKNOWN_TOKEN),
            Tf::Known(v) => s.serialize_some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(TF_TOKEN, TfVisitor(std::marker::PhantomData))
    }
}

struct TfVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TfVisitor<T> {
    type Value = Tf<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a possibly null or unknown value")
    }
    // The value deserialiser of this crate answers the marker name with
    // none (null), unit (unknown) or some (known).
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Tf::Null)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Tf::Unknown)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        T::deserialize(d).map(Tf::Known)
    }
    // Other deserialisers (e.g. serde_json in tests) treat the marker as a
    // plain newtype: read it as an Option.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Option::<T>::deserialize(d).map(Tf::from)
    }
}
