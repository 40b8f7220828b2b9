//! Typed async client for the DataCrunch (Verda) public API v1. Knows nothing of
//! Terraform.
//!
//! * [`Client`]: one method per endpoint (instances, SSH keys, startup scripts, volumes,
//!   catalog, availability), built with [`Client::builder`]. Clones share one connection
//!   pool and one token cache; use it from any number of tasks.
//! * Auth: OAuth2 client credentials (token cached, refreshed before expiry, renewed once
//!   on a 401) or a fixed bearer token. Secrets never appear in `Debug` output or logs.
//! * Retries: exponential backoff with full jitter, honouring `Retry-After` (seconds or an
//!   HTTP date), on 429, 500, 502, 503, 504 and lost connections, for every request
//!   whose repetition is harmless ([`RetryPolicy`]). A dead endpoint (connection
//!   refused) gets a few tries over a few seconds, then an error naming the URL
//!   ([`Error::is_unreachable`]). When retries run out the error says how many attempts
//!   over how long, with the API's own message ([`Error::RetriesExhausted`]).
//! * Creates survive lost answers: before a create that may have taken effect is sent
//!   again, the client looks up what it would have made and returns that (instances by
//!   hostname and every tag of the request, so give each deploy a unique token tag; SSH
//!   keys by name and key; scripts by name and text; volumes by name, size and
//!   location). [`Error::DeployOutcomeUnknown`] / [`Error::OutcomeUnknown`] only when
//!   that lookup fails.
//! * [`Error`]: status, typed API code ([`models::ErrorCode`]) and message, with the
//!   questions callers act on ([`Error::is_no_capacity`], [`Error::is_not_found`],
//!   [`Error::is_gone_on_delete`], [`Error::is_forbidden_action`], …).
//! * [`Client::wait_for_instance`]: a cancellable poller with backoff ([`PollPolicy`]).
//! * [`offer`]: the kdevops GPU tier table and capacity-aware offer selection.
//! * [`credentials`]: where credentials come from (files, profiles, environment), the
//!   one implementation the provider and the kdevops workflow share.
//! * [`decode`]: the tolerant decoders for the API's inconsistent answers.
//! * [`suggest`]: "did you mean" for mistyped names, shared by the provider and the
//!   workflow.
//!
//! ## What is retried
//!
//! | Request | 429 | 500/502/503/504 | connection refused | reset after sending, timeout |
//! |---|---|---|---|---|
//! | GET, DELETE, token, tags, idempotent `PUT` actions | retried | retried | retried (a few seconds) | retried |
//! | creates (`POST` instances, SSH keys, scripts, volumes) | retried (not processed) | looked up, then resent | retried (never sent) | looked up, then resent |
//! | volume clone, hibernate/restore | retried | [`Error::OutcomeUnknown`] | retried | [`Error::OutcomeUnknown`] |
//!
//! A 5xx whose body says there is no capacity ("Not enough resources ...") is a definite
//! refusal: never retried, and the only 503 for which [`Error::is_no_capacity`] holds.
//! Other 4xx answers are never retried. A 401 renews the token and repeats the request
//! once, whatever its kind (a 401 means it was not processed). The idempotent `PUT`
//! actions are start, boot, shutdown, force shutdown and delete of instances, and attach,
//! detach, rename, resize, delete of volumes: repeating them ends in the same state (a
//! repeated delete answers with an error for which [`Error::is_gone_on_delete`] holds).
//!
//! ## Inside
//!
//! The modules form layers; each imports only from layers below it:
//!
//! 1. `retry` (retry policy, backoff, `Retry-After`), `poll` (poll pacing), `suggest`
//!    (edit distance): pure data and arithmetic.
//! 2. `error` (the error type and its questions), `config` (builder settings, secrets,
//!    validation).
//! 3. `transport` (one request: attempts, verdicts, retries), `decode` (tolerant bodies).
//! 4. `auth` (tokens, fetched through the transport).
//! 5. `client` (assembly and the one authenticated send path).
//! 6. `api` (the endpoints, and creates that survive lost answers), `wait`, `offer`.
//!
//! ```no_run
//! use datacrunch_client::Client;
//! use datacrunch_client::offer::{OfferQuery, TierGroup};
//! use datacrunch_models::{DeployInstanceRequest, InstanceStatus, Tag};
//! use std::time::Duration;
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .base_url("https://api.verda.com/v1")
//!     .client_credentials("my-client-id", "my-client-secret")
//!     .timeout(Duration::from_secs(30))
//!     .build()?;
//!
//! let query = OfferQuery {
//!     candidates: TierGroup::H100OrLess.instance_types().iter().map(|t| t.to_string()).collect(),
//!     ..OfferQuery::default()
//! };
//! let selection = client.find_offer(&query, None).await?;
//! let Some(offer) = selection.offer.clone() else {
//!     return Err(format!("no offer:\n{}", selection.explain()).into());
//! };
//!
//! let request = DeployInstanceRequest {
//!     location_code: Some(offer.location),
//!     // A token unique to this create, so the lookup after a lost answer finds only
//!     // the instance this very deploy made.
//!     tags: vec![Tag { key: "create-token".into(), value: Some("3f2c9a".into()) }],
//!     ..DeployInstanceRequest::new(
//!         offer.instance_type,
//!         "ubuntu-24.04-cuda-12.8-open-docker",
//!         "kdevops-xfs-1",
//!         "kdevops",
//!     )
//! };
//! // Survives a lost answer: a deploy that took effect is found, not repeated.
//! let id = client.deploy_instance(&request).await?;
//! let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
//! let running = client
//!     .wait_for_instance(&id, |i| i.status == InstanceStatus::Running, deadline, &CancellationToken::new())
//!     .await?;
//! println!("{} is up at {:?}", running.hostname, running.ip);
//! # Ok(()) }
//! ```

mod api;
mod auth;
mod client;
mod config;
pub mod credentials;
pub mod decode;
mod error;
pub mod offer;
mod poll;
mod retry;
pub mod suggest;
mod transport;
mod wait;

pub use api::TaggedKind;
pub use client::{Client, Dated};
pub use config::{
    check_base_url, ClientBuilder, Credentials, DEFAULT_BASE_URL, DEFAULT_REFRESH_MARGIN,
    DEFAULT_TIMEOUT, VERDA_BASE_URL,
};
pub use error::{ActionFailure, ApiError, Error, Result};
pub use poll::PollPolicy;
pub use retry::{backoff_delay, retry_delay, JitterFn, RetryPolicy, SleepFn, SleepFuture};
pub use wait::WaitError;

/// The wire types this client speaks, re-exported for convenience.
pub use datacrunch_models as models;
/// The one secret type (redacted in `Debug` and `Display`), shared with the models.
pub use datacrunch_models::Secret;
