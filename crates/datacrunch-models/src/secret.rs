//! [`Secret`]: the one type for anything that authenticates (client secrets, access and
//! refresh tokens). Every crate that holds a secret holds it in this type, so redaction
//! is decided once, here, and a struct that derives `Debug` cannot leak one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What `Debug` and `Display` print instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// A secret string: compared, serialized (as the plain string the API expects) and sent
/// normally, but never shown by `Debug` or `Display`. Reading it takes an explicit
/// [`expose`](Secret::expose), which marks the few places that must send it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty or only whitespace (an unset value in most configurations).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Secret(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Secret(secret.to_owned())
    }
}

impl From<&String> for Secret {
    fn from(secret: &String) -> Self {
        Secret(secret.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact_but_serde_and_expose_do_not() {
        let s = Secret::new("SENTINEL-a\\b");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), format!("Some({REDACTED})"));
        assert_eq!(s.expose(), "SENTINEL-a\\b");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#""SENTINEL-a\\b""#);
        assert_eq!(serde_json::from_str::<Secret>(&json).unwrap(), s);
        assert!(Secret::new(" \t").is_blank() && !s.is_blank());
    }
}
