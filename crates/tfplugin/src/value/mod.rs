//! The value model. [`Value`] is an untyped tree (null, unknown, bool,
//! number, string, list, map) that is always read and written together with a
//! [`Type`] from the schema, which decides e.g. whether an array is a list, a
//! set or a tuple. Resources normally never see it: they map values to and
//! from their own serde structs with [`from_value`] / [`to_value`], using
//! [`Tf`] for fields that can be unknown during planning.
//!
//! Submodules: `number` (exact decimals), `types` (types and their JSON form),
//! `msgpack` and `json` (wire encodings), `de` / `ser` (serde mapping),
//! `conform` (shaping a serialised model to the schema type).

mod conform;
mod de;
mod json;
mod msgpack;
mod number;
mod ser;
mod tf;
mod types;

use std::collections::BTreeMap;

pub use de::from_value;
pub use number::{Number, ParseNumberError};
pub use ser::to_value;
pub use tf::Tf;
pub use types::{Type, TypeError};

use crate::path::AttributePath;

/// serde newtype name that marks a [`Number`] travelling as a string.
pub(crate) const NUMBER_TOKEN: &str = "$tfplugin::Number";
/// serde name that marks an unknown value.
pub(crate) const UNKNOWN_TOKEN: &str = "$tfplugin::Unknown";
/// serde newtype name through which [`Tf`] asks for null / unknown / known.
pub(crate) const TF_TOKEN: &str = "$tfplugin::Tf";

/// A Terraform value without its type.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply. Refinements Terraform may attach are dropped.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    /// A list, set or tuple.
    List(Vec<Value>),
    /// A map or object.
    Map(BTreeMap<String, Value>),
    /// A value of a `dynamic` attribute together with its concrete type, as
    /// Terraform sent it; kept so that it is written back with the same type.
    Dynamic(Box<Type>, Box<Value>),
}

/// A value that does not fit its type, or a model that does not fit its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", path.as_ref().filter(|p| !p.is_root()).map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct ValueError {
    path: Option<AttributePath>,
    message: String,
}

impl ValueError {
    pub fn new(path: &AttributePath, message: impl Into<String>) -> Self {
        Self {
            path: Some(path.clone()),
            message: message.into(),
        }
    }

    /// Where in the value the problem is, when known.
    pub fn path(&self) -> Option<&AttributePath> {
        self.path.as_ref()
    }

    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn or_path(mut self, path: &AttributePath) -> Self {
        if self.path.is_none() {
            self.path = Some(path.clone());
        }
        self
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self {
            path: None,
            message: msg.to_string(),
        }
    }
}

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        <Self as serde::de::Error>::custom(msg)
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// A number value.
    pub fn number(n: impl Into<Number>) -> Self {
        Value::Number(n.into())
    }

    /// An object value from `(name, value)` pairs.
    pub fn object<I, S>(attrs: I) -> Self
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Map(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unwrap_dynamic(), Value::Null)
    }

    /// True for an unknown value (not for a known value containing unknowns).
    pub fn is_unknown(&self) -> bool {
        matches!(self.unwrap_dynamic(), Value::Unknown)
    }

    /// True when no part of the value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(l) => l.iter().all(Value::is_wholly_known),
            Value::Map(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// The value inside a dynamic wrapper (or the value itself).
    pub fn unwrap_dynamic(&self) -> &Value {
        match self {
            Value::Dynamic(_, v) => v.unwrap_dynamic(),
            v => v,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_dynamic() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unwrap_dynamic() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrap_dynamic() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unwrap_dynamic() {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// An attribute of an object value (None when absent or not an object).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(name))
    }

    /// The value at `path`, if every step exists.
    pub fn at(&self, path: &AttributePath) -> Option<&Value> {
        use crate::path::PathStep;
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur.unwrap_dynamic()) {
                (PathStep::Attribute(k) | PathStep::Key(k), Value::Map(m)) => m.get(k)?,
                (PathStep::Index(i), Value::List(l)) => l.get(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// A mutable reference to the value at `path`.
    pub fn at_mut(&mut self, path: &AttributePath) -> Option<&mut Value> {
        use crate::path::PathStep;
        let mut cur = self;
        for step in path.steps() {
            if let Value::Dynamic(_, inner) = cur {
                cur = inner.as_mut();
            }
            cur = match (step, cur) {
                (PathStep::Attribute(k) | PathStep::Key(k), Value::Map(m)) => m.get_mut(k)?,
                (PathStep::Index(i), Value::List(l)) => l.get_mut(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Decodes msgpack according to `ty`. Any msgpack extension is read as
    /// unknown (code 0 plain, code 12 refined).
    pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
        msgpack::decode(bytes, ty)
    }

    /// Encodes as msgpack according to `ty`; unknown is written `d4 00 00`.
    pub fn to_msgpack(&self, ty: &Type) -> Result<Vec<u8>, ValueError> {
        msgpack::encode(self, ty)
    }

    /// Decodes Terraform's JSON encoding (used for stored state) per `ty`.
    pub fn from_json(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
        json::decode(bytes, ty)
    }

    /// Converts a parsed JSON document per `ty`.
    pub fn from_json_value(j: &serde_json::Value, ty: &Type) -> Result<Value, ValueError> {
        json::from_json(j, ty, &AttributePath::root())
    }

    /// Removes, from JSON state, object attributes `ty` does not declare (at
    /// any depth) and returns their paths: state written by an older build
    /// of the provider whose schema had attributes since removed.
    pub fn drop_undeclared_json(j: &mut serde_json::Value, ty: &Type) -> Vec<AttributePath> {
        json::drop_undeclared(j, ty, &AttributePath::root())
    }

    /// Reshapes a value built from a Rust model so that it has exactly type
    /// `ty`: missing object attributes become null, strings convert to numbers
    /// and bools where the type asks for them, sets drop duplicates; attributes
    /// the type does not have are an error.
    pub fn conform(self, ty: &Type) -> Result<Value, ValueError> {
        conform::conform(self, ty, &AttributePath::root())
    }

    /// Restores the concrete types of dynamic values from `reference` (the
    /// planned or prior value) where this value lost them.
    pub fn adopt_dynamic_types(&mut self, reference: &Value) {
        conform::adopt_dynamic_types(self, reference)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}

impl Value {
    /// Reads a model (any `Deserialize` type) from this value. Errors name
    /// the attribute and convert into diagnostics with `?`.
    pub fn decode<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, ValueError> {
        from_value(self)
    }

    /// Writes a model (any `Serialize` type) as a value; the server shapes
    /// it to the schema type before sending it to Terraform.
    pub fn encode<T: serde::Serialize + ?Sized>(model: &T) -> Result<Value, ValueError> {
        to_value(model)
    }
}
