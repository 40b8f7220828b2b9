//! OAuth2 tokens: fetched with client credentials, cached, refreshed shortly before
//! expiry with the refresh-token grant (falling back to client credentials when the
//! refresh is refused), and invalidated when the service answers 401.
//!
//! One `tokio::sync::Mutex` guards the cache, so however many tasks share a client, only
//! one token request is in flight and the others wait for its result.

use crate::config::Credentials;
use crate::error::{Error, Result};
use crate::transport::{Attempts, Repeat, Request, Transport, Verdict};
use datacrunch_models::{Secret, TokenRequest, TokenResponse};
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A bearer token to send, with the cache generation it came from (so a 401 invalidates
/// only that token, not one another task has fetched since).
#[derive(Clone)]
pub(crate) struct Bearer {
    pub(crate) token: Arc<str>,
    generation: u64,
}

pub(crate) enum Auth {
    /// A token given by the user; used as is, never refreshed.
    Fixed(Bearer),
    ClientCredentials {
        client_id: String,
        secret: Secret,
        refresh_margin: Duration,
        cache: Mutex<Cache>,
    },
}

#[derive(Default)]
pub(crate) struct Cache {
    current: Option<CachedToken>,
    generation: u64,
}

struct CachedToken {
    access: Arc<str>,
    refresh: Option<Secret>,
    /// When to stop using the token and refresh it: expiry less the margin.
    refresh_at: Instant,
}

/// When a token fetched at `fetched_at` living `lifetime` should be refreshed: `margin`
/// before it expires, but never more than half its life early, so short-lived tokens are
/// not refreshed on every call.
pub(crate) fn refresh_deadline(
    fetched_at: Instant,
    lifetime: Duration,
    margin: Duration,
) -> Instant {
    fetched_at + lifetime - margin.min(lifetime / 2)
}

impl Auth {
    /// The authentication the configured credentials call for.
    pub(crate) fn new(credentials: Credentials, refresh_margin: Duration) -> Auth {
        match credentials {
            Credentials::Bearer(token) => Auth::fixed(token),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => Auth::client_credentials(client_id, client_secret, refresh_margin),
        }
    }

    fn fixed(token: Secret) -> Auth {
        Auth::Fixed(Bearer {
            token: token.expose().into(),
            generation: 0,
        })
    }

    fn client_credentials(client_id: String, secret: Secret, refresh_margin: Duration) -> Auth {
        Auth::ClientCredentials {
            client_id,
            secret,
            refresh_margin,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Whether a 401 is worth a new token and one more attempt.
    pub(crate) fn can_renew(&self) -> bool {
        matches!(self, Auth::ClientCredentials { .. })
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Auth::Fixed(_) => "bearer token",
            Auth::ClientCredentials { .. } => "client credentials",
        }
    }

    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Auth::Fixed(_) => None,
            Auth::ClientCredentials { client_id, .. } => Some(client_id),
        }
    }

    /// A token valid for now: the cached one, a refreshed one, or a new one.
    pub(crate) async fn bearer(&self, transport: &Transport) -> Result<Bearer> {
        let (client_id, secret, margin, cache) = match self {
            Auth::Fixed(b) => return Ok(b.clone()),
            Auth::ClientCredentials {
                client_id,
                secret,
                refresh_margin,
                cache,
            } => (client_id, secret, *refresh_margin, cache),
        };
        let mut cache = cache.lock().await;
        let stale_refresh = match &cache.current {
            Some(t) if Instant::now() < t.refresh_at => {
                return Ok(Bearer {
                    token: t.access.clone(),
                    generation: cache.generation,
                })
            }
            Some(t) => t.refresh.clone(),
            None => None,
        };
        let fetched_at = Instant::now();
        let response = match stale_refresh {
            Some(refresh) => match request_token(transport, refresh_grant(&refresh)).await {
                // The refresh token expired or was revoked: start over.
                Err(e) if matches!(e.status(), Some(400 | 401)) => {
                    tracing::debug!("token refresh refused; authenticating again");
                    request_token(transport, credentials_grant(client_id, secret)).await?
                }
                other => other?,
            },
            None => request_token(transport, credentials_grant(client_id, secret)).await?,
        };
        let lifetime = Duration::from_secs(response.expires_in);
        let access: Arc<str> = response.access_token.expose().into();
        cache.generation += 1;
        cache.current = Some(CachedToken {
            access: access.clone(),
            refresh: response.refresh_token,
            refresh_at: refresh_deadline(fetched_at, lifetime, margin),
        });
        Ok(Bearer {
            token: access,
            generation: cache.generation,
        })
    }

    /// The service refused `used` with 401: stop using it (unless another task already
    /// replaced it), so the next [`bearer`](Self::bearer) gets a new one.
    pub(crate) async fn invalidate(&self, used: &Bearer) {
        if let Auth::ClientCredentials { cache, .. } = self {
            let mut cache = cache.lock().await;
            if cache.generation == used.generation {
                if let Some(t) = cache.current.as_mut() {
                    t.refresh_at = Instant::now();
                }
            }
        }
    }
}

fn credentials_grant(client_id: &str, secret: &Secret) -> TokenRequest {
    TokenRequest {
        grant_type: "client_credentials".into(),
        client_id: Some(client_id.to_owned()),
        client_secret: Some(secret.clone()),
        refresh_token: None,
    }
}

fn refresh_grant(refresh: &Secret) -> TokenRequest {
    TokenRequest {
        grant_type: "refresh_token".into(),
        client_id: None,
        client_secret: None,
        refresh_token: Some(refresh.clone()),
    }
}

/// `POST /oauth2/token` with a JSON body. Safe to repeat: a grant has no side effect
/// beyond issuing a token.
async fn request_token(transport: &Transport, grant: TokenRequest) -> Result<TokenResponse> {
    let req = Request::new(Method::POST, &["oauth2", "token"])
        .json(&grant)?
        .repeat(Repeat::Safe);
    let mut attempts = Attempts::start();
    let sent = transport.send(&req, None, &mut attempts).await;
    let failure = match sent.outcome {
        Ok(resp) if resp.is_success() => Ok(resp),
        Ok(resp) => Err(Error::Api(resp.into_api_error(&req))),
        Err(e) => Err(e),
    };
    // A token grant is always repeatable, so a failure is final or the retries ran out.
    let resp = failure.map_err(|e| match sent.verdict {
        Verdict::Repeat => attempts.give_up(e),
        _ => e,
    })?;
    // Not decode_json: serde's message quotes the offending value ("invalid type:
    // string \"eyJ…\""), which in a token answer may be the token itself. Only where
    // the body went wrong is reported.
    let token: TokenResponse = serde_json::from_slice(&resp.body).map_err(|e| Error::Decode {
        endpoint: req.endpoint(),
        expected: "an OAuth2 token object",
        detail: format!(
            "{:?} error at line {}, column {} (body not shown: it may hold a token)",
            e.classify(),
            e.line(),
            e.column()
        ),
    })?;
    if token.access_token.expose().is_empty() {
        return Err(Error::Decode {
            endpoint: req.endpoint(),
            expected: "a non-empty access_token",
            detail: "access_token is empty".into(),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_capped_at_half_the_lifetime() {
        let t0 = Instant::now();
        let m = Duration::from_secs(60);
        assert_eq!(
            refresh_deadline(t0, Duration::from_secs(3600), m),
            t0 + Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_deadline(t0, Duration::from_secs(20), m),
            t0 + Duration::from_secs(10)
        );
        assert_eq!(refresh_deadline(t0, Duration::ZERO, m), t0);
    }

    #[test]
    fn grants_have_the_documented_shape() {
        let g = serde_json::to_value(credentials_grant("id", &Secret::new("s"))).unwrap();
        assert_eq!(
            g,
            serde_json::json!({"grant_type":"client_credentials","client_id":"id","client_secret":"s"})
        );
        let g = serde_json::to_value(refresh_grant(&Secret::new("r"))).unwrap();
        assert_eq!(
            g,
            serde_json::json!({"grant_type":"refresh_token","refresh_token":"r"})
        );
    }
}
