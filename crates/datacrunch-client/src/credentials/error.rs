//! Why credentials could not be found. Every message names the file, the profile, the
//! field and the environment variable that would supply it, and none shows a secret.

use super::{Setting, DEFAULT_INI_FILE, DEFAULT_JSON_FILE};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// A file named explicitly (option or environment) does not exist.
    #[error("credentials file {path} not found")]
    NotFound { path: String },
    #[error("cannot read credentials file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("credentials file {path} is not a regular file")]
    NotAFile { path: String },
    /// `target` is `path`, or what the symlink `path` points to.
    #[error(
        "credentials file {path} may be read by group or others (mode {mode:04o}); it holds an \
         API secret, so it is refused, as ssh refuses such a private key: run `chmod 600 {target}`"
    )]
    TooOpen {
        path: String,
        target: String,
        mode: u32,
    },
    #[error(
        "credentials file {path} is owned by uid {owner}, not by you (uid {me}): its owner decides \
         whose account you use, so it is refused; run `chown {me} {target}` or use a file of your own"
    )]
    NotOwned {
        path: String,
        target: String,
        owner: u32,
        me: u32,
    },
    #[error("credentials file {path} is not valid {format}: {reason}")]
    Malformed {
        path: String,
        format: &'static str,
        reason: String,
    },
    #[error(
        "credentials file {path} has no profile {profile:?} (it has: {available}); choose one \
         of those (the profile option, or DATACRUNCH_PROFILE) or add a [{profile}] section"
    )]
    NoProfile {
        path: String,
        profile: String,
        available: String,
    },
    #[error("{0}")]
    Missing(Box<Missing>),
}

/// The file that was read when something was still missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    /// The profile read; `None` for a flat JSON file.
    pub profile: Option<String>,
    /// The value the file did supply, and the key it was under.
    pub supplied: Option<(Setting, String)>,
    /// Every key the profile has.
    pub keys: Vec<String>,
}

/// Client credentials with a part missing after every source was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// `ClientId` and/or `ClientSecret`.
    pub settings: Vec<Setting>,
    pub profile: String,
    /// The file read, if any was found.
    pub file: Option<FileReport>,
    /// How the caller's own options set each value (e.g. "the provider attribute
    /// `client_id`"), if it has any.
    pub options: Vec<String>,
}

fn and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Missing {
    fn names(&self) -> String {
        and(&self
            .settings
            .iter()
            .map(|s| format!("`{}`", s.name()))
            .collect::<Vec<_>>())
    }

    fn env_vars(&self) -> String {
        and(&self
            .settings
            .iter()
            .map(|s| s.env_vars()[0].to_owned())
            .collect::<Vec<_>>())
    }

    /// "Set the provider attribute `x`, or the environment variable X".
    fn set_hint(&self) -> String {
        let variable = if self.settings.len() > 1 {
            "variables"
        } else {
            "variable"
        };
        let mut ways = self.options.clone();
        ways.push(format!("the environment {variable} {}", self.env_vars()));
        format!("set {}", ways.join(", or "))
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(file) = &self.file else {
            return write!(
                f,
                "No DataCrunch API credentials: {} not set. {}, or put client_id and \
                 client_secret under [{}] in the credentials file {DEFAULT_INI_FILE} (mode 600), \
                 or {{\"client_id\": \"…\", \"client_secret\": \"…\"}} in {DEFAULT_JSON_FILE}. A \
                 ready token can be given instead with DATACRUNCH_BEARER.",
                self.names(),
                capitalized(&self.set_hint()),
                self.profile,
            );
        };
        let place = match &file.profile {
            Some(p) => format!("credentials file {}, profile [{p}],", file.path),
            None => format!("credentials file {}", file.path),
        };
        let section = file
            .profile
            .as_ref()
            .map(|p| format!(" under [{p}]"))
            .unwrap_or_default();
        match &file.supplied {
            Some((setting, key)) => {
                let alias = match key.to_ascii_lowercase().as_str() {
                    "api_key" | "datacrunch_api_key" => " (taken as the OAuth client secret: an \
                        API key alone cannot log in, DataCrunch needs the client_id and \
                        client_secret pair)"
                        .to_owned(),
                    k if k != setting.name() => format!(" (read as {})", setting.name()),
                    _ => String::new(),
                };
                write!(
                    f,
                    "{place} has {key}{alias} but no {}: add {}{section} to the file, or {}",
                    self.names(),
                    self.names(),
                    self.set_hint(),
                )
            }
            None => {
                let found = if file.keys.is_empty() {
                    "no keys".to_owned()
                } else {
                    format!("only {}", file.keys.join(", "))
                };
                write!(
                    f,
                    "{place} has no {} ({found}): add client_id and client_secret{section}, or {}",
                    self.names(),
                    self.set_hint(),
                )
            }
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
