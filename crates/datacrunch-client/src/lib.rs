//! Typed async client for the DataCrunch (Verda) public API v1. Knows nothing of
//! Terraform.
//!
//! * [`Client`]: one method per endpoint (instances, SSH keys, startup scripts, volumes,
//!   catalog, availability), built with [`Client::builder`]. Clones share one connection
//!   pool and one token cache; use it from any number of tasks.
//! * Auth: OAuth2 client credentials (token cached, refreshed before expiry, renewed once
//!   on a 401) or a fixed bearer token. Secrets never appear in `Debug` output or logs.
//! * Retries: exponential backoff with full jitter on 429 (honouring `Retry-After`), 500,
//!   502, 504 and connection failures, only for requests safe to repeat ([`RetryPolicy`]).
//!   Creates are never repeated once they may have reached the server: a deploy then
//!   fails with [`Error::DeployOutcomeUnknown`], and the caller looks the instance up with
//!   [`Client::find_instances_by_hostname`].
//! * [`Error`]: status, API code and message, with the questions callers act on
//!   ([`Error::is_no_capacity`], [`Error::is_not_found`], [`Error::is_still_provisioning`], …).
//! * [`Client::wait_for_instance`]: a cancellable poller with backoff ([`PollPolicy`]).
//! * [`offer`]: the kdevops GPU tier table and capacity-aware offer selection.
//! * [`decode`]: the tolerant decoders for the API's inconsistent answers.
//!
//! ## What is retried
//!
//! | Request | 429 | 500/502/504 | connection refused | timeout, dropped after send |
//! |---|---|---|---|---|
//! | GET, DELETE, token, idempotent `PUT` actions | retried | retried | retried | retried |
//! | `POST /instances` (deploy) | retried (not processed) | [`Error::DeployOutcomeUnknown`] | retried (never sent) | [`Error::DeployOutcomeUnknown`] |
//! | other creates, volume clone, hibernate/restore | retried | [`Error::OutcomeUnknown`] | retried | [`Error::OutcomeUnknown`] |
//!
//! 503 (no capacity) and other 4xx answers are never retried. A 401 renews the token and
//! repeats the request once, whatever its kind (a 401 means it was not processed).
//!
//! ```no_run
//! use datacrunch_client::{Client, Error};
//! use datacrunch_client::offer::{OfferQuery, TierGroup};
//! use datacrunch_models::{DeployInstanceRequest, InstanceStatus};
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
//!     ..DeployInstanceRequest::new(
//!         offer.instance_type,
//!         "ubuntu-24.04-cuda-12.8-open-docker",
//!         "kdevops-xfs-1",
//!         "kdevops",
//!     )
//! };
//! let id = match client.deploy_instance(&request).await {
//!     Ok(id) => id,
//!     Err(Error::DeployOutcomeUnknown { hostname, .. }) => {
//!         // The deploy may have happened: adopt rather than deploy twice.
//!         let found = client.find_instances_by_hostname(&hostname).await?;
//!         found.first().ok_or("deploy failed")?.id.clone()
//!     }
//!     Err(e) => return Err(e.into()),
//! };
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
pub mod decode;
mod error;
pub mod offer;
mod retry;
mod transport;
mod wait;

pub use api::TaggedKind;
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_REFRESH_MARGIN, DEFAULT_TIMEOUT, VERDA_BASE_URL,
};
pub use error::{ActionFailure, ApiError, Error, Result};
pub use retry::{backoff_delay, retry_delay, JitterFn, RetryPolicy, SleepFn, SleepFuture};
pub use wait::{PollPolicy, WaitError};

/// The wire types this client speaks, re-exported for convenience.
pub use datacrunch_models as models;
