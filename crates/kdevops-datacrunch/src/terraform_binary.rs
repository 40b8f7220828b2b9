//! Which Terraform (or OpenTofu) binary the workflow runs, and why.
//!
//! In order: `$KDEVOPS_TERRAFORM`; else `terraform` or `tofu` on `PATH`, when it is at
//! least [`MINIMUM`]; else the project's `.venv/bin/terraform` (installed by `make
//! deps`). A binary on `PATH` that is too old (or whose version cannot be read) is
//! skipped, and the reason is part of [`Chosen`]'s one-line description, e.g.
//! `terraform 1.15.5 from .venv (PATH has 1.4.6 at /usr/bin/terraform, older than the
//! minimum 1.5.0)`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::project::Project;

/// The oldest Terraform the workflow runs: the module's `required_version` (in
/// `terraform/datacrunch/provider.tf`). Protocol 6 alone would allow 1.0; the module
/// asks for 1.5, and an older binary would only fail later, inside `init`.
pub const MINIMUM: Version = Version(1, 5, 0);

/// A release number, `major.minor.patch` (pre-release suffixes ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// Parses `1.15.5`, `v1.6.0-rc1` and the like.
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        let version = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

/// Where the chosen binary came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env,
    Path,
    Venv,
}

/// The binary the workflow runs, and why it was chosen.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub path: PathBuf,
    pub version: Version,
    pub source: Source,
    /// Why `PATH`'s binary was not used, when it was passed over.
    pub skipped: Option<String>,
}

impl fmt::Display for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "terraform".to_owned());
        write!(f, "{name} {} ", self.version)?;
        match self.source {
            Source::Env => write!(f, "from KDEVOPS_TERRAFORM ({})", self.path.display()),
            Source::Path => write!(f, "from PATH ({})", self.path.display()),
            Source::Venv => match &self.skipped {
                Some(why) => write!(f, "from .venv ({why})"),
                None => write!(f, "from .venv (none on PATH)"),
            },
        }
    }
}

/// Finds the binary (see the module docs).
pub fn find(project: &Project) -> Result<Chosen> {
    if let Some(explicit) = std::env::var_os("KDEVOPS_TERRAFORM") {
        let path = PathBuf::from(explicit);
        if !path.is_file() {
            bail!(
                "KDEVOPS_TERRAFORM names {}, which does not exist",
                path.display()
            );
        }
        let version = version_of(&path)
            .with_context(|| format!("KDEVOPS_TERRAFORM names {}", path.display()))?;
        if version < MINIMUM {
            bail!(
                "KDEVOPS_TERRAFORM names {}, Terraform {version}, older than the minimum {MINIMUM}: \
                 point it at a newer one, or unset it to use PATH's or .venv's",
                path.display()
            );
        }
        return Ok(Chosen {
            path,
            version,
            source: Source::Env,
            skipped: None,
        });
    }
    let skipped = match on_path() {
        Some(path) => Some(match version_of(&path) {
            Ok(version) if version >= MINIMUM => {
                return Ok(Chosen {
                    path,
                    version,
                    source: Source::Path,
                    skipped: None,
                })
            }
            Ok(version) => format!(
                "PATH has {version} at {}, older than the minimum {MINIMUM}",
                path.display()
            ),
            Err(e) => format!("PATH's {} is unusable: {e:#}", path.display()),
        }),
        None => None,
    };
    let venv = project.topdir.join(".venv/bin/terraform");
    if !venv.is_file() {
        bail!(
            "no usable terraform ({}): install Terraform {MINIMUM} or newer (or OpenTofu) on PATH, \
             or run `make deps` to get .venv/bin/terraform",
            skipped.as_deref().unwrap_or("none on PATH")
        );
    }
    if venv_is_stale(project, &venv) {
        rebuild_venv(project)?;
    }
    let version = version_of(&venv)?;
    Ok(Chosen {
        path: venv,
        version,
        source: Source::Venv,
        skipped,
    })
}

/// The first `terraform` or `tofu` on `PATH`.
fn on_path() -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    ["terraform", "tofu"]
        .iter()
        .find_map(|name| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()))
}

/// `BINARY version -json`'s `terraform_version` (OpenTofu answers the same key).
fn version_of(binary: &Path) -> Result<Version> {
    let out = Command::new(binary)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        // A project's CLI config is not needed to print a version.
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok().unwrap_or_default();
    json["terraform_version"]
        .as_str()
        .and_then(Version::parse)
        .with_context(|| {
            format!(
                "`{} version -json` did not print a terraform_version",
                binary.display()
            )
        })
}

/// A virtual environment holds absolute paths (its scripts' interpreter, our wrapper's
/// paths): after the tree moved, they name the old location.
fn venv_is_stale(project: &Project, wrapper: &Path) -> bool {
    let venv = project.topdir.join(".venv");
    std::fs::read_to_string(wrapper)
        .map(|text| !text.contains(&format!("\"{}/bin/python\"", venv.display())))
        .unwrap_or(true)
}

/// Rebuilds `.venv` for the tree's current location with `tools/install-terraform`
/// (what `make deps` runs).
fn rebuild_venv(project: &Project) -> Result<()> {
    let script = project.topdir.join("tools/install-terraform");
    let venv = project.topdir.join(".venv");
    if !script.is_file() {
        bail!(
            "{} was made for another location of this tree: remove it and run `make deps`",
            venv.display()
        );
    }
    eprintln!(
        "note: {} was made for another location of this tree (moved?): rebuilding it",
        venv.display()
    );
    std::fs::remove_dir_all(&venv).with_context(|| format!("cannot remove {}", venv.display()))?;
    let status = Command::new(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        bail!(
            "{} failed: run `make deps` and see its output",
            script.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(Version::parse("1.15.5"), Some(Version(1, 15, 5)));
        assert_eq!(Version::parse("v1.6.0-rc1"), Some(Version(1, 6, 0)));
        assert_eq!(Version::parse("1.5"), None);
        assert_eq!(Version::parse("1.5.0.1"), None);
        assert!(Version(1, 4, 6) < MINIMUM && Version(1, 15, 5) > MINIMUM);
        assert_eq!(MINIMUM.to_string(), "1.5.0");
    }

    /// One place decides the minimum: it must be what the module asks for.
    #[test]
    fn minimum_is_the_modules_required_version() {
        let module = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../terraform/datacrunch/provider.tf"
        );
        let text = std::fs::read_to_string(module).unwrap();
        assert!(
            text.contains(&format!("required_version = \">= {MINIMUM}\"")),
            "{module} and MINIMUM disagree"
        );
    }

    #[test]
    fn says_where_the_binary_came_from_and_why() {
        let chosen = Chosen {
            path: PathBuf::from("/top/.venv/bin/terraform"),
            version: Version(1, 15, 5),
            source: Source::Venv,
            skipped: Some(
                "PATH has 1.4.6 at /usr/bin/terraform, older than the minimum 1.5.0".into(),
            ),
        };
        assert_eq!(
            chosen.to_string(),
            "terraform 1.15.5 from .venv (PATH has 1.4.6 at /usr/bin/terraform, older than the minimum 1.5.0)"
        );
        let chosen = Chosen {
            path: PathBuf::from("/usr/bin/tofu"),
            version: Version(1, 8, 0),
            source: Source::Path,
            skipped: None,
        };
        assert_eq!(chosen.to_string(), "tofu 1.8.0 from PATH (/usr/bin/tofu)");
    }
}
