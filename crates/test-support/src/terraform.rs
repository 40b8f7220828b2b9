//! Which Terraform binaries the end-to-end tests run against.
//!
//! The project pins Terraform 1.15.5 in `.venv/bin/terraform` (installed by
//! `tools/install-terraform`); it is required. Any other `terraform` on PATH
//! with a different version is tested too, since versions differ in ways
//! that matter to providers (ALPN enforcement, init behaviour).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cargo_bin::workspace_root;

/// One Terraform binary and its version.
#[derive(Clone, Debug)]
pub struct Terraform {
    pub path: PathBuf,
    pub version: String,
}

impl std::fmt::Display for Terraform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "terraform {} ({})", self.version, self.path.display())
    }
}

/// The project's pinned Terraform. Panics with the fix when it is missing.
pub fn pinned() -> Terraform {
    let path = workspace_root().join(".venv/bin/terraform");
    assert!(
        path.exists(),
        "{} is missing: run tools/install-terraform (or make deps)",
        path.display()
    );
    let version = version_of(&path).unwrap_or_else(|e| {
        panic!(
            "{} does not work ({e}): run tools/install-terraform (or make deps)",
            path.display()
        )
    });
    Terraform { path, version }
}

/// The pinned Terraform first, then every other `terraform` on PATH whose
/// version differs from all earlier ones.
pub fn terraform_binaries() -> Vec<Terraform> {
    let mut found = vec![pinned()];
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let candidate = dir.join("terraform");
        if !candidate.is_file() || found.iter().any(|t| same_file(&t.path, &candidate)) {
            continue;
        }
        if let Ok(version) = version_of(&candidate) {
            if !found.iter().any(|t| t.version == version) {
                found.push(Terraform {
                    path: candidate,
                    version,
                });
            }
        }
    }
    found
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Runs `terraform version -json` with a harmless CLI config.
fn version_of(path: &Path) -> Result<String, String> {
    let empty = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let out = Command::new(path)
        .args(["version", "-json"])
        .env("TF_CLI_CONFIG_FILE", empty.path())
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    v.get("terraform_version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| "no terraform_version in `terraform version -json`".to_string())
}
