//! Client configuration as plain data: the builder's settings, the credentials (secrets
//! that never show in `Debug`), the defaults, and their validation into [`Settings`].
//! Knows nothing of how a client is assembled from them: `ClientBuilder::build`, in the
//! client module, does that.

use crate::error::{Error, Result};
use crate::poll::PollPolicy;
use crate::retry::{random_jitter, tokio_sleep, JitterFn, RetryPolicy, SleepFn};
use datacrunch_models::Secret;
use reqwest::Url;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// The historical base URL, still served; the default.
pub const DEFAULT_BASE_URL: &str = "https://api.datacrunch.io/v1";
/// The base URL every official SDK has used since the rename to Verda (2025-11).
pub const VERDA_BASE_URL: &str = "https://api.verda.com/v1";
/// The per-request timeout unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long before its expiry a token is refreshed (at most half its lifetime).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How the client authenticates: what the credentials module finds in files and the
/// environment, or what [`ClientBuilder::client_credentials`] and
/// [`ClientBuilder::bearer_token`] are given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// OAuth2 client credentials, exchanged for tokens (and refreshed) by the client.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    /// A ready token, sent as is.
    Bearer(Secret),
}

/// Builds a [`Client`](crate::Client). Start from [`Client::builder`](crate::Client::builder).
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    timeout: Duration,
    retry_policy: RetryPolicy,
    poll_policy: PollPolicy,
    refresh_margin: Duration,
    user_agent: String,
    sleep: SleepFn,
    jitter: JitterFn,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("retry_policy", &self.retry_policy)
            .field("poll_policy", &self.poll_policy)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            retry_policy: RetryPolicy::default(),
            poll_policy: PollPolicy::default(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            user_agent: concat!("datacrunch-client-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            sleep: tokio_sleep(),
            jitter: random_jitter(),
        }
    }
}

impl ClientBuilder {
    /// The API root, e.g. [`DEFAULT_BASE_URL`], [`VERDA_BASE_URL`] or
    /// `http://127.0.0.1:PORT/v1` for the emulator. Checked by [`build`](Self::build).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Authenticate with OAuth2 client credentials; tokens are fetched, cached and
    /// refreshed by the client.
    pub fn client_credentials(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        self.credentials(Credentials::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }

    /// Authenticate with a ready bearer token (never refreshed).
    pub fn bearer_token(self, token: impl Into<Secret>) -> Self {
        self.credentials(Credentials::Bearer(token.into()))
    }

    /// Authenticate with credentials as found by the credentials module.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Per-request timeout (connect, send and read the whole answer).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How [`Client::wait_for_instance`](crate::Client::wait_for_instance) paces its polls.
    pub fn poll_policy(mut self, policy: PollPolicy) -> Self {
        self.poll_policy = policy;
        self
    }

    /// How long before expiry a cached token is refreshed (capped at half its lifetime).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Replaces how the client sleeps between retries (tests record the waits instead).
    pub fn sleep_fn(mut self, sleep: SleepFn) -> Self {
        self.sleep = sleep;
        self
    }

    /// Replaces the jitter draw in `[0, 1]` (tests make it deterministic).
    pub fn jitter_fn(mut self, jitter: JitterFn) -> Self {
        self.jitter = jitter;
        self
    }

    /// Checks every setting, naming the first bad one.
    pub(crate) fn validate(self) -> Result<Settings> {
        let base = parse_base_url(&self.base_url)?;
        if self.timeout.is_zero() {
            return Err(Error::Config(
                "timeout: expected a positive duration".into(),
            ));
        }
        if self.poll_policy.initial.is_zero() || self.poll_policy.max < self.poll_policy.initial {
            // A zero interval would poll the API in a tight loop.
            return Err(Error::Config(format!(
                "poll_policy: expected 0 < initial <= max, got initial {:?}, max {:?}",
                self.poll_policy.initial, self.poll_policy.max
            )));
        }
        let credentials = match self.credentials {
            None => {
                return Err(Error::Config(
                    "credentials: none given; call client_credentials(id, secret) or bearer_token(token)".into(),
                ))
            }
            Some(Credentials::Bearer(t)) if t.is_blank() => {
                return Err(Error::Config(
                    "bearer_token: expected a non-empty token".into(),
                ))
            }
            Some(Credentials::ClientCredentials { client_id, .. }) if client_id.trim().is_empty() => {
                return Err(Error::Config(
                    "client_id: expected a non-empty client id".into(),
                ))
            }
            Some(Credentials::ClientCredentials { client_secret, .. })
                if client_secret.expose().is_empty() =>
            {
                return Err(Error::Config(
                    "client_secret: expected a non-empty client secret".into(),
                ))
            }
            Some(c) => c,
        };
        Ok(Settings {
            base,
            credentials,
            timeout: self.timeout,
            retry_policy: self.retry_policy,
            poll_policy: self.poll_policy,
            refresh_margin: self.refresh_margin,
            user_agent: self.user_agent,
            sleep: self.sleep,
            jitter: self.jitter,
        })
    }
}

/// A checked configuration: what a client is built from.
pub(crate) struct Settings {
    pub(crate) base: Url,
    pub(crate) credentials: Credentials,
    pub(crate) timeout: Duration,
    pub(crate) retry_policy: RetryPolicy,
    pub(crate) poll_policy: PollPolicy,
    pub(crate) refresh_margin: Duration,
    pub(crate) user_agent: String,
    pub(crate) sleep: SleepFn,
    pub(crate) jitter: JitterFn,
}

/// Checks a base URL as [`ClientBuilder::build`] does, without building a client, so a
/// caller that took the URL from a user setting can report the error at that setting.
pub fn check_base_url(raw: &str) -> Result<()> {
    parse_base_url(raw).map(|_| ())
}

/// Validates the base URL: absolute, `https` (or `http` to a loopback address, for the
/// emulator; credentials must not cross a network in clear text), no query or fragment.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url> {
    let bad = |why: &str| {
        Error::Config(format!(
            "base_url: expected an absolute https URL such as {DEFAULT_BASE_URL} \
             (or http://127.0.0.1:PORT/v1 for a local emulator), got {raw:?}: {why}"
        ))
    };
    let url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if url.cannot_be_a_base() {
        return Err(bad("not a base URL"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(bad("plain http is only allowed to a loopback address")),
        other => return Err(bad(&format!("unsupported scheme {other:?}"))),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not embed credentials"));
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_known_base_urls() {
        for u in [
            DEFAULT_BASE_URL,
            VERDA_BASE_URL,
            "http://127.0.0.1:8080/v1",
            "http://localhost:1/v1/",
            "http://[::1]:9/v1",
        ] {
            parse_base_url(u).unwrap();
        }
    }

    #[test]
    fn rejects_bad_base_urls_naming_the_field() {
        for (u, why) in [
            ("api.datacrunch.io/v1", "relative URL"),
            ("http://api.datacrunch.io/v1", "loopback"),
            ("ftp://127.0.0.1/v1", "scheme"),
            ("https://api.verda.com/v1?x=1", "query"),
            ("https://u:p@api.verda.com/v1", "credentials"),
            ("mailto:x@y", "base"),
        ] {
            let e = parse_base_url(u).unwrap_err().to_string();
            assert!(e.contains("base_url") && e.contains(why), "{u}: {e}");
        }
    }

    fn error_of(builder: ClientBuilder) -> String {
        match builder.validate() {
            Ok(_) => panic!("expected a configuration error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn validation_requires_credentials() {
        let e = error_of(ClientBuilder::default());
        assert!(e.contains("credentials"), "{e}");
        let e = error_of(ClientBuilder::default().client_credentials("", "s"));
        assert!(e.contains("client_id"), "{e}");
        let e = error_of(ClientBuilder::default().client_credentials("id", ""));
        assert!(e.contains("client_secret"), "{e}");
        let e = error_of(ClientBuilder::default().bearer_token(" "));
        assert!(e.contains("bearer_token"), "{e}");
    }

    #[test]
    fn validation_rejects_a_zero_timeout_or_poll_interval() {
        let b = ClientBuilder::default().bearer_token("t");
        let e = error_of(b.clone().timeout(Duration::ZERO));
        assert!(e.contains("timeout"), "{e}");
        let e = error_of(b.poll_policy(PollPolicy {
            initial: Duration::ZERO,
            ..PollPolicy::default()
        }));
        assert!(e.contains("poll_policy"), "{e}");
    }
}
