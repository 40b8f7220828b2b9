//! The API of the configured endpoint: a [`Client`] plus what the provider needs to
//! reach the same account (URL, credentials file, profile, credential environment).
//!
//! For the emulator endpoint the emulator is started here when it is not running. For a
//! real endpoint the credentials are found (with the same code the provider uses, so it
//! finds the same) before anything else happens, and the first call proves the URL
//! answers and the credentials are accepted, each failure a one-line error that says
//! what to fix.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Result};
use datacrunch_client::credentials::{credential_env, ProcessEnv};
use datacrunch_client::Client;

use crate::credentials;
use crate::emulator;
use crate::project::Project;
use crate::settings::{Endpoint, Settings};

/// A connected API and how the provider reaches the same account.
pub struct Api {
    pub client: Client,
    pub server_url: String,
    /// The file to name to the provider: the one configured explicitly, or empty so the
    /// provider discovers the same one this did.
    pub credentials_file: PathBuf,
    pub profile: String,
    /// Where the credentials came from, for messages.
    pub credentials_source: String,
    /// The credential variables of this environment, for Terraform to hand the provider
    /// (it gets no other `DATACRUNCH_*`/`VERDA_*` variable); empty for the emulator.
    pub provider_env: Vec<(String, String)>,
    pub is_emulator: bool,
    /// For the local emulator: how to bring it back when it stops answering.
    pub restart_hint: Option<String>,
}

/// Connects to the endpoint of `settings` (starting the emulator if it is the
/// endpoint, or restarting it when it does not answer), and checks the credentials
/// with one token request.
pub async fn connect(project: &Project, settings: &Settings) -> Result<Api> {
    connect_with(project, &Target::of(settings), true).await
}

/// Where to connect: the endpoint and the credentials file and profile for it.
pub struct Target {
    pub endpoint: Endpoint,
    pub credentials_file: String,
    pub profile: String,
}

impl Target {
    pub fn of(settings: &Settings) -> Self {
        Self {
            endpoint: settings.endpoint.clone(),
            credentials_file: settings.credentials_file.clone(),
            profile: settings.credentials_profile.clone(),
        }
    }
}

/// [`connect_without_starting`] to an explicit target (a command that needs no `.config`).
pub async fn connect_to(project: &Project, target: &Target) -> Result<Api> {
    connect_with(project, target, false).await
}

/// [`connect`] for a command that only looks (`status`): an emulator that does not
/// answer is reported, with how to bring it back, not restarted behind the user's back.
pub async fn connect_without_starting(project: &Project, settings: &Settings) -> Result<Api> {
    connect_with(project, &Target::of(settings), false).await
}

async fn connect_with(project: &Project, target: &Target, start: bool) -> Result<Api> {
    let (server_url, credentials_file, profile, is_emulator) = match &target.endpoint {
        Endpoint::Emulator => {
            let emu = if start {
                emulator::ensure_running(project)?
            } else {
                emulator::find(project)?.ok_or_else(|| {
                    anyhow!(
                        "the local emulator is not running: {}",
                        emulator::restart_hint(project)
                    )
                })?
            };
            (
                emu.url,
                emu.credentials_file,
                emulator::PROFILE.to_owned(),
                true,
            )
        }
        Endpoint::Url(url) => (
            url.clone(),
            credentials::explicit_file(&target.credentials_file)
                .map(|f| project.expand(f))
                .unwrap_or_default(),
            target.profile.clone(),
            false,
        ),
    };
    let (found, provider_env) = if is_emulator {
        // The emulator's own file, whatever the shell's environment says.
        (
            credentials::resolve_file(&credentials_file, &profile)?,
            Vec::new(),
        )
    } else {
        let named = (!credentials_file.as_os_str().is_empty())
            .then(|| credentials_file.display().to_string());
        let env = credential_env(&ProcessEnv)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        (
            credentials::resolve(named.as_deref(), Some(&profile), &ProcessEnv)?,
            env,
        )
    };
    let client = Client::builder()
        .base_url(&server_url)
        .credentials(found.credentials.clone())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| {
            anyhow!("cannot use API URL {server_url:?} (CONFIG_TERRAFORM_DATACRUNCH_API_URL): {e}")
        })?;
    let api = Api {
        client,
        server_url,
        credentials_file,
        profile,
        credentials_source: found.describe(),
        provider_env,
        is_emulator,
        restart_hint: is_emulator.then(|| emulator::restart_hint(project)),
    };
    api.check().await?;
    Ok(api)
}

impl Api {
    /// The time on the clock the API bills on: the `Date` of its answer to one small
    /// call. A local emulator answers with its own clock, which tests move forward to
    /// prove expiry; when the API sends no date (or does not answer), the local clock.
    pub async fn now(&self) -> time::OffsetDateTime {
        let served = self
            .client
            .balance_dated()
            .await
            .ok()
            .and_then(|d| d.server_time);
        served.map_or_else(time::OffsetDateTime::now_utc, time::OffsetDateTime::from)
    }

    /// One authenticated round trip, with the failure explained.
    pub async fn check(&self) -> Result<()> {
        self.client
            .authenticate()
            .await
            .map_err(|e| self.explain(e))
    }

    /// Turns a client error into what the user should do about it.
    pub fn explain(&self, err: datacrunch_client::Error) -> anyhow::Error {
        use datacrunch_client::Error as E;
        let url = &self.server_url;
        // root(): the error of the last attempt, also when the client retried.
        match err.root() {
            _ if err.is_unreachable() => match &self.restart_hint {
                Some(restart) => anyhow!(
                    "the local emulator at {url} does not answer (it was stopped or killed): {restart}"
                ),
                None => anyhow!(
                    "cannot reach the API at {url}: nothing accepts connections there ({err}). Check \
                     CONFIG_TERRAFORM_DATACRUNCH_API_URL (make menuconfig) and your network"
                ),
            },
            E::Transport { .. } | E::Timeout { .. } => anyhow!(
                "cannot reach the API at {url}: {err}. Check CONFIG_TERRAFORM_DATACRUNCH_API_URL (make menuconfig) and your network"
            ),
            _ if err.is_unauthorized() || err.status() == Some(400) && self.is_auth_error(&err) => anyhow!(
                "the API at {url} rejected the credentials from {} (401): check client_id and client_secret, \
                 e.g. with `kdevops-datacrunch credentials set`",
                self.credentials_source
            ),
            _ if err.status() == Some(404) => anyhow!(
                "the API at {url} answered 404 Not Found: the URL must end in /v1 (CONFIG_TERRAFORM_DATACRUNCH_API_URL): {err}"
            ),
            _ => anyhow!("API error from {url}: {err}"),
        }
    }

    fn is_auth_error(&self, err: &datacrunch_client::Error) -> bool {
        use datacrunch_models::ErrorCode;
        err.api().and_then(|a| a.code.as_ref()).is_some_and(|c| {
            matches!(
                c,
                ErrorCode::InvalidGrant | ErrorCode::UnauthorizedRequest | ErrorCode::InvalidClient
            )
        })
    }
}
