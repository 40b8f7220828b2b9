//! Files another program writes that hold instance ids, addresses or credentials
//! (Terraform's state and its backup): owner-only whatever the umask was, and whatever
//! mode an older version or a copy left them with.
//!
//! Terraform writes its local state into the existing file (truncate and rewrite), so a
//! file created with mode 0600 before the run keeps that mode: there is no moment when
//! the state exists readable by others. After the run every one of them is made 0600
//! again, and an empty file created here that Terraform did not use is removed (an
//! empty state file would read as "state exists").

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const OWNER_ONLY: u32 = 0o600;

/// The files of one run, from before it starts to after it ends.
pub struct OwnerOnly {
    paths: Vec<PathBuf>,
    created: Vec<PathBuf>,
}

impl OwnerOnly {
    /// Creates each missing file empty with mode 0600, and makes the others 0600.
    pub fn prepare(paths: &[PathBuf]) -> Result<Self> {
        let mut created = Vec::new();
        for path in paths {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(OWNER_ONLY)
                .open(path)
            {
                Ok(_) => created.push(path.clone()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => restrict(path)?,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        Ok(Self {
            paths: paths.to_vec(),
            created,
        })
    }

    /// After the run: empty files made by [`OwnerOnly::prepare`] go, the rest are 0600.
    /// (Dropped without it, as when the run could not start, the same is done quietly.)
    pub fn finish(mut self) -> Result<()> {
        self.settle()
    }

    fn settle(&mut self) -> Result<()> {
        for path in &self.paths {
            let unused = self.created.contains(path)
                && fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0);
            if unused {
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                    }
                }
            } else {
                restrict(path)?;
            }
        }
        Ok(())
    }
}

impl Drop for OwnerOnly {
    fn drop(&mut self) {
        let _ = self.settle();
    }
}

/// Makes an existing regular file 0600 (a missing one is no error).
pub fn restrict(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o7777 != OWNER_ONLY => {
            fs::set_permissions(path, fs::Permissions::from_mode(OWNER_ONLY))
                .with_context(|| format!("cannot make {} private (chmod 600)", path.display()))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn files_are_private_before_and_after_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("terraform.tfstate");
        let backup = dir.path().join("terraform.tfstate.backup");
        let unused = dir.path().join("unused");
        // An old state left readable by others (an older version, a copy).
        fs::write(&backup, "{}").unwrap();
        fs::set_permissions(&backup, fs::Permissions::from_mode(0o644)).unwrap();
        let run = OwnerOnly::prepare(&[state.clone(), backup.clone(), unused.clone()]).unwrap();
        assert_eq!(mode(&state), 0o600, "created private before the run");
        assert_eq!(mode(&backup), 0o600);
        // The "run": written in place (as Terraform does), once with a loose mode.
        fs::write(&state, "{\"version\": 4}").unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o644)).unwrap();
        run.finish().unwrap();
        assert_eq!(mode(&state), 0o600);
        assert_eq!(fs::read_to_string(&state).unwrap(), "{\"version\": 4}");
        assert!(!unused.exists(), "an unused empty file is not left behind");
        assert_eq!(mode(&backup), 0o600);
    }
}
