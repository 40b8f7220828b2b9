//! OAuth2 as the service does it: `client_credentials` and `refresh_token` grants, opaque
//! random bearer tokens with a configurable lifetime, and revocation (admin API and
//! fault injection).
//!
//! Token lifetimes run on the wall clock, not the virtual one: advancing the virtual
//! clock to bill an hour must not log out a client (the SDKs track expiry in real time).
//! Tokens live only in memory, so a restarted emulator makes every client log in again.

use crate::error::ApiError;
use datacrunch_models::{ErrorCode, Secret, TokenRequest, TokenResponse};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long a refresh token stays valid.
const REFRESH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// The `scope` the S1 fixture shows.
const SCOPE: &str = "fullAccess";

/// Credentials and live tokens. `Debug` shows neither the secret nor any token: the
/// whole emulator state is `Debug`, and test failures print it.
pub struct Auth {
    client_id: String,
    client_secret: Secret,
    lifetime: Duration,
    access: RwLock<HashMap<String, Instant>>,
    refresh: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.access.read().map_or(0, |a| a.len());
        f.debug_struct("Auth")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("lifetime", &self.lifetime)
            .field("access_tokens", &live)
            .finish_non_exhaustive()
    }
}

/// The token of an `Authorization` header value (`Bearer <token>`, scheme in any case).
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Auth {
    pub fn new(client_id: String, client_secret: Secret, lifetime: Duration) -> Auth {
        Auth {
            client_id,
            client_secret,
            lifetime: lifetime.max(Duration::from_secs(1)),
            access: RwLock::default(),
            refresh: Mutex::default(),
        }
    }

    /// `POST /oauth2/token`.
    pub fn grant(&self, req: &TokenRequest) -> Result<TokenResponse, ApiError> {
        match req.grant_type.as_str() {
            "client_credentials" => {
                let id_ok = req.client_id.as_deref() == Some(self.client_id.as_str());
                let secret_ok = req.client_secret.as_ref() == Some(&self.client_secret);
                if !(id_ok && secret_ok) {
                    return Err(ApiError::unauthorized("Invalid client credentials"));
                }
            }
            "refresh_token" => {
                let token = req.refresh_token.as_ref().map_or("", Secret::expose);
                let mut refresh = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
                // Refresh tokens are single use: the answer carries a new one.
                match refresh.remove(token) {
                    Some(expiry) if expiry > Instant::now() => {}
                    _ => {
                        return Err(ApiError::new(
                            ErrorCode::InvalidGrant,
                            "Invalid or expired refresh_token",
                        ))
                    }
                }
            }
            other => {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {other:?} is not supported; use client_credentials or refresh_token"),
                ))
            }
        }
        Ok(self.issue())
    }

    fn issue(&self) -> TokenResponse {
        let now = Instant::now();
        let access_token = random_token("emu-at-");
        let refresh_token = random_token("emu-rt-");
        {
            let mut access = self.access.write().unwrap_or_else(|p| p.into_inner());
            access.retain(|_, expiry| *expiry > now);
            access.insert(access_token.clone(), now + self.lifetime);
        }
        {
            let mut refresh = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
            refresh.retain(|_, expiry| *expiry > now);
            refresh.insert(refresh_token.clone(), now + REFRESH_LIFETIME);
        }
        TokenResponse {
            access_token: Secret::new(access_token),
            token_type: "Bearer".to_owned(),
            expires_in: self.lifetime.as_secs(),
            refresh_token: Some(Secret::new(refresh_token)),
            scope: Some(SCOPE.to_owned()),
        }
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), ApiError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or_else(|| ApiError::unauthorized("Missing bearer token"))?;
        let access = self.access.read().unwrap_or_else(|p| p.into_inner());
        match access.get(token) {
            Some(expiry) if *expiry > Instant::now() => Ok(()),
            Some(_) => Err(ApiError::unauthorized("Access token expired")),
            None => Err(ApiError::unauthorized("Invalid access token")),
        }
    }

    /// Revokes the token of one `Authorization` header value.
    pub fn revoke(&self, authorization: &str) {
        if let Some(token) = bearer_token(authorization) {
            let mut access = self.access.write().unwrap_or_else(|p| p.into_inner());
            access.remove(token);
        }
    }

    /// Revokes every access and refresh token.
    pub fn revoke_all(&self) {
        self.access
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(id: &str, secret: &str) -> TokenRequest {
        TokenRequest {
            grant_type: "client_credentials".into(),
            client_id: Some(id.into()),
            client_secret: Some(Secret::new(secret)),
            refresh_token: None,
        }
    }

    #[test]
    fn grants_and_checks() {
        let auth = Auth::new("id".into(), Secret::new("secret"), Duration::from_secs(60));
        assert_eq!(
            auth.grant(&creds("id", "nope")).unwrap_err().status_code(),
            401
        );
        let t = auth.grant(&creds("id", "secret")).unwrap();
        let header = format!("Bearer {}", t.access_token.expose());
        auth.check(Some(&header)).unwrap();
        assert_eq!(
            auth.check(Some("Bearer x")).unwrap_err().code,
            ErrorCode::UnauthorizedRequest
        );
        assert!(auth.check(None).is_err());
        let refresh = TokenRequest {
            grant_type: "refresh_token".into(),
            client_id: None,
            client_secret: None,
            refresh_token: t.refresh_token.clone(),
        };
        auth.grant(&refresh).unwrap();
        assert_eq!(
            auth.grant(&refresh).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        auth.revoke(&header);
        assert!(auth.check(Some(&header)).is_err());
        // Any case of the scheme, for checks and for the revocation fault alike.
        let t = auth.grant(&creds("id", "secret")).unwrap();
        let lower = format!("bearer {}", t.access_token.expose());
        auth.check(Some(&lower)).unwrap();
        auth.revoke(&lower);
        assert!(auth.check(Some(&lower)).is_err());
        assert!(auth.check(Some("Bearer ")).is_err());
        assert!(auth.check(Some("Basic abc")).is_err());
    }

    #[test]
    fn debug_shows_no_secret_and_no_token() {
        let auth = Auth::new(
            "id".into(),
            Secret::new("SENTINEL-SECRET"),
            Duration::from_secs(60),
        );
        let t = auth.grant(&creds("id", "SENTINEL-SECRET")).unwrap();
        let shown = format!("{auth:?}");
        assert!(!shown.contains("SENTINEL"), "{shown}");
        assert!(!shown.contains(t.access_token.expose()), "{shown}");
        assert!(shown.contains("access_tokens: 1"), "{shown}");
    }
}
