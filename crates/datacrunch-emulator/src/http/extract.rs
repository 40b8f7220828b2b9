//! Request decoding that always fails with our `{code, message}` body: JSON bodies
//! (naming the field at fault), query strings, path parameters. axum's own rejections
//! answer in plain text, which no API client can read.

use super::error::HttpError;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Decodes JSON, naming the path of the field at fault, e.g.
/// `Invalid JSON body at ssh_key_ids[0]: invalid type: integer 5, expected a string`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "Request body is empty; expected a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let mut why = e.inner().to_string();
        // serde's wording for the string-or-array fields (`id`, `ssh_key_ids`) says
        // nothing a caller can act on.
        if why.contains("untagged enum OneOrMany") {
            why = "expected a string or an array of strings".to_owned();
        }
        match path.as_str() {
            "." => ApiError::invalid(format!("Invalid JSON body: {why}")),
            _ => ApiError::invalid(format!("Invalid JSON body at {path}: {why}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::invalid(format!("Invalid JSON body: {e}")))?;
    Ok(value)
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, HttpError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        let why = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => format!(
                "Request body is too large: at most {} bytes are accepted",
                super::MAX_REQUEST_BODY_BYTES
            ),
            _ => format!("Cannot read the request body: {}", e.body_text()),
        };
        HttpError::with_status(e.status(), ApiError::invalid(why))
    })
}

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        let bytes = body_bytes(req, state).await?;
        Ok(parse_json(&bytes).map(ApiJson)?)
    }
}

/// A JSON body that may be absent (DELETE calls where some clients send one).
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        Ok(parse_json(&bytes).map(|v| OptionalJson(Some(v)))?)
    }
}

/// The raw body, for endpoints that accept several encodings.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        body_bytes(req, state).await.map(RawBody)
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|e| ApiError::invalid(format!("Invalid path: {}", e.body_text())))
    }
}

/// The query string as name → value (the last value of a repeated name wins).
pub struct Query(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        let mut pairs = HashMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode(name).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid query string: the parameter name {name:?} is not valid UTF-8 once decoded"
                ))
            })?;
            let value = form_decode(value).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid query string: the value of {name:?} is not valid UTF-8 once decoded"
                ))
            })?;
            pairs.insert(name, value);
        }
        Ok(Query(pairs))
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a
/// byte); `None` when the bytes are not UTF-8. Lossy decoding would turn `%FF` into
/// U+FFFD and the caller would get an error about a value it never sent.
fn form_decode(component: &str) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'+' => Some((b' ', 1)),
            b'%' => bytes
                .get(i + 1..i + 3)
                .and_then(|h| Some(hex(h[0])? << 4 | hex(h[1])?))
                .map(|b| (b, 3)),
            _ => None,
        };
        // A `%` not followed by two hex digits stays as it is, as browsers do.
        let (byte, len) = decoded.unwrap_or((bytes[i], 1));
        out.push(byte);
        i += len;
    }
    String::from_utf8(out).ok()
}

impl Query {
    /// The first of several accepted spellings that is present and not empty.
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .filter_map(|n| self.0.get(*n))
            .map(String::as_str)
            .find(|v| !v.is_empty())
    }

    /// A boolean parameter: `true`/`false` (any case) or `1`/`0`.
    pub fn bool(&self, names: &[&str]) -> Result<Option<bool>, ApiError> {
        match self.get(names) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(ApiError::invalid(format!(
                    "{} must be true or false, got {v:?}",
                    names[0]
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn form_components_decode_strictly() {
        assert_eq!(form_decode("a+b%20c%2Fd").as_deref(), Some("a b c/d"));
        assert_eq!(form_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(form_decode("100%").as_deref(), Some("100%"));
        assert_eq!(form_decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(form_decode("%FF"), None);
        assert_eq!(form_decode("%C3%28"), None);
    }
}
