//! Sending one logical request: URL building, timeout, retries with backoff, logging.
//!
//! Owns the request description ([`Request`], [`Repeat`]), the judgement of each attempt
//! ([`Verdict`]: final, repeat, or uncertain for a request that must not be repeated
//! blindly) and the attempt bookkeeping ([`Attempts`]) that the retry limits apply to.
//! It repeats what is safe to repeat, and any request that demonstrably never reached
//! the server (connection refused) or was turned away unprocessed (429); an uncertain
//! outcome goes back to the caller, which may know how to look. Authentication, the
//! mapping of a final answer to an error and the lookups live above it.

use crate::error::says_no_capacity;
use crate::error::{ApiError, Error, Result};
use crate::retry::{
    is_retryable_status, parse_http_date, parse_retry_after, retry_delay, JitterFn, RetryPolicy,
    SleepFn, UNREACHABLE_MAX_WAIT, UNREACHABLE_RETRIES,
};
use datacrunch_models::{ApiErrorBody, ErrorCode};
use reqwest::{header, Method, Url};
use std::time::{Duration, Instant, SystemTime};

/// The largest answer body read (16 MiB).
const MAX_BODY: usize = 16 << 20;

pub(crate) struct Transport {
    http: reqwest::Client,
    pub(crate) base: Url,
    timeout: Duration,
    policy: RetryPolicy,
    sleep: SleepFn,
    jitter: JitterFn,
}

impl Transport {
    /// A transport to `base`: one connection pool, the per-request timeout, and how to
    /// pace retries.
    pub(crate) fn new(
        base: Url,
        timeout: Duration,
        user_agent: &str,
        policy: RetryPolicy,
        sleep: SleepFn,
        jitter: JitterFn,
    ) -> Result<Transport> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Transport {
            http,
            base,
            timeout,
            policy,
            sleep,
            jitter,
        })
    }
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
    /// The server's clock when it answered (its `Date` header), if it sent one.
    pub(crate) server_date: Option<SystemTime>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The API error this non-success answer stands for: `{code, message}` when the
    /// body is that JSON, else the body text, trimmed and shortened.
    pub(crate) fn into_api_error(self, req: &Request) -> ApiError {
        let (code, message) = self.code_and_message();
        ApiError {
            method: req.method_str(),
            path: req.path(),
            status: self.status,
            code,
            message,
            retry_after: self.retry_after,
        }
    }

    /// Whether the body refuses the request for lack of capacity (a definite answer,
    /// unlike a bare 503).
    fn says_no_capacity(&self) -> bool {
        let (code, message) = self.code_and_message();
        says_no_capacity(code.as_ref(), &message)
    }

    fn code_and_message(&self) -> (Option<ErrorCode>, String) {
        match serde_json::from_slice::<ApiErrorBody>(&self.body) {
            Ok(b) if !(b.code.is_empty() && b.message.is_empty()) => {
                let message = match b.details {
                    Some(d) if !d.is_empty() => format!("{} ({d})", b.message),
                    _ => b.message,
                };
                (Some(b.code).filter(|c| !c.is_empty()), message)
            }
            _ => (None, body_excerpt(&self.body)),
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

/// What one attempt's outcome means for the request that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A success, or an answer that sending the request again would not change.
    Final,
    /// Not processed (429, nothing listening) or harmless to repeat: send it again after
    /// a wait. As the verdict of the last attempt: the retries ran out.
    Repeat,
    /// A request that must not be repeated blindly may have taken effect (a 5xx that is
    /// not a refusal, a connection lost after sending, a timeout): look before repeating.
    Uncertain,
}

impl Verdict {
    /// Judges one attempt of `req`.
    pub(crate) fn of(req: &Request, outcome: &Result<Response>) -> Verdict {
        let repeatable = req.repeat == Repeat::Safe;
        let uncertain = if repeatable {
            Verdict::Repeat
        } else {
            Verdict::Uncertain
        };
        match outcome {
            // "Not processed": safe to repeat even for a create.
            Ok(r) if r.status == 429 => Verdict::Repeat,
            Ok(r) if r.status >= 500 && r.says_no_capacity() => Verdict::Final,
            Ok(r) if is_retryable_status(r.status) => uncertain,
            // Any other 5xx may have come after the work was done.
            Ok(r) if r.status >= 500 && !repeatable => Verdict::Uncertain,
            Ok(_) => Verdict::Final,
            Err(e) if never_sent(e) => Verdict::Repeat,
            Err(Error::Transport { .. } | Error::Timeout { .. }) => uncertain,
            Err(_) => Verdict::Final,
        }
    }
}

/// The attempts made for one logical request: how many, since when, and how many found
/// nothing listening. Shared by every resend of that request, including those after a
/// lookup, so the policy's limits hold for the whole.
#[derive(Debug)]
pub(crate) struct Attempts {
    started: Instant,
    /// Wall-clock time of the first attempt: what a created object's `created_at` is
    /// compared with.
    pub(crate) started_at: SystemTime,
    count: u32,
    unreachable: u32,
}

impl Attempts {
    pub(crate) fn start() -> Attempts {
        Attempts {
            started: Instant::now(),
            started_at: SystemTime::now(),
            count: 0,
            unreachable: 0,
        }
    }

    /// The final error of a request that was retried until the policy ran out: the last
    /// attempt's error, with how many attempts over how long.
    pub(crate) fn give_up(&self, last: Error) -> Error {
        if self.count <= 1 {
            return last;
        }
        Error::RetriesExhausted {
            attempts: self.count,
            elapsed: self.started.elapsed(),
            source: Box::new(last),
        }
    }
}

/// The last attempt's outcome and what it means.
pub(crate) struct Sent {
    pub(crate) outcome: Result<Response>,
    pub(crate) verdict: Verdict,
}

impl Transport {
    /// Sends `req`, repeating it while the verdict is [`Verdict::Repeat`] and the policy
    /// allows. Returns the last answer whatever its status (or the last transport
    /// error), with its verdict: an uncertain outcome is left to the caller, who may know
    /// how to find out whether the request took effect.
    pub(crate) async fn send(
        &self,
        req: &Request,
        bearer: Option<&str>,
        attempts: &mut Attempts,
    ) -> Sent {
        loop {
            let outcome = self.send_once(req, bearer).await;
            attempts.count += 1;
            let verdict = Verdict::of(req, &outcome);
            if verdict != Verdict::Repeat {
                return Sent { outcome, verdict };
            }
            let retry_after = outcome.as_ref().ok().and_then(|r| r.retry_after);
            let unreachable = matches!(&outcome, Err(e) if never_sent(e));
            match self.next_wait(req, attempts, retry_after, unreachable) {
                Some(delay) => self.pause(delay).await,
                None => return Sent { outcome, verdict },
            }
        }
    }

    /// The wait before another attempt of `req`, or `None` when the policy (attempts,
    /// budget, the shorter limit for an unreachable endpoint) says to stop. Counts the
    /// retry it allows.
    pub(crate) fn next_wait(
        &self,
        req: &Request,
        attempts: &mut Attempts,
        retry_after: Option<Duration>,
        unreachable: bool,
    ) -> Option<Duration> {
        let retry = attempts.count.saturating_sub(1);
        if retry >= self.policy.max_retries {
            return None;
        }
        if unreachable && attempts.unreachable >= UNREACHABLE_RETRIES {
            return None;
        }
        let mut delay = retry_delay(&self.policy, retry, (self.jitter)(), retry_after);
        if unreachable {
            delay = delay.min(UNREACHABLE_MAX_WAIT);
        }
        if !within_budget(attempts.started.elapsed(), delay, self.policy.budget) {
            tracing::debug!(method = req.method_str(), path = %req.path(), ?delay, "retry budget exhausted");
            return None;
        }
        if unreachable {
            attempts.unreachable += 1;
        }
        tracing::debug!(method = req.method_str(), path = %req.path(), retry, ?delay, "retrying");
        Some(delay)
    }

    /// Waits between attempts (through the injectable sleep).
    pub(crate) async fn pause(&self, delay: Duration) {
        (self.sleep)(delay).await;
    }

    fn url(&self, req: &Request) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(&req.segments);
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        url
    }

    async fn send_once(&self, req: &Request, bearer: Option<&str>) -> Result<Response> {
        let url = self.url(req);
        let mut builder = self
            .http
            .request(req.method.clone(), url.clone())
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
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let server_date = resp
                .headers()
                .get(header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_http_date);
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
                server_date,
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
                Err(self.transport_error(req, url, e))
            }
        }
    }

    fn transport_error(&self, req: &Request, url: Url, e: reqwest::Error) -> Error {
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
                url: url.to_string(),
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
    matches!(e, Error::Transport { source, .. } if source.is_connect() && !source.is_timeout())
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
            server_date: None,
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
        let huge =
            crate::retry::parse_retry_after(&u64::MAX.to_string(), SystemTime::now()).unwrap();
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
