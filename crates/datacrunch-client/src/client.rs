//! [`Client`]: assembled from a checked configuration (`ClientBuilder::build`), and the
//! one path every call takes: authenticate, send (with the transport's retries), renew
//! the token once on 401, and sort a failure into definite, uncertain (a request that
//! must not be repeated blindly may have taken effect) or "outcome unknown". The
//! endpoints (module `api`), waits and offer selection are built on top of it.

use crate::auth::Auth;
use crate::config::ClientBuilder;
use crate::decode::{decode_json, decode_one_or_first};
use crate::error::{Error, Result};
use crate::poll::PollPolicy;
use crate::transport::{Attempts, Repeat, Request, Response, Transport, Uncertain, Verdict};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;

/// The DataCrunch (Verda) API client. Cheap to clone; clones share the connection pool
/// and the token cache, and any number of tasks may use it at once.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) auth: Auth,
    pub(crate) poll: PollPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("auth", &self.inner.auth.kind())
            .field("client_id", &self.inner.auth.client_id())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Checks the configuration and builds the client. Makes no request.
    pub fn build(self) -> Result<Client> {
        let settings = self.validate()?;
        let auth = Auth::new(settings.credentials, settings.refresh_margin);
        let transport = Transport::new(
            settings.base,
            settings.timeout,
            &settings.user_agent,
            settings.retry_policy,
            settings.sleep,
            settings.jitter,
        )?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                auth,
                poll: settings.poll_policy,
            }),
        })
    }
}

impl Client {
    /// Starts configuring a client. See the crate docs for an example.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The API root this client talks to.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base.as_str()
    }

    /// Makes sure a valid token is at hand, fetching one if needed: checks credentials
    /// up front (e.g. when a provider is configured). A no-op for a fixed bearer token.
    pub async fn authenticate(&self) -> Result<()> {
        self.inner
            .auth
            .bearer(&self.inner.transport)
            .await
            .map(|_| ())
    }

    /// Sends `req` and returns its success answer. A 401 renews the token and retries
    /// once; a failure of a request that must not be repeated, and that may have reached
    /// the server, becomes an "outcome unknown" error.
    pub(crate) async fn execute(&self, req: &Request) -> Result<Response> {
        let mut attempts = Attempts::start();
        self.send(req, &mut attempts).await.map_err(|f| match f {
            Failure::Definite(e) => e,
            Failure::Uncertain(e) => outcome_unknown(req, e, None),
        })
    }

    /// Authenticates and sends `req` through the transport's retries, renewing the token
    /// once on a 401, and sorts a failure into definite and uncertain.
    pub(crate) async fn send(
        &self,
        req: &Request,
        attempts: &mut Attempts,
    ) -> std::result::Result<Response, Failure> {
        let Inner {
            transport, auth, ..
        } = &*self.inner;
        let mut bearer = auth.bearer(transport).await.map_err(Failure::Definite)?;
        let mut sent = transport.send(req, Some(&bearer.token), attempts).await;
        if matches!(&sent.outcome, Ok(r) if r.status == 401) && auth.can_renew() {
            tracing::debug!(path = %req.path(), "401; renewing the token once");
            auth.invalidate(&bearer).await;
            bearer = auth.bearer(transport).await.map_err(Failure::Definite)?;
            sent = transport.send(req, Some(&bearer.token), attempts).await;
        }
        let error = match sent.outcome {
            Ok(resp) if resp.is_success() => return Ok(resp),
            Ok(resp) => Error::Api(resp.into_api_error(req)),
            Err(e) => e,
        };
        Err(match sent.verdict {
            Verdict::Final => Failure::Definite(error),
            Verdict::Repeat => Failure::Definite(attempts.give_up(error)),
            Verdict::Uncertain => Failure::Uncertain(error),
        })
    }

    /// Sends `req` and decodes its JSON answer.
    pub(crate) async fn fetch_json<T: DeserializeOwned>(
        &self,
        req: Request,
        expected: &'static str,
    ) -> Result<T> {
        let resp = self.execute(&req).await?;
        decode_json(&req.endpoint(), expected, &resp.body)
    }

    /// Fetches a record the API wraps in a one-element array (SSH keys, scripts).
    pub(crate) async fn fetch_first<T: DeserializeOwned>(
        &self,
        req: Request,
        what: &'static str,
        expected: &'static str,
    ) -> Result<T> {
        let resp = self.execute(&req).await?;
        decode_one_or_first(&req.endpoint(), expected, &resp.body)?.ok_or_else(|| Error::Missing {
            endpoint: req.endpoint(),
            what,
        })
    }
}

/// An answer with the server's clock when it was given (its `Date` header; `None`
/// when the server sent none).
#[derive(Debug, Clone, PartialEq)]
pub struct Dated<T> {
    pub value: T,
    pub server_time: Option<std::time::SystemTime>,
}

/// Why [`Client::send`] got no success answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request did not take effect, or repeating it was harmless and was done.
    Definite(Error),
    /// A request that must not be repeated blindly may have taken effect.
    Uncertain(Error),
}

/// Wraps a failure of a request that may have taken effect: for a [`Repeat::Once`]
/// request it becomes an "outcome unknown" error (with why looking it up failed, when
/// that was tried); a repeatable request's error is returned as is (repeating it is
/// harmless).
pub(crate) fn outcome_unknown(req: &Request, error: Error, lookup: Option<Error>) -> Error {
    let lookup = lookup.map(Box::new);
    match &req.repeat {
        Repeat::Safe => error,
        Repeat::Once(Uncertain::Deploy { hostname }) => Error::DeployOutcomeUnknown {
            hostname: hostname.clone(),
            source: Box::new(error),
            lookup,
        },
        Repeat::Once(Uncertain::Operation(operation)) => Error::OutcomeUnknown {
            operation: operation.clone(),
            source: Box::new(error),
            lookup,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let b = Client::builder().client_credentials("id-1", "SENTINEL-SECRET");
        assert!(!format!("{b:?}").contains("SENTINEL"));
        let c = b.build().unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("SENTINEL") && shown.contains("id-1"),
            "{shown}"
        );
        let c = Client::builder()
            .bearer_token("SENTINEL-TOKEN")
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("SENTINEL"));
    }
}
