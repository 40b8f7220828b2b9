//! Where a project's files live: the kdevops tree (`--topdir`), its `.config`, the
//! Terraform module and state, and the project-local `.local/` directory that holds the
//! provider mirror, the emulator's state and its credentials.
//!
//! The one per-project hash, sha256 of the absolute topdir (first 8 hex digits), names
//! the ssh config file, the key file and the uploaded key; the original used md5 for one
//! and sha256 for the others (defect 15). Kconfig computes the same value with
//! `printf '%s' "$TOPDIR" | sha256sum`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// A kdevops project directory and the paths derived from it.
#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute path of the kdevops tree.
    pub topdir: PathBuf,
    /// The `.config` in use.
    pub config: PathBuf,
    /// `$HOME`, for `~` in configured paths (tests point it at a temp dir).
    pub home: PathBuf,
}

impl Project {
    /// `topdir` and `config` as given on the command line; `config` defaults to
    /// `<topdir>/.config`.
    pub fn new(topdir: &Path, config: Option<&Path>) -> Result<Self> {
        let topdir = std::path::absolute(topdir)
            .with_context(|| format!("cannot resolve project directory {}", topdir.display()))?;
        let config = match config {
            Some(c) => std::path::absolute(c)?,
            None => topdir.join(".config"),
        };
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("HOME is not set: it is needed for ~/.ssh")?;
        Ok(Self {
            topdir,
            config,
            home,
        })
    }

    /// The first 8 hex digits of sha256 of the topdir path.
    pub fn hash(&self) -> String {
        topdir_hash(&self.topdir)
    }

    /// Expands a leading `~/` against `$HOME`; relative paths are relative to the topdir.
    pub fn expand(&self, path: &str) -> PathBuf {
        if path == "~" {
            self.home.clone()
        } else if let Some(rest) = path.strip_prefix("~/") {
            self.home.join(rest)
        } else {
            self.topdir.join(path)
        }
    }

    /// The Terraform module and its working directory (state, tfvars, `.terraform/`).
    pub fn terraform_dir(&self) -> PathBuf {
        self.topdir.join("terraform").join("datacrunch")
    }

    /// Project-local files that are not configuration: `<topdir>/.local`.
    pub fn local_dir(&self) -> PathBuf {
        self.topdir.join(".local")
    }

    /// Provider mirror and Terraform CLI config.
    pub fn terraform_local_dir(&self) -> PathBuf {
        self.local_dir().join("terraform")
    }

    /// The emulator's state, pid, log and credentials.
    pub fn emulator_dir(&self) -> PathBuf {
        self.local_dir().join("emulator")
    }

    /// The tag put in every instance's description, so destroy can find this project's
    /// instances through the API even when the Terraform state is lost.
    pub fn marker(&self) -> String {
        format!("[kdevops:{}]", self.hash())
    }
}

/// sha256 of `topdir`'s bytes, first 8 hex digits.
pub fn topdir_hash(topdir: &Path) -> String {
    let digest = Sha256::digest(topdir.as_os_str().as_encoded_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_sha256sum_of_the_path() {
        // printf '%s' /work/main | sha256sum | cut -c1-8
        assert_eq!(topdir_hash(Path::new("/work/main")), "f2af6c09");
    }

    #[test]
    fn expands_home_and_relative_paths() {
        let p = Project {
            topdir: "/top".into(),
            config: "/top/.config".into(),
            home: "/h".into(),
        };
        assert_eq!(p.expand("~/.ssh/x"), PathBuf::from("/h/.ssh/x"));
        assert_eq!(p.expand("hosts"), PathBuf::from("/top/hosts"));
        assert_eq!(p.expand("/abs"), PathBuf::from("/abs"));
        assert_eq!(
            p.marker(),
            format!("[kdevops:{}]", topdir_hash(Path::new("/top")))
        );
    }
}
