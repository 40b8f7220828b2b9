//! The workflow's side of credentials: its options (`CONFIG_TERRAFORM_DATACRUNCH_API_KEY_FILE`
//! and `_PROFILE`, `credentials --file/--profile`) mapped onto the client's credentials
//! module, the code the provider reads them with too. The same file and environment
//! therefore give the workflow and the provider the same credentials, or the same error;
//! this adapter only adds what to run to fix it.
//!
//! The configured file counts as named explicitly unless it is the default
//! `~/.datacrunch/credentials`: then the shared discovery applies (environment,
//! `DATACRUNCH_CREDENTIALS_FILE`, `~/.datacrunch/credentials`,
//! `~/datacrunch-credentials.json`). INI and JSON files are both accepted.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, Result};
use datacrunch_client::credentials::{self, CredentialsError, Env, Request};
pub use datacrunch_client::credentials::{Resolved, DEFAULT_INI_FILE};
use datacrunch_client::{Credentials, Secret};

/// How to create the file (`make credentials` runs it): it asks for the secret, which is
/// never suggested as an argument (shell history, `ps`).
const SET_HINT: &str = "kdevops-datacrunch credentials set";

/// The explicitly named file, if `configured` names one (the default file does not:
/// it is where discovery looks anyway, after the environment).
pub fn explicit_file(configured: &str) -> Option<&str> {
    let configured = configured.trim();
    (!configured.is_empty() && configured != DEFAULT_INI_FILE).then_some(configured)
}

/// The shared error, with the workflow's way to fix it.
fn explained(err: CredentialsError) -> anyhow::Error {
    match &err {
        CredentialsError::NotFound { .. } => anyhow!(
            "{err}: create it with `{SET_HINT}` (or set CONFIG_TERRAFORM_DATACRUNCH_API_KEY_FILE)"
        ),
        CredentialsError::NoProfile { profile, .. } => {
            anyhow!("{err}; `kdevops-datacrunch credentials set --profile {profile} ...` adds it")
        }
        CredentialsError::Missing(m) if m.file.is_none() => {
            anyhow!("{err} `{SET_HINT}` writes ~/.datacrunch/credentials.")
        }
        _ => anyhow!("{err}"),
    }
}

/// Finds the credentials for `file` (explicit, else discovered) and `profile`.
pub fn resolve(file: Option<&str>, profile: Option<&str>, env: &dyn Env) -> Result<Resolved> {
    let request = Request {
        file: file.map(str::to_owned),
        profile: profile.map(str::to_owned),
        ..Request::default()
    };
    credentials::resolve(&request, env).map_err(explained)
}

/// The credentials in exactly this file and profile, whatever the environment says
/// (the emulator's own file).
pub fn resolve_file(path: &Path, profile: &str) -> Result<Resolved> {
    let nothing: BTreeMap<&str, &str> = BTreeMap::new();
    resolve(Some(&path.display().to_string()), Some(profile), &nothing)
}

/// Client credentials from exactly this file and profile (see [`resolve_file`]).
pub fn read_file(path: &Path, profile: &str) -> Result<(String, Secret)> {
    match resolve_file(path, profile)?.credentials {
        Credentials::ClientCredentials {
            client_id,
            client_secret,
        } => Ok((client_id, client_secret)),
        Credentials::Bearer(_) => Err(anyhow!(
            "{} [{profile}]: expected client credentials",
            path.display()
        )),
    }
}

/// Writes (or replaces) `profile` in the INI file at `path`, keeping other profiles,
/// mode 0600, in the form the shared reader reads back exactly.
pub fn write_profile(path: &Path, profile: &str, client_id: &str, secret: &Secret) -> Result<()> {
    Ok(credentials::write_profile(
        path, profile, client_id, secret,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The table the client module and the provider are tested on: the workflow, given
    /// the file as `--file` and the profile as `--profile`, must see what they see.
    #[test]
    fn shared_table_of_tricky_files() {
        for case in test_support::credential_cases::load() {
            let got = resolve(case.file.as_deref(), case.profile.as_deref(), &case.env)
                .map_err(|e| e.to_string())
                .and_then(|r| match r.credentials {
                    Credentials::ClientCredentials {
                        client_id,
                        client_secret,
                    } => Ok((client_id, client_secret.expose().to_owned())),
                    Credentials::Bearer(_) => Err("a bearer token".to_owned()),
                });
            case.check("kdevops-datacrunch", got);
        }
    }

    #[test]
    fn round_trip_keeps_other_profiles_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/credentials");
        write_profile(&path, "default", "id-1", &Secret::new(r"s3\cret")).unwrap();
        write_profile(&path, "work", "id-2", &Secret::new("x")).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            read_file(&path, "default").unwrap(),
            ("id-1".to_owned(), Secret::new(r"s3\cret"))
        );
        assert_eq!(
            read_file(&path, "work").unwrap(),
            ("id-2".to_owned(), Secret::new("x"))
        );
        let err = read_file(&path, "nope").unwrap_err().to_string();
        assert!(
            err.contains("no profile \"nope\"") && err.contains("--profile nope"),
            "{err}"
        );
    }

    #[test]
    fn only_a_non_default_configured_file_is_explicit() {
        assert_eq!(explicit_file("~/.datacrunch/credentials"), None);
        assert_eq!(explicit_file(" "), None);
        assert_eq!(explicit_file("~/work.ini"), Some("~/work.ini"));
    }

    #[test]
    fn missing_file_says_how_to_create_it() {
        let err = read_file(Path::new("/nonexistent/credentials"), "default")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/credentials not found") && err.contains("credentials set"),
            "{err}"
        );
    }
}
