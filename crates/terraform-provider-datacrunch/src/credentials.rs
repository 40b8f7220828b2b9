//! Where the provider's credentials and endpoint come from.
//!
//! Each setting is resolved on its own, first match wins:
//!
//! 1. the attribute in the `provider "datacrunch"` block;
//! 2. the environment (`DATACRUNCH_*`, or the `VERDA_*` spellings of the rebranded
//!    service, including Verda's own provider's `VERDA_BASE_URL`);
//! 3. the credentials file (`credentials_file`, default `~/.datacrunch/credentials`),
//!    profile `profile` (default `default`, also found as `[DEFAULT]`).
//!
//! The file is read only when something is still missing after 1 and 2, so a CI job that
//! sets the environment never depends on a file. It is INI (the format kdevops'
//! `datacrunch_credentials.py` writes, with the secret also accepted under
//! `datacrunch_api_key` or `api_key`) or JSON `{"client_id": …, "client_secret": …}`.
//! Like ssh with a private key, a file that group or others may read is refused: it holds
//! a secret that spends money.
//!
//! Secrets are kept in [`Secret`], whose `Debug` never shows them, so no log line or
//! error message built from these types can leak one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The API endpoint used when nothing else names one. The historical URL; the Verda
/// one (`https://api.verda.com/v1`) serves the same API.
pub const DEFAULT_SERVER_URL: &str = "https://api.datacrunch.io/v1";
/// The credentials file kdevops and the official tools use.
pub const DEFAULT_CREDENTIALS_FILE: &str = "~/.datacrunch/credentials";
/// The profile read from the credentials file when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// Keys the client secret may be stored under in a credentials file, in order of
/// preference (kdevops' documentation used all three).
const SECRET_KEYS: &[&str] = &["client_secret", "datacrunch_api_key", "api_key"];

/// A secret string: compared and used normally, never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A provider setting that can come from an attribute, the environment or the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    ServerUrl,
    ClientId,
    ClientSecret,
    Bearer,
    CredentialsFile,
    Profile,
}

impl Setting {
    /// The provider block attribute.
    pub fn attribute(self) -> &'static str {
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

/// How to authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// A ready token, sent as is.
    Bearer(Secret),
    /// OAuth2 client credentials, exchanged for tokens (and refreshed) by the client.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

/// The resolved endpoint and credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub server_url: String,
    pub auth: Auth,
}

/// Why credentials could not be resolved. Every message says what to set or run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("{0}")]
    Missing(String),
    #[error(
        "credentials file {path} may be read by group or others (mode {mode:04o}); it holds an \
         API secret, so it is refused, as ssh refuses such a private key. Run `chmod 600 {path}`"
    )]
    TooOpen { path: String, mode: u32 },
    #[error("cannot read credentials file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("credentials file {path} is not valid {format}: {reason}")]
    Malformed {
        path: String,
        format: &'static str,
        reason: String,
    },
    #[error(
        "credentials file {path} has no profile {profile:?} (it has: {available}); set the \
         provider's `profile` attribute or DATACRUNCH_PROFILE to one of those"
    )]
    NoProfile {
        path: String,
        profile: String,
        available: String,
    },
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

/// Where a credentials file was found and what it held for the chosen profile.
#[derive(Debug, Default)]
struct FileCredentials {
    client_id: Option<String>,
    client_secret: Option<Secret>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn from_env(env: &dyn Env, setting: Setting) -> Option<String> {
    setting
        .env_vars()
        .iter()
        .find_map(|name| non_empty(env.var(name)))
}

/// Resolves the provider's endpoint and credentials (see the module docs for the order).
pub fn resolve(input: &ConfigInput, env: &dyn Env) -> Result<Resolved, CredentialsError> {
    let pick =
        |attr: Option<String>, setting: Setting| non_empty(attr).or_else(|| from_env(env, setting));
    let server_url = pick(input.server_url.clone(), Setting::ServerUrl)
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned());
    let bearer = pick(
        input.bearer.as_ref().map(|s| s.expose().to_owned()),
        Setting::Bearer,
    );
    if let Some(token) = bearer {
        return Ok(Resolved {
            server_url,
            auth: Auth::Bearer(Secret(token)),
        });
    }
    let mut client_id = pick(input.client_id.clone(), Setting::ClientId);
    let mut client_secret = pick(
        input.client_secret.as_ref().map(|s| s.expose().to_owned()),
        Setting::ClientSecret,
    )
    .map(Secret);

    let explicit_file = pick(input.credentials_file.clone(), Setting::CredentialsFile);
    let profile =
        pick(input.profile.clone(), Setting::Profile).unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    let file_display = explicit_file
        .clone()
        .unwrap_or_else(|| DEFAULT_CREDENTIALS_FILE.to_owned());
    if client_id.is_none() || client_secret.is_none() {
        let path = expand_home(&file_display, env);
        // The default file is optional; one the user named must exist.
        if explicit_file.is_some() || path.exists() {
            let from_file = read_credentials_file(&path, &profile)?;
            client_id = client_id.or(from_file.client_id);
            client_secret = client_secret.or(from_file.client_secret);
        }
    }
    match (client_id, client_secret) {
        (Some(client_id), Some(client_secret)) => Ok(Resolved {
            server_url,
            auth: Auth::ClientCredentials {
                client_id,
                client_secret,
            },
        }),
        (id, secret) => Err(CredentialsError::Missing(missing_message(
            id.is_none(),
            secret.is_none(),
            &file_display,
            &profile,
        ))),
    }
}

fn missing_message(no_id: bool, no_secret: bool, file: &str, profile: &str) -> String {
    let what: Vec<Setting> = [
        (no_id, Setting::ClientId),
        (no_secret, Setting::ClientSecret),
    ]
    .into_iter()
    .filter_map(|(missing, s)| missing.then_some(s))
    .collect();
    let attrs: Vec<_> = what
        .iter()
        .map(|s| format!("`{}`", s.attribute()))
        .collect();
    let envs: Vec<_> = what.iter().map(|s| s.env_vars()[0]).collect();
    format!(
        "No DataCrunch API credentials: {} not set. Set the provider attribute {}, or the \
         environment variable {}, or put client_id and client_secret under [{profile}] in the \
         credentials file {file} (mode 600). A ready token can be given instead with `bearer` \
         or DATACRUNCH_BEARER.",
        attrs.join(" and "),
        attrs.join(" and "),
        envs.join(" and "),
    )
}

/// `~/x` → `$HOME/x`. Anything else is used as given.
pub fn expand_home(path: &str, env: &dyn Env) -> PathBuf {
    match (path.strip_prefix("~/"), env.var("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn read_credentials_file(path: &Path, profile: &str) -> Result<FileCredentials, CredentialsError> {
    let shown = path.display().to_string();
    let unreadable = |e: std::io::Error| CredentialsError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    };
    check_private(path).map_err(|e| match e {
        PermissionProblem::Io(e) => unreadable(e),
        PermissionProblem::TooOpen(mode) => CredentialsError::TooOpen {
            path: shown.clone(),
            mode,
        },
    })?;
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    if text.trim_start().starts_with('{') {
        parse_json(&text, &shown, profile)
    } else {
        parse_ini(&text, &shown, profile)
    }
}

enum PermissionProblem {
    Io(std::io::Error),
    TooOpen(u32),
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), PermissionProblem> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(PermissionProblem::Io)?
        .permissions()
        .mode()
        & 0o7777;
    // Any access for group or others, exactly ssh's rule for private keys.
    if mode & 0o077 != 0 {
        return Err(PermissionProblem::TooOpen(mode));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), PermissionProblem> {
    Ok(())
}

/// Looks `key` up case-insensitively (Python's configparser lowercases keys).
fn lookup<'a>(pairs: &'a [(String, String)], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        pairs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    })
}

fn credentials_from(pairs: &[(String, String)]) -> FileCredentials {
    FileCredentials {
        client_id: lookup(pairs, &["client_id"]).map(str::to_owned),
        client_secret: lookup(pairs, SECRET_KEYS).map(|s| Secret(s.to_owned())),
    }
}

/// The sections to look in for `profile`: `default` also matches `[DEFAULT]`, the
/// spelling kdevops' helper accepted.
fn profile_candidates(profile: &str) -> Vec<String> {
    let mut names = vec![profile.to_owned()];
    if profile == DEFAULT_PROFILE {
        names.push("DEFAULT".to_owned());
    }
    names
}

fn parse_ini(text: &str, path: &str, profile: &str) -> Result<FileCredentials, CredentialsError> {
    // No escapes: a secret containing `\` must come through as written, as Python's
    // configparser (which wrote these files) reads it.
    let opt = ini::ParseOption {
        enabled_escape: false,
        ..Default::default()
    };
    let ini = ini::Ini::load_from_str_opt(text, opt).map_err(|e| CredentialsError::Malformed {
        path: path.to_owned(),
        format: "INI",
        reason: e.to_string(),
    })?;
    let section = |name: &str| {
        ini.section(Some(name)).map(|props| {
            props
                .iter()
                .map(|(k, v)| (k.trim().to_owned(), unquote(v.trim()).to_owned()))
                .collect::<Vec<_>>()
        })
    };
    let Some(pairs) = profile_candidates(profile).iter().find_map(|n| section(n)) else {
        let available: Vec<&str> = ini.sections().flatten().collect();
        return Err(CredentialsError::NoProfile {
            path: path.to_owned(),
            profile: profile.to_owned(),
            available: list_or_none(&available),
        });
    };
    Ok(credentials_from(&pairs))
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "no sections".to_owned()
    } else {
        names.join(", ")
    }
}

/// JSON: either the credentials at the top level, or an object of profiles.
fn parse_json(text: &str, path: &str, profile: &str) -> Result<FileCredentials, CredentialsError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| CredentialsError::Malformed {
            path: path.to_owned(),
            format: "JSON",
            reason: e.to_string(),
        })?;
    let Some(top) = value.as_object() else {
        return Err(CredentialsError::Malformed {
            path: path.to_owned(),
            format: "JSON",
            reason: "expected an object such as {\"client_id\": \"…\", \"client_secret\": \"…\"}"
                .to_owned(),
        });
    };
    let strings = |obj: &serde_json::Map<String, serde_json::Value>| {
        obj.iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.trim().to_owned())))
            .collect::<Vec<_>>()
    };
    let flat = strings(top);
    if lookup(&flat, &["client_id"]).is_some() || lookup(&flat, SECRET_KEYS).is_some() {
        return Ok(credentials_from(&flat));
    }
    let nested = profile_candidates(profile)
        .iter()
        .find_map(|p| top.get(p).and_then(|v| v.as_object()).map(strings));
    match nested {
        Some(pairs) => Ok(credentials_from(&pairs)),
        None => {
            let available: Vec<&str> = top
                .iter()
                .filter(|(_, v)| v.is_object())
                .map(|(k, _)| k.as_str())
                .collect();
            Err(CredentialsError::NoProfile {
                path: path.to_owned(),
                profile: profile.to_owned(),
                available: list_or_none(&available),
            })
        }
    }
}

#[cfg(test)]
mod tests;
