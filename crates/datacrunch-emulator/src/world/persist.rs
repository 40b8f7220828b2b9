//! How the stores read their state back: the `meta` keys of the singletons, and
//! decoding that refuses a corrupt state file rather than silently starting over.

use crate::error::EmulatorError;
use crate::store::{Kind, Store};

pub const META_BALANCE: &str = "balance_base";
pub const META_CLOCK: &str = "clock_offset_ms";
pub const META_CAPACITY: &str = "capacity";
pub const META_LATE: &str = "late_no_capacity";
pub const META_NEXT_IP: &str = "next_ip";

pub fn decode<T: serde::de::DeserializeOwned>(
    kind: &str,
    id: &str,
    doc: &str,
) -> Result<T, EmulatorError> {
    serde_json::from_str(doc).map_err(|source| EmulatorError::CorruptRecord {
        kind: kind.to_owned(),
        id: id.to_owned(),
        source,
    })
}

/// Every stored document of a kind, decoded, in insertion order.
pub fn load_all<T: serde::de::DeserializeOwned>(
    store: &Store,
    kind: Kind,
) -> Result<Vec<T>, EmulatorError> {
    store
        .load(kind)?
        .into_iter()
        .map(|(id, doc)| decode(kind.as_str(), &id, &doc))
        .collect()
}

/// A number kept in the `meta` table. A value that does not parse is a corrupt state
/// file, refused like a corrupt document: silently starting over would reset the
/// balance, move the clock back, or hand out IPs already in use.
pub fn parse_meta<T>(key: &str, value: &str) -> Result<T, EmulatorError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| EmulatorError::CorruptRecord {
            kind: "meta".to_owned(),
            id: key.to_owned(),
            source: serde::de::Error::custom(format!("{value:?} is not a number: {e}")),
        })
}

/// A document as stored: JSON text.
pub fn to_doc<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
