//! Where a project's files live: the kdevops tree (`--topdir`), its `.config`, the
//! Terraform module and state, and the project-local `.local/` directory that holds the
//! provider mirror, the emulator's state and its credentials.
//!
//! A project's identity ([`Identity`]) is a random id made once and kept in
//! `.local/project-id`, never derived from the checkout's path or from `.config`: a
//! moved checkout keeps it (and so still recognises its instances), a fresh clone or a
//! copied tree gets its own (and so never takes another project's instances or key).
//! It marks every instance (the `kdevops-project` tag) and names the uploaded SSH key,
//! the key file and the ssh config file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
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

    /// Where the identity is kept.
    pub fn identity_file(&self) -> PathBuf {
        self.local_dir().join("project-id")
    }

    /// The marker earlier versions put in every instance's description instead of a
    /// tag, `[kdevops:<first 8 hex digits of sha256 of the tree's path>]`: an untagged
    /// instance carrying the marker of this very path is provably this tree's.
    pub fn legacy_marker(&self) -> String {
        format!("{LEGACY_MARKER_PREFIX}{}]", topdir_hash(&self.topdir))
    }

    /// This project's identity, made on first use. A tree found at another path than
    /// the one recorded is either moved (the recorded path no longer holds the same id:
    /// keep it) or copied (it does: make a new one, and set aside the copied Terraform
    /// state and emulator handle, which belong to the original).
    pub fn identity(&self) -> Result<Identity> {
        let file = self.identity_file();
        let Some(recorded) = read_identity_file(&file)? else {
            let id = uuid::Uuid::new_v4().hyphenated().to_string();
            write_identity_file(&file, &id, &self.topdir)?;
            return Ok(Identity {
                id,
                change: None,
                legacy_marker: self.legacy_marker(),
            });
        };
        if recorded.path == self.topdir {
            return Ok(Identity {
                id: recorded.id,
                change: None,
                legacy_marker: self.legacy_marker(),
            });
        }
        let original = recorded.path.join(".local").join("project-id");
        let still_there = read_identity_file(&original)
            .ok()
            .flatten()
            .is_some_and(|o| o.id == recorded.id);
        if still_there {
            let id = uuid::Uuid::new_v4().hyphenated().to_string();
            self.set_aside_copied_files()?;
            write_identity_file(&file, &id, &self.topdir)?;
            Ok(Identity {
                id,
                change: Some(IdentityChange::Copied(recorded.path)),
                legacy_marker: self.legacy_marker(),
            })
        } else {
            write_identity_file(&file, &recorded.id, &self.topdir)?;
            Ok(Identity {
                id: recorded.id,
                change: Some(IdentityChange::Moved(recorded.path)),
                legacy_marker: self.legacy_marker(),
            })
        }
    }

    /// A copied tree must not manage the original's instances through a copied state,
    /// nor talk to (and later stop) the original's emulator through its pid and URL.
    fn set_aside_copied_files(&self) -> Result<()> {
        let tf = self.terraform_dir();
        for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
            let path = tf.join(name);
            if path.exists() {
                let aside = tf.join(format!("{name}.copied"));
                std::fs::rename(&path, &aside).with_context(|| {
                    format!("cannot move {} to {}", path.display(), aside.display())
                })?;
            }
        }
        for name in ["pid", "url"] {
            let _ = std::fs::remove_file(self.emulator_dir().join(name));
        }
        Ok(())
    }
}

/// Tag key that marks an instance as this project's; its value is the project id.
pub const PROJECT_TAG: &str = "kdevops-project";

/// A project's stable random identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// A UUID, the value of the [`PROJECT_TAG`] tag.
    pub id: String,
    /// What this command found changed about the tree, to say so.
    pub change: Option<IdentityChange>,
    /// The marker earlier versions put in the descriptions of the instances made from
    /// this tree's current path (see [`Project::legacy_marker`]).
    pub legacy_marker: String,
}

/// The tree is not where its identity was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityChange {
    /// Moved from this path: same project, same id.
    Moved(PathBuf),
    /// Copied from this path (which still holds the original): a new project.
    Copied(PathBuf),
}

impl Identity {
    /// The first 8 hex digits of the id: the suffix of the per-project names.
    pub fn short(&self) -> String {
        self.id.chars().filter(|c| *c != '-').take(8).collect()
    }

    /// The name of the SSH key uploaded in UNIQUE mode.
    pub fn key_name(&self) -> String {
        format!("kdevops-datacrunch-{}", self.short())
    }

    /// The default private key file (when .config names none).
    pub fn default_key_file(&self) -> String {
        format!("~/.ssh/kdevops_terraform_{}", self.short())
    }

    /// What to tell the user about a moved or copied tree.
    pub fn note(&self) -> Option<String> {
        match &self.change {
            None => None,
            Some(IdentityChange::Moved(from)) => Some(format!(
                "this project moved from {}: same project id, its nodes are still its own",
                from.display()
            )),
            Some(IdentityChange::Copied(from)) => Some(format!(
                "this tree is a copy of {}: it is a new project (id {}) and leaves the original's nodes alone \
                 (the copied Terraform state was set aside as terraform.tfstate.copied)",
                from.display(),
                self.short()
            )),
        }
    }
}

struct RecordedIdentity {
    id: String,
    path: PathBuf,
}

fn read_identity_file(file: &Path) -> Result<Option<RecordedIdentity>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let field = |key: &str| {
        text.lines().find_map(|l| {
            l.split_once('=')
                .filter(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let id = field("id").filter(|id| uuid::Uuid::parse_str(id).is_ok());
    let (Some(id), Some(path)) = (id, field("path")) else {
        bail!(
            "{} is damaged: expected lines `id = <UUID>` and `path = <directory>`; \
             delete it only if no node of this project exists (`make status`)",
            file.display()
        );
    };
    Ok(Some(RecordedIdentity {
        id,
        path: PathBuf::from(path),
    }))
}

fn write_identity_file(file: &Path, id: &str, topdir: &Path) -> Result<()> {
    crate::atomic_write::write(
        file,
        &format!(
            "# This project's identity, made once by kdevops-datacrunch: it marks the project's\n\
             # instances (tag {PROJECT_TAG}) and names its SSH key and ssh config. `path` is where\n\
             # it was made, to tell a moved tree (same project) from a copy (a new one).\n\
             id = {id}\npath = {}\n",
            topdir.display()
        ),
    )
}

/// How a legacy marker starts (see [`Project::legacy_marker`]).
pub const LEGACY_MARKER_PREFIX: &str = "[kdevops:";

/// sha256 of `topdir`'s bytes, first 8 hex digits: how earlier versions named the ssh
/// config file and marked instances, so that leftovers of theirs can be recognised.
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
    }

    fn project_at(dir: &Path) -> Project {
        Project {
            topdir: dir.to_owned(),
            config: dir.join(".config"),
            home: dir.to_owned(),
        }
    }

    #[test]
    fn identity_survives_a_move_and_a_copy_gets_its_own() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        std::fs::create_dir_all(a.join("terraform/datacrunch")).unwrap();
        let first = project_at(&a).identity().unwrap();
        assert_eq!(first.change, None);
        assert_eq!(project_at(&a).identity().unwrap(), first, "made once");
        assert_eq!(first.short().len(), 8);

        // mv a b: same id, and the move is noticed once.
        let b = root.path().join("b");
        std::fs::rename(&a, &b).unwrap();
        let moved = project_at(&b).identity().unwrap();
        assert_eq!(moved.id, first.id);
        assert_eq!(moved.change, Some(IdentityChange::Moved(a.clone())));
        assert_eq!(project_at(&b).identity().unwrap().change, None);

        // cp -a b c while b still holds the id: c is a new project, its copied state
        // is set aside.
        let c = root.path().join("c");
        std::fs::create_dir_all(c.join(".local")).unwrap();
        std::fs::create_dir_all(c.join("terraform/datacrunch")).unwrap();
        std::fs::copy(b.join(".local/project-id"), c.join(".local/project-id")).unwrap();
        std::fs::write(c.join("terraform/datacrunch/terraform.tfstate"), "{}").unwrap();
        let copy = project_at(&c).identity().unwrap();
        assert_ne!(copy.id, first.id);
        assert_eq!(copy.change, Some(IdentityChange::Copied(b.clone())));
        assert!(!c.join("terraform/datacrunch/terraform.tfstate").exists());
        assert!(c
            .join("terraform/datacrunch/terraform.tfstate.copied")
            .exists());
        assert_eq!(project_at(&b).identity().unwrap().id, first.id);
    }

    #[test]
    fn a_damaged_identity_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = project_at(dir.path());
        std::fs::create_dir_all(p.local_dir()).unwrap();
        std::fs::write(p.identity_file(), "id = not-a-uuid\n").unwrap();
        let err = p.identity().unwrap_err().to_string();
        assert!(err.contains("project-id is damaged"), "{err}");
    }
}
