//! Conversions between the API's values and Terraform's that more than one resource or
//! data source needs.

use datacrunch_models::Price;
use std::str::FromStr;
use tfplugin::{Number, Value};

/// A price as an exact Terraform number.
pub fn price_number(p: &Price) -> Option<Number> {
    Number::from_str(&p.to_string()).ok()
}

/// The string at `name` of an object value, when known.
pub fn known_str<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}
