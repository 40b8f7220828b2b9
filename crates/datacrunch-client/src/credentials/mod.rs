//! Where API credentials come from: the one implementation the provider and the kdevops
//! workflow both call, so the same file and environment give the same credentials (or
//! the same error) everywhere.
//!
//! A bearer token (given, or `DATACRUNCH_BEARER`) wins outright. Otherwise `client_id`
//! and `client_secret` are each taken from the first of these that has them:
//!
//! 1. a value the caller was given (the provider's `client_id`/`client_secret`);
//! 2. a credentials file named explicitly (the provider's `credentials_file`, the
//!    workflow's `--file` or `CONFIG_TERRAFORM_DATACRUNCH_API_KEY_FILE`);
//! 3. the environment: `DATACRUNCH_CLIENT_ID`/`_SECRET`, or the `VERDA_*` spellings of
//!    the rebranded service;
//! 4. when no file was named: the file in `DATACRUNCH_CREDENTIALS_FILE`, else
//!    `~/.datacrunch/credentials` (INI) if it exists, else `~/datacrunch-credentials.json`
//!    (the original integration's file) if it exists.
//!
//! One file at most is read, and only when a value is still missing, so a CI job that
//! sets the environment never depends on a file. A file is INI (see [`ini`] for the one
//! value rule: literal after trimming, optional matching quotes, no escapes) or JSON,
//! flat or by profile. Besides `client_id` and `client_secret`, files may spell them
//! `datacrunch_client_id`, `datacrunch_client_secret`, and the secret `datacrunch_api_key`
//! or `api_key` (the names kdevops' documentation used). A file must pass
//! [`check_private`]. Secrets are [`Secret`]s from the first byte read.

mod discover;
mod error;
mod ini;
mod json;

pub use crate::config::Credentials;
use datacrunch_models::Secret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use discover::{check_private, expand_home, DEFAULT_INI_FILE, DEFAULT_JSON_FILE};
pub use error::{CredentialsError, FileReport, Missing};

use discover::FileValues;

/// The profile read from a credentials file when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// A setting that the environment (and for the credentials, a file) can supply. Its
/// [`name`](Setting::name) is also the provider attribute's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    ServerUrl,
    ClientId,
    ClientSecret,
    Bearer,
    CredentialsFile,
    Profile,
}

impl Setting {
    /// The canonical name: the key in a credentials file, the provider attribute.
    pub fn name(self) -> &'static str {
        match self {
            Setting::ServerUrl => "server_url",
            Setting::ClientId => "client_id",
            Setting::ClientSecret => "client_secret",
            Setting::Bearer => "bearer",
            Setting::CredentialsFile => "credentials_file",
            Setting::Profile => "profile",
        }
    }

    /// Environment variables consulted, in order. The first is the documented one.
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            Setting::ServerUrl => &[
                "DATACRUNCH_SERVER_URL",
                "VERDA_SERVER_URL",
                "VERDA_BASE_URL",
            ],
            Setting::ClientId => &["DATACRUNCH_CLIENT_ID", "VERDA_CLIENT_ID"],
            Setting::ClientSecret => &["DATACRUNCH_CLIENT_SECRET", "VERDA_CLIENT_SECRET"],
            Setting::Bearer => &["DATACRUNCH_BEARER", "VERDA_BEARER"],
            Setting::CredentialsFile => &["DATACRUNCH_CREDENTIALS_FILE", "VERDA_CREDENTIALS_FILE"],
            Setting::Profile => &["DATACRUNCH_PROFILE", "VERDA_PROFILE"],
        }
    }

    /// Keys a credentials file may hold this setting under, in order of preference.
    pub fn file_keys(self) -> &'static [&'static str] {
        match self {
            Setting::ClientId => &["client_id", "datacrunch_client_id"],
            Setting::ClientSecret => &[
                "client_secret",
                "datacrunch_client_secret",
                "datacrunch_api_key",
                "api_key",
            ],
            _ => &[],
        }
    }

    /// The first non-blank value of its environment variables, with the variable.
    pub fn from_env(self, env: &dyn Env) -> Option<(&'static str, String)> {
        self.env_vars().iter().find_map(|name| {
            env.var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(|v| (*name, v))
        })
    }
}

/// Every variable that [`resolve`] may read, with its value where set: what a caller
/// hands on to a child process that must resolve the same credentials.
pub fn credential_env(env: &dyn Env) -> Vec<(&'static str, String)> {
    [
        Setting::ClientId,
        Setting::ClientSecret,
        Setting::Bearer,
        Setting::CredentialsFile,
        Setting::Profile,
    ]
    .iter()
    .flat_map(|s| s.env_vars())
    .filter_map(|name| env.var(name).map(|v| (*name, v)))
    .collect()
}

/// Reads environment variables; a trait object so tests need not touch the process
/// environment (which other threads share).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for BTreeMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.to_string())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// What the caller was told explicitly, by its own options. Blank strings count as
/// unset, as Terraform users write `client_id = var.id` with an empty default.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub bearer: Option<Secret>,
    /// A credentials file named by an option; `~` is expanded. It must exist.
    pub file: Option<String>,
    /// The profile; else `DATACRUNCH_PROFILE`, else [`DEFAULT_PROFILE`].
    pub profile: Option<String>,
    /// How the caller's options set a value, for error messages ("the provider
    /// attribute `client_id`"); `None` when it has no such options.
    pub option_name: Option<fn(Setting) -> String>,
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The caller's own option.
    Given,
    /// This environment variable.
    Env(&'static str),
    /// The file read ([`Resolved::file`]).
    File,
}

/// The credentials found, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub credentials: Credentials,
    /// The file read, if one was.
    pub file: Option<PathBuf>,
    /// The profile asked for.
    pub profile: String,
    /// Where the id (when there is one) and the secret or token came from.
    pub origins: Vec<(Setting, Origin)>,
}

impl Resolved {
    /// Where the credentials came from, for messages: "/path [profile]",
    /// "DATACRUNCH_CLIENT_ID, DATACRUNCH_CLIENT_SECRET", or a mix.
    pub fn describe(&self) -> String {
        let file = || match &self.file {
            Some(p) => format!("{} [{}]", p.display(), self.profile),
            None => "a credentials file".to_owned(),
        };
        let mut places: Vec<String> = Vec::new();
        for (_, origin) in &self.origins {
            let place = match origin {
                Origin::Given => "the configuration".to_owned(),
                Origin::Env(name) => (*name).to_owned(),
                Origin::File => file(),
            };
            if !places.contains(&place) {
                places.push(place);
            }
        }
        places.join(" and ")
    }
}

fn given(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The API base URL: `given`, else `DATACRUNCH_SERVER_URL` (or a `VERDA_*` spelling,
/// including Verda's own provider's `VERDA_BASE_URL`), else [`crate::config::DEFAULT_BASE_URL`].
pub fn server_url(given_url: Option<&str>, env: &dyn Env) -> String {
    given(given_url)
        .or_else(|| Setting::ServerUrl.from_env(env).map(|(_, v)| v))
        .unwrap_or_else(|| crate::config::DEFAULT_BASE_URL.to_owned())
}

/// The sections/profiles that answer to `profile`: `default` also matches `[DEFAULT]`,
/// the spelling kdevops' helper (and Python's configparser) used.
pub(crate) fn profile_names(profile: &str) -> Vec<&str> {
    if profile == DEFAULT_PROFILE {
        vec![profile, "DEFAULT"]
    } else {
        vec![profile]
    }
}

/// The values being assembled, each with its origin.
#[derive(Default)]
struct Partial {
    client_id: Option<(String, Origin)>,
    client_secret: Option<(Secret, Origin)>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    fn fill_from_file(&mut self, file: &FileValues) {
        if self.client_id.is_none() {
            self.client_id = file.client_id.clone().map(|(v, _)| (v, Origin::File));
        }
        if self.client_secret.is_none() {
            self.client_secret = file.client_secret.clone().map(|(v, _)| (v, Origin::File));
        }
    }

    fn fill_from_env(&mut self, env: &dyn Env) {
        if self.client_id.is_none() {
            self.client_id = Setting::ClientId
                .from_env(env)
                .map(|(name, v)| (v, Origin::Env(name)));
        }
        if self.client_secret.is_none() {
            self.client_secret = Setting::ClientSecret
                .from_env(env)
                .map(|(name, v)| (Secret::new(v), Origin::Env(name)));
        }
    }
}

/// The file to read when none was named explicitly: the one in the environment (which
/// must exist), else the first default that exists.
fn discovered_file(env: &dyn Env) -> Option<PathBuf> {
    if let Some((_, named)) = Setting::CredentialsFile.from_env(env) {
        return Some(expand_home(&named, env));
    }
    [DEFAULT_INI_FILE, DEFAULT_JSON_FILE]
        .iter()
        .map(|p| expand_home(p, env))
        .find(|p| discover::is_present(p))
}

/// Finds the credentials (see the module docs for the order).
pub fn resolve(request: &Request, env: &dyn Env) -> Result<Resolved, CredentialsError> {
    let profile = given(request.profile.as_deref())
        .or_else(|| Setting::Profile.from_env(env).map(|(_, v)| v))
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    let bearer = given(request.bearer.as_ref().map(Secret::expose))
        .map(|t| (t, Origin::Given))
        .or_else(|| {
            Setting::Bearer
                .from_env(env)
                .map(|(name, t)| (t, Origin::Env(name)))
        });
    if let Some((token, origin)) = bearer {
        return Ok(Resolved {
            credentials: Credentials::Bearer(Secret::new(token)),
            file: None,
            profile,
            origins: vec![(Setting::Bearer, origin)],
        });
    }
    let mut found = Partial {
        client_id: given(request.client_id.as_deref()).map(|v| (v, Origin::Given)),
        client_secret: request
            .client_secret
            .as_ref()
            .filter(|s| !s.is_blank())
            .map(|s| (s.clone(), Origin::Given)),
    };
    let mut file: Option<FileValues> = None;
    let explicit = given(request.file.as_deref()).map(|f| expand_home(&f, env));
    if let Some(path) = explicit.as_deref().filter(|_| !found.complete()) {
        let values = read_file(path, &profile)?;
        found.fill_from_file(&values);
        file = Some(values);
    }
    found.fill_from_env(env);
    if explicit.is_none() && !found.complete() {
        if let Some(path) = discovered_file(env) {
            let values = read_file(&path, &profile)?;
            found.fill_from_file(&values);
            file = Some(values);
        }
    }
    match found {
        Partial {
            client_id: Some((client_id, id_origin)),
            client_secret: Some((client_secret, secret_origin)),
        } => Ok(Resolved {
            credentials: Credentials::ClientCredentials {
                client_id,
                client_secret,
            },
            file: file.map(|f| f.path),
            profile,
            origins: vec![
                (Setting::ClientId, id_origin),
                (Setting::ClientSecret, secret_origin),
            ],
        }),
        partial => Err(missing(request, &partial, profile, file)),
    }
}

fn read_file(path: &Path, profile: &str) -> Result<FileValues, CredentialsError> {
    discover::read_values(path, profile)
}

fn missing(
    request: &Request,
    partial: &Partial,
    profile: String,
    file: Option<FileValues>,
) -> CredentialsError {
    let settings: Vec<Setting> = [
        (partial.client_id.is_none(), Setting::ClientId),
        (partial.client_secret.is_none(), Setting::ClientSecret),
    ]
    .into_iter()
    .filter_map(|(missing, s)| missing.then_some(s))
    .collect();
    let file = file.map(|f| FileReport {
        path: f.path.display().to_string(),
        profile: f.profile,
        supplied: f
            .client_id
            .map(|(_, key)| (Setting::ClientId, key))
            .or(f.client_secret.map(|(_, key)| (Setting::ClientSecret, key))),
        keys: f.keys,
    });
    let options = match request.option_name {
        Some(name) => settings.iter().map(|s| name(*s)).collect(),
        None => Vec::new(),
    };
    CredentialsError::Missing(Box::new(Missing {
        settings,
        profile,
        file,
        options,
    }))
}

/// Writes (or replaces) `profile` in the INI file at `path` with `client_id` and
/// `client_secret`, keeping every other line, with mode 0600 from the moment the file
/// exists. Values are written so that [`resolve`] reads them back exactly.
pub fn write_profile(
    path: &Path,
    profile: &str,
    client_id: &str,
    client_secret: &Secret,
) -> Result<(), CredentialsError> {
    let shown = path.display().to_string();
    let encode = |setting: Setting, value: &str| {
        ini::encode_value(value).ok_or_else(|| CredentialsError::Malformed {
            path: shown.clone(),
            format: "INI",
            reason: format!("{} must be a single line", setting.name()),
        })
    };
    let pairs = [
        ("client_id", encode(Setting::ClientId, client_id.trim())?),
        (
            "client_secret",
            encode(Setting::ClientSecret, client_secret.expose())?,
        ),
    ];
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(CredentialsError::Unreadable {
                path: shown,
                reason: e.to_string(),
            })
        }
    };
    let doc = ini::Document::parse(&existing).map_err(|reason| CredentialsError::Malformed {
        path: shown.clone(),
        format: "INI",
        reason,
    })?;
    let replaced: Vec<&str> = [Setting::ClientId, Setting::ClientSecret]
        .iter()
        .flat_map(|s| s.file_keys().iter().copied())
        .collect();
    let text = doc.with_profile(profile, &pairs, &replaced);
    write_private(path, &text).map_err(|e| CredentialsError::Unreadable {
        path: shown,
        reason: format!("cannot write: {e}"),
    })
}

/// Writes a private temp file, then renames it over `path`: the secret is never in a
/// file others may read, and a crash leaves the old file whole.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    // The mode above applies only to a new file; a stale temp file keeps its own.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests;
