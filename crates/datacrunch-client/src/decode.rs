//! Tolerant decoding of success bodies where the real API is inconsistent.
//!
//! Every decoder takes the raw bytes and returns a typed value or an
//! [`Error::Decode`] naming the endpoint and what was expected; none panics on any input
//! (property-tested in `tests/decode_fuzz.rs`).

use crate::error::{Error, Result};
use datacrunch_models::InstanceActionResult;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

fn decode_error(endpoint: &str, expected: &'static str, detail: impl Into<String>) -> Error {
    Error::Decode {
        endpoint: endpoint.to_owned(),
        expected,
        detail: detail.into(),
    }
}

/// Plain JSON of a known shape.
pub fn decode_json<T: DeserializeOwned>(
    endpoint: &str,
    expected: &'static str,
    body: &[u8],
) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| decode_error(endpoint, expected, e.to_string()))
}

/// The id a create endpoint answers with: bare text (`abc-123`, the usual form), a JSON
/// string (`"abc-123"`), or a JSON object (`{"id": "abc-123"}`, as `/clusters` does).
pub fn decode_created_id(endpoint: &str, body: &[u8]) -> Result<String> {
    const EXPECTED: &str = "the new id as bare text, a JSON string or {\"id\": …}";
    let text = std::str::from_utf8(body)
        .map_err(|_| decode_error(endpoint, EXPECTED, "body is not UTF-8"))?
        .trim();
    let id = match text.as_bytes().first() {
        Some(b'{') => {
            #[derive(Deserialize)]
            struct WithId {
                id: String,
            }
            serde_json::from_str::<WithId>(text)
                .map_err(|e| decode_error(endpoint, EXPECTED, e.to_string()))?
                .id
        }
        Some(b'"') => serde_json::from_str::<String>(text)
            .map_err(|e| decode_error(endpoint, EXPECTED, e.to_string()))?,
        _ => text.to_owned(),
    };
    let id = id.trim();
    if id.is_empty() {
        return Err(decode_error(endpoint, EXPECTED, "the body is empty"));
    }
    if id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(decode_error(
            endpoint,
            EXPECTED,
            format!(
                "not an id: {}",
                crate::transport::body_excerpt(id.as_bytes())
            ),
        ));
    }
    Ok(id.to_owned())
}

/// A single record that `GET /sshkeys/{id}` and `GET /scripts/{id}` wrap in a one-element
/// array; a bare object is accepted too. `Ok(None)` for an empty array.
pub fn decode_one_or_first<T: DeserializeOwned>(
    endpoint: &str,
    expected: &'static str,
    body: &[u8],
) -> Result<Option<T>> {
    let value: Value = decode_json(endpoint, expected, body)?;
    let record = match value {
        Value::Array(items) => match items.into_iter().next() {
            Some(first) => first,
            None => return Ok(None),
        },
        other => other,
    };
    serde_json::from_value(record)
        .map(Some)
        .map_err(|e| decode_error(endpoint, expected, e.to_string()))
}

/// A boolean answered as JSON `true`/`false`, or as the string `"true"`/`"false"` (any
/// case), possibly as bare text.
pub fn decode_bool(endpoint: &str, body: &[u8]) -> Result<bool> {
    const EXPECTED: &str = "true or false (bare or as a JSON string)";
    let text = std::str::from_utf8(body)
        .map_err(|_| decode_error(endpoint, EXPECTED, "body is not UTF-8"))?
        .trim();
    let word = match serde_json::from_str::<Value>(text) {
        Ok(Value::Bool(b)) => return Ok(b),
        Ok(Value::String(s)) => s,
        _ => text.to_owned(),
    };
    match word.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(decode_error(
            endpoint,
            EXPECTED,
            format!("got {}", crate::transport::body_excerpt(body)),
        )),
    }
}

/// The per-instance results of `PUT /instances`. An empty body (204, or 202 as the
/// Python SDK's mocks have it) is no results.
pub fn decode_action_results(endpoint: &str, body: &[u8]) -> Result<Vec<InstanceActionResult>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    decode_json(
        endpoint,
        "an array of {action, instanceId, status} results",
        body,
    )
}

/// The new volume ids of a volume clone: a JSON array of ids, or a single id in any form
/// [`decode_created_id`] accepts. Empty for an empty body (the other volume actions).
pub fn decode_id_list(endpoint: &str, body: &[u8]) -> Result<Vec<String>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => decode_created_id(endpoint, s.as_bytes()),
                other => Err(decode_error(
                    endpoint,
                    "an array of id strings",
                    format!("found {other}"),
                )),
            })
            .collect(),
        _ => decode_created_id(endpoint, body).map(|id| vec![id]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "deadc0de-a5d2-4972-ae4e-d429115d055b";

    #[test]
    fn created_id_in_every_form() {
        for body in [
            ID.to_owned(),
            format!("{ID}\n"),
            format!("\"{ID}\""),
            format!("{{\"id\": \"{ID}\"}}"),
            format!("  {{\"id\":\"{ID}\",\"other\":1}} "),
        ] {
            assert_eq!(
                decode_created_id("POST /instances", body.as_bytes()).unwrap(),
                ID,
                "{body}"
            );
        }
    }

    #[test]
    fn created_id_rejects_non_ids() {
        for body in [
            "",
            "  ",
            "<html>oops</html>",
            "{\"code\":\"x\"}",
            "\"\"",
            "a b",
            "[\"x\"]",
        ] {
            let e = decode_created_id("POST /instances", body.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("POST /instances") && e.contains("expected the new id"),
                "{body}: {e}"
            );
        }
        assert!(decode_created_id("POST /x", &[0xff, 0xfe]).is_err());
    }

    #[test]
    fn one_element_array_or_object() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct K {
            id: String,
        }
        let one: Option<K> =
            decode_one_or_first("GET /sshkeys/a", "a key", br#"[{"id":"a"}]"#).unwrap();
        assert_eq!(one, Some(K { id: "a".into() }));
        let bare: Option<K> =
            decode_one_or_first("GET /sshkeys/a", "a key", br#"{"id":"a"}"#).unwrap();
        assert_eq!(bare, Some(K { id: "a".into() }));
        let none: Option<K> = decode_one_or_first("GET /sshkeys/a", "a key", b"[]").unwrap();
        assert_eq!(none, None);
        let e = decode_one_or_first::<K>("GET /sshkeys/a", "a key", b"[1]").unwrap_err();
        assert!(e.to_string().contains("expected a key"), "{e}");
    }

    #[test]
    fn booleans_bare_or_quoted() {
        for (body, want) in [
            ("true", true),
            ("false", false),
            ("\"true\"", true),
            ("\"False\"", false),
            (" true\n", true),
        ] {
            assert_eq!(
                decode_bool("GET /instance-availability/x", body.as_bytes()).unwrap(),
                want,
                "{body}"
            );
        }
        for body in ["1", "yes", "", "{\"available\":true}", "null"] {
            assert!(decode_bool("GET /x", body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn action_results() {
        assert!(decode_action_results("PUT /instances", b"")
            .unwrap()
            .is_empty());
        let r = decode_action_results(
            "PUT /instances",
            br#"[{"action":"delete","instanceId":"a","status":"success"},
                 {"action":"delete","instanceId":"b","status":"error","error":"nope","statusCode":400}]"#,
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].status_code, Some(400));
    }

    #[test]
    fn id_lists() {
        assert_eq!(
            decode_id_list("PUT /volumes", b"").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            decode_id_list("PUT /volumes", br#"["a","b"]"#).unwrap(),
            ["a", "b"]
        );
        assert_eq!(decode_id_list("PUT /volumes", b"abc").unwrap(), ["abc"]);
        assert!(decode_id_list("PUT /volumes", b"[1]").is_err());
    }
}
