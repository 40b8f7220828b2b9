//! JSON credentials files. Two shapes:
//!
//! * flat, the credentials at the top level: `{"client_id": "…", "client_secret": "…"}`,
//!   also the original integration's `~/datacrunch-credentials.json`, which holds only
//!   `{"client_secret": "…"}` (the id then comes from the environment);
//! * by profile: `{"default": {"client_id": "…", "client_secret": "…"}, "work": {…}}`.
//!
//! A file with any credential key at the top level is flat, whatever profile was asked
//! for. Values are trimmed, as INI values are.

use super::{profile_names, Setting};
use serde_json::{Map, Value};

/// What a JSON file holds for one profile.
pub(crate) enum Found {
    /// Key/value pairs, and the profile they were found under (`None`: flat file).
    Pairs {
        profile: Option<String>,
        pairs: Vec<(String, String)>,
    },
    /// No such profile; the profiles the file has.
    NoProfile(Vec<String>),
}

fn is_credential_key(key: &str) -> bool {
    [Setting::ClientId, Setting::ClientSecret]
        .iter()
        .flat_map(|s| s.file_keys())
        .any(|k| k.eq_ignore_ascii_case(key))
}

/// The string pairs of an object; a credential key with another type is an error.
fn string_pairs(obj: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (key, value) in obj {
        match value {
            Value::String(s) => pairs.push((key.clone(), s.trim().to_owned())),
            Value::Null => {}
            other if is_credential_key(key) => {
                return Err(format!(
                    "\"{key}\" must be a string, not {}",
                    match other {
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        Value::Array(_) => "an array",
                        _ => "an object",
                    }
                ))
            }
            _ => {}
        }
    }
    Ok(pairs)
}

/// Reads the pairs for `profile` from `text`, or says why not (the `Err` is the reason
/// the file is not valid credentials JSON).
pub(crate) fn parse(text: &str, profile: &str) -> Result<Found, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(top) = value else {
        return Err(
            "expected an object such as {\"client_id\": \"…\", \"client_secret\": \"…\"}".into(),
        );
    };
    let profiles: Vec<String> = top
        .iter()
        .filter(|(_, v)| v.is_object())
        .map(|(k, _)| k.clone())
        .collect();
    if top.keys().any(|k| is_credential_key(k)) || profiles.is_empty() {
        return Ok(Found::Pairs {
            profile: None,
            pairs: string_pairs(&top)?,
        });
    }
    for name in profile_names(profile) {
        if let Some(Value::Object(obj)) = top.get(name) {
            return Ok(Found::Pairs {
                profile: Some(name.to_owned()),
                pairs: string_pairs(obj).map_err(|e| format!("profile \"{name}\": {e}"))?,
            });
        }
    }
    Ok(Found::NoProfile(profiles))
}
