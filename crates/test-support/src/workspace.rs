//! A throwaway Terraform working directory wired to a local provider.
//!
//! [`Workspace::new`] creates a temp dir holding
//! - `mirror/HOST/NS/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE_vVERSION`
//!   for each provider (an unpacked filesystem mirror);
//! - `cli.tfrc` with only a `filesystem_mirror` source and no `direct`, so
//!   `init` is one offline step without dev-override warnings;
//! - `work/`, where configurations are written and commands run, with a
//!   `.terraform.lock.hcl` already pinning each provider's `h1:` hash, so
//!   `init` does not warn about checksums it had to compute locally.
//!
//! Every command gets `TF_CLI_CONFIG_FILE` (overriding whatever the machine
//! has), `CHECKPOINT_DISABLE=1` and `TF_IN_AUTOMATION=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::process::{spawn_in_group, wait_with_timeout, Output};
use crate::terraform::Terraform;

/// A provider binary to install into the mirror.
#[derive(Clone, Debug)]
pub struct MirroredProvider {
    /// Source address, e.g. `registry.terraform.io/example/testbed`.
    pub source: String,
    /// Version without `v`, e.g. `0.1.0`.
    pub version: String,
    /// The built binary.
    pub binary: PathBuf,
}

impl MirroredProvider {
    pub fn new(source: &str, version: &str, binary: impl Into<PathBuf>) -> Self {
        Self {
            source: source.into(),
            version: version.into(),
            binary: binary.into(),
        }
    }

    fn type_name(&self) -> &str {
        self.source.rsplit('/').next().unwrap_or(&self.source)
    }
}

/// The default time limit for one terraform command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

pub struct Workspace {
    /// Kept alive so the directory is removed on drop (unless
    /// `TEST_SUPPORT_KEEP` is set, for debugging a failing test).
    _dir: Option<tempfile::TempDir>,
    root: PathBuf,
    terraform: Terraform,
    env: Vec<(String, String)>,
}

impl Workspace {
    /// A new workspace for `terraform` with `providers` in its mirror.
    pub fn new(terraform: &Terraform, providers: &[MirroredProvider]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tfws")
            .tempdir()
            .expect("create temp dir");
        let root = dir.path().to_path_buf();
        let mirror = root.join("mirror");
        std::fs::create_dir_all(root.join("work")).expect("create work dir");
        let mut lock = String::new();
        for p in providers {
            let d = mirror.join(&p.source).join(&p.version).join(platform());
            std::fs::create_dir_all(&d).expect("create mirror dir");
            let dest = d.join(format!(
                "terraform-provider-{}_v{}",
                p.type_name(),
                p.version
            ));
            std::fs::copy(&p.binary, &dest)
                .unwrap_or_else(|e| panic!("copy {} into the mirror: {e}", p.binary.display()));
            lock.push_str(&format!(
                "provider {:?} {{\n  version = {:?}\n  hashes = [\n    {:?},\n  ]\n}}\n\n",
                p.source,
                p.version,
                dirhash_h1(&d)
            ));
        }
        std::fs::write(root.join("work/.terraform.lock.hcl"), lock).expect("write lock file");
        let cli = root.join("cli.tfrc");
        std::fs::write(
            &cli,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = {:?}\n  }}\n}}\n",
                mirror.display().to_string()
            ),
        )
        .expect("write CLI config");
        let env = vec![
            ("TF_CLI_CONFIG_FILE".to_string(), cli.display().to_string()),
            ("CHECKPOINT_DISABLE".to_string(), "1".to_string()),
            ("TF_IN_AUTOMATION".to_string(), "1".to_string()),
            ("TF_INPUT".to_string(), "0".to_string()),
            ("NO_COLOR".to_string(), "1".to_string()),
        ];
        let dir = if std::env::var_os("TEST_SUPPORT_KEEP").is_some() {
            eprintln!("keeping workspace {}", dir.keep().display());
            None
        } else {
            Some(dir)
        };
        Self {
            _dir: dir,
            root,
            terraform: terraform.clone(),
            env,
        }
    }

    /// The directory configurations live in and commands run in.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join("work")
    }

    /// The temp root (for side files such as a provider's data store).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn terraform(&self) -> &Terraform {
        &self.terraform
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// The environment every command gets.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Replaces the whole environment every command gets.
    pub fn replace_env(&mut self, env: Vec<(String, String)>) {
        self.env = env;
    }

    /// Writes a file relative to the work dir.
    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.work_dir().join(name), contents).expect("write config file");
    }

    /// The terraform command, configured for this workspace (not started).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.terraform.path);
        c.args(args).current_dir(self.work_dir());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs terraform with `args` and the default timeout.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_timeout(args, DEFAULT_TIMEOUT)
    }

    /// Runs terraform with `args`, killing it after `timeout`.
    pub fn run_timeout(&self, args: &[&str], timeout: Duration) -> Output {
        let child = self.spawn(args);
        wait_with_timeout(child, self.describe(args), timeout)
    }

    /// Starts terraform in its own process group (for Ctrl-C tests); finish
    /// with [`crate::process::wait_with_timeout`].
    pub fn spawn(&self, args: &[&str]) -> Child {
        spawn_in_group(&mut self.command(args))
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.terraform.path.display()))
    }

    /// `terraform ARGS` tagged with the version, for messages.
    pub fn describe(&self, args: &[&str]) -> String {
        format!("terraform {} [{}]", args.join(" "), self.terraform.version)
    }

    /// `terraform init`, asserting success and the absence of warnings.
    pub fn init(&self) -> Output {
        let out = self.run(&["init", "-input=false", "-no-color"]);
        out.assert_success().assert_not_contains("Warning");
        out
    }
}

/// Terraform's name for the platform the tests run on (`linux_amd64`,
/// `linux_arm64`, ...): the mirror directory it looks in.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// Terraform's `h1:` package hash (Go's dirhash Hash1): SHA-256 over the
/// lines `"<hex sha256 of file>  <relative path>\n"` of every file, sorted.
pub fn dirhash_h1(dir: &Path) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files);
    files.sort();
    let mut summary = String::new();
    for rel in files {
        let bytes = std::fs::read(dir.join(&rel)).expect("read mirrored file");
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        summary.push_str(&format!("{hex}  {rel}\n"));
    }
    let h = Sha256::digest(summary.as_bytes());
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(h))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read mirror dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_uses_terraform_names() {
        let p = platform();
        assert!(!p.contains("x86_64") && !p.contains("aarch64"), "{p}");
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(p, "linux_amd64");
        }
    }

    #[test]
    fn dirhash_matches_go_dirhash_hash1() {
        // Expected value computed independently (sha256sum + base64) for
        // the same tree: "a" = "hello\n", "sub/b" empty.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "hello\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b"), "").unwrap();
        assert_eq!(
            dirhash_h1(dir.path()),
            "h1:xpMUlfGOR92mcvKRpv5XpFAf6JGde/JMFjwZ/4omgrQ="
        );
    }
}
