//! The `provider "datacrunch"` block: its schema, `configure` (which builds the
//! [`ProviderState`] every resource and data source shares) and the lists of resources
//! and data sources. It only assembles: the pieces live in [`crate::state`],
//! [`crate::resources`] and [`crate::data_sources`], none of which import this module.

use crate::credentials::{self, ConfigInput, ProcessEnv, Secret, Setting, SettingAttribute};
use crate::state::{Pacing, ProviderState};
use crate::{actions, data_sources, functions, lists, resources};
use datacrunch_client::{Client, RetryPolicy};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tfplugin::duration;
use tfplugin::schema::validators;
use tfplugin::{
    async_trait, Attribute, AttributePath, Context, DataSource, Diagnostic, Diagnostics, Provider,
    Resource, Schema, Value,
};

/// The registry address kdevops' HCL names in `required_providers`.
pub const ADDRESS: &str = "registry.terraform.io/linux-kdevops/datacrunch";

/// Defaults of the pacing settings, documented in the schema.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);
pub const DEFAULT_POLL_MAX_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_MAX_RETRIES: u32 = 5;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The provider itself.
#[derive(Default)]
pub struct DataCrunchProvider;

#[derive(Deserialize, Default)]
struct ProviderConfig {
    server_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    bearer: Option<String>,
    credentials_file: Option<String>,
    profile: Option<String>,
    poll_interval: Option<String>,
    poll_max_interval: Option<String>,
    max_retries: Option<u32>,
    request_timeout: Option<String>,
}

fn env_list(setting: Setting) -> String {
    setting
        .env_vars()
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn setting_attribute(setting: Setting, what: &str) -> Attribute {
    Attribute::string(setting.attribute())
        .optional()
        .description(format!("{what} Environment: {}.", env_list(setting)))
}

fn duration_attribute(name: &str, what: &str, default: Duration) -> Attribute {
    Attribute::string(name)
        .optional()
        .validator(validators::positive_duration())
        .description(format!(
            "{what} A duration such as `500ms` or `10s`. Default `{}`.",
            duration::format(default)
        ))
}

/// The provider block's schema.
pub fn provider_schema() -> Schema {
    Schema::new()
        .description(
            "The DataCrunch (Verda) GPU cloud. Each setting is taken from the attribute, \
             else from the environment; `client_id` and `client_secret` also from a \
             credentials file, which wins over the environment when `credentials_file` \
             names it.",
        )
        .attribute(setting_attribute(
            Setting::ServerUrl,
            "API base URL, default `https://api.datacrunch.io/v1` (Verda: `https://api.verda.com/v1`).",
        ))
        .attribute(setting_attribute(Setting::ClientId, "OAuth2 client id."))
        .attribute(setting_attribute(Setting::ClientSecret, "OAuth2 client secret.").sensitive())
        .attribute(
            setting_attribute(
                Setting::Bearer,
                "A ready access token; when set, client_id and client_secret are not used.",
            )
            .sensitive(),
        )
        .attribute(setting_attribute(
            Setting::CredentialsFile,
            "INI (`[profile]` with `client_id` and `client_secret`, values literal: no \
             escapes) or JSON credentials file. When set, it wins over the environment's \
             client id and secret; when not, `~/.datacrunch/credentials` is read, else \
             `~/datacrunch-credentials.json`. Must not be readable by group or others.",
        ))
        .attribute(setting_attribute(
            Setting::Profile,
            "Section of the credentials file, default `default` (also found as `[DEFAULT]`).",
        ))
        .attribute(duration_attribute(
            "poll_interval",
            "First interval when waiting for an instance; later polls wait a twentieth \
             of the time waited so far, up to `poll_max_interval`.",
            DEFAULT_POLL_INTERVAL,
        ))
        .attribute(duration_attribute(
            "poll_max_interval",
            "Longest interval between polls while waiting.",
            DEFAULT_POLL_MAX_INTERVAL,
        ))
        .attribute(
            Attribute::number("max_retries")
                .optional()
                .validator(validators::range(Some(0.into()), Some(20.into())))
                .description(format!(
                    "Retries of a request that failed with 429, 5xx or a dropped connection \
                     (with exponential backoff and jitter, honouring `Retry-After`). Requests \
                     that may have taken effect are never blindly repeated. Default `{DEFAULT_MAX_RETRIES}`."
                )),
        )
        .attribute(duration_attribute(
            "request_timeout",
            "Timeout of one HTTP request.",
            DEFAULT_REQUEST_TIMEOUT,
        ))
}

fn duration_setting(
    value: Option<&str>,
    attr: &str,
    default: Duration,
    diags: &mut Diagnostics,
) -> Duration {
    match value.map(duration::parse) {
        None => default,
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => {
            diags.error_at(
                AttributePath::new(attr),
                "Invalid duration",
                "must be more than 0",
            );
            default
        }
        Some(Err(e)) => {
            diags.error_at(AttributePath::new(attr), "Invalid duration", e);
            default
        }
    }
}

/// Builds the provider state from the block's (known) values and the environment.
fn build_state(config: &ProviderConfig) -> Result<ProviderState, Diagnostics> {
    let mut diags = Diagnostics::new();
    let input = ConfigInput {
        server_url: config.server_url.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone().map(Secret::new),
        bearer: config.bearer.clone().map(Secret::new),
        credentials_file: config.credentials_file.clone(),
        profile: config.profile.clone(),
    };
    let pacing = Pacing {
        initial: duration_setting(
            config.poll_interval.as_deref(),
            "poll_interval",
            DEFAULT_POLL_INTERVAL,
            &mut diags,
        ),
        max: duration_setting(
            config.poll_max_interval.as_deref(),
            "poll_max_interval",
            DEFAULT_POLL_MAX_INTERVAL,
            &mut diags,
        ),
    };
    let timeout = duration_setting(
        config.request_timeout.as_deref(),
        "request_timeout",
        DEFAULT_REQUEST_TIMEOUT,
        &mut diags,
    );
    let resolved = credentials::resolve(&input, &ProcessEnv)
        .map_err(|e| Diagnostics::from(Diagnostic::error("DataCrunch credentials", e.to_string())));
    let resolved = match resolved {
        Ok(r) => r,
        Err(e) => {
            diags.extend(e);
            return Err(diags);
        }
    };
    // Checked on its own so that its error points at `server_url`.
    if let Err(e) = datacrunch_client::check_base_url(&resolved.server_url) {
        diags.push(
            Diagnostic::error("Invalid provider configuration", e.to_string())
                .at(AttributePath::new(Setting::ServerUrl.attribute())),
        );
    }
    diags.into_result()?;
    let builder = Client::builder()
        .base_url(&resolved.server_url)
        .timeout(timeout)
        .user_agent(concat!(
            "terraform-provider-datacrunch/",
            env!("CARGO_PKG_VERSION")
        ))
        .retry_policy(RetryPolicy {
            max_retries: config.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            ..RetryPolicy::default()
        });
    let client = builder.credentials(resolved.auth).build().map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Invalid provider configuration",
            e.to_string(),
        ))
    })?;
    Ok(ProviderState::new(client, pacing))
}

/// Attributes that must be known when the provider is configured.
const MUST_BE_KNOWN: &[&str] = &[
    "server_url",
    "client_id",
    "client_secret",
    "bearer",
    "credentials_file",
    "profile",
];

#[async_trait]
impl Provider for DataCrunchProvider {
    fn address(&self) -> String {
        ADDRESS.to_owned()
    }

    fn schema(&self) -> Schema {
        provider_schema()
    }

    async fn configure(
        &self,
        _ctx: &Context,
        config: &Value,
    ) -> Result<tfplugin::ProviderData, Diagnostics> {
        let mut diags = Diagnostics::new();
        for name in MUST_BE_KNOWN {
            if config.get(name).is_some_and(Value::is_unknown) {
                diags.error_at(
                    AttributePath::new(*name),
                    "Provider setting not known until apply",
                    format!(
                        "`{name}` depends on a value Terraform only knows after apply; the \
                         provider needs it to plan. Use a literal, a variable or an \
                         environment variable instead."
                    ),
                );
            }
        }
        diags.into_result()?;
        let config: ProviderConfig = config.decode()?;
        Ok(Arc::new(build_state(&config)?))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        data_sources::all()
    }

    fn list_resources(&self) -> Vec<Arc<dyn tfplugin::list::ListResource>> {
        lists::all()
    }

    fn actions(&self) -> Vec<Arc<dyn tfplugin::action::Action>> {
        actions::all()
    }

    fn functions(&self) -> Vec<Arc<dyn tfplugin::function::Function>> {
        functions::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_durations_name_their_attribute() {
        let config = ProviderConfig {
            bearer: Some("t".into()),
            server_url: Some("http://127.0.0.1:1/v1".into()),
            poll_interval: Some("soon".into()),
            ..Default::default()
        };
        let Err(diags) = build_state(&config) else {
            panic!("expected an error")
        };
        let d = diags.iter().next().unwrap();
        assert_eq!(d.path.as_ref().unwrap().to_string(), "poll_interval");
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_at_server_url() {
        let config = ProviderConfig {
            bearer: Some("t".into()),
            server_url: Some("http://example.com/v1".into()),
            ..Default::default()
        };
        let Err(diags) = build_state(&config) else {
            panic!("expected an error")
        };
        let d = diags.iter().next().unwrap();
        assert_eq!(d.path.as_ref().unwrap().to_string(), "server_url");
    }
}
