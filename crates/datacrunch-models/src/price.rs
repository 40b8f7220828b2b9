//! [`Price`]: an exact decimal that reads a JSON string or number.

use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// A price or other money amount, kept exact.
///
/// `/instance-types` sends `"price_per_hour": "1.99"` while instances send `0.6`; both
/// decode. It encodes as a JSON number; [`Price::as_string`] serializes as the string
/// form for the fields the real API sends as strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub Decimal);

impl Price {
    pub const ZERO: Price = Price(Decimal::ZERO);

    /// The amount as a float, for arithmetic where exactness does not matter (estimates).
    pub fn to_f64(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.0.to_f64().unwrap_or(0.0)
    }

    /// Builds a price from a float, rounded to 6 decimal places.
    pub fn from_f64(v: f64) -> Price {
        Price(
            Decimal::from_f64_retain(v)
                .unwrap_or_default()
                .round_dp(6)
                .normalize(),
        )
    }

    /// A serde `serialize_with` helper that writes the price as a JSON string, the form
    /// `/instance-types` uses.
    pub fn as_string<S: Serializer>(p: &Price, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&p.0.normalize().to_string())
    }

    /// Like [`Price::as_string`] for an optional price (`null` stays `null`).
    pub fn opt_as_string<S: Serializer>(p: &Option<Price>, s: S) -> Result<S::Ok, S::Error> {
        match p {
            Some(p) => Price::as_string(p, s),
            None => s.serialize_none(),
        }
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl FromStr for Price {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str(s.trim())
            .or_else(|_| Decimal::from_scientific(s.trim()))
            .map(Price)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use rust_decimal::prelude::ToPrimitive;
        // A JSON number; f64 keeps every price the API deals in (a few decimals) exact
        // enough to round-trip through its shortest representation.
        s.serialize_f64(self.0.to_f64().unwrap_or(0.0))
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'v> de::Visitor<'v> for V {
            type Value = Price;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a price as a JSON number or a numeric string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Price, E> {
                Price::from_str(v).map_err(|_| E::custom(format!("invalid price {v:?}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Price, E> {
                if v.is_finite() {
                    Ok(Price::from_f64(v))
                } else {
                    Err(E::custom("price is not finite"))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Price, E> {
                Ok(Price(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Price, E> {
                Ok(Price(Decimal::from(v)))
            }
            // With serde_json's `arbitrary_precision` (enabled in any build that links
            // tfplugin, since features unify) a JSON number reaches `deserialize_any`
            // as a one-entry map holding its exact text.
            fn visit_map<A: de::MapAccess<'v>>(self, mut map: A) -> Result<Price, A::Error> {
                match map.next_entry::<String, String>()? {
                    Some((key, text)) if key == "$serde_json::private::Number" => {
                        Price::from_str(&text)
                            .map_err(|_| de::Error::custom(format!("invalid price {text:?}")))
                    }
                    _ => Err(de::Error::custom(
                        "expected a price as a JSON number or a numeric string",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_numbers() {
        let p: Vec<Price> = serde_json::from_str(r#"["1.99", 0.6, 3, " 2.5 "]"#).unwrap();
        assert_eq!(
            p.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["1.99", "0.6", "3", "2.5"]
        );
    }

    #[test]
    fn rejects_garbage() {
        let err = serde_json::from_str::<Price>(r#""cheap""#).unwrap_err();
        assert!(err.to_string().contains("invalid price \"cheap\""), "{err}");
        assert!(serde_json::from_str::<Price>("true").is_err());
    }

    #[test]
    fn writes_number_or_string() {
        #[derive(Serialize)]
        struct T {
            a: Price,
            #[serde(serialize_with = "Price::as_string")]
            b: Price,
        }
        let t = T {
            a: "0.60".parse().unwrap(),
            b: "1.990".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":0.6,"b":"1.99"}"#
        );
    }
}
