//! The credentials file: INI, one `[profile]` per account, `client_id` and
//! `client_secret` (the secret is also accepted as `datacrunch_api_key` or `api_key`,
//! spellings kdevops' docs used).
//!
//! One format, written mode 0600, and refused when group or others may read it, with
//! the exact `chmod 600 FILE` that fixes it (defect 14 had three contradictory formats).
//! The provider reads the same file itself; this module exists so the workflow can check
//! it before Terraform runs and can ask the API questions (catalog, availability).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};
use ini::Ini;

/// Keys the secret may be stored under, in order of preference.
const SECRET_KEYS: &[&str] = &["client_secret", "datacrunch_api_key", "api_key"];

/// One profile's client credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Fails unless `path` exists and only its owner may read it.
pub fn check_permissions(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).with_context(|| {
        format!(
            "credentials file {} not found: create it with `kdevops-datacrunch credentials set --client-id ID --client-secret SECRET` \
             (or set CONFIG_TERRAFORM_DATACRUNCH_API_KEY_FILE)",
            path.display()
        )
    })?;
    if !meta.is_file() {
        bail!("credentials file {} is not a regular file", path.display());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "credentials file {} is readable by others (mode {mode:03o}): run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Reads `profile` from the file at `path` (after [`check_permissions`]).
pub fn read_profile(path: &Path, profile: &str) -> Result<Credentials> {
    check_permissions(path)?;
    let ini = Ini::load_from_file(path)
        .with_context(|| format!("credentials file {} is not valid INI", path.display()))?;
    // kdevops' helper also wrote [DEFAULT]; accept it for the default profile.
    let section = ini
        .section(Some(profile))
        .or_else(|| (profile == "default").then(|| ini.section(Some("DEFAULT"))).flatten())
        .with_context(|| {
            format!(
                "credentials file {} has no [{profile}] profile: add it with `kdevops-datacrunch credentials set --profile {profile} ...`",
                path.display()
            )
        })?;
    let client_id = section
        .get("client_id")
        .filter(|s| !s.trim().is_empty())
        .with_context(|| format!("profile [{profile}] of {} has no client_id", path.display()))?;
    let client_secret = SECRET_KEYS
        .iter()
        .find_map(|k| section.get(*k).filter(|s| !s.trim().is_empty()))
        .with_context(|| {
            format!(
                "profile [{profile}] of {} has no client_secret",
                path.display()
            )
        })?;
    Ok(Credentials {
        client_id: client_id.trim().to_owned(),
        client_secret: client_secret.trim().to_owned(),
    })
}

/// Writes (or replaces) `profile` in the file at `path`, keeping other profiles, with
/// mode 0600 from the moment the file exists.
pub fn write_profile(path: &Path, profile: &str, creds: &Credentials) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut ini = if path.exists() {
        Ini::load_from_file(path).with_context(|| format!("{} is not valid INI", path.display()))?
    } else {
        Ini::new()
    };
    ini.with_section(Some(profile))
        .set("client_id", creds.client_id.as_str())
        .set("client_secret", creds.client_secret.as_str());
    let mut text = Vec::new();
    ini.write_to(&mut text)?;
    // Write a private temp file, then rename: the secret is never in a readable file.
    let tmp = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(&text)?;
    file.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            client_id: "id-1".into(),
            client_secret: "s3cret".into(),
        }
    }

    #[test]
    fn round_trip_keeps_other_profiles_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/credentials");
        write_profile(&path, "default", &creds()).unwrap();
        let other = Credentials {
            client_id: "id-2".into(),
            client_secret: "x".into(),
        };
        write_profile(&path, "work", &other).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_profile(&path, "default").unwrap(), creds());
        assert_eq!(read_profile(&path, "work").unwrap(), other);
        let err = read_profile(&path, "nope").unwrap_err().to_string();
        assert!(err.contains("no [nope] profile"), "{err}");
    }

    #[test]
    fn refuses_readable_files_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        write_profile(&path, "default", &creds()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_profile(&path, "default").unwrap_err().to_string();
        assert!(
            err.contains(&format!("run `chmod 600 {}`", path.display())),
            "{err}"
        );
    }

    #[test]
    fn accepts_kdevops_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        fs::write(&path, "[DEFAULT]\nclient_id = a\ndatacrunch_api_key = b\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let c = read_profile(&path, "default").unwrap();
        assert_eq!((c.client_id.as_str(), c.client_secret.as_str()), ("a", "b"));
        assert!(
            !format!("{c:?}").contains("\"b\""),
            "Debug must not show the secret"
        );
    }

    #[test]
    fn missing_file_says_how_to_create_it() {
        let err = check_permissions(Path::new("/nonexistent/credentials"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("credentials set"), "{err}");
    }
}
