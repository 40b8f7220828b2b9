//! Sending one logical request: URL building, timeout, retries with backoff, logging.
//!
//! The transport knows whether a request is safe to repeat ([`Repeat`]) and retries only
//! those, except where the request demonstrably never reached the server (connection
//! refused) or was turned away unprocessed (429). Authentication and the mapping of a
//! final answer to an error live in [`crate::client`].

use crate::error::{ApiError, Error, Result};
use crate::retry::{
    is_retryable_status, parse_retry_after, retry_delay, JitterFn, RetryPolicy, SleepFn,
};
use datacrunch_models::ApiErrorBody;
use reqwest::{header, Method, Url};
use std::time::{Duration, Instant};

/// The largest answer body read (16 MiB).
const MAX_BODY: usize = 16 << 20;

pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) timeout: Duration,
    pub(crate) policy: RetryPolicy,
    pub(crate) sleep: SleepFn,
    pub(crate) jitter: JitterFn,
}

/// Whether a request may be sent again after it may have reached the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Repeating it changes nothing (GET, DELETE, the token grant, idempotent actions).
    Safe,
    /// It has side effects each time (creates, clones): never re-sent once it may have
    /// been received; an uncertain failure becomes an "outcome unknown" error.
    Once(Uncertain),
}

/// What an uncertain failure of a [`Repeat::Once`] request is reported as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Uncertain {
    Deploy { hostname: String },
    Operation(String),
}

/// One API request, described independently of any attempt to send it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: Method,
    /// Path segments below the base URL; each is escaped when the URL is built.
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(&'static str, String)>,
    /// A JSON body, already encoded.
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) repeat: Repeat,
}

impl Request {
    pub(crate) fn new(method: Method, segments: &[&str]) -> Request {
        let repeat = if method == Method::POST {
            Repeat::Once(Uncertain::Operation(format!(
                "POST /{}",
                segments.join("/")
            )))
        } else {
            Repeat::Safe
        };
        Request {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            repeat,
        }
    }

    pub(crate) fn get(segments: &[&str]) -> Request {
        Request::new(Method::GET, segments)
    }

    /// Adds a query parameter when the value is present.
    pub(crate) fn query(mut self, key: &'static str, value: Option<impl ToString>) -> Request {
        if let Some(v) = value {
            self.query.push((key, v.to_string()));
        }
        self
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Request> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Decode {
            endpoint: self.endpoint(),
            expected: "a request body that encodes as JSON",
            detail: e.to_string(),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(crate) fn repeat(mut self, repeat: Repeat) -> Request {
        self.repeat = repeat;
        self
    }

    /// `/instances/abc`: the path below the base URL, for messages and logs.
    pub(crate) fn path(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }

    /// `GET /instances/abc`, for error messages.
    pub(crate) fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path())
    }

    pub(crate) fn method_str(&self) -> &'static str {
        method_name(&self.method)
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// A received answer, any status.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The API error this non-success answer stands for: `{code, message}` when the
    /// body is that JSON, else the body text, trimmed and shortened.
    pub(crate) fn into_api_error(self, req: &Request) -> ApiError {
        let (code, message) = match serde_json::from_slice::<ApiErrorBody>(&self.body) {
            Ok(b) if !(b.code.is_empty() && b.message.is_empty()) => {
                let message = match b.details {
                    Some(d) if !d.is_empty() => format!("{} ({d})", b.message),
                    _ => b.message,
                };
                (Some(b.code).filter(|c| !c.is_empty()), message)
            }
            _ => (None, body_excerpt(&self.body)),
        };
        ApiError {
            method: req.method_str(),
            path: req.path(),
            status: self.status,
            code,
            message,
            retry_after: self.retry_after,
        }
    }
}

/// A body shown in an error: lossy UTF-8, trimmed, at most 300 characters.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl Transport {
    /// Sends `req`, retrying what is safe to retry under the policy. Returns the final
    /// answer whatever its status, or the transport error of the last attempt.
    pub(crate) async fn send(&self, req: &Request, bearer: Option<&str>) -> Result<Response> {
        let started = Instant::now();
        let mut retry = 0u32;
        loop {
            let outcome = self.send_once(req, bearer).await;
            let (again, retry_after) = match &outcome {
                // 429 means "not processed": safe to repeat even for a create.
                Ok(r) => (
                    is_retryable_status(r.status)
                        && (req.repeat == Repeat::Safe || r.status == 429),
                    r.retry_after,
                ),
                Err(e) => (req.repeat == Repeat::Safe || never_sent(e), None),
            };
            if !again || retry >= self.policy.max_retries {
                return outcome;
            }
            let delay = retry_delay(&self.policy, retry, (self.jitter)(), retry_after);
            if !within_budget(started.elapsed(), delay, self.policy.budget) {
                tracing::debug!(
                    method = req.method_str(),
                    path = %req.path(),
                    ?delay,
                    "retry budget exhausted"
                );
                return outcome;
            }
            tracing::debug!(method = req.method_str(), path = %req.path(), retry, ?delay, "retrying");
            (self.sleep)(delay).await;
            retry += 1;
        }
    }

    async fn send_once(&self, req: &Request, bearer: Option<&str>) -> Result<Response> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(&req.segments);
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .timeout(self.timeout)
            .header(header::ACCEPT, "application/json, text/plain;q=0.9");
        if let Some(token) = bearer {
            // bearer_auth marks the header sensitive, so it is never printed.
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let t0 = Instant::now();
        let result = async {
            let resp = builder.send().await?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            // Read at most MAX_BODY: every real answer is small, and a broken proxy must
            // not make us buffer without end.
            let mut resp = resp;
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Ok(Err(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Ok(Response {
                status,
                retry_after,
                body,
            }))
        }
        .await;
        let latency_ms = t0.elapsed().as_millis() as u64;
        match result {
            Ok(Err(status)) => {
                tracing::debug!(method = req.method_str(), path = %req.path(), status, latency_ms, "answer too large");
                Err(Error::Decode {
                    endpoint: req.endpoint(),
                    expected: "an answer of at most 16 MiB",
                    detail: format!("HTTP {status} with a larger body"),
                })
            }
            Ok(Ok(r)) => {
                tracing::debug!(method = req.method_str(), path = %req.path(), status = r.status, latency_ms, "request");
                Ok(r)
            }
            Err(e) => {
                tracing::debug!(method = req.method_str(), path = %req.path(), latency_ms, error = %e, "request failed");
                Err(self.transport_error(req, e))
            }
        }
    }

    fn transport_error(&self, req: &Request, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                method: req.method_str(),
                path: req.path(),
                after: self.timeout,
            }
        } else {
            Error::Transport {
                method: req.method_str(),
                path: req.path(),
                source: e,
            }
        }
    }
}

/// Whether a retry that waits `delay` after `elapsed` still starts within `budget`.
/// Saturating: `delay` may be a `Retry-After` from the network, and a huge one would
/// overflow `Duration + Duration` (which panics).
fn within_budget(elapsed: Duration, delay: Duration, budget: Duration) -> bool {
    elapsed.saturating_add(delay) <= budget
}

/// Whether a transport error proves the request never reached the server: the connection
/// itself could not be made. Anything later (reset, timeout) may have delivered it.
pub(crate) fn never_sent(e: &Error) -> bool {
    matches!(e, Error::Transport { source, .. } if source.is_connect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datacrunch_models::ErrorCode;

    fn error_of(status: u16, body: &[u8]) -> ApiError {
        let req = Request::get(&["instances", "x"]);
        Response {
            status,
            retry_after: Some(Duration::from_secs(2)),
            body: body.to_vec(),
        }
        .into_api_error(&req)
    }

    #[test]
    fn json_error_bodies() {
        let e = error_of(
            400,
            br#"{"code":"invalid_request","message":"Invalid instance id"}"#,
        );
        assert_eq!(
            (e.status, e.code.as_ref(), e.message.as_str()),
            (400, Some(&ErrorCode::InvalidRequest), "Invalid instance id")
        );
        assert_eq!((e.method, e.path.as_str()), ("GET", "/instances/x"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        let e = error_of(
            400,
            br#"{"code":"invalid_request","message":"bad","details":"size"}"#,
        );
        assert_eq!(e.message, "bad (size)");
    }

    #[test]
    fn non_json_bodies_are_kept_as_text() {
        let e = error_of(502, b"  <html>Bad Gateway</html>\n");
        assert_eq!(
            (e.code, e.message.as_str()),
            (None, "<html>Bad Gateway</html>")
        );
        assert_eq!(error_of(500, b"").message, "(empty body)");
        assert_eq!(error_of(500, b"{}").message, "{}");
        let long = "x".repeat(1000);
        let e = error_of(500, long.as_bytes());
        assert_eq!(e.message.chars().count(), 301);
        // Invalid UTF-8 and a multi-byte character at the cut do not panic.
        let mut bytes = "é".repeat(400).into_bytes();
        bytes.push(0xff);
        assert!(error_of(500, &bytes).message.ends_with('…'));
    }

    #[test]
    fn retry_budget_arithmetic_saturates() {
        let budget = Duration::from_secs(60);
        assert!(within_budget(
            Duration::from_secs(10),
            Duration::from_secs(50),
            budget
        ));
        assert!(!within_budget(
            Duration::from_secs(10),
            Duration::from_secs(51),
            budget
        ));
        // The largest Retry-After a server can send, after more than a second.
        let huge = crate::retry::parse_retry_after(&u64::MAX.to_string()).unwrap();
        assert!(!within_budget(Duration::from_secs(2), huge, budget));
    }

    #[test]
    fn only_posts_default_to_once() {
        assert_eq!(Request::get(&["instances"]).repeat, Repeat::Safe);
        assert_eq!(
            Request::new(Method::DELETE, &["sshkeys", "a"]).repeat,
            Repeat::Safe
        );
        assert_eq!(
            Request::new(Method::POST, &["sshkeys"]).repeat,
            Repeat::Once(Uncertain::Operation("POST /sshkeys".into()))
        );
    }
}
