//! Keeping Terraform's working directory initialised without paying for it twice: the
//! provider is copied into the project mirror only when its bytes changed, and
//! `terraform init` runs only when something it depends on changed.
//!
//! What `init` depends on is recorded as a fingerprint in
//! `.terraform/kdevops-init.sha256`, next to what `init` made, so that removing
//! `.terraform` forgets both: the lock file, the CLI config (it names the mirror by its
//! absolute path, so a moved tree differs), the module's `*.tf` files (required providers
//! and backend), the installed provider copy (size, change time, inode: a reinstall is a
//! new file) and the Terraform binary itself. Hashing the provider binary instead would
//! cost seconds per command: it is tens of MiB, hashed by an unoptimised debug build.

use std::fs;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Where the fingerprint of the last successful `init` is kept, under the module dir.
pub(super) const STAMP: &str = ".terraform/kdevops-init.sha256";

/// What `terraform init` depends on, as one hex digest.
pub(super) struct Inputs<'a> {
    pub terraform: &'a Path,
    pub workdir: &'a Path,
    pub cli_config: &'a Path,
    pub installed_provider: &'a Path,
}

impl Inputs<'_> {
    pub(super) fn fingerprint(&self) -> Result<String> {
        let mut hash = Sha256::new();
        let mut section = |name: &str, bytes: &[u8]| {
            // Length-prefixed, so no two different inputs hash the same bytes.
            hash.update(format!("{name} {}\n", bytes.len()));
            hash.update(bytes);
        };
        section("terraform", identity(self.terraform)?.as_bytes());
        section("provider", identity(self.installed_provider)?.as_bytes());
        section("cli_config", &read_or_empty(self.cli_config)?);
        let lock = self.workdir.join(".terraform.lock.hcl");
        section("lock", &read_or_empty(&lock)?);
        for file in module_files(self.workdir)? {
            section(&file, &read_or_empty(&self.workdir.join(&file))?);
        }
        Ok(hex(&hash.finalize()))
    }
}

/// The fingerprint recorded by the last successful `init`, if any.
pub(super) fn recorded(workdir: &Path) -> Option<String> {
    fs::read_to_string(workdir.join(STAMP))
        .ok()
        .map(|text| text.trim().to_owned())
}

/// Records `fingerprint` as the one of a successful `init`.
pub(super) fn record(workdir: &Path, fingerprint: &str) -> Result<()> {
    crate::atomic_write::write(&workdir.join(STAMP), &format!("{fingerprint}\n"))
}

/// Whether two files hold the same bytes (false when `installed` does not exist).
/// Compared in chunks: reading two binaries of tens of MiB costs milliseconds.
pub(super) fn same_contents(source: &Path, installed: &Path) -> Result<bool> {
    let open = |path: &Path| {
        fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let installed_file = match fs::File::open(installed) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", installed.display())),
    };
    let mut a = open(source)?;
    let mut b = installed_file;
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let mut buf_a = vec![0u8; 1 << 20];
    let mut buf_b = vec![0u8; 1 << 20];
    loop {
        let n = read_full(&mut a, &mut buf_a)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let m = read_full(&mut b, &mut buf_b)
            .with_context(|| format!("cannot read {}", installed.display()))?;
        if n != m || buf_a[..n] != buf_b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buf` unless the file ends first; returns how much was read.
fn read_full(file: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Path, size, change time and inode: a replaced or rewritten file differs.
fn identity(path: &Path) -> Result<String> {
    match fs::metadata(path) {
        Ok(meta) => Ok(format!(
            "{} {} {}.{} {}",
            path.display(),
            meta.len(),
            meta.ctime(),
            meta.ctime_nsec(),
            meta.ino()
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(format!("{} missing", path.display())),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn read_or_empty(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The module's configuration files, sorted: what `init` reads for providers and backend.
fn module_files(workdir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(workdir)
        .with_context(|| format!("cannot list {}", workdir.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tf") || name.ends_with(".tf.json"))
        .collect();
    names.sort();
    Ok(names)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.tf"), "terraform {}\n").unwrap();
        fs::write(dir.path().join("provider"), "binary").unwrap();
        fs::write(dir.path().join("terraform"), "terraform binary").unwrap();
        fs::write(dir.path().join("cli.tfrc"), "provider_installation {}\n").unwrap();
        dir
    }

    fn fingerprint(dir: &Path) -> String {
        Inputs {
            terraform: &dir.join("terraform"),
            workdir: dir,
            cli_config: &dir.join("cli.tfrc"),
            installed_provider: &dir.join("provider"),
        }
        .fingerprint()
        .unwrap()
    }

    #[test]
    fn the_fingerprint_follows_every_input_of_init() {
        let dir = module();
        let path = dir.path();
        let first = fingerprint(path);
        assert_eq!(
            first,
            fingerprint(path),
            "unchanged inputs, same fingerprint"
        );
        let changes: [(&str, &str); 5] = [
            ("main.tf", "terraform { backend \"local\" {} }\n"),
            ("extra.tf.json", "{}"),
            (".terraform.lock.hcl", "provider \"x\" {}\n"),
            ("cli.tfrc", "provider_installation { direct {} }\n"),
            ("provider", "rebuilt binary"),
        ];
        let mut seen = vec![first];
        for (file, text) in changes {
            fs::write(path.join(file), text).unwrap();
            let now = fingerprint(path);
            assert!(
                !seen.contains(&now),
                "{file} changed, the fingerprint did not"
            );
            seen.push(now);
        }
        // A file that is not configuration does not matter.
        let last = seen.last().unwrap().clone();
        fs::write(path.join("terraform.tfstate"), "{}").unwrap();
        assert_eq!(fingerprint(path), last);
    }

    #[test]
    fn contents_compare_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&a, &big).unwrap();
        assert!(!same_contents(&a, &b).unwrap(), "missing copy");
        fs::write(&b, &big).unwrap();
        assert!(same_contents(&a, &b).unwrap());
        let mut changed = big.clone();
        changed[2_500_000] ^= 1;
        fs::write(&b, &changed).unwrap();
        assert!(
            !same_contents(&a, &b).unwrap(),
            "one byte past the first chunk"
        );
        fs::write(&b, &big[..big.len() - 1]).unwrap();
        assert!(!same_contents(&a, &b).unwrap(), "shorter");
    }
}
