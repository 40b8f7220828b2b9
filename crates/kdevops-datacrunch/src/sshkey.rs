//! The per-project SSH key pair: generated with `ssh-keygen -t ed25519` when missing
//! (kdevops' GENKEY options), and read for upload.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::settings::GenKey;

/// Makes sure the key pair at `private` exists (generating it when allowed), and
/// returns the public key text. `regenerate` replaces an existing pair (GENKEY_OVERWRITE
/// when no node exists yet).
pub fn ensure(private: &Path, genkey: GenKey, regenerate: bool) -> Result<String> {
    let public = public_path(private);
    if regenerate && genkey.enabled && genkey.overwrite {
        for p in [private, public.as_path()] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot replace {}", p.display())),
            }
        }
    }
    if !private.exists() {
        if !genkey.enabled {
            bail!(
                "SSH key {} does not exist: create it, or enable CONFIG_TERRAFORM_SSH_CONFIG_GENKEY in `make menuconfig`",
                private.display()
            );
        }
        generate(private, genkey.empty_passphrase)?;
    }
    let text = std::fs::read_to_string(&public).with_context(|| {
        format!(
            "cannot read the public key {}: it must sit next to the private key {}",
            public.display(),
            private.display()
        )
    })?;
    Ok(text.trim().to_owned())
}

/// `<private>.pub`.
pub fn public_path(private: &Path) -> std::path::PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    name.into()
}

fn generate(private: &Path, empty_passphrase: bool) -> Result<()> {
    if let Some(dir) = private.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", "ed25519", "-C", "kdevops-datacrunch", "-f"])
        .arg(private);
    if empty_passphrase {
        cmd.args(["-N", ""]);
    }
    let status = cmd
        .status()
        .context("cannot run ssh-keygen: install openssh-client")?;
    if !status.success() {
        bail!("ssh-keygen failed to create {}", private.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEN: GenKey = GenKey {
        enabled: true,
        overwrite: true,
        empty_passphrase: true,
    };

    #[test]
    fn generates_once_and_regenerates_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(".ssh/kdevops_terraform_abcd1234");
        let first = ensure(&key, GEN, false).unwrap();
        assert!(first.starts_with("ssh-ed25519 "), "{first}");
        assert_eq!(
            ensure(&key, GEN, false).unwrap(),
            first,
            "an existing key is kept"
        );
        let second = ensure(&key, GEN, true).unwrap();
        assert_ne!(second, first, "overwrite makes a new pair");
        let no_overwrite = GenKey {
            overwrite: false,
            ..GEN
        };
        assert_eq!(ensure(&key, no_overwrite, true).unwrap(), second);
    }

    #[test]
    fn missing_key_without_genkey_names_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let off = GenKey {
            enabled: false,
            ..GEN
        };
        let err = ensure(&dir.path().join("k"), off, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("CONFIG_TERRAFORM_SSH_CONFIG_GENKEY"), "{err}");
    }
}
