//! The provider block's credential attributes, mapped onto the client's credentials
//! module ([`datacrunch_client::credentials`]), which the kdevops workflow uses too: the
//! same file and environment give the provider and the workflow the same credentials.
//!
//! Each attribute wins over its environment variable (`DATACRUNCH_*`, or the `VERDA_*`
//! spellings, including Verda's own provider's `VERDA_BASE_URL`); `credentials_file`
//! names a file that wins over the environment's `DATACRUNCH_CLIENT_ID`/`_SECRET` (which
//! still fill in what it lacks); without it the file is found as the client module
//! documents (`DATACRUNCH_CREDENTIALS_FILE`, `~/.datacrunch/credentials`,
//! `~/datacrunch-credentials.json`). Like ssh with a private key, a file that group or
//! others may read is refused.

pub use datacrunch_client::credentials::{CredentialsError, Env, ProcessEnv, Setting};
pub use datacrunch_client::{Credentials as Auth, Secret};

use datacrunch_client::credentials::{self, Request};

/// The provider attribute that sets a setting (the setting's canonical name).
pub trait SettingAttribute {
    fn attribute(self) -> &'static str;
}

impl SettingAttribute for Setting {
    fn attribute(self) -> &'static str {
        self.name()
    }
}

/// What the provider block said. Empty strings count as unset, as Terraform users
/// write `client_id = var.id` with an empty default.
#[derive(Clone, Debug, Default)]
pub struct ConfigInput {
    pub server_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub bearer: Option<Secret>,
    pub credentials_file: Option<String>,
    pub profile: Option<String>,
}

/// The resolved endpoint and credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub server_url: String,
    pub auth: Auth,
}

fn attribute_name(setting: Setting) -> String {
    format!("the provider attribute `{}`", setting.attribute())
}

/// Resolves the provider's endpoint and credentials (see the module docs for the order).
pub fn resolve(input: &ConfigInput, env: &dyn Env) -> Result<Resolved, CredentialsError> {
    let request = Request {
        client_id: input.client_id.clone(),
        client_secret: input.client_secret.clone(),
        bearer: input.bearer.clone(),
        file: input.credentials_file.clone(),
        profile: input.profile.clone(),
        option_name: Some(attribute_name),
    };
    let found = credentials::resolve(&request, env)?;
    Ok(Resolved {
        server_url: credentials::server_url(input.server_url.as_deref(), env),
        auth: found.credentials,
    })
}

#[cfg(test)]
mod tests;
