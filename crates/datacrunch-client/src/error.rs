//! The one error type of the client, and the questions callers ask of it.
//!
//! Callers decide what to do next from an error (try another offer, treat a delete as
//! done, look a deploy up by hostname, give up), so the classification lives here once
//! instead of being re-derived from message text in every caller. The message matching
//! follows what the real service says (see `datacrunch_models::messages`).

use datacrunch_models::{messages, ErrorCode};
use std::time::Duration;

/// The token endpoint's path, as errors name it.
pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with a non-success status.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The request could not be sent or its answer not read (connection refused, reset,
    /// TLS failure, body cut short). [`Error::is_unreachable`] tells a connection that
    /// could not be made at all (nothing listening at `url`) from one lost midway.
    #[error("{method} {url}: {}: {}", if .source.is_connect() { "cannot connect" } else { "transport error" }, error_chain(.source))]
    Transport {
        method: &'static str,
        path: String,
        /// The full URL the request went to, so the user sees which endpoint failed.
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// No answer within the per-request timeout.
    #[error("{method} {path}: no answer within {after:?}")]
    Timeout {
        method: &'static str,
        path: String,
        after: Duration,
    },

    /// A success answer whose body is not what the endpoint should return.
    #[error("{endpoint}: unexpected response body: expected {expected}: {detail}")]
    Decode {
        endpoint: String,
        expected: &'static str,
        detail: String,
    },

    /// A lookup by id returned nothing (an empty array where one record was expected).
    #[error("{endpoint}: no {what} with that id")]
    Missing {
        endpoint: String,
        what: &'static str,
    },

    /// The request was retried until the retry policy ran out; `source` is the last
    /// attempt's error (with the API's own message).
    #[error("{source} (gave up after {attempts} attempts over {:.1}s)", .elapsed.as_secs_f64())]
    RetriesExhausted {
        attempts: u32,
        /// From the start of the first attempt to the end of the last.
        elapsed: Duration,
        #[source]
        source: Box<Error>,
    },

    /// `POST /instances` may have reached the server (timeout, connection lost after
    /// sending, a 5xx that is not a refusal) and the lookup that would have found the
    /// instance it made failed too (`lookup`), or the API answered success with an
    /// unreadable id and the instance could not be found. An instance may exist: look it
    /// up with [`Client::find_instances_by_hostname`](crate::Client::find_instances_by_hostname)
    /// before deploying again.
    #[error("deploy of instance {hostname:?} may or may not have happened (look it up by hostname before retrying): {source}{}", lookup_suffix(.lookup))]
    DeployOutcomeUnknown {
        hostname: String,
        #[source]
        source: Box<Error>,
        /// Why the lookup for the instance failed, when it was tried.
        lookup: Option<Box<Error>>,
    },

    /// A request that is not safe to repeat (a create whose lookup failed, a volume
    /// clone, a hibernate or restore) may have reached the server; whether it took effect
    /// is unknown.
    #[error("{operation} may or may not have happened (check before retrying): {source}{}", lookup_suffix(.lookup))]
    OutcomeUnknown {
        operation: String,
        #[source]
        source: Box<Error>,
        /// Why the lookup for the created object failed, when it was tried.
        lookup: Option<Box<Error>>,
    },

    /// A bulk instance action (`PUT /instances`) that failed for some of its instances
    /// (HTTP 207, or error items in a success answer).
    #[error("{action} failed for {}", describe_failures(.failed))]
    PartialFailure {
        action: String,
        /// Instance ids the action succeeded for.
        succeeded: Vec<String>,
        failed: Vec<ActionFailure>,
    },

    /// An argument the caller passed cannot be sent (an empty id, ...).
    #[error("invalid argument: {0}")]
    InvalidInput(String),

    /// The client was configured wrongly (bad base URL, no credentials, ...).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// A non-success answer from the API: the HTTP status plus its `{code, message}` body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{method} {path}: HTTP {status}{}: {message}", code_suffix(.code))]
pub struct ApiError {
    pub method: &'static str,
    /// The path below the base URL, e.g. `/instances/abc`.
    pub path: String,
    pub status: u16,
    /// The API's error code (`invalid_request`, ...); `None` for a non-JSON body.
    pub code: Option<ErrorCode>,
    /// The API's message, or the raw body (trimmed, shortened) when it was not JSON.
    pub message: String,
    /// `Retry-After`, in seconds, when the answer carried one.
    pub retry_after: Option<Duration>,
}

/// One failed item of a bulk instance action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionFailure {
    pub instance_id: String,
    /// The per-item HTTP-like status, when given.
    pub status: Option<u16>,
    pub message: String,
}

/// An error and its causes, `outer: inner: innermost`: reqwest's own message alone
/// ("error sending request") hides the part that explains it ("connection reset").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

fn lookup_suffix(lookup: &Option<Box<Error>>) -> String {
    lookup
        .as_ref()
        .map(|e| format!("; looking it up failed too: {e}"))
        .unwrap_or_default()
}

fn code_suffix(code: &Option<ErrorCode>) -> String {
    code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
}

fn describe_failures(failed: &[ActionFailure]) -> String {
    failed
        .iter()
        .map(|f| format!("{} ({})", f.instance_id, f.message))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether an error's code or message says there is no capacity ("Not enough resources
/// to deploy ...", a code or message about capacity). The status alone never does: 503
/// `service_unavailable` is also what an overloaded service or a proxy answers, and
/// calling that "no capacity" sends users hunting for another GPU type for nothing.
/// Shared by whole-request errors, per-item action failures and the transport (which
/// must not repeat a refused deploy).
pub(crate) fn says_no_capacity(code: Option<&ErrorCode>, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code.is_some_and(|c| c.as_str().contains("capacity"))
        || m.contains("capacity")
        || m.contains(&messages::NOT_ENOUGH_RESOURCES.to_ascii_lowercase())
}

fn classify_not_found(status: Option<u16>, code: Option<&ErrorCode>, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    status == Some(404)
        || code == Some(&ErrorCode::NotFound)
        // "Invalid instance id", "Invalid ssh-key ID", "Invalid volume id", ...: the
        // service's way of saying not found, with 400.
        || (m.starts_with("invalid ") && m.trim_end_matches('.').ends_with(" id"))
}

fn classify_already_discontinued(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains(&messages::CANT_DISCONTINUE_DISCONTINUED.to_ascii_lowercase())
}

fn classify_still_provisioning(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains(&messages::CANT_DISCONTINUE_PROVISIONING.to_ascii_lowercase())
}

impl ApiError {
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }
}

impl ActionFailure {
    pub fn is_not_found(&self) -> bool {
        classify_not_found(self.status, None, &self.message)
    }
    pub fn is_already_discontinued(&self) -> bool {
        classify_already_discontinued(&self.message)
    }
    pub fn is_still_provisioning(&self) -> bool {
        classify_still_provisioning(&self.message)
    }
}

impl Error {
    /// The error of the last attempt, looking through [`Error::RetriesExhausted`]: the
    /// questions below are answered for it.
    pub fn root(&self) -> &Error {
        match self {
            Error::RetriesExhausted { source, .. } => source.root(),
            other => other,
        }
    }

    /// The API error, looking through the "retries exhausted" and "outcome unknown"
    /// wrappers.
    pub fn api(&self) -> Option<&ApiError> {
        match self.root() {
            Error::Api(e) => Some(e),
            Error::DeployOutcomeUnknown { source, .. } | Error::OutcomeUnknown { source, .. } => {
                source.api()
            }
            _ => None,
        }
    }

    /// The API's error code, when it answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.api().and_then(ApiError::code)
    }

    /// How many attempts were made, when the request was retried.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::RetriesExhausted { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// True for a partial failure whose every failed item satisfies `pred`, so a
    /// one-instance action answers like a one-instance request would.
    fn all_failures(&self, pred: impl Fn(&ActionFailure) -> bool) -> bool {
        matches!(self.root(), Error::PartialFailure { failed, .. } if !failed.is_empty() && failed.iter().all(pred))
    }

    /// No capacity for the requested type: the API says so in its code or message
    /// (capacity, "Not enough resources"). Try another type or location. A generic 503
    /// (overload, maintenance) is not this: it is [`retryable`](Self::is_retryable).
    pub fn is_no_capacity(&self) -> bool {
        match self.root() {
            Error::Api(e) => says_no_capacity(e.code(), &e.message),
            _ => self.all_failures(|f| says_no_capacity(None, &f.message)),
        }
    }

    /// The resource does not exist: 404, an empty by-id lookup, or the service's 400
    /// "Invalid instance id" / "Invalid ssh-key ID" style answers.
    pub fn is_not_found(&self) -> bool {
        match self.root() {
            Error::Api(e) => classify_not_found(Some(e.status), e.code(), &e.message),
            Error::Missing { .. } => true,
            _ => self.all_failures(ActionFailure::is_not_found),
        }
    }

    /// 402: the balance is too low.
    pub fn is_insufficient_funds(&self) -> bool {
        matches!(self.api(), Some(e) if e.status == 402 || e.code() == Some(&ErrorCode::InsufficientFunds))
    }

    /// 403: the action is not allowed (in the current state).
    pub fn is_forbidden(&self) -> bool {
        matches!(self.api(), Some(e) if e.status == 403)
    }

    /// The API's `forbidden_action` code: the resource's current state does not allow
    /// the action (deleting an instance that is already discontinued or still
    /// provisioning, ...).
    pub fn is_forbidden_action(&self) -> bool {
        self.code() == Some(&ErrorCode::ForbiddenAction)
    }

    /// Bad credentials or a token the service does not accept: 401, or a 400 from the
    /// token endpoint (which answers bad client credentials with either).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.api(), Some(e) if e.status == 401 || (e.status == 400 && e.path == TOKEN_PATH))
    }

    /// Worth trying again later (the client has already retried what it safely could):
    /// rate limiting, 500/502/503/504 other than "no capacity", timeouts and connections
    /// lost midway. Never true for an "outcome unknown" error (look first), nor for an
    /// [unreachable](Self::is_unreachable) endpoint: the client has already given it a
    /// few seconds, and waiting longer in silence hides a dead endpoint from the user.
    pub fn is_retryable(&self) -> bool {
        match self.root() {
            Error::Api(e) => {
                crate::retry::is_retryable_status(e.status)
                    && !says_no_capacity(e.code(), &e.message)
            }
            Error::Transport { source, .. } => !source.is_connect(),
            Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Nothing accepted the connection (refused, no route, unknown host), even after a
    /// few retries: the endpoint is down or the base URL is wrong. The error names the
    /// URL; callers add how to bring the endpoint back.
    pub fn is_unreachable(&self) -> bool {
        matches!(self.root(), Error::Transport { source, .. } if source.is_connect() && !source.is_timeout())
    }

    /// A delete found the instance already gone: 404 or the service's other "not found"
    /// forms, or "Can't discontinue a discontinued instance" (403 `forbidden_action`,
    /// 400 from older services). The delete is done.
    pub fn is_gone_on_delete(&self) -> bool {
        self.is_not_found() || self.is_already_discontinued()
    }

    /// "Can't discontinue a discontinued instance": the delete already happened.
    pub fn is_already_discontinued(&self) -> bool {
        match self.root() {
            Error::Api(e) => classify_already_discontinued(&e.message),
            _ => self.all_failures(ActionFailure::is_already_discontinued),
        }
    }

    /// "Can't discontinue a provisioning instance": retry the delete later.
    pub fn is_still_provisioning(&self) -> bool {
        match self.root() {
            Error::Api(e) => classify_still_provisioning(&e.message),
            _ => self.all_failures(ActionFailure::is_still_provisioning),
        }
    }

    /// Whether the request may have taken effect although it failed.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            Error::DeployOutcomeUnknown { .. } | Error::OutcomeUnknown { .. }
        )
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>, message: &str) -> Error {
        Error::Api(ApiError {
            method: "GET",
            path: "/instances/x".into(),
            status,
            code: code.map(ErrorCode::parse),
            message: message.into(),
            retry_after: None,
        })
    }

    fn failure(message: &str) -> ActionFailure {
        ActionFailure {
            instance_id: "i".into(),
            status: Some(400),
            message: message.into(),
        }
    }

    fn partial(failed: Vec<ActionFailure>) -> Error {
        Error::PartialFailure {
            action: "delete".into(),
            succeeded: vec![],
            failed,
        }
    }

    #[test]
    fn no_capacity_forms() {
        assert!(api(
            503,
            Some("service_unavailable"),
            "Not enough resources to deploy 1V100.6V in FIN-01"
        )
        .is_no_capacity());
        assert!(api(503, Some("no_capacity"), "").is_no_capacity());
        // A bare 503 is overload or maintenance, not a statement about capacity.
        assert!(!api(503, Some("service_unavailable"), "").is_no_capacity());
        assert!(!api(503, None, "<html>Service Unavailable</html>").is_no_capacity());
        assert!(api(
            400,
            Some("invalid_request"),
            "Not enough resources to deploy 1B300.30V in FIN-03"
        )
        .is_no_capacity());
        assert!(api(400, None, "No capacity left").is_no_capacity());
        assert!(!api(500, Some("server_error"), "boom").is_no_capacity());
        assert!(partial(vec![failure("not enough resources")]).is_no_capacity());
    }

    #[test]
    fn not_found_forms() {
        assert!(api(404, None, "").is_not_found());
        assert!(api(400, Some("invalid_request"), "Invalid instance id").is_not_found());
        assert!(api(400, Some("invalid_request"), "Invalid ssh-key ID").is_not_found());
        assert!(api(400, Some("invalid_request"), "Invalid volume id.").is_not_found());
        assert!(!api(400, Some("invalid_request"), "Invalid status").is_not_found());
        assert!(!api(
            400,
            Some("invalid_request"),
            "Invalid request body: bad id format for field"
        )
        .is_not_found());
        assert!(Error::Missing {
            endpoint: "GET /sshkeys/x".into(),
            what: "SSH key"
        }
        .is_not_found());
    }

    #[test]
    fn status_helpers() {
        assert!(api(402, None, "").is_insufficient_funds());
        assert!(api(400, Some("insufficient_funds"), "").is_insufficient_funds());
        assert!(api(403, None, "").is_forbidden());
        assert!(api(401, None, "").is_unauthorized());
        assert!(!api(400, None, "").is_unauthorized());
        let bad_grant = Error::Api(ApiError {
            method: "POST",
            path: TOKEN_PATH.into(),
            status: 400,
            code: Some(ErrorCode::InvalidGrant),
            message: "bad client".into(),
            retry_after: None,
        });
        assert!(bad_grant.is_unauthorized());
        for s in [429, 500, 502, 503, 504] {
            assert!(api(s, None, "").is_retryable(), "{s}");
        }
        for s in [400, 401, 402, 403, 404] {
            assert!(!api(s, None, "").is_retryable(), "{s}");
        }
        assert!(!api(503, None, "Not enough resources").is_retryable());
        let forbidden = api(403, Some("forbidden_action"), "nope");
        assert!(forbidden.is_forbidden_action() && forbidden.is_forbidden());
        assert!(!api(403, None, "nope").is_forbidden_action());
    }

    #[test]
    fn questions_look_through_retries_exhausted() {
        let e = Error::RetriesExhausted {
            attempts: 5,
            elapsed: Duration::from_millis(12_340),
            source: Box::new(api(503, Some("service_unavailable"), "Maintenance")),
        };
        assert_eq!((e.status(), e.attempts()), (Some(503), Some(5)));
        assert!(e.is_retryable() && !e.is_no_capacity());
        assert_eq!(
            e.to_string(),
            "GET /instances/x: HTTP 503 service_unavailable: Maintenance \
             (gave up after 5 attempts over 12.3s)"
        );
        let gone = Error::RetriesExhausted {
            attempts: 2,
            elapsed: Duration::ZERO,
            source: Box::new(api(404, None, "")),
        };
        assert!(gone.is_not_found() && gone.is_gone_on_delete());
    }

    #[test]
    fn delete_conditions() {
        assert!(
            api(400, None, "Can't discontinue a discontinued instance").is_already_discontinued()
        );
        for gone in [
            api(404, Some("not_found"), "Not found"),
            api(400, Some("invalid_request"), "Invalid instance id"),
            api(
                403,
                Some("forbidden_action"),
                "Can't discontinue a discontinued instance",
            ),
        ] {
            assert!(gone.is_gone_on_delete(), "{gone}");
        }
        assert!(!api(
            403,
            Some("forbidden_action"),
            "Can't discontinue a provisioning instance"
        )
        .is_gone_on_delete());
        assert!(api(403, None, "can't discontinue a provisioning instance").is_still_provisioning());
        assert!(
            !api(403, None, "Can't discontinue a provisioning instance").is_already_discontinued()
        );
        // A partial failure answers only when every failed item does.
        let mixed = partial(vec![
            failure("Can't discontinue a discontinued instance"),
            failure("Can't discontinue a provisioning instance"),
        ]);
        assert!(!mixed.is_already_discontinued() && !mixed.is_still_provisioning());
        assert!(!partial(vec![]).is_not_found());
    }

    #[test]
    fn outcome_unknown_wraps_but_is_never_retryable() {
        let e = Error::DeployOutcomeUnknown {
            hostname: "h".into(),
            source: Box::new(api(500, Some("server_error"), "boom")),
            lookup: Some(Box::new(api(502, None, "bad gateway"))),
        };
        assert!(e.is_outcome_unknown() && !e.is_retryable());
        assert_eq!(e.status(), Some(500));
        let shown = e.to_string();
        assert!(
            shown.contains("\"h\"")
                && shown.contains("HTTP 500")
                && shown.contains("looking it up failed too: GET /instances/x: HTTP 502"),
            "{shown}"
        );
    }

    #[test]
    fn display_has_method_path_status_code_and_message() {
        assert_eq!(
            api(400, Some("invalid_request"), "Invalid instance id").to_string(),
            "GET /instances/x: HTTP 400 invalid_request: Invalid instance id"
        );
        assert_eq!(
            api(502, None, "bad gateway").to_string(),
            "GET /instances/x: HTTP 502: bad gateway"
        );
    }
}
