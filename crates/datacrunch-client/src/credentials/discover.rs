//! Finding and reading credentials files: `~` expansion, the default locations, the
//! checks that make a file trustworthy (a regular file, owned by the user or root, with
//! no access for group or others, judged on the target of a symlink), and reading one
//! profile's values out of an INI or JSON file.

use super::error::CredentialsError;
use super::{ini, json, profile_names, Env, Setting};
use datacrunch_models::Secret;
use std::path::{Path, PathBuf};

/// The credentials file kdevops and the official tools write (INI).
pub const DEFAULT_INI_FILE: &str = "~/.datacrunch/credentials";
/// The original kdevops integration's file (JSON, often only `{"client_secret": …}`),
/// looked at when the INI file does not exist.
pub const DEFAULT_JSON_FILE: &str = "~/datacrunch-credentials.json";

/// `~` and `~/x` under `$HOME`; anything else as given.
pub fn expand_home(path: &str, env: &dyn Env) -> PathBuf {
    let home = env.var("HOME").filter(|h| !h.is_empty());
    match (path, home) {
        ("~", Some(home)) => PathBuf::from(home),
        (p, Some(home)) if p.starts_with("~/") => Path::new(&home).join(&p[2..]),
        (p, _) => PathBuf::from(p),
    }
}

/// Whether something (even a dangling symlink) is at `path`: a default file that is a
/// broken link is reported, not silently skipped.
pub(crate) fn is_present(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Fails unless `path` is (or links to) a regular file owned by the user (or root) that
/// group and others cannot access at all, ssh's rule for private keys: it holds a
/// secret that spends money.
pub fn check_private(path: &Path) -> Result<(), CredentialsError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CredentialsError::NotFound {
                path: shown.clone(),
            }
        } else {
            CredentialsError::Unreadable {
                path: shown.clone(),
                reason: e.to_string(),
            }
        }
    };
    let link = path.symlink_metadata().map_err(io)?;
    // The checks are about the file the bytes come from: a link's target.
    let target = if link.file_type().is_symlink() {
        path.canonicalize().map_err(io)?
    } else {
        path.to_path_buf()
    };
    let meta = target.metadata().map_err(io)?;
    let target_shown = target.display().to_string();
    if !meta.is_file() {
        return Err(CredentialsError::NotAFile { path: shown });
    }
    check_owner_and_mode(&meta, shown, target_shown)
}

#[cfg(unix)]
fn check_owner_and_mode(
    meta: &std::fs::Metadata,
    path: String,
    target: String,
) -> Result<(), CredentialsError> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    match trust(meta.mode(), meta.uid(), me) {
        Trust::Private => Ok(()),
        Trust::TooOpen(mode) => Err(CredentialsError::TooOpen { path, target, mode }),
        Trust::NotOwned(owner) => Err(CredentialsError::NotOwned {
            path,
            target,
            owner,
            me,
        }),
    }
}

#[cfg(not(unix))]
fn check_owner_and_mode(
    _meta: &std::fs::Metadata,
    _path: String,
    _target: String,
) -> Result<(), CredentialsError> {
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Trust {
    Private,
    TooOpen(u32),
    NotOwned(u32),
}

/// ssh's rule for a private key: no access at all for group or others, and owned by
/// the user or root (whoever owns it can swap in other credentials).
fn trust(mode: u32, owner: u32, me: u32) -> Trust {
    let mode = mode & 0o7777;
    if mode & 0o077 != 0 {
        Trust::TooOpen(mode)
    } else if owner != me && owner != 0 {
        Trust::NotOwned(owner)
    } else {
        Trust::Private
    }
}

/// What one credentials file holds for the profile asked for.
#[derive(Debug, Clone)]
pub(crate) struct FileValues {
    pub(crate) path: PathBuf,
    /// The section/profile the values came from; `None` for a flat JSON file.
    pub(crate) profile: Option<String>,
    /// Each value with the key it was found under.
    pub(crate) client_id: Option<(String, String)>,
    pub(crate) client_secret: Option<(Secret, String)>,
    /// Every key of that profile, for messages about misspelt ones.
    pub(crate) keys: Vec<String>,
}

/// The first non-empty value among `setting`'s keys, in their order of preference.
fn pick(pairs: &[(String, String)], setting: Setting) -> Option<(String, String)> {
    setting.file_keys().iter().find_map(|want| {
        pairs
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(want) && !v.is_empty())
            .map(|(k, v)| (v.clone(), k.clone()))
    })
}

fn values(path: &Path, profile: Option<String>, pairs: &[(String, String)]) -> FileValues {
    FileValues {
        path: path.to_path_buf(),
        profile,
        client_id: pick(pairs, Setting::ClientId),
        client_secret: pick(pairs, Setting::ClientSecret).map(|(v, k)| (Secret::new(v), k)),
        keys: pairs.iter().map(|(k, _)| k.clone()).collect(),
    }
}

/// Reads `profile` from the file at `path` after [`check_private`]. A file whose first
/// character is `{` is JSON, anything else INI.
pub(crate) fn read_values(path: &Path, profile: &str) -> Result<FileValues, CredentialsError> {
    check_private(path)?;
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CredentialsError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let malformed = |format, reason| CredentialsError::Malformed {
        path: shown.clone(),
        format,
        reason,
    };
    let no_profile = |available: Vec<String>| CredentialsError::NoProfile {
        path: shown.clone(),
        profile: profile.to_owned(),
        available: if available.is_empty() {
            "no profiles".to_owned()
        } else {
            available.join(", ")
        },
    };
    let is_json = text
        .trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace())
        .starts_with('{');
    if is_json {
        return match json::parse(&text, profile).map_err(|r| malformed("JSON", r))? {
            json::Found::Pairs { profile, pairs } => Ok(values(path, profile, &pairs)),
            json::Found::NoProfile(available) => Err(no_profile(available)),
        };
    }
    let doc = ini::Document::parse(&text).map_err(|r| malformed("INI", r))?;
    let Some(section) = profile_names(profile)
        .into_iter()
        .find_map(|n| doc.section(n))
    else {
        return Err(no_profile(
            doc.sections.iter().map(|s| s.name.clone()).collect(),
        ));
    };
    let pairs: Vec<(String, String)> = section
        .entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    Ok(values(path, Some(section.name.clone()), &pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_ssh_rule_for_private_keys() {
        assert_eq!(trust(0o100600, 1000, 1000), Trust::Private);
        assert_eq!(trust(0o400, 0, 1000), Trust::Private);
        assert_eq!(trust(0o640, 1000, 1000), Trust::TooOpen(0o640));
        assert_eq!(trust(0o602, 1000, 1000), Trust::TooOpen(0o602));
        assert_eq!(trust(0o600, 1001, 1000), Trust::NotOwned(1001));
    }
}
